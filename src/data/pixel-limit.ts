/**
 * The wording of the pixel limit (`maxPixels`, `--max-pixels`), for decoded inputs and for
 * outputs alike. Platform-free (the inference core checks upscale outputs with it).
 */

const MB = (n: number): string => `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`;

/**
 * Refuse `width × height` pixels when there are more than `maxPixels`, or when decoding them
 * takes `decodedBytes` (default 3 a pixel, 8-bit RGB) — more than `maxPixels` 8-bit RGB pixels
 * take (a 16-bit RGBA PNG, 8 bytes a pixel). `what` prefixes the size ("the ×4 output", or '').
 */
export function checkPixelLimit(what: string, width: number, height: number, maxPixels: number, decodedBytes = width * height * 3): void {
  const pixels = width * height;
  const size = `${what ? `${what} ` : ''}${width}×${height} = ${pixels} pixels`;
  const hint = 'raise maxPixels / --max-pixels to allow it';
  if (pixels > maxPixels) throw new RangeError(`${size} exceeds the limit of ${maxPixels} pixels (${MB(pixels * 3)} as 8-bit RGB); ${hint}`);
  if (decodedBytes > maxPixels * 3) {
    throw new RangeError(`${size} decode to ${MB(decodedBytes)}, more than the limit of ${maxPixels} pixels allows (${MB(maxPixels * 3)} as 8-bit RGB); ${hint}`);
  }
}
