/**
 * Image I/O for the whole library, on sharp (libvips).
 *
 * In the library an image is an {@link RgbImage}: interleaved RGB (HWC), values on the
 * 0–255 scale, either bytes (as decoded) or float32 (as produced by a network). Tensors are
 * a separate concern (`[N, 3, H, W]` float32, 0–255); see `src/data/tensor-layout.ts`.
 */
import sharp from 'sharp';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface RgbImage {
  /** Interleaved HWC pixels on the 0–255 scale. */
  data: Uint8Array | Float32Array;
  width: number;
  height: number;
  /** Always 3 for images handed around the library (greyscale is expanded on load). */
  channels: 3;
}

/** Decoding more than this many pixels is refused unless the caller raises the limit (sharp's own default, 268 MP). */
export const DEFAULT_MAX_PIXELS = 0x3fff * 0x3fff;

export interface LoadImageOptions {
  /** Refuse images with more pixels than this (a "decompression bomb" guard). */
  maxPixels?: number;
}

/** An image that could not be read: names the file and says why. */
export class ImageReadError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`cannot read image ${file}: ${reason}`);
    this.name = 'ImageReadError';
  }
}

/**
 * Decode a JPEG/PNG/WebP/… file (or bytes) to 8-bit sRGB RGB, honouring EXIF orientation;
 * greyscale is replicated to 3 channels and alpha is dropped (flattened on white would
 * invent colour; dropping keeps the stored RGB).
 */
export async function loadImage(source: string | Uint8Array, options: LoadImageOptions = {}): Promise<RgbImage> {
  const name = typeof source === 'string' ? source : '<buffer>';
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  let input: Buffer;
  try {
    input = typeof source === 'string' ? await fs.readFile(source) : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  } catch (e) {
    throw new ImageReadError(name, (e as Error).message);
  }
  try {
    // The header alone tells the size; check it ourselves first for a message that says what to do.
    const meta = await sharp(input, { limitInputPixels: false }).metadata();
    const img = sharp(input, { limitInputPixels: maxPixels, failOn: 'error' });
    if (!meta.width || !meta.height) throw new Error('no image dimensions found');
    if (meta.width * meta.height > maxPixels) {
      throw new Error(`${meta.width}×${meta.height} = ${meta.width * meta.height} pixels exceeds the limit of ${maxPixels} (raise maxPixels / --max-pixels to allow it)`);
    }
    const { data, info } = await img
      .rotate() // apply EXIF orientation
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return toRgbImage(data, info);
  } catch (e) {
    if (e instanceof ImageReadError) throw e;
    throw new ImageReadError(name, (e as Error).message.replace(/^Input (buffer|file) /, ''));
  }
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
  const out = new Uint8Array(image.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = image.data[i]!;
    out[i] = v !== v ? 0 : v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return out;
}

export interface SaveImageOptions {
  /** JPEG/WebP quality, 1–100 (default 92). */
  quality?: number;
}

/** Encode by the file's extension (.jpg/.jpeg, .png, .webp); writes to a temp file and renames, so a failure never leaves half a file. */
export async function saveImage(image: RgbImage, file: string, options: SaveImageOptions = {}): Promise<void> {
  const buf = await encodeImage(image, formatFromPath(file), options);
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await fs.writeFile(tmp, buf);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw new Error(`cannot write image ${file}: ${(e as Error).message}`);
  }
}

export type ImageFormat = 'jpeg' | 'png' | 'webp';

export function formatFromPath(file: string): ImageFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  if (ext === '.png') return 'png';
  if (ext === '.webp') return 'webp';
  throw new Error(`cannot tell the image format of ${file}: use .jpg, .png or .webp`);
}

export async function encodeImage(image: RgbImage, format: ImageFormat, options: SaveImageOptions = {}): Promise<Buffer> {
  const quality = options.quality ?? 92;
  const s = sharp(toBytes(image), { raw: { width: image.width, height: image.height, channels: 3 } });
  if (format === 'jpeg') return s.jpeg({ quality }).toBuffer();
  if (format === 'webp') return s.webp({ quality }).toBuffer();
  return s.png().toBuffer();
}

/** Convert to float32 on the 0–255 scale (copy). */
export function toFloat(image: RgbImage): RgbImage {
  return { ...image, data: Float32Array.from(image.data) };
}
