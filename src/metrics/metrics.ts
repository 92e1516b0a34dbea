/**
 * PSNR and SSIM exactly as the super-resolution literature computes them (the sr-bench
 * protocol; SelfExSR's `compute_difference.m` with Wang et al.'s reference `ssim_index.m`):
 *
 *  1. both images as 8-bit (network outputs are saved as PNGs before MATLAB reads them, so
 *     floats are rounded and clamped to 0–255 first: option `quantize`, default true);
 *  2. the Y channel of MATLAB's `rgb2ycbcr` on uint8 input, i.e. BT.601 studio range and
 *     **rounded to integers**; a 1-channel (greyscale) image is used as is, as MATLAB's
 *     `if size(im,3) > 1` branch does;
 *  3. a border of `border` px (the scale factor) removed from every side ("shave");
 *  4. PSNR = 10·log10(255² / MSE); SSIM = mean of the SSIM map of `ssim_index.m`: 11×11
 *     Gaussian window (σ = 1.5, normalised), K1 = 0.01, K2 = 0.03, L = 255, statistics by
 *     `filter2(window, ·, 'valid')` (no padding, so the map is 10 px smaller each way).
 *
 * Why bother with every detail: each one (Y rounding, studio vs full range, the shave, 'valid'
 * vs padded filtering) moves the numbers by 0.01–0.5 dB / 0.001–0.01 SSIM, which is the size of
 * the differences being reported. Matching the protocol lets our numbers sit next to the paper's.
 */
import type { RgbImage } from '../data/image.js';
import { rgbToY } from '../data/color.js';

/** An RGB image (3 channels) or a single plane (1 channel, e.g. a greyscale image or a Y channel). */
export interface MetricImage {
  data: Uint8Array | Float32Array | Float64Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

export interface PsnrOptions {
  /** Pixels removed from every side before comparing (the SR scale factor in the protocol). Default 0. */
  border?: number;
  /** Compare the MATLAB Y channel (rounded when quantising) instead of all RGB values. Default false. */
  yChannel?: boolean;
  /** Round and clamp float pixels to 0–255 integers first, as saving to 8-bit does. Default true. */
  quantize?: boolean;
  /** Peak value. Default 255. */
  peak?: number;
}

export interface SsimOptions {
  /** Pixels removed from every side before comparing. Default 0. */
  border?: number;
  /** Round and clamp float pixels to 0–255 integers first. Default true. */
  quantize?: boolean;
}

function describe(img: MetricImage): string {
  return `${img.width}×${img.height}×${img.channels}`;
}

function checkPair(a: MetricImage, b: MetricImage, what: string): void {
  for (const img of [a, b]) {
    if (img.channels !== 1 && img.channels !== 3) throw new Error(`${what}: images must have 1 or 3 channels, got ${img.channels}`);
    if (img.data.length !== img.width * img.height * img.channels) {
      throw new Error(`${what}: image data has ${img.data.length} values, expected ${describe(img)}`);
    }
  }
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
    throw new Error(`${what}: image sizes differ: ${describe(a)} vs ${describe(b)}`);
  }
}

function quantizeArray(data: ArrayLike<number>): Uint8Array {
  if (data instanceof Uint8Array) return data;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < out.length; i++) {
    const v = data[i]!;
    out[i] = v !== v ? 0 : v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return out;
}

/**
 * The plane the protocol compares: Y of an RGB image (rounded if quantising), or the single
 * channel of a greyscale one, as float64.
 */
export function metricPlane(img: MetricImage, quantize = true): Float64Array {
  if (img.channels === 1) return Float64Array.from(quantize ? quantizeArray(img.data) : img.data);
  const data = quantize ? quantizeArray(img.data) : img.data instanceof Float64Array ? Float32Array.from(img.data) : img.data;
  const rgb: RgbImage = { data, width: img.width, height: img.height, channels: 3 };
  const y = rgbToY(rgb, { round: quantize });
  return Float64Array.from(y.data);
}

function checkBorder(border: number, width: number, height: number, what: string, min = 1): void {
  if (!(Number.isInteger(border) && border >= 0)) throw new Error(`${what}: border must be a non-negative integer, got ${border}`);
  if (width - 2 * border < min || height - 2 * border < min) {
    throw new Error(`${what}: a ${width}×${height} image minus a border of ${border} px leaves less than ${min}×${min} px`);
  }
}

/** Crop `border` px from every side of an interleaved plane of `channels` channels. */
function shave(data: ArrayLike<number>, width: number, height: number, channels: number, border: number): { data: Float64Array; width: number; height: number } {
  const w = width - 2 * border;
  const h = height - 2 * border;
  const out = new Float64Array(w * h * channels);
  for (let y = 0; y < h; y++) {
    const src = ((y + border) * width + border) * channels;
    for (let i = 0; i < w * channels; i++) out[y * w * channels + i] = data[src + i]!;
  }
  return { data: out, width: w, height: h };
}

