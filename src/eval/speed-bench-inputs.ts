/**
 * The benchmark's images: a photo cut to a square of the size measured (the paper's speed table
 * is at 256², 512², 1024²), or, where the data folder is absent, a deterministic synthetic
 * image with the same structure at every size.
 */
import sharp from 'sharp';
import type { RgbImage } from '../data/image.js';
import { probeImage } from '../infer/runtime-choice.js';

/** `file` resized to cover `side`×`side` and centre-cropped (sharp, Lanczos-3): 8-bit RGB. */
export async function squareImage(file: string, side: number): Promise<RgbImage> {
  const { data, info } = await sharp(file, { limitInputPixels: false })
    .removeAlpha()
    .resize(side, side, { fit: 'cover', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${file}: expected RGB, got ${info.channels} channels`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: side, height: side, channels: 3 };
}

/** The runtime probe's synthetic image, quantised to 8 bits as a decoded photo would be. */
export function probeLikeImage(side: number): RgbImage {
  const f = probeImage(side);
  const data = new Uint8Array(f.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(f.data[i]!);
  return { data, width: side, height: side, channels: 3 };
}
