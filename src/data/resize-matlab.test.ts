import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadImage } from './image.js';
import { contributions, cubicKernel, imresizeBicubic, imresizeOutputSize } from './resize-matlab.js';
import { sharedDataDir } from '../util/paths.js';

const dataRoot = sharedDataDir();
const benchDir = path.join(dataRoot, 'sr-bench');
const haveBench = fs.existsSync(benchDir);

test('cubic kernel: Keys a = -0.5 at hand-computed points', () => {
  assert.equal(cubicKernel(0), 1);
  assert.equal(cubicKernel(1), 0);
  assert.equal(cubicKernel(-2), 0);
  assert.equal(cubicKernel(2.5), 0);
  assert.equal(cubicKernel(0.5), 0.5625);
  assert.equal(cubicKernel(-1.5), -0.0625);
  assert.equal(cubicKernel(0.25), 0.8671875);
  assert.equal(cubicKernel(1.75), -0.0234375);
});

test('×2 upscale of a column matches the hand-computed MATLAB value (symmetric and replicate borders)', () => {
  // x = 1 → u = 0.75, taps at 1-based −1, 0, 1, 2 with weights −0.0234375, 0.2265625, 0.8671875, −0.0703125.
  // symmetric: −1 → 2, 0 → 1  ⇒ 1.09375·v1 − 0.09375·v2 = 9.0625 for v = 10, 20, 30, 40.
  const col = { data: Float32Array.from([10, 20, 30, 40]), width: 1, height: 4, channels: 1 };
  const sym = imresizeBicubic(col, { height: 8, width: 1 });
  assert.equal(sym.data[0], 9.0625);
  // replicate: −1 → 1, 0 → 1 ⇒ 1.0703125·v1 − 0.0703125·v2 = 9.296875.
  const rep = imresizeBicubic(col, { height: 8, width: 1, boundary: 'replicate' });
  assert.equal(rep.data[0], 9.296875);
  // Interior samples don't depend on the boundary, and the result is symmetric for a linear ramp.
  assert.equal(sym.data[3], rep.data[3]);
  const ramp = imresizeBicubic(col, { height: 8, width: 1 });
  for (let i = 0; i < 8; i++) assert.ok(Math.abs(ramp.data[i]! + ramp.data[7 - i]! - 50) < 1e-9);
});

test('contributions: weights sum to 1, shrink kernel is 4/s wide, indices mirrored in range', () => {
  const c = contributions(480, 120, 0.25);
  assert.equal(c.outLength, 120);
  assert.ok(c.taps <= 18 && c.taps >= 16, `taps ${c.taps}`);
  for (let i = 0; i < c.outLength; i++) {
    let s = 0;
    for (let k = 0; k < c.taps; k++) {
      s += c.weights[i * c.taps + k]!;
      const j = c.indices[i * c.taps + k]!;
      assert.ok(j >= 0 && j < 480);
    }
    assert.ok(Math.abs(s - 1) < 1e-12);
  }
  // Interior rows are symmetric about u (u = 4x − 1.5 sits between two pixels).
  const mid = 60;
  const w = Array.from(c.weights.subarray(mid * c.taps, (mid + 1) * c.taps)).filter((v) => v !== 0);
  for (let k = 0; k < w.length; k++) assert.ok(Math.abs(w[k]! - w[w.length - 1 - k]!) < 1e-15);
  // Cached: the same object comes back.
  assert.equal(contributions(480, 120, 0.25), c);
});

test('output size follows MATLAB (ceil(scale·size), one-sided width/height)', () => {
  assert.deepEqual(imresizeOutputSize(480, 320, { scale: 0.25 }), { width: 120, height: 80, scaleW: 0.25, scaleH: 0.25 });
  assert.deepEqual(imresizeOutputSize(10, 7, { scale: 0.5 }), { width: 5, height: 4, scaleW: 0.5, scaleH: 0.5 });
  assert.deepEqual(imresizeOutputSize(100, 50, { width: 25 }), { width: 25, height: 13, scaleW: 0.25, scaleH: 0.25 });
  assert.throws(() => imresizeOutputSize(10, 10, {}), /give scale, width or height/);
  assert.throws(() => imresizeOutputSize(10, 10, { scale: 0 }), /positive finite/);
  assert.throws(() => imresizeOutputSize(10, 10, { scale: 2, width: 4 }), /either scale or width/);
  assert.throws(() => imresizeOutputSize(10, 10, { width: 2.5 }), /positive integer/);
});

function randomImage(w: number, h: number, c: number, seed: number): { data: Uint8Array; width: number; height: number; channels: number } {
  const data = new Uint8Array(w * h * c);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width: w, height: h, channels: c };
}

test('scale 1 is the identity; a constant uint8 image stays constant when shrunk or enlarged', () => {
  const img = randomImage(13, 9, 3, 1);
  assert.deepEqual(Array.from(imresizeBicubic(img, { scale: 1 }).data), Array.from(img.data));
  const flat = { data: new Uint8Array(40 * 24 * 3).fill(77), width: 40, height: 24, channels: 3 as const };
  for (const scale of [0.25, 0.5, 3, 4]) {
    const out = imresizeBicubic(flat, { scale });
    assert.ok(out.data.every((v) => v === 77), `scale ${scale}`);
  }
});

