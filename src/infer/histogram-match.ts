/**
 * Per-channel histogram matching (CDF / quantile matching), the SR post-processing step:
 * the network's output is matched to the colour distribution of the low-resolution input.
 *
 * Why: a network trained with a feature (perceptual) loss is free to drift in overall colour and
 * contrast, because VGG features are fairly insensitive to them; the LR input is a reliable
 * sample of the true colour distribution (downsampling keeps the histogram roughly unchanged),
 * so remapping each channel's CDF onto the input's removes the drift without touching texture.
 *
 * Algorithm (as `skimage.exposure.match_histograms`): for each channel, take the sorted
 * distinct source values and their cumulative frequencies (quantiles), read the reference value
 * at the same quantile by linear interpolation of the reference's quantile → value curve, and
 * replace every source value by it. Images may differ in size (quantiles are fractions). A
 * strictly increasing remapping of the reference is undone exactly.
 */
import type { RgbImage } from '../data/image.js';
import { roundToBytes } from '../data/tensor-layout.js';

interface Distribution {
  /** Sorted distinct values. */
  values: Float64Array;
  /** Cumulative fraction of pixels ≤ values[i] (last = 1). */
  quantiles: Float64Array;
}

function channelDistribution(data: Uint8Array | Float32Array, channel: number, channels: number): Distribution {
  const n = data.length / channels;
  if (data instanceof Uint8Array) {
    // 8-bit: a 256-bin histogram is exact and O(n).
    const counts = new Float64Array(256);
    for (let i = channel; i < data.length; i += channels) counts[data[i]!]!++;
    const vals: number[] = [];
    const qs: number[] = [];
    let cum = 0;
    for (let v = 0; v < 256; v++) {
      if (counts[v] === 0) continue;
      cum += counts[v]!;
      vals.push(v);
      qs.push(cum / n);
    }
    return { values: Float64Array.from(vals), quantiles: Float64Array.from(qs) };
  }
  const sorted = new Float32Array(n);
  for (let i = channel, p = 0; i < data.length; i += channels, p++) {
    const v = data[i]!;
    if (v !== v) throw new Error('matchHistogram: image contains NaN');
    sorted[p] = v;
  }
  sorted.sort();
  const vals: number[] = [];
  const qs: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i + 1 < n && sorted[i + 1] === sorted[i]) continue;
    vals.push(sorted[i]!);
    qs.push((i + 1) / n);
  }
  return { values: Float64Array.from(vals), quantiles: Float64Array.from(qs) };
}

/** `np.interp(x, xp, fp)` for increasing xs (two-pointer walk). */
function interpIncreasing(xs: Float64Array, xp: Float64Array, fp: Float64Array): Float64Array {
  const out = new Float64Array(xs.length);
  let j = 0;
  const last = xp.length - 1;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    if (x <= xp[0]!) {
      out[i] = fp[0]!;
      continue;
    }
    if (x >= xp[last]!) {
      out[i] = fp[last]!;
      continue;
    }
    while (xp[j + 1]! < x) j++; // now xp[j] < x ≤ xp[j+1]
    if (xp[j + 1] === x) out[i] = fp[j + 1]!;
    else out[i] = fp[j]! + ((x - xp[j]!) * (fp[j + 1]! - fp[j]!)) / (xp[j + 1]! - xp[j]!);
  }
  return out;
}

function checkRgb(img: RgbImage, what: string): void {
  if (img.channels !== 3 || img.data.length !== img.width * img.height * 3) {
    throw new Error(`matchHistogram: the ${what} must be an RGB image with width×height×3 values (got ${img.width}×${img.height}, ${img.channels} channels, ${img.data.length} values)`);
  }
  if (img.data.length === 0) throw new Error(`matchHistogram: the ${what} is empty`);
}

export interface MatchHistogramOptions {
  /**
   * 'float32' (default): the mapped values, not rounded. 'uint8': rounded as `toBytes` does,
   * written straight into bytes (no float copy of a large output).
   */
  outputType?: 'float32' | 'uint8';
}

/**
 * Remap each RGB channel of `source` so its histogram matches `reference`'s. Returns float32
 * pixels (values taken from the reference's range; not rounded) unless `outputType: 'uint8'`.
 */
export function matchHistogram(source: RgbImage, reference: RgbImage, options: MatchHistogramOptions = {}): RgbImage {
  checkRgb(source, 'source');
  checkRgb(reference, 'reference');
  const type = options.outputType ?? 'float32';
  if (type !== 'float32' && type !== 'uint8') throw new RangeError(`matchHistogram: outputType must be 'float32' or 'uint8', got ${JSON.stringify(type)}`);
  const out = type === 'uint8' ? new Uint8Array(source.data.length) : new Float32Array(source.data.length);
  for (let c = 0; c < 3; c++) {
    const s = channelDistribution(source.data, c, 3);
    const r = channelDistribution(reference.data, c, 3);
    const mapped = interpIncreasing(s.quantiles, r.quantiles, r.values);
    const sv = s.values;
    // The float32 values the float output holds, rounded for bytes.
    const table = type === 'float32' ? mapped : roundToBytes(Float32Array.from(mapped));
    for (let i = c; i < source.data.length; i += 3) {
      const v = source.data[i]!;
      // Binary search v in the sorted distinct values (always present).
      let lo = 0, hi = sv.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sv[mid]! < v) lo = mid + 1;
        else hi = mid;
      }
      out[i] = table[lo]!;
    }
  }
  return { data: out, width: source.width, height: source.height, channels: 3 };
}
