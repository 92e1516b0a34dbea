import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gaussianBlur, gaussianKernel1d } from './blur.js';

test('kernel: radius ceil(3σ), normalised, symmetric, peak in the middle', () => {
  const k = gaussianKernel1d(1);
  assert.equal(k.length, 7);
  assert.ok(Math.abs(k.reduce((a, b) => a + b, 0) - 1) < 1e-15);
  for (let i = 0; i < 3; i++) assert.equal(k[i], k[6 - i]);
  // Ratio of neighbouring taps is exp(−1/2) for σ = 1.
  assert.ok(Math.abs(k[2]! / k[3]! - Math.exp(-0.5)) < 1e-15);
  assert.equal(gaussianKernel1d(1.2).length, 2 * 4 + 1);
  assert.equal(gaussianKernel1d(1, 2).length, 5);
  assert.throws(() => gaussianKernel1d(0), /sigma must be a positive/);
  assert.throws(() => gaussianKernel1d(1, 1.5), /radius/);
});

test('a constant image is unchanged (kernel sums to 1, mirrored borders)', () => {
  const img = { data: new Uint8Array(9 * 5 * 3).fill(200), width: 9, height: 5, channels: 3 };
  const out = gaussianBlur(img, 1);
  for (const v of out.data) assert.ok(Math.abs(v - 200) < 1e-4);
});

test('impulse response in the interior is the outer product of the 1-D kernel; total mass kept', () => {
  const w = 15, h = 15;
  const data = new Float32Array(w * h);
  data[7 * w + 7] = 1000;
  const out = gaussianBlur({ data, width: w, height: h, channels: 1 }, 1);
  const k = gaussianKernel1d(1);
  for (let dy = -3; dy <= 3; dy++) {
    for (let dx = -3; dx <= 3; dx++) {
      const expected = 1000 * k[dy + 3]! * k[dx + 3]!;
      assert.ok(Math.abs(out.data[(7 + dy) * w + 7 + dx]! - expected) < 1e-3);
    }
  }
  assert.equal(out.data[7 * w + 11], 0); // beyond the radius
  const sum = out.data.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1000) < 1e-2);
});

test('symmetric boundary: an impulse at the edge is reflected back (edge sample repeated)', () => {
  const data = new Float32Array(10);
  data[0] = 1;
  const out = gaussianBlur({ data, width: 10, height: 1, channels: 1 }, 1);
  const k = gaussianKernel1d(1);
  // out[0] gets the centre tap plus the tap mirrored from position −1 (= sample 0).
  assert.ok(Math.abs(out.data[0]! - (k[3]! + k[2]!)) < 1e-7);
  assert.ok(Math.abs(out.data[1]! - (k[2]! + k[1]!)) < 1e-7);
  assert.ok(Math.abs(out.data.reduce((a, b) => a + b, 0) - 1) < 1e-6);
});

test('channels are blurred independently; σ = 0 is a float copy; bad data length is an error', () => {
  const data = new Float32Array(6 * 6 * 3);
  for (let i = 0; i < 36; i++) data[i * 3 + 1] = 50;
  const out = gaussianBlur({ data, width: 6, height: 6, channels: 3 }, 1.5);
  for (let i = 0; i < 36; i++) {
    assert.equal(out.data[i * 3], 0);
    assert.ok(Math.abs(out.data[i * 3 + 1]! - 50) < 1e-4);
  }
  const u8 = new Uint8Array([1, 2, 3, 4]);
  const copy = gaussianBlur({ data: u8, width: 2, height: 2, channels: 1 }, 0);
  assert.deepEqual(Array.from(copy.data), [1, 2, 3, 4]);
  assert.ok(copy.data instanceof Float32Array);
  assert.throws(() => gaussianBlur({ data: u8, width: 3, height: 2, channels: 1 }, 1), /4 values, expected 3×2×1/);
});
