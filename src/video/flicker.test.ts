import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RgbImage } from '../data/image.js';
import { Rng } from '../data/rng.js';
import { addSensorNoise, flicker, panClip, shiftedMeanAbsDiff, stillClip, temporalDifference } from './flicker.js';

/** An image from a function of (x, y, channel). */
function img(width: number, height: number, f: (x: number, y: number, c: number) => number): RgbImage {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = f(x, y, c);
  return { data, width, height, channels: 3 };
}

test('shiftedMeanAbsDiff: hand-computed values on a 3×2 frame', () => {
  // prev = 0 1 2 / 3 4 5 (all channels); cur = prev + 1 except pixel (0,0) which is +4.
  const prev = img(3, 2, (x, y) => y * 3 + x);
  const cur = img(3, 2, (x, y) => y * 3 + x + (x === 0 && y === 0 ? 4 : 1));
  // No shift: 5 pixels differ by 1, one by 4 → (5·1 + 4)/6 = 1.5.
  assert.equal(shiftedMeanAbsDiff(cur, prev), 1.5);
  // Shift (1, 0): cur(x, y) vs prev(x+1, y) on x = 0, 1: values cur 4,2 / 4,5 vs prev 1,2 / 4,5 → |3|,0,0,0 → 0.75.
  assert.equal(shiftedMeanAbsDiff(cur, prev, { dx: 1, dy: 0 }), 0.75);
  // Shift (−1, 1): cur(x, 0) vs prev(x−1, 1) on x = 1, 2: cur 2,3 vs prev 3,4 → 1, 1 → 1.
  assert.equal(shiftedMeanAbsDiff(cur, prev, { dx: -1, dy: 1 }), 1);
});

test('shiftedMeanAbsDiff: an exact pan is zero at its shift and not at others', () => {
  const big = img(40, 30, (x, y, c) => (x * 7 + y * 13 + c * 5) % 251);
  const clip = panClip({ ...big, data: Uint8Array.from(big.data) }, { dx: 3, dy: 2 }, { width: 20, height: 12, frames: 4, noise: null });
  assert.deepEqual(temporalDifference(clip.frames, clip.shift), [0, 0, 0]);
  assert.ok(shiftedMeanAbsDiff(clip.frames[1]!, clip.frames[0]!, { dx: 0, dy: 0 }) > 5);
  assert.ok(shiftedMeanAbsDiff(clip.frames[1]!, clip.frames[0]!, { dx: 2, dy: 2 }) > 5);
  // Negative steps move the window the other way and the same identity holds.
  const back = panClip({ ...big, data: Uint8Array.from(big.data) }, { dx: -3, dy: 0 }, { width: 20, height: 12, frames: 4, noise: null });
  assert.deepEqual(temporalDifference(back.frames, back.shift), [0, 0, 0]);
});

test('shiftedMeanAbsDiff rejects sizes that differ and shifts without overlap', () => {
  const a = img(4, 4, () => 0);
  assert.throws(() => shiftedMeanAbsDiff(a, img(4, 3, () => 0)), /differ in size/);
  assert.throws(() => shiftedMeanAbsDiff(a, a, { dx: 4, dy: 0 }), /no pixel/);
  assert.throws(() => shiftedMeanAbsDiff(a, a, { dx: 0.5, dy: 0 }), /whole pixels/);
});

test('flicker: a stylisation that doubles every change has flicker 2; one that ignores them has 0', () => {
  const base = img(8, 6, (x, y) => 100 + x + y);
  const inputs = [0, 1, 2, 3].map((t) => img(8, 6, (x, y) => base.data[(y * 8 + x) * 3]! + ((x + y + t) % 2 ? 2 : -2)));
  const doubled = inputs.map((f) => ({ ...f, data: f.data.map((v) => 2 * v) }));
  const r = flicker(doubled, inputs, { dx: 0, dy: 0 });
  assert.equal(r.pairs, 3);
  assert.equal(r.input, 4);
  assert.equal(r.output, 8);
  assert.equal(r.flicker, 2);
  const constant = inputs.map(() => base);
  assert.equal(flicker(constant, inputs, { dx: 0, dy: 0 }).flicker, 0);
  assert.throws(() => flicker(constant, constant, { dx: 0, dy: 0 }), /do not change/);
  assert.throws(() => flicker(constant.slice(1), inputs, { dx: 0, dy: 0 }), /3 outputs for 4 inputs/);
});

test('sensor noise: zero-mean, with the variance a·I + b it is given, fresh in every frame', () => {
  const flat = (v: number) => ({ data: new Uint8Array(200 * 200 * 3).fill(v), width: 200, height: 200, channels: 3 as const });
  const rng = new Rng(1);
  for (const v of [40, 128, 200]) {
    const noisy = addSensorNoise(flat(v), { shot: 0.05, read: 3 }, rng);
    let s = 0, s2 = 0;
    for (const x of noisy.data) {
      s += x - v;
      s2 += (x - v) ** 2;
    }
    const n = noisy.data.length;
    const mean = s / n, variance = s2 / n - mean ** 2;
    const want = 3 + 0.05 * v + 1 / 12; // + rounding to integers
    assert.ok(Math.abs(mean) < 0.05, `mean ${mean}`);
    assert.ok(Math.abs(variance - want) / want < 0.05, `variance ${variance} vs ${want} at ${v}`);
  }
  const clip = stillClip(flat(128), { width: 50, height: 40, frames: 3, seed: 2 });
  assert.ok(shiftedMeanAbsDiff(clip.frames[1]!, clip.frames[0]!) > 1);
  assert.deepEqual(clip.shift, { dx: 0, dy: 0 });
});

test('panClip refuses a photo too small for the pan', () => {
  const small = { data: new Uint8Array(30 * 20 * 3), width: 30, height: 20, channels: 3 as const };
  assert.throws(() => panClip(small, { dx: 4, dy: 0 }, { width: 20, height: 20, frames: 4 }), /needs a photo of at least 32×20/);
});
