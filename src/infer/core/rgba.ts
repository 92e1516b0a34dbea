/**
 * RGBA bytes (what `<canvas>`'s ImageData holds) ↔ {@link RgbImage}.
 *
 * Why in the platform-free core: it is pure arithmetic on typed arrays, so it can be tested in
 * Node, and the browser entry then only moves ImageData in and out of canvases. Alpha is
 * dropped on the way in (the networks see RGB, as `loadImage` does in Node) and set opaque on
 * the way out.
 */
import type { RgbImage } from '../../data/image.js';

/** Interleaved RGBA (4 bytes a pixel) → an RGB byte image. */
export function rgbaToRgb(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): RgbImage {
  const pixels = width * height;
  if (rgba.length !== pixels * 4) throw new RangeError(`RGBA data has ${rgba.length} bytes, expected ${width}×${height}×4 = ${pixels * 4}`);
  const out = new Uint8Array(pixels * 3);
  for (let p = 0, i = 0, j = 0; p < pixels; p++, i += 4, j += 3) {
    out[j] = rgba[i]!;
    out[j + 1] = rgba[i + 1]!;
    out[j + 2] = rgba[i + 2]!;
  }
  return { data: out, width, height, channels: 3 };
}

/**
 * An RGB image → opaque RGBA bytes, rounding and clamping float values to 0–255 (NaN → 0),
 * the same rounding as `toBytes` in Node so both platforms produce the same bytes.
 * `into` (if given, `width·height·4` long) is reused — e.g. one ImageData per webcam stream.
 */
export function rgbToRgba(image: RgbImage, into?: Uint8ClampedArray): Uint8ClampedArray {
  const pixels = image.width * image.height;
  if (image.data.length !== pixels * 3) throw new RangeError(`image data has ${image.data.length} values, expected ${image.width}×${image.height}×3`);
  const out = into ?? new Uint8ClampedArray(pixels * 4);
  if (out.length !== pixels * 4) throw new RangeError(`RGBA buffer has ${out.length} bytes, expected ${pixels * 4}`);
  const src = image.data;
  const bytes = src instanceof Uint8Array;
  for (let p = 0, i = 0, j = 0; p < pixels; p++, i += 4, j += 3) {
    for (let c = 0; c < 3; c++) {
      const v = src[j + c]!;
      // Uint8ClampedArray would round half to even; Math.round (half up) matches toBytes.
      out[i + c] = bytes ? v : v !== v ? 0 : v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
    out[i + 3] = 255;
  }
  return out;
}
