/**
 * RGB ↔ YCbCr, ITU-R BT.601 "studio range" (Y 16–235, Cb/Cr 16–240), exactly as MATLAB's
 * `rgb2ycbcr` / `ycbcr2rgb`.
 *
 * Why MATLAB's variant: super-resolution PSNR/SSIM are reported on the Y channel as computed by
 * MATLAB (`rgb2ycbcr` on uint8 images, which *rounds* Y to integers). A full-range (JPEG)
 * luma or an unrounded Y shifts PSNR by ~0.1–1 dB, more than the gaps between methods.
 *
 * Pixel values here are on the 0–255 scale throughout (the library's convention), so
 * Y = 16 + (65.481·R + 128.553·G + 24.966·B)/255 for R, G, B in 0–255.
 */
import type { RgbImage } from './image.js';

/** MATLAB's `origT`: rows Y, Cb, Cr; columns R, G, B (for R, G, B in [0, 1], outputs in 0–255). */
const ORIG_T = [
  [65.481, 128.553, 24.966],
  [-37.797, -74.203, 112.0],
  [112.0, -93.786, -18.214],
] as const;
const OFFSET = [16, 128, 128] as const;

// MATLAB scales T by 1/255 for uint8 input (`T = scaleFactor.T * origT`, scaleFactor.T = 1/255):
// multiply by the double 1/255 rather than divide, so the last bit matches its arithmetic.
const T = ORIG_T.map((row) => row.map((v) => (1 / 255) * v));

function invert3(m: readonly (readonly number[])[]): number[][] {
  const [a, b, c] = m[0]!;
  const [d, e, f] = m[1]!;
  const [g, h, i] = m[2]!;
  const A = e! * i! - f! * h!;
  const B = -(d! * i! - f! * g!);
  const C = d! * h! - e! * g!;
  const det = a! * A + b! * B + c! * C;
  return [
    [A / det, -(b! * i! - c! * h!) / det, (b! * f! - c! * e!) / det],
    [B / det, (a! * i! - c! * g!) / det, -(a! * f! - c! * d!) / det],
    [C / det, -(a! * h! - b! * g!) / det, (a! * e! - b! * d!) / det],
  ];
}

/** 255·inv(origT): RGB(0–255) = TINV · (YCbCr − offset). */
const TINV = invert3(ORIG_T).map((row) => row.map((v) => 255 * v));

export interface ColorConvertOptions {
  /**
   * Round the result to integers and clamp to 0–255, as MATLAB does when the input is uint8
   * (the benchmark protocol's Y is rounded this way). Default false: keep full precision.
   */
  round?: boolean;
}

/** A 1-channel float plane (e.g. the Y channel). */
export interface Plane {
  data: Float32Array;
  width: number;
  height: number;
  channels: 1;
}

/** An interleaved 3-channel YCbCr image, 0–255 scale (studio range). */
export interface YcbcrImage {
  data: Float32Array;
  width: number;
  height: number;
  channels: 3;
}

function roundByte(v: number): number {
  // MATLAB uint8 conversion: round half away from zero, saturate.
  return v >= 255 ? 255 : v > 0 ? Math.round(v) : 0;
}

function checkRgb(img: { data: ArrayLike<number>; width: number; height: number; channels: number }, what: string): void {
  if (img.channels !== 3) throw new Error(`${what}: expected a 3-channel image, got ${img.channels} channels`);
  if (img.data.length !== img.width * img.height * 3) {
    throw new Error(`${what}: data has ${img.data.length} values, expected ${img.width}×${img.height}×3`);
  }
}

