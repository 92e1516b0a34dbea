import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toBytes, type RgbImage } from '../data/image.js';
import { matchHistogram } from './histogram-match.js';

function noise(w: number, h: number, seed: number, max = 256): Uint8Array {
  const d = new Uint8Array(w * h * 3);
  let s = seed;
  for (let i = 0; i < d.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = (s >>> 24) % max;
  }
  return d;
}

test('a strictly increasing remapping of the reference is undone exactly (float source)', () => {
  const ref: RgbImage = { data: noise(20, 15, 1), width: 20, height: 15, channels: 3 };
  const f = [(v: number) => Math.sqrt(v) * 7 + 3, (v: number) => v * v / 300, (v: number) => 2 * v - 40];
  const src: RgbImage = { ...ref, data: Float32Array.from(ref.data, (v, i) => f[i % 3]!(v)) };
  const out = matchHistogram(src, ref);
  assert.deepEqual(Array.from(out.data), Array.from(ref.data));
});

test('a monotone remapping is undone exactly (uint8 source, different channels)', () => {
  const ref: RgbImage = { data: noise(16, 16, 2, 128), width: 16, height: 16, channels: 3 };
  const src: RgbImage = { ...ref, data: Uint8Array.from(ref.data, (v, i) => (i % 3 === 1 ? 2 * v + 1 : 127 + v)) };
  assert.deepEqual(Array.from(matchHistogram(src, ref).data), Array.from(ref.data));
});

test('matching to itself is the identity; a tiled (larger) reference has the same quantiles', () => {
  const img: RgbImage = { data: noise(9, 7, 3), width: 9, height: 7, channels: 3 };
  assert.deepEqual(Array.from(matchHistogram(img, img).data), Array.from(img.data));
  const tiled = new Uint8Array(img.data.length * 2);
  tiled.set(img.data);
  tiled.set(img.data, img.data.length);
  const big: RgbImage = { data: tiled, width: 9, height: 14, channels: 3 };
  assert.deepEqual(Array.from(matchHistogram(img, big).data), Array.from(img.data));
});

test('with distinct source values the output histogram is the reference histogram (same size)', () => {
  // Source: 12 distinct values per channel; reference: arbitrary bytes.
  const src: RgbImage = { data: Float32Array.from({ length: 36 }, (_, i) => Math.floor(i / 3) * 10 + (i % 3)), width: 4, height: 3, channels: 3 };
  const ref: RgbImage = { data: noise(4, 3, 9), width: 4, height: 3, channels: 3 };
  const out = matchHistogram(src, ref);
  for (let c = 0; c < 3; c++) {
    const got = Array.from(out.data).filter((_, i) => i % 3 === c).sort((a, b) => a - b);
    const want = Array.from(ref.data).filter((_, i) => i % 3 === c).sort((a, b) => a - b);
    assert.deepEqual(got, want);
  }
  // Order is preserved: the mapping is monotone.
  for (let i = 3; i < 36; i++) assert.ok(out.data[i]! >= out.data[i - 3]!);
});

test('interpolates between reference quantiles when the source is coarser', () => {
  // Source has 2 levels (half each) → quantiles 0.5, 1; reference 0..3 (one each) → quantiles .25 .5 .75 1.
  const src: RgbImage = { data: Uint8Array.from([0, 0, 0, 0, 0, 0, 9, 9, 9, 9, 9, 9]), width: 4, height: 1, channels: 3 };
  const ref: RgbImage = { data: Uint8Array.from([0, 0, 0, 10, 10, 10, 20, 20, 20, 30, 30, 30]), width: 4, height: 1, channels: 3 };
  assert.deepEqual(Array.from(matchHistogram(src, ref).data), [10, 10, 10, 10, 10, 10, 30, 30, 30, 30, 30, 30]);
});

test('bad input is refused clearly', () => {
  const ok: RgbImage = { data: new Uint8Array(3), width: 1, height: 1, channels: 3 };
  assert.throws(() => matchHistogram({ ...ok, data: new Uint8Array(4) }, ok), /source must be an RGB image/);
  assert.throws(() => matchHistogram(ok, { ...ok, width: 0, height: 0, data: new Uint8Array(0) }), /reference is empty/);
  assert.throws(() => matchHistogram({ ...ok, data: Float32Array.from([NaN, 0, 0]) }, ok), /NaN/);
});

test("outputType 'uint8': the float result rounded as toBytes rounds it", () => {
  const w = 37, h = 23;
  const src = new Uint8Array(w * h * 3), ref = new Uint8Array(w * h * 3);
  for (let i = 0; i < src.length; i++) {
    src[i] = (i * 37) % 251;
    ref[i] = 40 + ((i * 13) % 97);
  }
  const a = { data: src, width: w, height: h, channels: 3 as const };
  const b = { data: ref, width: w, height: h, channels: 3 as const };
  const f = matchHistogram(a, b);
  const u = matchHistogram(a, b, { outputType: 'uint8' });
  assert.ok(u.data instanceof Uint8Array && f.data instanceof Float32Array);
  assert.deepEqual(Array.from(u.data), Array.from(toBytes(f)));
  assert.ok(Array.from(f.data).some((v) => !Number.isInteger(v)), 'the float result has fractions, so rounding is exercised');
  assert.throws(() => matchHistogram(a, b, { outputType: 'x' as never }), /outputType must be 'float32' or 'uint8', got "x"/);
});
