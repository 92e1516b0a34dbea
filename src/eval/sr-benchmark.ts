/**
 * Super-resolution benchmark: PSNR/SSIM of an upscaler on Set5 / Set14 / BSD100 (or any folder
 * of HR images) under the standard protocol (see metrics.ts and the sr-bench README): the set's
 * own LR images as input, Y channel, a border of `factor` px removed, mean over the images.
 *
 * Why the set's own LR images: the published numbers were measured on them; regenerating LR
 * inputs with another resizer changes the task. For a folder without LR images, they are made
 * the same way (MATLAB-compatible bicubic ×1/f on the modcropped HR, see degrade.ts).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { loadImage, type RgbImage } from '../data/image.js';
import { imresizeBicubic } from '../data/resize-matlab.js';
import { degrade, modcrop } from '../data/degrade.js';
import { psnr, ssim, type MetricImage } from '../metrics/metrics.js';
import { sharedDataDir as sharedData } from '../util/paths.js';

export type SrBenchSet = 'Set5' | 'Set14' | 'BSD100';
export const SR_BENCH_SETS: readonly SrBenchSet[] = ['Set5', 'Set14', 'BSD100'];

export type Upscaler = (lr: RgbImage, hrSize: { width: number; height: number }) => Promise<RgbImage>;

export interface ProgressOptions {
  signal?: AbortSignal;
  /** Called after each image with the fraction done (0–1] and details of that image. */
  onProgress?: (fraction: number, info?: SrProgressInfo) => void;
}

export interface SrProgressInfo {
  set: string;
  image: string;
  index: number;
  count: number;
  psnr: number;
  ssim: number;
}

export interface EvaluateSrOptions extends ProgressOptions {
  /** A named sr-bench set, or a folder holding `HR/` (and optionally `LR_x<f>/`) images. */
  set: SrBenchSet | string;
  /** Scale factor (the sr-bench pack ships ×4). */
  factor: number;
  upscale: Upscaler;
  /** Folder that holds `sr-bench/` (default: $PERCEPTUAL_DATA, else `<repo>/../shared/data`). */
  dataRoot?: string;
  /** Evaluate only every k-th image (1st, (k+1)th, …), a deterministic subset for quick runs. Default 1 (all). */
  every?: number;
  /**
   * How 1-channel (greyscale) HR images are scored. 'raw' (default): on their grey values, as
   * MATLAB's `compute_difference.m` does (`rgb2ycbcr` is skipped when `size(im,3) == 1`); the
   * output is reduced to grey with MATLAB `rgb2gray` weights. This reproduces the published Set14
   * numbers (Set14 img_003 is greyscale). 'y': convert to Y like colour images.
   */
  greyscale?: 'raw' | 'y';
}

export interface SrImageResult {
  name: string;
  width: number;
  height: number;
  greyscale: boolean;
  psnr: number;
  ssim: number;
}

export interface SrEvaluation {
  set: string;
  factor: number;
  /** The folder holding HR/ (and LR_x<f>/). */
  dir: string;
  images: SrImageResult[];
  /** Mean PSNR (dB) over the images. */
  psnr: number;
  /** Mean SSIM over the images. */
  ssim: number;
  /** Set when only a subset was evaluated (e.g. "1 in 5 images (20 of 100)"). */
  subset?: string;
}

/** An Error named 'AbortError' (what `fetch` and friends throw), carrying the signal's reason. */
export function abortError(what: string, signal?: AbortSignal): Error {
  const e = new Error(`${what} aborted`, { cause: signal?.reason });
  e.name = 'AbortError';
  return e;
}

function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortError(what, signal);
}

/** `<repo>` for both `src/eval/x.ts` and `dist/eval/x.js`. */

/** Where shared data lives: $PERCEPTUAL_DATA if set, else `<repo>/../shared/data` (util/paths). */
export const defaultDataRoot = sharedData;

/** The folder of a named set (`<dataRoot>/sr-bench/<set>`) or the given folder itself. */
export function srSetDir(set: string, dataRoot = defaultDataRoot()): string {
  return (SR_BENCH_SETS as readonly string[]).includes(set) ? path.join(dataRoot, 'sr-bench', set) : path.resolve(set);
}

const IMAGE_EXT = /\.(png|jpe?g|bmp|tiff?|webp)$/i;

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/** MATLAB `imresize(lr, factor, 'bicubic')` on 8-bit input: the "Bicubic" row of SR tables. */
export function bicubicUpscale(lr: RgbImage, factor: number): RgbImage {
  if (!(Number.isInteger(factor) && factor >= 1)) throw new Error(`bicubicUpscale: factor must be a positive integer, got ${factor}`);
  return imresizeBicubic(lr, { scale: factor, roundEachPass: true });
}