/** MATLAB `rgb2ycbcr`: interleaved RGB (0–255) → interleaved YCbCr (0–255 studio range). */
export function rgbToYcbcr(img: RgbImage, options: ColorConvertOptions = {}): YcbcrImage {
  checkRgb(img, 'rgbToYcbcr');
  const src = img.data;
  const out = new Float32Array(src.length);
  const round = options.round ?? false;
  const [t0, t1, t2] = T as [number[], number[], number[]];
  for (let i = 0; i < src.length; i += 3) {
    const r = src[i]!, g = src[i + 1]!, b = src[i + 2]!;
    // imlincomb order: K1·A1 + K2·A2 + K3·A3 + offset, in double.
    const y = t0[0]! * r + t0[1]! * g + t0[2]! * b + OFFSET[0];
    const cb = t1[0]! * r + t1[1]! * g + t1[2]! * b + OFFSET[1];
    const cr = t2[0]! * r + t2[1]! * g + t2[2]! * b + OFFSET[2];
    out[i] = round ? roundByte(y) : y;
    out[i + 1] = round ? roundByte(cb) : cb;
    out[i + 2] = round ? roundByte(cr) : cr;
  }
  return { data: out, width: img.width, height: img.height, channels: 3 };
}

/** MATLAB `ycbcr2rgb`: interleaved YCbCr (0–255 studio range) → RGB (0–255; clamped to 0–255 only when rounding). */
export function ycbcrToRgb(img: YcbcrImage | RgbImage, options: ColorConvertOptions = {}): RgbImage {
  checkRgb(img, 'ycbcrToRgb');
  const src = img.data;
  const out = new Float32Array(src.length);
  const round = options.round ?? false;
  const [r0, r1, r2] = TINV as [number[], number[], number[]];
  for (let i = 0; i < src.length; i += 3) {
    const y = src[i]! - OFFSET[0], cb = src[i + 1]! - OFFSET[1], cr = src[i + 2]! - OFFSET[2];
    const r = r0[0]! * y + r0[1]! * cb + r0[2]! * cr;
    const g = r1[0]! * y + r1[1]! * cb + r1[2]! * cr;
    const b = r2[0]! * y + r2[1]! * cb + r2[2]! * cr;
    out[i] = round ? roundByte(r) : r;
    out[i + 1] = round ? roundByte(g) : g;
    out[i + 2] = round ? roundByte(b) : b;
  }
  return { data: out, width: img.width, height: img.height, channels: 3 };
}

/**
 * The Y (luma) channel of MATLAB's `rgb2ycbcr`, studio range 16–235, as a 1-channel plane.
 * With `round: true` this is exactly MATLAB's Y of a uint8 image (what SR benchmarks use).
 */
export function rgbToY(img: RgbImage, options: ColorConvertOptions = {}): Plane {
  checkRgb(img, 'rgbToY');
  const src = img.data;
  const n = img.width * img.height;
  const out = new Float32Array(n);
  const round = options.round ?? false;
  const [kr, kg, kb] = T[0] as [number, number, number];
  for (let p = 0, i = 0; p < n; p++, i += 3) {
    const y = kr * src[i]! + kg * src[i + 1]! + kb * src[i + 2]! + OFFSET[0];
    out[p] = round ? roundByte(y) : y;
  }
  return { data: out, width: img.width, height: img.height, channels: 1 };
}

/** Alias of {@link rgbToY}: BT.601 studio-range luminance. */
export const luminance = rgbToY;

/**
 * Style transfer with the content image's colours ("--preserve-color"): keep the luminance
 * (Y) of the stylised output and the chroma (Cb, Cr) of the original, then convert back.
 *
 * Why luminance-only: a style network repaints colours as well as texture; swapping the chroma
 * back keeps the texture/brush strokes (which live mostly in luminance) while the colours stay
 * those of the photo (Gatys et al., "Preserving color in neural artistic style transfer").
 * The output is float RGB clamped to 0–255 (out-of-gamut Y/CbCr combinations are clipped).
 */
export function preserveColor(stylized: RgbImage, original: RgbImage): RgbImage {
  if (stylized.width !== original.width || stylized.height !== original.height) {
    throw new Error(
      `preserveColor: the stylised image is ${stylized.width}×${stylized.height} but the original is ` +
        `${original.width}×${original.height}; they must be the same size (resize the original to the output first)`,
    );
  }
  const ys = rgbToY(stylized);
  const yccO = rgbToYcbcr(original);
  const mixed = yccO.data; // fresh array: safe to overwrite Y in place
  for (let p = 0; p < ys.data.length; p++) mixed[p * 3] = ys.data[p]!;
  const rgb = ycbcrToRgb(yccO);
  const d = rgb.data as Float32Array;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    d[i] = v !== v ? 0 : v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return rgb;
}
