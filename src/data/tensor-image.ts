/**
 * Images ⇄ engine tensors: `[1, 3, H, W]` float32 on the 0–255 scale, and loading an image
 * resized so that its longer side is a given size (style images, Gatys inputs).
 */
import sharp from 'sharp';
import { tensor, type Tensor } from '../engine/index.js';
import { loadImage, toBytes, type RgbImage } from './image.js';
import { hwcToChw, chwToHwc } from './tensor-layout.js';

export function imageToTensor(img: RgbImage): Tensor {
  return tensor(hwcToChw(img), [1, 3, img.height, img.width]);
}

/** The first image of a `[N, 3, H, W]` tensor as a float RgbImage (values as they are). */
export function tensorToImage(t: Tensor): RgbImage {
  const [, c, h, w] = t.shape as [number, number, number, number];
  if (t.ndim !== 4 || c !== 3) throw new Error(`tensorToImage: expected [N, 3, H, W], got [${t.shape.join(', ')}]`);
  const data = t.toFloat32Array();
  return chwToHwc(data.subarray(0, 3 * h * w), h, w);
}

/** Resize (Lanczos-3) so that the longer side is `maxSide`; up or down. */
export async function resizeLongerSide(img: RgbImage, maxSide: number): Promise<RgbImage> {
  const scale = maxSide / Math.max(img.width, img.height);
  const width = Math.max(1, Math.round(img.width * scale)), height = Math.max(1, Math.round(img.height * scale));
  if (width === img.width && height === img.height) return img;
  const data = await sharp(toBytes(img), { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(width, height, { kernel: 'lanczos3', fit: 'fill' })
    .raw()
    .toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height, channels: 3 };
}

/** Load an image with its longer side resized to `maxSide` (unchanged when omitted). */
export async function loadImageResized(file: string, maxSide?: number): Promise<RgbImage> {
  const img = await loadImage(file);
  return maxSide ? resizeLongerSide(img, maxSide) : img;
}
