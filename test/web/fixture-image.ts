/**
 * A synthetic test photo: smooth gradients (where tiling seams would show), hard-edged shapes
 * (where padding differences would show) and fine texture, as a PNG.
 */
import sharp from 'sharp';
import type { RgbImage } from '../../src/data/image.js';

export function fixtureImage(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  const cx = width * 0.35, cy = height * 0.45, r = Math.min(width, height) * 0.22;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      let rgb = [(255 * x) / (width - 1), (255 * y) / (height - 1), 128 + 100 * Math.sin((x + 2 * y) / 5)];
      if ((x - cx) ** 2 + (y - cy) ** 2 < r * r) rgb = [230, 40, 50];
      if (x > width * 0.6 && x < width * 0.85 && y > height * 0.55 && y < height * 0.85) rgb = [30, 60, ((x ^ y) & 8) ? 220 : 90];
      for (let c = 0; c < 3; c++) data[i + c] = Math.max(0, Math.min(255, Math.round(rgb[c]!)));
    }
  }
  return { data, width, height, channels: 3 };
}

export function encodePng(image: RgbImage): Promise<Buffer> {
  return sharp(image.data as Uint8Array, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
}
