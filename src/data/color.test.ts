import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RgbImage } from './image.js';
import { preserveColor, rgbToY, rgbToYcbcr, ycbcrToRgb } from './color.js';

const px = (...rgb: number[]): RgbImage => ({ data: Uint8Array.from(rgb), width: rgb.length / 3, height: 1, channels: 3 });
const close = (a: number, b: number, eps = 1e-4) => assert.ok(Math.abs(a - b) < eps, `${a} vs ${b}`);

test('MATLAB rgb2ycbcr values: black, white, primaries (studio range)', () => {
  const y = rgbToYcbcr(px(0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255));
  const d = Array.from(y.data);
  [16, 128, 128, 235, 128, 128].forEach((v, i) => close(d[i]!, v));
  // Red: Y = 16 + 65.481, Cb = 128 − 37.797, Cr = 128 + 112.
  close(d[6]!, 81.481);
  close(d[7]!, 90.203);
  close(d[8]!, 240);
  close(d[9]!, 16 + 128.553);
  close(d[12]!, 16 + 24.966);
  // Rounded like MATLAB on uint8.
  const r = rgbToYcbcr(px(255, 0, 0), { round: true });
  assert.deepEqual(Array.from(r.data), [81, 90, 240]);
});

test('rgbToY equals the Y of rgbToYcbcr; grey g maps to 16 + 219·g/255', () => {
  const img = px(10, 20, 30, 200, 100, 50, 128, 128, 128);
  const y = rgbToY(img);
  const ycc = rgbToYcbcr(img);
  for (let p = 0; p < 3; p++) assert.equal(y.data[p], ycc.data[p * 3]);
  close(y.data[2]!, 16 + (219 * 128) / 255);
  assert.equal(rgbToY(img, { round: true }).data[2], Math.round(16 + (219 * 128) / 255));
  assert.equal(y.channels, 1);
});

test('ycbcrToRgb inverts rgbToYcbcr (float) and rounds back to the same bytes', () => {
  const data = new Uint8Array(300);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + 11) % 256;
  const img: RgbImage = { data, width: 100, height: 1, channels: 3 };
  const back = ycbcrToRgb(rgbToYcbcr(img));
  for (let i = 0; i < data.length; i++) close(back.data[i]!, data[i]!, 1e-3);
  assert.deepEqual(Array.from(ycbcrToRgb(rgbToYcbcr(img), { round: true }).data), Array.from(data));
});

test('preserveColor: luminance of the stylised image, chroma of the original', () => {
  const original = px(130, 100, 90, 90, 110, 130, 120, 120, 120); // mild chroma: results stay in gamut
  const stylized = px(100, 100, 100, 140, 140, 140, 60, 80, 70);
  const out = preserveColor(stylized, original);
  const yOut = rgbToY(out).data, yStyl = rgbToY(stylized).data;
  const cOut = rgbToYcbcr(out).data, cOrig = rgbToYcbcr(original).data;
  for (let p = 0; p < 3; p++) {
    close(yOut[p]!, yStyl[p]!, 1e-3);
    close(cOut[p * 3 + 1]!, cOrig[p * 3 + 1]!, 1e-3);
    close(cOut[p * 3 + 2]!, cOrig[p * 3 + 2]!, 1e-3);
  }
  // Out-of-gamut combinations are clamped to 0–255.
  const clipped = preserveColor(px(255, 255, 255), px(255, 0, 0));
  for (const v of clipped.data) assert.ok(v >= 0 && v <= 255);
});

test('preserveColor refuses different sizes, naming both', () => {
  const a: RgbImage = { data: new Uint8Array(2 * 3 * 3), width: 2, height: 3, channels: 3 };
  const b: RgbImage = { data: new Uint8Array(4 * 3 * 3), width: 4, height: 3, channels: 3 };
  assert.throws(() => preserveColor(a, b), /stylised image is 2×3 but the original is 4×3/);
  assert.throws(() => rgbToY({ data: new Uint8Array(5), width: 2, height: 1, channels: 3 }), /expected 2×1×3/);
});
