/**
 * Edge padding: run a style network on the image mirrored outward by a few pixels and crop the
 * output back, so that what the network does at its own border falls outside the picture.
 *
 * Why: the paper's network (and fast-neural-style's `reflect-start` padding) reflection-pads the
 * input once by what the unpadded residual blocks remove, but its other convolutions — the 9×9
 * first and last layers, the two ×2 upsampling convolutions — zero-pad at every size. At the
 * picture's border they see black beyond it, and a trained network paints a frame there: on
 * the-scream's output of chicago at 320 px the top rows' mean luminance runs 100, 91, 76, 87, 78
 * before settling near 80 — a double line along the top and left edges, visible at 100 %. Not
 * decoration: the frame lowers the style loss (starry-night, a validation photo: style term 1.56e5
 * with its 6-px frame, 4.85e5 without), which is why training pads the same way
 * (src/train/style-task.ts). With the image mirrored outward by P px the zero padding meets
 * mirrored picture P px further out, and the crop drops it (README "Grid artefacts"). The grid
 * figure (src/metrics/artefacts.ts) hardly sees the frame: its Hann window fades the border.
 *
 * The mirror is PyTorch's / numpy's 'reflect' (the edge pixel not repeated), folded again for
 * images smaller than the pad. The cost: (H + 2P)(W + 2P) pixels instead of HW — +10 % at 640×480
 * with P = 8. Tiles are padded one by one (an inner tile edge then meets mirrored tile content,
 * not zeros; the tile overlap blends it out as before).
 */
import type { RunNetwork, TensorData } from './types.js';
import { checkSizeKeeping } from './run-image.js';
import { DEFAULT_EDGE_PAD, MAX_EDGE_PAD } from '../../models/edge-pad.js';

export { DEFAULT_EDGE_PAD };

export function checkEdgePad(pad: number): void {
  if (!(Number.isInteger(pad) && pad >= 0 && pad <= MAX_EDGE_PAD)) throw new RangeError(`edge padding must be a whole number of pixels from 0 to ${MAX_EDGE_PAD}, got ${pad}`);
}

/** Index `i` of a length-`n` axis mirrored back inside it ('reflect': …, 2, 1, 0, 1, 2, …, n−1, n−2, …). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

/** `run` on the input mirrored outward by `pad` px on every side, the output cropped back (a size-keeping network). */
export function edgePadded(run: RunNetwork, pad: number): RunNetwork {
  checkEdgePad(pad);
  if (pad === 0) return run;
  return async (input: Float32Array, dims: readonly number[]): Promise<TensorData> => {
    const [batch, channels, h, w] = dims as [number, number, number, number];
    const ph = h + 2 * pad, pw = w + 2 * pad;
    const xs = Int32Array.from({ length: pw }, (_, x) => reflectIndex(x - pad, w));
    const view = new Float32Array(batch * channels * ph * pw);
    for (let p = 0; p < batch * channels; p++) {
      const src = p * h * w, dst = p * ph * pw;
      for (let y = 0; y < ph; y++) {
        const row = src + reflectIndex(y - pad, h) * w, out = dst + y * pw;
        for (let x = 0; x < pw; x++) view[out + x] = input[row + xs[x]!]!;
      }
    }
    const r = await run(view, [batch, channels, ph, pw]);
    checkSizeKeeping('edge padding', r, [batch, channels, ph, pw]);
    const [rh, rw] = r.dims.slice(2) as [number, number];
    const out = new Float32Array(batch * channels * h * w);
    for (let p = 0; p < batch * channels; p++) {
      const src = p * rh * rw, dst = p * h * w;
      for (let y = 0; y < h; y++) out.set(r.data.subarray(src + (y + pad) * rw + pad, src + (y + pad) * rw + pad + w), dst + y * w);
    }
    return { data: out, dims: [batch, channels, h, w] };
  };
}
