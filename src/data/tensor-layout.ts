/**
 * Where images meet tensors: memory layout conversions.
 *
 * Images in the library are interleaved HWC (what decoders produce and encoders want);
 * networks take planar NCHW float32 (what libtorch/onnxruntime convolutions want). Values
 * stay on the 0–255 scale in both: the networks' own first/last layers handle normalisation,
 * so a layout change never changes a value (the round trip is exact for byte images).
 */
import type { RgbImage } from './image.js';

/** `[N, C, H, W]` of a batch. */
export type BatchShape = [number, number, number, number];

/** A planar copy `[3, H, W]` of an interleaved image, as float32. */
export function hwcToChw(img: RgbImage): Float32Array {
  const out = new Float32Array(3 * img.width * img.height);
  writeChw(img, out, 0);
  return out;
}

/**
 * Write `img` planar into `out` starting at element `offset` (which must leave room for
 * 3·H·W values). This is the one loop everything else uses, so a batch is packed without an
 * intermediate per-image copy.
 */
export function writeChw(img: RgbImage, out: Float32Array, offset: number): void {
  const plane = img.width * img.height;
  if (img.channels !== 3) throw new Error(`expected a 3-channel image, got ${img.channels} channels`);
  if (img.data.length !== plane * 3) {
    throw new Error(`image data has ${img.data.length} values, expected ${plane * 3} for ${img.width}×${img.height}×3`);
  }
  if (offset < 0 || offset + plane * 3 > out.length) {
    throw new RangeError(`writing ${plane * 3} values at ${offset} overflows a buffer of ${out.length}`);
  }
  const src = img.data;
  const r = offset;
  const g = offset + plane;
  const b = offset + 2 * plane;
  for (let i = 0, j = 0; i < plane; i++, j += 3) {
    out[r + i] = src[j]!;
    out[g + i] = src[j + 1]!;
    out[b + i] = src[j + 2]!;
  }
}

/**
 * An interleaved float image from planar data `[3, H, W]` (starting at element `offset`,
 * so one item of a batch can be read without slicing first). Values are copied unchanged
 * (no clamping/rounding: use `toBytes` from image.ts for that).
 */
export function chwToHwc(data: Float32Array, height: number, width: number, offset = 0): RgbImage {
  const plane = width * height;
  if (offset < 0 || offset + 3 * plane > data.length) {
    throw new RangeError(`reading a 3×${height}×${width} image at ${offset} overflows a buffer of ${data.length}`);
  }
  const out = new Float32Array(3 * plane);
  const r = offset;
  const g = offset + plane;
  const b = offset + 2 * plane;
  for (let i = 0, j = 0; i < plane; i++, j += 3) {
    out[j] = data[r + i]!;
    out[j + 1] = data[g + i]!;
    out[j + 2] = data[b + i]!;
  }
  return { data: out, width, height, channels: 3 };
}

/**
 * Pack same-sized images into one NCHW float32 batch. `into` (if given) is reused, which
 * lets a loader recycle its batch buffers instead of allocating 3 MB per step.
 */
export function packBatch(images: readonly RgbImage[], into?: Float32Array): { data: Float32Array; shape: BatchShape } {
  if (images.length === 0) throw new Error('cannot pack an empty batch');
  const { width, height } = images[0]!;
  const item = 3 * width * height;
  const data = into ?? new Float32Array(images.length * item);
  if (data.length !== images.length * item) {
    throw new RangeError(`batch buffer has ${data.length} values, expected ${images.length * item}`);
  }
  images.forEach((img, i) => {
    if (img.width !== width || img.height !== height) {
      throw new Error(`batch images must share one size: item 0 is ${width}×${height}, item ${i} is ${img.width}×${img.height}`);
    }
    writeChw(img, data, i * item);
  });
  return { data, shape: [images.length, 3, height, width] };
}

/** The images of an NCHW batch (3 channels), as interleaved float images. */
export function unpackBatch(data: Float32Array, shape: readonly number[]): RgbImage[] {
  const [n, c, h, w] = shape as BatchShape;
  if (shape.length !== 4 || c !== 3) throw new Error(`expected a [N, 3, H, W] batch, got [${shape.join(', ')}]`);
  if (data.length !== n * c * h * w) throw new RangeError(`batch has ${data.length} values, shape [${shape.join(', ')}] needs ${n * c * h * w}`);
  const out: RgbImage[] = [];
  for (let i = 0; i < n; i++) out.push(chwToHwc(data, h, w, i * 3 * h * w));
  return out;
}

/**
 * Float pixels (0–255 scale) → bytes: rounded half up, clamped to 0–255, NaN → 0. The one
 * rounding rule of the project (`toBytes`, the inference core's 8-bit outputs, RGBA for canvases).
 * Writes `src` into `dst` from element `offset`; returns `dst`.
 */
export function roundToBytes(src: ArrayLike<number>, dst: Uint8Array | Uint8ClampedArray = new Uint8Array(src.length), offset = 0): Uint8Array | Uint8ClampedArray {
  if (offset < 0 || offset + src.length > dst.length) throw new RangeError(`writing ${src.length} bytes at ${offset} overflows a buffer of ${dst.length}`);
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    dst[offset + i] = v !== v ? 0 : v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return dst;
}
