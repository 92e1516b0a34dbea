/**
 * Image I/O for the whole library, on sharp (libvips).
 *
 * In the library an image is an {@link RgbImage}: interleaved RGB (HWC), values on the
 * 0–255 scale, either bytes (as decoded) or float32 (as produced by a network). Tensors are
 * a separate concern (`[N, 3, H, W]` float32, 0–255); see `src/data/tensor-layout.ts`.
 */
import sharp, { type Sharp } from 'sharp';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { roundToBytes } from './tensor-layout.js';
import { checkPixelLimit } from './pixel-limit.js';

export { checkPixelLimit };

export interface RgbImage {
  /** Interleaved HWC pixels on the 0–255 scale. */
  data: Uint8Array | Float32Array;
  width: number;
  height: number;
  /** Always 3 for images handed around the library (greyscale is expanded on load). */
  channels: 3;
}

/**
 * The decompression-bomb guard: images with more pixels than this — or whose decoded samples
 * take more bytes than this many 8-bit RGB pixels (a 16-bit RGBA PNG decodes to 8 bytes a
 * pixel) — are refused from their header, before decoding, unless the caller raises the limit
 * (`maxPixels`, `--max-pixels`). 100 MP is a 12000×8000 photo, 300 MB as 8-bit RGB; a 745 KB
 * PNG can declare 16000×16000 (768 MB decoded). The CLI's `upscale` applies it to its outputs too.
 */
export const DEFAULT_MAX_PIXELS = 100_000_000;

export interface LoadImageOptions {
  /** Refuse images with more pixels (or decoded bytes than as many RGB pixels) than this; default {@link DEFAULT_MAX_PIXELS}. */
  maxPixels?: number;
}

/** An image that could not be read: names the file and says why. */
export class ImageReadError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`cannot read image ${file}: ${reason}`);
    this.name = 'ImageReadError';
  }
}

/** What an image file's header says, read without decoding the pixels. */
export interface ImageHeader {
  format: string;
  /** Displayed size (EXIF orientation applied, as {@link loadImage} returns it). */
  width: number;
  height: number;
  /** Bands and bytes per sample of the stored pixels, and what decoding them takes. */
  channels: number;
  bytesPerSample: number;
  decodedBytes: number;
}

const SAMPLE_BYTES: Record<string, number> = { uchar: 1, char: 1, ushort: 2, short: 2, uint: 4, int: 4, float: 4, complex: 8, double: 8, dpcomplex: 16 };

/** Check a pixel limit option (a positive integer); `what` names it in the error. */
export function checkMaxPixels(maxPixels: number, what = 'maxPixels'): number {
  if (!(Number.isInteger(maxPixels) && maxPixels >= 1)) throw new RangeError(`${what} must be a positive integer, got ${maxPixels}`);
  return maxPixels;
}

/**
 * Read an image's header (no pixels are decoded) and apply the {@link DEFAULT_MAX_PIXELS} guard:
 * what {@link loadImage} does first, and what the CLI checks for every input before any work.
 */
