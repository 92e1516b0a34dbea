/**
 * The canonical in-memory form every VGG weight format is converted to, and the checks that
 * make a converted set trustworthy: names `convB_P.weight` (float32, OIHW `[out, in, 3, 3]`) and
 * `convB_P.bias` (`[out]`), in network order, for whichever layers the source provides.
 *
 * Partial sets are legal (the TF.js shards at hand stop at conv3_4); they say which layers are
 * missing so that the loss network can refuse feature layers it cannot compute, instead of
 * running them on uninitialised weights.
 */
import path from 'node:path';
import type { NamedTensors } from '../../nn/safetensors.js';
import { archFromFileName, canonicalShapes, vggConvLayers, type VggArch } from './layers.js';
import type { VggPreprocessing } from './preprocessing.js';

/** A reader of one file; `combined` is several files merged layer by layer (combined.ts). */
export type VggFileFormat = 'tfjs' | 'torchvision' | 'keras-h5' | 'safetensors';
export type VggFormat = VggFileFormat | 'combined';

/**
 * How a layer's weights are stored in its file: float32, or quantised as TF.js writes it
 * (`uint8`/`uint16`: value = q·scale + min per tensor; `float16`). Decoded weights are always
 * float32; the precision says how far they may be from the original (scale/2 for uint8/uint16).
 */
export type VggPrecision = 'float32' | 'float16' | 'uint16' | 'uint8';

/** Better first: where several files provide a layer, the most precise copy is used. */
export const VGG_PRECISION_RANK: readonly VggPrecision[] = ['float32', 'float16', 'uint16', 'uint8'];

/** What a weights file provides, without the tensors (cheap to compute for `doctor`). */
export interface VggWeightsInfo {
  /** The file that was read (model.json, .pth, .h5, .safetensors). */
  file: string;
  format: VggFormat;
  arch: VggArch;
  preprocessing: VggPreprocessing;
  /** Canonical convolution layers present, in network order. */
  layers: string[];
  /** Convolution layers of `arch` that this file does not provide, in network order. */
  missingLayers: string[];
  /** Where the weights originally came from (kept through conversions via metadata). */
  source: string;
  /** Human-readable remarks (incomplete shard groups, ignored entries, …). */
  notes: string[];
  /** Per layer, how the file stores it (absent: float32, the formats without quantisation). */
  precision?: Record<string, VggPrecision>;
  /** Per layer, the file it was read from, when several files were combined (see combined.ts). */
  layerFiles?: Record<string, string>;
}

export interface VggWeights extends VggWeightsInfo {
  tensors: NamedTensors;
}

export interface LoadVggOptions {
  /**
   * The architecture, for files that cannot tell (e.g. a torchvision state dict holding only
   * conv1_1 … conv3_3, which are identical in both). Contradicting the file is an error.
   */
  arch?: VggArch;
  /**
   * Feature layers the caller needs (`relu4_3`, or several): only the convolutions up to the
   * deepest of them are loaded, and a format that can (TF.js) reads only the files holding
   * them. Default: every layer the file provides.
   */
  upTo?: string | readonly string[];
  /** Exactly these convolutions (canonical names), e.g. the share of one file in a combined source. */
  only?: readonly string[];
}

/** Weights that cannot be used: names the file, and the layer when one is at fault. */
export class VggWeightsError extends Error {
  constructor(
    readonly file: string,
    reason: string,
    readonly layer?: string,
  ) {
    super(`${file}: ${layer !== undefined ? `layer ${layer}: ` : ''}${reason}`);
    this.name = 'VggWeightsError';
  }
}

