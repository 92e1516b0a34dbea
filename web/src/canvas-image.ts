/**
 * Pixels in and out of the page: decoding files/URLs, grabbing video frames, drawing results.
 * Everything is RGBA bytes ({@link Pixels}) here; the worker turns them into the core's RgbImage.
 */
import type { Pixels } from './protocol.js';

/** Refuse images the tab could not hold several float copies of (a decompression-bomb guard, like Node's maxPixels). */
export const MAX_IMAGE_PIXELS = 64 * 1024 * 1024;

function context(canvas: HTMLCanvasElement | OffscreenCanvas): CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D {
  // willReadFrequently: keep the bitmap on the CPU, since every frame is read back.
  const ctx = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
  if (!ctx) throw new Error('this browser gives no 2D canvas context');
  return ctx;
}

/** Decode an image file or URL (honouring EXIF orientation, converted to sRGB) to RGBA bytes. */
export async function decodeImage(source: Blob | string): Promise<Pixels> {
  let blob: Blob;
  if (typeof source === 'string') {
    const response = await fetch(source);
    if (!response.ok) throw new Error(`cannot fetch image ${source}: HTTP ${response.status}`);
    blob = await response.blob();
  } else blob = source;
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none' });
  } catch {
    throw new Error(`cannot decode ${typeof source === 'string' ? source : (source as File).name ?? 'the image'}: not an image this browser can read`);
  }
  try {
    const { width, height } = bitmap;
    if (width * height > MAX_IMAGE_PIXELS) throw new Error(`the image is ${width}×${height}, more than ${MAX_IMAGE_PIXELS / 1024 / 1024} MP`);
    const canvas = new OffscreenCanvas(width, height);
    const ctx = context(canvas);
    ctx.drawImage(bitmap, 0, 0);
    return { data: ctx.getImageData(0, 0, width, height).data, width, height };
  } finally {
    bitmap.close();
  }
}

/** The current frame of `video`, scaled so its longer side is `size` pixels. */
export function grabFrame(video: HTMLVideoElement, size: number, canvas: OffscreenCanvas): Pixels {
  const vw = video.videoWidth;
  const vh = video.videoHeight;
  if (!vw || !vh) throw new Error('the camera has not produced a frame yet');
  const k = size / Math.max(vw, vh);
  const width = Math.max(1, Math.round(vw * k));
  const height = Math.max(1, Math.round(vh * k));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = context(canvas);
  ctx.drawImage(video, 0, 0, width, height);
  return { data: ctx.getImageData(0, 0, width, height).data, width, height };
}

/** Show pixels on a canvas (resized to fit them). */
export function draw(canvas: HTMLCanvasElement, pixels: Pixels): void {
  if (canvas.width !== pixels.width || canvas.height !== pixels.height) {
    canvas.width = pixels.width;
    canvas.height = pixels.height;
  }
  // Pixels from the worker own a plain (transferred) ArrayBuffer, as ImageData requires.
  context(canvas).putImageData(new ImageData(pixels.data as Uint8ClampedArray<ArrayBuffer>, pixels.width, pixels.height), 0, 0);
}

/** A copy (pixels sent to the worker are transferred, so keep a copy to show or reuse). */
export function copyPixels(p: Pixels): Pixels {
  return { data: new Uint8ClampedArray(p.data), width: p.width, height: p.height };
}
