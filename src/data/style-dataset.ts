/**
 * Style-transfer training data as in the paper (§4.1: COCO images "resized to 256 × 256",
 * batches of 4): every image becomes a centre square crop resized to S×S, delivered as
 * float32 NCHW batches on the 0–255 scale.
 *
 * Resampling: sharp's Lanczos3 (its default). Most photos are shrunk (COCO is ~640×480 →
 * 256), and for shrinking Lanczos3 is the sharpest of sharp's antialiasing kernels with the
 * least aliasing; the loss network sees the content image at full detail, so a softer
 * (cubic) or aliased (nearest/bilinear without antialias) input would shift what the
 * transformation network learns to preserve. Its slight ringing is below JPEG noise.
 * The crop and resize are one sharp operation (`fit: 'cover'`: scale the short side to S,
 * keep the centre), so decoding a sample is a single job on the thread pool that can run
 * to completion while the main thread is blocked in a training step; for JPEGs much larger
 * than S, libvips also decodes at 1/2, 1/4 or 1/8 scale directly (shrink-on-load), which is
 * most of the speed.
 */
import sharp from 'sharp';
import { DEFAULT_MAX_PIXELS, decodeToRgb, type RgbImage } from './image.js';
import { listImages } from './image-folder.js';
import { SkipSample, type LoaderPosition } from './batch-loader.js';
import { FolderDataset, type FolderDatasetOptions } from './folder-dataset.js';
import { packBatch, type BatchShape } from './tensor-layout.js';

export type { LoaderPosition, LoaderStats } from './batch-loader.js';

export interface DecodeOptions {
  /** Refuse images with more pixels than this (default: image.ts's limit). */
  maxPixels?: number;
}

/**
 * Decode `file`, honour EXIF orientation, centre-crop to a square and resize to size×size
 * (8-bit sRGB, alpha dropped, grey expanded). Unreadable or truncated files throw
 * {@link SkipSample}.
 */
export async function decodeSquare(file: string, size: number, options: DecodeOptions = {}): Promise<RgbImage> {
  try {
    return await decodeToRgb(sharp(file, { limitInputPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS, failOn: 'error' }), (s) =>
      s.resize(size, size, { fit: 'cover', position: 'centre', kernel: 'lanczos3' }),
    );
  } catch (e) {
    throw new SkipSample(decodeFailure(e));
  }
}

/**
 * The reason a sharp decode failed, for skip warnings. libvips keeps its error text in a
 * process-wide buffer, so with several decodes failing at once the message can come back as
 * "Unknown error"; we say something useful instead.
 */
export function decodeFailure(e: unknown): string {
  const message = e instanceof Error ? e.message.replace(/^Input (buffer|file) /, '').trim() : String(e);
  return !message || message === 'Unknown error' ? 'could not be decoded (corrupt or truncated?)' : message;
}

export interface StyleDatasetOptions extends DecodeOptions, FolderDatasetOptions {
  /** Side of the square training images (default 256, the paper's). */
  size?: number;
}

export interface StyleBatch {
  /** `[B, 3, S, S]` float32, 0–255. */
  data: Float32Array;
  shape: BatchShape;
  files: string[];
  /** Position after this batch (save it to resume). */
  position: LoaderPosition;
}

/** The paper's training data (§4.1): 256×256 images, batches of 4; 8 validation images. The training options (src/train/options.ts) use these. */
export const STYLE_DATA_DEFAULTS = { imageSize: 256, batchSize: 4, validationCount: 8 } as const;

export class StyleDataset extends FolderDataset<RgbImage, StyleDatasetOptions> {
  readonly size: number;

  constructor(options: StyleDatasetOptions) {
    super(options, STYLE_DATA_DEFAULTS.batchSize, 'StyleDataset');
    this.size = options.size ?? STYLE_DATA_DEFAULTS.imageSize;
    if (!Number.isInteger(this.size) || this.size < 1) throw new RangeError(`size must be a positive integer, got ${this.size}`);
  }

  /** List the folder and start decoding ahead. */
  async init(options: { signal?: AbortSignal } = {}): Promise<this> {
    if (this.loader) return this;
    const { size } = this;
    await this.startLoader('style images', (file) => decodeSquare(file, size, this.options), options.signal);
    return this;
  }

  async next(options: { signal?: AbortSignal } = {}): Promise<StyleBatch> {
    const { samples, files, position } = await this.ready().next(options);
    const { data, shape } = packBatch(samples);
    return { data, shape, files, position };
  }
}

export interface ValidationSetOptions extends DecodeOptions {
  dir: string;
  /** How many images (default 8): the first ones in sorted order, skipping unreadable ones. */
  count?: number;
  size?: number;
  onSkip?: (file: string, reason: string) => void;
  signal?: AbortSignal;
}

/**
 * A fixed set of images for validation losses and preview grids: the first `count` readable
 * images of a folder in sorted order, prepared exactly like the training images, so the
 * numbers are comparable across runs and resumes.
 */
export class ValidationSet {
  private constructor(readonly images: RgbImage[], readonly files: string[], readonly size: number) {}

  static async load(options: ValidationSetOptions): Promise<ValidationSet> {
    const count = options.count ?? STYLE_DATA_DEFAULTS.validationCount;
    const size = options.size ?? STYLE_DATA_DEFAULTS.imageSize;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
    const all = await listImages(options.dir, { signal: options.signal });
    const images: RgbImage[] = [];
    const files: string[] = [];
    // Decode in chunks of what is still missing, in parallel, keeping sorted order.
    for (let next = 0; images.length < count && next < all.length; ) {
      options.signal?.throwIfAborted();
      const chunk = all.slice(next, next + count - images.length);
      next += chunk.length;
      const decoded = await Promise.allSettled(chunk.map((f) => decodeSquare(f, size, options)));
      decoded.forEach((r, i) => {
        if (r.status === 'fulfilled') {
          images.push(r.value);
          files.push(chunk[i]!);
        } else if (r.reason instanceof SkipSample) options.onSkip?.(chunk[i]!, r.reason.message);
        else throw r.reason;
      });
    }
    if (images.length === 0) throw new Error(`validation images in ${options.dir}: none of the ${all.length} images could be read`);
    return new ValidationSet(images, files, size);
  }

  get length(): number {
    return this.images.length;
  }

  /** All images as one `[K, 3, S, S]` float32 batch. */
  batch(): { data: Float32Array; shape: BatchShape; files: string[] } {
    return { ...packBatch(this.images), files: [...this.files] };
  }

  /** Batches of at most `batchSize` (for networks that cannot take all K at once). */
  *batches(batchSize: number): Generator<{ data: Float32Array; shape: BatchShape; files: string[] }> {
    for (let i = 0; i < this.images.length; i += batchSize) {
      yield { ...packBatch(this.images.slice(i, i + batchSize)), files: this.files.slice(i, i + batchSize) };
    }
  }
}