/** A layer's canonical weights: OIHW kernel and bias, float32. */
export interface LayerWeights {
  weight: Float32Array;
  bias: Float32Array;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Decide the architecture from what the file says (`evidence`), the caller's option and,
 * as a last resort, the file name. Guessing is refused: VGG-16 and VGG-19 number torchvision's
 * layers differently beyond conv3_3, so a wrong guess would load weights into the wrong layers.
 */
export function resolveArch(file: string, evidence: VggArch | undefined, option: VggArch | undefined, nameHint?: string): VggArch {
  if (evidence && option && evidence !== option) {
    throw new VggWeightsError(file, `the file holds ${evidence} weights but ${option} was requested`);
  }
  const arch = evidence ?? option ?? archFromFileName(path.basename(nameHint ?? file));
  if (!arch) {
    throw new VggWeightsError(file, 'cannot tell whether these are VGG-16 or VGG-19 weights (the layers present exist in both); pass the architecture explicitly (arch: "vgg16" | "vgg19")');
  }
  return arch;
}

/** Which of `arch`'s layers a set of available canonical layer names covers, and which it misses. */
export function coverage(arch: VggArch, available: Iterable<string>): { layers: string[]; missingLayers: string[] } {
  const set = new Set(available);
  const layers: string[] = [];
  const missingLayers: string[] = [];
  for (const l of vggConvLayers(arch)) (set.has(l.name) ? layers : missingLayers).push(l.name);
  return { layers, missingLayers };
}

/**
 * Throw unless `actual` equals `expected`. Used on every tensor as it is read, so that a file
 * for the other architecture or a different network fails with the layer's name rather than
 * producing a scrambled loss network.
 */
export function checkShape(file: string, layer: string, what: string, actual: readonly number[], expected: readonly number[]): void {
  if (!sameShape(actual, expected)) {
    throw new VggWeightsError(file, `${what} has shape [${actual.join(', ')}], expected [${expected.join(', ')}]`, layer);
  }
}

/** Keras/TensorFlow kernel `[kh, kw, in, out]` → PyTorch/Caffe `[out, in, kh, kw]`. */
export function hwioToOihw(kernel: ArrayLike<number>, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(kh * kw * cin * cout);
  for (let h = 0; h < kh; h++) {
    for (let w = 0; w < kw; w++) {
      for (let i = 0; i < cin; i++) {
        const src = ((h * kw + w) * cin + i) * cout;
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + h) * kw + w] = kernel[src + o]!;
      }
    }
  }
  return out;
}

/**
 * Build the canonical result from per-layer weights keyed by canonical name: checks every name
 * belongs to `arch`, every length matches its shape and every value is finite, orders the tensors as the network does,
 * and works out which layers are missing.
 */
export function assembleVggWeights(
  info: Omit<VggWeightsInfo, 'layers' | 'missingLayers'>,
  available: Map<string, LayerWeights>,
): VggWeights {
  const known = new Set(vggConvLayers(info.arch).map((l) => l.name));
  for (const name of available.keys()) {
    if (!known.has(name)) throw new VggWeightsError(info.file, `not a layer of ${info.arch}`, name);
  }
  const tensors: NamedTensors = new Map();
  for (const layer of vggConvLayers(info.arch)) {
    const w = available.get(layer.name);
    if (!w) continue;
    const shapes = canonicalShapes(layer);
    const nw = shapes.weight.reduce((a, b) => a * b, 1);
    if (w.weight.length !== nw) throw new VggWeightsError(info.file, `kernel has ${w.weight.length} values, expected ${nw}`, layer.name);
    if (w.bias.length !== layer.outChannels) throw new VggWeightsError(info.file, `bias has ${w.bias.length} values, expected ${layer.outChannels}`, layer.name);
    // A NaN or Inf would not fail anywhere later; it would silently poison every loss value.
    for (const [what, data] of [['kernel', w.weight], ['bias', w.bias]] as const) {
      const bad = data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new VggWeightsError(info.file, `${what} value #${bad} is ${data[bad]} (corrupt file?)`, layer.name);
    }
    tensors.set(`${layer.name}.weight`, { dtype: 'F32', shape: shapes.weight, data: w.weight });
    tensors.set(`${layer.name}.bias`, { dtype: 'F32', shape: shapes.bias, data: w.bias });
  }
  return { ...info, ...coverage(info.arch, available.keys()), tensors };
}