/** `upscale` callback for {@link evaluateSr} that runs {@link bicubicUpscale}. */
export function bicubicUpscaler(factor: number): Upscaler {
  return async (lr) => bicubicUpscale(lr, factor);
}

/** The grey plane MATLAB would score for a 1-channel image: rgb2gray weights, rounded. */
function greyPlane(img: RgbImage): MetricImage {
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  const d = img.data;
  for (let p = 0; p < n; p++) {
    const v = 0.298936021293775 * d[p * 3]! + 0.587043074451121 * d[p * 3 + 1]! + 0.114020904255103 * d[p * 3 + 2]!;
    out[p] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return { data: out, width: img.width, height: img.height, channels: 1 };
}

/**
 * Run `upscale` on every LR image of a set and score it against the HR image.
 * Throws an 'AbortError' Error when `signal` is aborted (checked before and after each image).
 */
export async function evaluateSr(options: EvaluateSrOptions): Promise<SrEvaluation> {
  const { factor, upscale, signal, onProgress } = options;
  const what = `SR evaluation of ${options.set}`;
  if (!(Number.isInteger(factor) && factor >= 1)) throw new Error(`evaluateSr: factor must be a positive integer, got ${factor}`);
  const every = options.every ?? 1;
  if (!(Number.isInteger(every) && every >= 1)) throw new Error(`evaluateSr: every must be a positive integer, got ${every}`);
  throwIfAborted(signal, what);

  const dir = srSetDir(options.set, options.dataRoot ?? defaultDataRoot());
  const hrDir = path.join(dir, 'HR');
  if (!(await exists(hrDir))) {
    throw new Error(`evaluateSr: no HR folder at ${hrDir} (set PERCEPTUAL_DATA or pass dataRoot to the folder holding sr-bench/, or give a folder with HR/)`);
  }
  const lrDir = path.join(dir, `LR_x${factor}`);
  const haveLr = await exists(lrDir);
  const all = (await fs.readdir(hrDir)).filter((f) => IMAGE_EXT.test(f)).sort();
  if (all.length === 0) throw new Error(`evaluateSr: no images in ${hrDir}`);
  const files = all.filter((_, i) => i % every === 0);

  const images: SrImageResult[] = [];
  for (let i = 0; i < files.length; i++) {
    throwIfAborted(signal, what);
    const name = files[i]!;
    const hrFile = path.join(hrDir, name);
    const hr = modcrop(await loadImage(hrFile), factor);
    const meta = await sharp(hrFile).metadata();
    const greyscale = (meta.channels ?? 3) <= 2;
    let lr: RgbImage;
    const lrFile = haveLr ? path.join(lrDir, name) : '';
    if (haveLr && (await exists(lrFile))) {
      lr = await loadImage(lrFile);
      if (lr.width * factor !== hr.width || lr.height * factor !== hr.height) {
        throw new Error(`evaluateSr: ${lrFile} is ${lr.width}×${lr.height}, but the HR image ${hrFile} (modcropped) is ${hr.width}×${hr.height}, not ×${factor} of it`);
      }
    } else {
      lr = degrade(hr, { factor, mode: 'bicubic' });
    }
    const sr = await upscale(lr, { width: hr.width, height: hr.height });
    throwIfAborted(signal, what);
    if (sr.width !== hr.width || sr.height !== hr.height) {
      throw new Error(`evaluateSr: the upscaler returned ${sr.width}×${sr.height} for ${name}, but the HR image is ${hr.width}×${hr.height}`);
    }
    const raw = greyscale && (options.greyscale ?? 'raw') === 'raw';
    const a: MetricImage = raw ? greyPlane(hr) : hr;
    const b: MetricImage = raw ? greyPlane(sr) : sr;
    const p = psnr(a, b, { border: factor, yChannel: true });
    const s = ssim(a, b, { border: factor });
    images.push({ name, width: hr.width, height: hr.height, greyscale, psnr: p, ssim: s });
    onProgress?.((i + 1) / files.length, { set: options.set, image: name, index: i, count: files.length, psnr: p, ssim: s });
  }
  const mean = (k: 'psnr' | 'ssim') => images.reduce((acc, r) => acc + r[k], 0) / images.length;
  const result: SrEvaluation = {
    set: (SR_BENCH_SETS as readonly string[]).includes(options.set) ? options.set : path.basename(dir),
    factor,
    dir,
    images,
    psnr: mean('psnr'),
    ssim: mean('ssim'),
  };
  if (every > 1) result.subset = `1 in ${every} images (${files.length} of ${all.length})`;
  return result;
}
