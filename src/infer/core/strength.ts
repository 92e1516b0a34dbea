/**
 * Style strength: `out = s·stylised + (1 − s)·input`, a per-pixel linear blend.
 *
 * Why a blend rather than a network input: the feed-forward networks are trained for one
 * style weight; interpolating in pixel space is the cheap, model-independent way to tone an
 * effect down (s = 0 gives the photo back, s = 1 the network's output).
 */
import type { RgbImage } from '../../data/image.js';

export function checkStrength(strength: number): void {
  if (!(Number.isFinite(strength) && strength >= 0 && strength <= 1)) {
    throw new RangeError(`strength must be a number between 0 and 1, got ${strength}`);
  }
}

/** A new float image `s·stylised + (1 − s)·original`; both must have the same size. */
export function blendStrength(stylised: RgbImage, original: RgbImage, strength: number): RgbImage {
  checkStrength(strength);
  if (stylised.width !== original.width || stylised.height !== original.height) {
    throw new Error(
      `blendStrength: the stylised image is ${stylised.width}×${stylised.height} but the original is ${original.width}×${original.height}`,
    );
  }
  const a = stylised.data;
  const b = original.data;
  const out = new Float32Array(a.length);
  const t = 1 - strength;
  for (let i = 0; i < out.length; i++) out[i] = strength * a[i]! + t * b[i]!;
  return { data: out, width: stylised.width, height: stylised.height, channels: 3 };
}