export async function readImageHeader(source: string | Uint8Array, options: LoadImageOptions = {}): Promise<ImageHeader> {
  const name = typeof source === 'string' ? source : '<buffer>';
  const maxPixels = checkMaxPixels(options.maxPixels ?? DEFAULT_MAX_PIXELS);
  let meta: import('sharp').Metadata;
  try {
    meta = await sharp(typeof source === 'string' ? source : toBuffer(source), { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new ImageReadError(name, readReason(e));
  }
  if (!meta.width || !meta.height) throw new ImageReadError(name, 'no image dimensions found');
  const swap = (meta.orientation ?? 1) >= 5;
  const channels = meta.channels ?? 3;
  const bytesPerSample = SAMPLE_BYTES[meta.depth ?? 'uchar'] ?? 1;
  const header: ImageHeader = {
    format: meta.format ?? 'unknown',
    width: swap ? meta.height : meta.width,
    height: swap ? meta.width : meta.height,
    channels,
    bytesPerSample,
    decodedBytes: meta.width * meta.height * channels * bytesPerSample,
  };
  try {
    checkPixelLimit('', header.width, header.height, maxPixels, header.decodedBytes);
  } catch (e) {
    throw new ImageReadError(name, (e as Error).message);
  }
  return header;
}

const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

function readReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return 'no such file';
  return err.message.replace(/^Input (buffer|file) /, '');
}

/**
 * Decode a JPEG/PNG/WebP/… file (or bytes) to 8-bit sRGB RGB, honouring EXIF orientation;
 * greyscale is replicated to 3 channels and alpha is dropped (flattened on white would
 * invent colour; dropping keeps the stored RGB). The header is checked against `maxPixels`
 * before anything is decoded.
 */
export async function loadImage(source: string | Uint8Array, options: LoadImageOptions = {}): Promise<RgbImage> {
  const name = typeof source === 'string' ? source : '<buffer>';
  const maxPixels = checkMaxPixels(options.maxPixels ?? DEFAULT_MAX_PIXELS);
  await readImageHeader(source, { maxPixels });
  try {
    return await decodeToRgb(sharp(typeof source === 'string' ? source : toBuffer(source), { limitInputPixels: maxPixels, failOn: 'error' }));
  } catch (e) {
    throw new ImageReadError(name, readReason(e));
  }
}

/**
 * The one decode pipeline of every reader (loadImage, the training datasets): EXIF orientation
 * applied, then `shape` (a resize or crop, if any), then 8-bit sRGB with alpha dropped, as an
 * RgbImage. sharp's errors pass through; callers wrap them in their own error type.
 */
export async function decodeToRgb(input: Sharp, shape: (s: Sharp) => Sharp = (s) => s): Promise<RgbImage> {
  const { data, info } = await shape(input.rotate()).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return toRgbImage(data, info);
}

/**
 * Raw sharp output as an RgbImage: 3 channels pass through, 1–2 (grey, grey+alpha) are replicated
 * to RGB — sharp keeps one band for greyscale even after `toColourspace('srgb')` in some versions.
 */
export function toRgbImage(data: Uint8Array, info: { width: number; height: number; channels: number }): RgbImage {
  const { width, height, channels } = info;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (channels === 3) return { data: bytes, width, height, channels: 3 };
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < rgb.length; i += channels, j += 3) {
    const g = bytes[i]!;
    rgb[j] = g;
    rgb[j + 1] = channels >= 3 ? bytes[i + 1]! : g;
    rgb[j + 2] = channels >= 3 ? bytes[i + 2]! : g;
  }
  return { data: rgb, width, height, channels: 3 };
}

/** Round and clamp float pixels to bytes (identity for byte images). */
export function toBytes(image: RgbImage): Uint8Array {
  if (image.data instanceof Uint8Array) return image.data;
  return roundToBytes(image.data, new Uint8Array(image.data.length)) as Uint8Array;
}

export interface SaveImageOptions {
  /** JPEG/WebP quality, an integer 1–100 (default {@link DEFAULT_QUALITY}). */
  quality?: number;
  /** Checked after encoding, before the file is written: an aborted save writes nothing. */
  signal?: AbortSignal;
}

export const DEFAULT_QUALITY = 92;

/** Check a JPEG/WebP quality (an integer 1–100); `what` names the option in the error. */
export function checkQuality(quality: number, what = 'quality'): number {
  if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100)) throw new RangeError(`${what} must be an integer from 1 to 100, got ${quality}`);
  return quality;
}

/**
 * Encode by the file's extension (.jpg/.jpeg, .png, .webp) and write atomically
 * (`writeFileAtomic`: temp file, fsync, rename), so a failure or a kill never leaves half a
 * file; temp files of killed processes are removed by `removeStaleTempFiles`.
 */
export async function saveImage(image: RgbImage, file: string, options: SaveImageOptions = {}): Promise<void> {
  const format = formatFromPath(file);
  if (options.quality !== undefined) checkQuality(options.quality);
  options.signal?.throwIfAborted();
  const buf = await encodeImage(image, format, options);
  options.signal?.throwIfAborted();
  await writeFileAtomic(file, buf); // its errors name the file and say why
}

export type ImageFormat = 'jpeg' | 'png' | 'webp';

export function formatFromPath(file: string): ImageFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  if (ext === '.png') return 'png';
  if (ext === '.webp') return 'webp';
  throw new Error(`cannot tell the image format of ${file}: use .jpg, .png or .webp`);
}

/**
 * Up to this many pixels JPEGs get optimised Huffman tables (a few % smaller files). The
 * optimisation is a second pass over every DCT coefficient, which libjpeg keeps for the whole
 * image — measured +285 MB for 8000×6000 (6 bytes a pixel) against ~10 MB streamed without it —
 * so larger images are written in one streamed pass.
 */
export const JPEG_OPTIMISE_MAX_PIXELS = 16_000_000;

export async function encodeImage(image: RgbImage, format: ImageFormat, options: SaveImageOptions = {}): Promise<Buffer> {
  const quality = checkQuality(options.quality ?? DEFAULT_QUALITY);
  const s = sharp(toBytes(image), { raw: { width: image.width, height: image.height, channels: 3 } });
  if (format === 'jpeg') return s.jpeg({ quality, optimiseCoding: image.width * image.height <= JPEG_OPTIMISE_MAX_PIXELS }).toBuffer();
  if (format === 'webp') return s.webp({ quality }).toBuffer();
  return s.png().toBuffer();
}

