/**
 * Super-resolution training pairs as in the paper (§4.2: "288×288 patches from 10k images
 * from the MS-COCO training set"; LR inputs made "by blurring with a Gaussian kernel of width
 * σ = 1.0 and downsampling with bicubic interpolation"): a random crop of an HR photo and its
 * degraded version, in float32 NCHW batches on the 0–255 scale.
 *
 * Ordering, resume and prefetch are the shared {@link BatchLoader}'s. The crop position is
 * drawn from an Rng seeded with the sample's own seed (a function of seed, epoch and index),
 * so a resumed run crops exactly the same windows. Photos smaller than the crop are skipped
 * (upscaling them would teach the network to "restore" interpolation blur, not camera detail).
 *
 * Cost: the decode is one sharp job on libuv's thread pool, but the degradation (blur + MATLAB
 * bicubic in JS) costs ~10 ms per 288² crop — 40 ms of a batch of 4 that a synchronous
 * training step on the main thread would have to wait for. So by default crop + degradation
 * (and the decode) run in worker threads (`workers`); `workers: 0` does it all on the main
 * thread, where it counts in `waitMs`. Results are identical either way (same seed, same pair).
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { DEFAULT_MAX_PIXELS, decodeToRgb, type RgbImage } from './image.js';
import { SkipSample, type LoaderPosition } from './batch-loader.js';
import { FolderDataset, type FolderDatasetOptions } from './folder-dataset.js';
import { packBatch, type BatchShape } from './tensor-layout.js';
import { decodeFailure, type DecodeOptions } from './style-dataset.js';
import { degrade, randomCrop, type DegradeMode } from './degrade.js';
import { Rng } from './rng.js';
import { WorkerPool, WorkerTaskError } from './worker-pool.js';
import { SR_PATCH } from '../models/sr-net.js';
import { STYLE_DATA_DEFAULTS } from './style-dataset.js';

export type { LoaderPosition, LoaderStats } from './batch-loader.js';

/** Decode `file` at full size (EXIF orientation applied, 8-bit sRGB RGB); unreadable files throw {@link SkipSample}. */
export async function decodeRgb(file: string, options: DecodeOptions = {}): Promise<RgbImage> {
  try {
    return await decodeToRgb(sharp(file, { limitInputPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS, failOn: 'error' }));
  } catch (e) {
    throw new SkipSample(decodeFailure(e));
  }
}

export interface SrDatasetOptions extends DecodeOptions, FolderDatasetOptions {
  /** Upscaling factor (4 or 8 in the paper). */
  factor: number;
  /** 'paper' (blur σ = 1 + bicubic, default) or 'bicubic' (matches the benchmark LR images). */
  mode?: DegradeMode;
  /** HR crop side (default 288, the paper's); must be a multiple of `factor`. */
  crop?: number;
  /** Worker threads preparing pairs (default: available cores − 1, 1 to 4); 0 = on the main thread. */
  workers?: number;
}

export interface SrPair {
  hr: RgbImage;
  lr: RgbImage;
}

export interface SrPairOptions {
  crop: number;
  factor: number;
  mode: DegradeMode;
}

/** One training pair from a decoded photo; `seed` fixes the crop position. Photos smaller than the crop throw {@link SkipSample}. */
export function makeSrPair(photo: RgbImage, seed: number, { crop, factor, mode }: SrPairOptions): SrPair {
  if (photo.width < crop || photo.height < crop) {
    throw new SkipSample(`${photo.width}×${photo.height} is smaller than the ${crop}×${crop} crop`);
  }
  const hr = randomCrop(photo, crop, new Rng(seed));
  return { hr, lr: degrade(hr, { factor, mode }) };
}

/** A request to the pair worker (sr-pair-worker.ts). */
export interface SrPairRequest extends SrPairOptions {
  file: string;
  seed: number;
  maxPixels?: number;
}

/** The worker module next to this one, with this module's own extension (.ts under tsx, .js when built). */
const WORKER_MODULE = new URL(`./sr-pair-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);

function defaultWorkers(): number {
  return Math.max(1, Math.min(4, os.availableParallelism() - 1));
}

export interface SrBatch {
  /** `[B, 3, crop, crop]` float32, 0–255: the target. */
  hr: Float32Array;
  hrShape: BatchShape;
  /** `[B, 3, crop/f, crop/f]` float32, 0–255: the network input. */
  lr: Float32Array;
  lrShape: BatchShape;
  files: string[];
  /** Position after this batch (save it to resume). */
  position: LoaderPosition;
}

export class SrDataset extends FolderDataset<SrPair, SrDatasetOptions> {
  readonly factor: number;
  readonly mode: DegradeMode;
  readonly crop: number;
  readonly workers: number;
  private pool?: WorkerPool<SrPairRequest, SrPair>;

  constructor(options: SrDatasetOptions) {
    super(options, STYLE_DATA_DEFAULTS.batchSize, 'SrDataset');
    this.factor = options.factor;
    this.mode = options.mode ?? 'paper';
    this.crop = options.crop ?? SR_PATCH;
    this.workers = options.workers ?? defaultWorkers();
    if (!Number.isInteger(this.workers) || this.workers < 0) throw new RangeError(`workers must be an integer ≥ 0, got ${this.workers}`);
    if (!Number.isInteger(this.factor) || this.factor < 1) throw new RangeError(`factor must be a positive integer, got ${this.factor}`);
    if (!Number.isInteger(this.crop) || this.crop < this.factor || this.crop % this.factor !== 0) {
      throw new RangeError(`crop (${this.crop}) must be a positive multiple of the factor (${this.factor})`);
    }
  }

  async init(options: { signal?: AbortSignal } = {}): Promise<this> {
    if (this.loader) return this;
    const pairOptions: SrPairOptions = { crop: this.crop, factor: this.factor, mode: this.mode };
    const { maxPixels } = this.options;
    let decode: (file: string, seed: number) => Promise<SrPair>;
    if (this.workers > 0) {
      const pool = (this.pool = new WorkerPool<SrPairRequest, SrPair>(WORKER_MODULE, this.workers, 'super-resolution data'));
      this.options.signal?.addEventListener('abort', () => void pool.close(), { once: true });
      decode = (file, seed) =>
        pool.run({ file, seed, maxPixels, ...pairOptions }).catch((e: unknown) => {
          throw e instanceof WorkerTaskError && e.name === 'SkipSample' ? new SkipSample(e.message) : e;
        });
    } else {
      decode = async (file, seed) => makeSrPair(await decodeRgb(file, { maxPixels }), seed, pairOptions);
    }
    await this.startLoader('super-resolution images', decode, options.signal);
    return this;
  }

  async next(options: { signal?: AbortSignal } = {}): Promise<SrBatch> {
    const { samples, files, position } = await this.ready().next(options);
    const hr = packBatch(samples.map((s) => s.hr));
    const lr = packBatch(samples.map((s) => s.lr));
    return { hr: hr.data, hrShape: hr.shape, lr: lr.data, lrShape: lr.shape, files, position };
  }

  /** Stop prefetching and end the worker threads. */
  override close(): void {
    super.close();
    void this.pool?.close();
  }
}