/** Mean squared error after the same preprocessing as {@link psnr}. */
export function mse(a: MetricImage, b: MetricImage, options: PsnrOptions = {}): number {
  checkPair(a, b, 'mse');
  const border = options.border ?? 0;
  const quantize = options.quantize ?? true;
  checkBorder(border, a.width, a.height, 'mse');
  let pa: ArrayLike<number>, pb: ArrayLike<number>, channels: number;
  if (options.yChannel) {
    pa = metricPlane(a, quantize);
    pb = metricPlane(b, quantize);
    channels = 1;
  } else {
    pa = quantize ? quantizeArray(a.data) : a.data;
    pb = quantize ? quantizeArray(b.data) : b.data;
    channels = a.channels;
  }
  const sa = shave(pa, a.width, a.height, channels, border);
  const sb = shave(pb, b.width, b.height, channels, border);
  let sum = 0;
  for (let i = 0; i < sa.data.length; i++) {
    const d = sa.data[i]! - sb.data[i]!;
    sum += d * d;
  }
  return sum / sa.data.length;
}

/** Peak signal-to-noise ratio in dB; `Infinity` for identical images. */
export function psnr(a: MetricImage, b: MetricImage, options: PsnrOptions = {}): number {
  const peak = options.peak ?? 255;
  const m = mse(a, b, options);
  return m === 0 ? Infinity : 10 * Math.log10((peak * peak) / m);
}

/** SSIM window: `fspecial('gaussian', size, sigma)` is separable, this is its normalised 1-D factor. */
export function gaussianWindow1d(size = 11, sigma = 1.5): Float64Array {
  const w = new Float64Array(size);
  const c = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    w[i] = Math.exp(-((i - c) * (i - c)) / (2 * sigma * sigma));
    sum += w[i]!;
  }
  for (let i = 0; i < size; i++) w[i] = w[i]! / sum;
  return w;
}

/** `filter2(w ⊗ w, x, 'valid')` for a symmetric separable window: rows then columns, no padding. */
function filterValid(x: Float64Array, width: number, height: number, w: Float64Array): Float64Array {
  const k = w.length;
  const ow = width - k + 1;
  const oh = height - k + 1;
  const tmp = new Float64Array(height * ow);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let xo = 0; xo < ow; xo++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += w[i]! * x[row + xo + i]!;
      tmp[y * ow + xo] = s;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let yo = 0; yo < oh; yo++) {
    for (let xo = 0; xo < ow; xo++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += w[i]! * tmp[(yo + i) * ow + xo]!;
      out[yo * ow + xo] = s;
    }
  }
  return out;
}

/**
 * Mean SSIM (Wang et al. 2004, reference `ssim_index.m` defaults) on the protocol's Y plane
 * (RGB → rounded MATLAB Y; 1-channel images as they are). Symmetric in its arguments.
 * Throws if the compared area (after the border) is smaller than the 11×11 window.
 */
export function ssim(a: MetricImage, b: MetricImage, options: SsimOptions = {}): number {
  checkPair(a, b, 'ssim');
  const border = options.border ?? 0;
  const quantize = options.quantize ?? true;
  const WIN = 11;
  checkBorder(border, a.width, a.height, 'ssim', WIN);
  const ya = shave(metricPlane(a, quantize), a.width, a.height, 1, border);
  const yb = shave(metricPlane(b, quantize), b.width, b.height, 1, border);
  return ssimPlanes(ya.data, yb.data, ya.width, ya.height);
}

/** Mean SSIM of two float planes on the 0–255 scale (no colour conversion, no border). */
export function ssimPlanes(x: Float64Array, y: Float64Array, width: number, height: number): number {
  const WIN = 11;
  if (width < WIN || height < WIN) throw new Error(`ssim: a ${width}×${height} plane is smaller than the ${WIN}×${WIN} window`);
  if (x.length !== width * height || y.length !== width * height) throw new Error(`ssim: planes must have ${width}×${height} values`);
  const L = 255;
  const C1 = (0.01 * L) ** 2;
  const C2 = (0.03 * L) ** 2;
  const w = gaussianWindow1d(WIN, 1.5);
  const n = width * height;
  const xx = new Float64Array(n), yy = new Float64Array(n), xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x[i]! * x[i]!;
    yy[i] = y[i]! * y[i]!;
    xy[i] = x[i]! * y[i]!;
  }
  const mu1 = filterValid(x, width, height, w);
  const mu2 = filterValid(y, width, height, w);
  const s11 = filterValid(xx, width, height, w);
  const s22 = filterValid(yy, width, height, w);
  const s12 = filterValid(xy, width, height, w);
  let sum = 0;
  for (let i = 0; i < mu1.length; i++) {
    const m1 = mu1[i]!, m2 = mu2[i]!;
    const m1sq = m1 * m1, m2sq = m2 * m2, m12 = m1 * m2;
    const v1 = s11[i]! - m1sq, v2 = s22[i]! - m2sq, c12 = s12[i]! - m12;
    sum += ((2 * m12 + C1) * (2 * c12 + C2)) / ((m1sq + m2sq + C1) * (v1 + v2 + C2));
  }
  return sum / mu1.length;
}
