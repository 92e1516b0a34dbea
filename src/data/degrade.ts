/**
 * Making super-resolution training pairs: the HR crop and its low-resolution input.
 *
 * Two degradations:
 *  - `'paper'`: Gaussian blur σ = 1.0, then bicubic ×1/f — what Johnson et al. (§4.1) trained
 *    on ("blurring with a Gaussian kernel of width σ = 1.0 and downsampling with bicubic
 *    interpolation").
 *  - `'bicubic'`: bicubic ×1/f only — exactly how the benchmark LR images (Set5/Set14/BSD100
 *    LR_x4) were made, so a model trained this way sees test inputs from its training distribution.
 *
 * The bicubic step is the MATLAB-compatible resizer (see resize-matlab.ts), rounding to 8-bit
 * after each pass (`quantize`, default true), because at test time LR inputs are 8-bit images.
 * Its border handling defaults to 'replicate' here: verified to reproduce the shipped sr-bench
 * LR_x4 images bit for bit (all 119), where MATLAB's documented 'symmetric' differs in the
 * outermost 2 LR pixels.
 */
import type { FloatImage, ImageLike, ResizeBoundary } from './resize-matlab.js';
import { imresizeBicubic } from './resize-matlab.js';
import { gaussianBlur } from './blur.js';
import type { Rng } from './rng.js';

export type DegradeMode = 'paper' | 'bicubic';

/** The paper's blur before downsampling. */
export const PAPER_BLUR_SIGMA = 1.0;

export interface DegradeOptions {
  /** Downscaling factor (integer ≥ 1); the HR size must be a multiple of it (see {@link modcrop}). */
  factor: number;
  /** 'paper' (blur σ = 1 + bicubic) or 'bicubic' (bicubic only). */
  mode: DegradeMode;
  /** Round to 8-bit values after each resize pass, like an 8-bit LR image (default true). */
  quantize?: boolean;
  /** Border handling of the bicubic step (default 'replicate', matching the benchmark LR images). */
  boundary?: ResizeBoundary;
  /** Blur σ for mode 'paper' (default {@link PAPER_BLUR_SIGMA}). */
  sigma?: number;
}

function checkFactor(factor: number, what: string): void {
  if (!(Number.isInteger(factor) && factor >= 1)) throw new Error(`${what}: factor must be a positive integer, got ${factor}`);
}

/** HR → LR (float32 pixels, 0–255; integer-valued when `quantize`). */
export function degrade<C extends number>(hr: ImageLike<C>, options: DegradeOptions): FloatImage<C> {
  const { factor, mode } = options;
  checkFactor(factor, 'degrade');
  if (mode !== 'paper' && mode !== 'bicubic') throw new Error(`degrade: mode must be 'paper' or 'bicubic', got '${String(mode)}'`);
  if (hr.width % factor !== 0 || hr.height % factor !== 0) {
    throw new Error(`degrade: the HR image is ${hr.width}×${hr.height}, not a multiple of the factor ${factor}; crop it first (modcrop)`);
  }
  const quantize = options.quantize ?? true;
  const src: ImageLike<C> = mode === 'paper' ? gaussianBlur(hr, options.sigma ?? PAPER_BLUR_SIGMA) : hr;
  return imresizeBicubic(src, {
    width: hr.width / factor,
    height: hr.height / factor,
    roundEachPass: quantize,
    boundary: options.boundary ?? 'replicate',
  });
}

/** Copy the `width`×`height` window at (x, y); keeps the pixel type. */
export function crop<T extends ImageLike>(img: T, x: number, y: number, width: number, height: number): T {
  for (const [n, v] of [['x', x], ['y', y], ['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v)) throw new Error(`crop: ${n} must be an integer, got ${v}`);
  }
  if (x < 0 || y < 0 || width < 1 || height < 1 || x + width > img.width || y + height > img.height) {
    throw new Error(`crop: window ${width}×${height} at (${x}, ${y}) does not fit in the ${img.width}×${img.height} image`);
  }
  const c = img.channels;
  const Ctor = img.data.constructor as new (n: number) => T['data'];
  const out = new Ctor(width * height * c);
  for (let r = 0; r < height; r++) {
    const s = ((y + r) * img.width + x) * c;
    out.set(img.data.subarray(s, s + width * c), r * width * c);
  }
  return { ...img, data: out, width, height };
}

/** Crop to the largest size that is a multiple of `factor` (MATLAB `modcrop`: keeps the top-left). */
export function modcrop<T extends ImageLike>(img: T, factor: number): T {
  checkFactor(factor, 'modcrop');
  const w = img.width - (img.width % factor);
  const h = img.height - (img.height % factor);
  if (w < 1 || h < 1) throw new Error(`modcrop: a ${img.width}×${img.height} image is smaller than the factor ${factor}`);
  return w === img.width && h === img.height ? img : crop(img, 0, 0, w, h);
}

/**
 * A uniformly placed random crop (`size`: square side, or {width, height}); the position comes
 * from `rng` so a seeded run picks the same crops.
 */
export function randomCrop<T extends ImageLike>(img: T, size: number | { width: number; height: number }, rng: Rng): T {
  const w = typeof size === 'number' ? size : size.width;
  const h = typeof size === 'number' ? size : size.height;
  if (!(Number.isInteger(w) && w >= 1 && Number.isInteger(h) && h >= 1)) throw new Error(`randomCrop: bad crop size ${w}×${h}`);
  if (w > img.width || h > img.height) {
    throw new Error(`randomCrop: the crop ${w}×${h} is larger than the ${img.width}×${img.height} image`);
  }
  const x = rng.int(img.width - w + 1);
  const y = rng.int(img.height - h + 1);
  return crop(img, x, y, w, h);
}
