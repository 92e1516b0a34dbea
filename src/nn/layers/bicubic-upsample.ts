/**
 * Fixed (untrained) bicubic upsampling ×r — the "Bicubic" of the SR literature, MATLAB
 * `imresize(x, r)`: Keys' cubic with a = −0.5, output pixel o sampling the input at
 * (o + ½)/r − ½, image edges replicated (as the sr-bench LR images were made; see
 * data/resize-matlab.ts, which this equals with `boundary: 'replicate'` and no rounding).
 *
 * Why a layer: the residual SR networks predict only the difference to this upsampling
 * (ŷ = bicubic(x) + f(x)), so that an untrained network already scores the bicubic baseline and
 * training spends itself on the detail bicubic misses. Computed as a grouped 5×5 convolution
 * producing the r² output phases of each colour, then a pixel shuffle: every phase's 4 taps lie
 * within ±2 input pixels, and this form exports to ONNX as plain Pad → Conv → DepthToSpace.
 *
 * Always float32 (also under bf16 autocast): the skip carries the whole image, and bf16's
 * 8-bit mantissa would add ±1 grey level of noise to every output pixel.
 */
import { autocast, F, tensor, type Tensor } from '../../engine/index.js';
import { Module } from '../module.js';
import { pixelShuffle } from './pixel-shuffle.js';

/** Keys' cubic convolution kernel with a = −0.5 (MATLAB's `cubic`). */
function keysCubic(t: number): number {
  const x = Math.abs(t);
  if (x <= 1) return 1.5 * x ** 3 - 2.5 * x ** 2 + 1;
  if (x < 2) return -0.5 * x ** 3 + 2.5 * x ** 2 - 4 * x + 2;
  return 0;
}

/** Row p (phase p of r) holds the normalised weights of input offsets −2…+2. */
export function bicubicPhaseWeights(r: number): number[][] {
  return Array.from({ length: r }, (_, p) => {
    const x = (p + 0.5) / r - 0.5; // sample position relative to the input pixel
    const w = [-2, -1, 0, 1, 2].map((d) => keysCubic(x - d));
    const sum = w.reduce((a, b) => a + b, 0);
    return w.map((v) => v / sum);
  });
}

/** `[3·r², 1, 5, 5]`: the separable 2-D kernel of each (colour, row phase, column phase). */
function bicubicKernel(r: number, channels: number): Float32Array {
  const w1 = bicubicPhaseWeights(r);
  const k = new Float32Array(channels * r * r * 25);
  for (let c = 0; c < channels; c++) {
    for (let a = 0; a < r; a++) {
      for (let b = 0; b < r; b++) {
        const base = ((c * r + a) * r + b) * 25;
        for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) k[base + i * 5 + j] = w1[a]![i]! * w1[b]![j]!;
      }
    }
  }
  return k;
}

export class BicubicUpsample extends Module {
  readonly #kernel: Float32Array;

  constructor(
    readonly scaleFactor: number,
    readonly channels = 3,
  ) {
    super();
    if (!Number.isInteger(scaleFactor) || scaleFactor < 1) throw new Error(`BicubicUpsample: scale factor must be a positive integer, got ${scaleFactor}`);
    this.#kernel = bicubicKernel(scaleFactor, channels);
  }

  /** The fixed convolution weights `[channels·r², 1, 5, 5]` (ONNX export writes them out). */
  get kernel(): Float32Array {
    return this.#kernel;
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.channels) throw new Error(`BicubicUpsample: expected [N, ${this.channels}, H, W], got [${x.shape.join(', ')}]`);
    const r = this.scaleFactor;
    return autocast('float32', () => {
      // A fresh 1200-float tensor per call: cheaper than keeping one in step with the
      // module's device and memory format, and it needs no disposal outside the caller's scope.
      const weight = tensor(this.#kernel, [this.channels * r * r, 1, 5, 5], { device: x.device });
      const xf = x.dtype === 'float32' ? x : x.to('float32');
      const y = F.conv2d(F.pad(xf, [2, 2, 2, 2], 'replicate'), weight, null, { groups: this.channels });
      return pixelShuffle(y, r);
    });
  }
}
