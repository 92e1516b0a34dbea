// RGBA (canvas ImageData) ↔ RgbImage: exact for bytes, Math.round + clamp for floats (as toBytes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toBytes } from '../../data/image.js';
import { rgbaToRgb, rgbToRgba } from './rgba.js';

test('RGBA bytes round-trip exactly and come back opaque', () => {
  const rgba = new Uint8ClampedArray([1, 2, 3, 0, 250, 251, 252, 128, 9, 8, 7, 255]);
  const rgb = rgbaToRgb(rgba, 3, 1);
  assert.deepEqual(Array.from(rgb.data), [1, 2, 3, 250, 251, 252, 9, 8, 7]);
  assert.deepEqual(Array.from(rgbToRgba(rgb)), [1, 2, 3, 255, 250, 251, 252, 255, 9, 8, 7, 255]);
  assert.throws(() => rgbaToRgb(rgba, 2, 2), /12 bytes, expected 2×2×4 = 16/);
});

test('float pixels are rounded half up and clamped, exactly like toBytes', () => {
  const data = Float32Array.from([-3, 0.5, 1.5, 2.5, 254.5, 300, Number.NaN, 127.49, 127.5]);
  const img = { data, width: 3, height: 1, channels: 3 as const };
  const rgba = rgbToRgba(img);
  const bytes = toBytes(img);
  for (let p = 0; p < 3; p++) for (let c = 0; c < 3; c++) assert.equal(rgba[p * 4 + c], bytes[p * 3 + c]);
  assert.deepEqual(Array.from(rgba), [0, 1, 2, 255, 3, 255, 255, 255, 0, 127, 128, 255]);
  const into = new Uint8ClampedArray(12);
  assert.equal(rgbToRgba(img, into), into);
  assert.throws(() => rgbToRgba(img, new Uint8ClampedArray(8)), /8 bytes, expected 12/);
});