test('uint8 input is rounded after each pass (integers in 0–255); float input is not', () => {
  const img = randomImage(32, 24, 3, 2);
  const r = imresizeBicubic(img, { scale: 0.25 });
  assert.ok(r.data.every((v) => Number.isInteger(v) && v >= 0 && v <= 255));
  const f = imresizeBicubic({ ...img, data: Float32Array.from(img.data) }, { scale: 0.25 });
  assert.ok(f.data.some((v) => !Number.isInteger(v)));
  assert.ok(imresizeBicubic({ ...img, data: Float32Array.from(img.data) }, { scale: 0.25, roundEachPass: true }).data.every((v, i) => v === r.data[i]));
});

test('the dimension with the smaller scale is resized first (ties: height first), like MATLAB', () => {
  const img = randomImage(64, 40, 3, 3);
  // Width ×1/4, height ×1/2: width first.
  const one = imresizeBicubic(img, { width: 16, height: 20 });
  // (The intermediate is float32, so ask for the per-pass rounding explicitly in the 2nd call.)
  const widthFirst = imresizeBicubic(imresizeBicubic(img, { width: 16, height: 40 }), { width: 16, height: 20, roundEachPass: true });
  const heightFirst = imresizeBicubic(imresizeBicubic(img, { width: 64, height: 20 }), { width: 16, height: 20, roundEachPass: true });
  assert.deepEqual(Array.from(one.data), Array.from(widthFirst.data));
  assert.notDeepEqual(Array.from(one.data), Array.from(heightFirst.data));
  // Equal scales: height first.
  const eq = imresizeBicubic(img, { scale: 0.25 });
  const h1 = imresizeBicubic(imresizeBicubic(img, { width: 64, height: 10 }), { width: 16, height: 10, roundEachPass: true });
  assert.deepEqual(Array.from(eq.data), Array.from(h1.data));
});

test('works for 1-channel images: same as each channel of an RGB image', () => {
  const rgb = randomImage(30, 22, 3, 4);
  const out = imresizeBicubic(rgb, { scale: 0.5 });
  for (let c = 0; c < 3; c++) {
    const plane = { data: Uint8Array.from({ length: 30 * 22 }, (_, i) => rgb.data[i * 3 + c]!), width: 30, height: 22, channels: 1 };
    const p = imresizeBicubic(plane, { scale: 0.5 });
    assert.equal(p.channels, 1);
    for (let i = 0; i < p.data.length; i++) assert.equal(p.data[i], out.data[i * 3 + c]);
  }
});

test('bad input gives clear errors', () => {
  assert.throws(() => imresizeBicubic({ data: new Float32Array(5), width: 2, height: 2, channels: 1 }, { scale: 2 }), /5 values, expected 2×2×1/);
  assert.throws(() => imresizeBicubic({ data: new Float32Array(0), width: 0, height: 2, channels: 1 }, { scale: 2 }), /bad image size/);
  assert.throws(
    () => imresizeBicubic({ data: new Float32Array(4), width: 2, height: 2, channels: 1 }, { scale: 2, boundary: 'circular' as never }),
    /unknown boundary/,
  );
});

test('×1/4 bicubic reproduces the shipped LR_x4 images of Set5, Set14 and BSD100 (PSNR ≥ 45 dB each)', async (t) => {
  if (!haveBench) {
    t.skip(`sr-bench data not found at ${benchDir} (set PERCEPTUAL_DATA)`);
    return;
  }
  for (const set of ['Set5', 'Set14', 'BSD100']) {
    const files = fs.readdirSync(path.join(benchDir, set, 'HR')).filter((f) => f.endsWith('.png')).sort();
    const stats = { symmetric: { psnr: [] as number[], exact: 0, within1: 0 }, replicate: { psnr: [] as number[], exact: 0, within1: 0 } };
    let total = 0;
    for (const f of files) {
      const hr = await loadImage(path.join(benchDir, set, 'HR', f));
      const lr = await loadImage(path.join(benchDir, set, 'LR_x4', f));
      total += lr.data.length;
      for (const boundary of ['symmetric', 'replicate'] as const) {
        const out = imresizeBicubic(hr, { scale: 0.25, boundary });
        assert.equal(out.width, lr.width);
        assert.equal(out.height, lr.height);
        const s = stats[boundary];
        let se = 0;
        for (let i = 0; i < out.data.length; i++) {
          const d = out.data[i]! - lr.data[i]!;
          se += d * d;
          if (d === 0) s.exact++;
          if (d >= -1 && d <= 1) s.within1++;
        }
        const p = se === 0 ? Infinity : 10 * Math.log10((255 * 255) / (se / out.data.length));
        s.psnr.push(p);
        if (boundary === 'symmetric') assert.ok(p >= 45, `${set}/${f}: PSNR ${p.toFixed(2)} dB < 45 dB`);
      }
    }
    for (const boundary of ['symmetric', 'replicate'] as const) {
      const s = stats[boundary];
      const finite = s.psnr.filter(Number.isFinite);
      const mean = finite.length === s.psnr.length ? (finite.reduce((a, b) => a + b, 0) / finite.length).toFixed(2) : `∞ (${s.psnr.length - finite.length}/${s.psnr.length} images identical)`;
      console.log(
        `${set} ×1/4 (${boundary}): mean PSNR ${mean} dB, min ${Math.min(...s.psnr).toFixed(2)} dB, ` +
          `exact ${((100 * s.exact) / total).toFixed(2)} %, within ±1 ${((100 * s.within1) / total).toFixed(2)} % of ${total} values`,
      );
    }
    // The replicate-border variant is bit-exact: this is how the pack's LR images were made.
    assert.equal(stats.replicate.exact, total, `${set}: replicate border not bit-exact`);
  }
});
