import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RgbImage } from '../data/image.js';
import { gaussianWindow1d, metricPlane, mse, psnr, ssim, ssimPlanes, type MetricImage } from './metrics.js';

function noise(n: number, seed: number, lo = 0, hi = 256): Uint8Array {
  const d = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = lo + ((s >>> 24) % (hi - lo));
  }
  return d;
}
const rgb = (w: number, h: number, data: Uint8Array | Float32Array): RgbImage => ({ data, width: w, height: h, channels: 3 });
const plane = (w: number, h: number, data: Uint8Array | Float32Array | Float64Array): MetricImage => ({ data, width: w, height: h, channels: 1 });

test('identical images: PSNR = Infinity, SSIM = 1', () => {
  const a = rgb(20, 16, noise(20 * 16 * 3, 1));
  assert.equal(psnr(a, a), Infinity);
  assert.equal(psnr(a, a, { yChannel: true, border: 4 }), Infinity);
  assert.ok(Math.abs(ssim(a, a) - 1) < 1e-12);
  assert.ok(Math.abs(ssim(a, a, { border: 2 }) - 1) < 1e-12);
});

test('a constant offset d gives MSE d² and PSNR 10·log10(255²/d²)', () => {
  const base = noise(12 * 10 * 3, 2, 20, 200);
  const a = rgb(12, 10, base);
  const b = rgb(12, 10, Uint8Array.from(base, (v) => v + 5));
  assert.equal(mse(a, b), 25);
  assert.ok(Math.abs(psnr(a, b) - 10 * Math.log10((255 * 255) / 25)) < 1e-12);
  // Y of an offset on all three channels moves by 219/255·d (unrounded), so PSNR rises by 20·log10(255/219).
  const yp = psnr(a, b, { yChannel: true, quantize: false });
  assert.ok(Math.abs(yp - (10 * Math.log10((255 * 255) / 25) + 20 * Math.log10(255 / 219))) < 1e-4);
  // Rounded Y differs by 4 or 5 levels per pixel (219/255·5 = 4.29): MSE between 16 and 25.
  const m = mse(a, b, { yChannel: true });
  assert.ok(m >= 16 && m <= 25, `rounded-Y MSE ${m}`);
  assert.equal(psnr(a, b), psnr(b, a));
  assert.equal(psnr(a, b, { peak: 1 }), 10 * Math.log10(1 / 25));
});

test('the border is removed before comparing', () => {
  const a = plane(10, 10, new Uint8Array(100).fill(50));
  const bData = new Uint8Array(100).fill(50);
  for (let i = 0; i < 10; i++) bData[i] = bData[90 + i] = bData[i * 10] = bData[i * 10 + 9] = 0; // 1-px frame
  const b = plane(10, 10, bData);
  assert.ok(Number.isFinite(psnr(a, b)));
  assert.equal(psnr(a, b, { border: 1 }), Infinity);
  assert.throws(() => psnr(a, b, { border: 5 }), /minus a border of 5 px/);
  assert.throws(() => psnr(a, b, { border: -1 }), /non-negative integer/);
});

test('floats are rounded and clamped to 8 bits first (quantize), unless told not to', () => {
  const a = rgb(2, 1, Float32Array.from([10.4, 300, -5, 0, 0, 0]));
  const b = rgb(2, 1, Uint8Array.from([10, 255, 0, 0, 0, 0]));
  assert.equal(psnr(a, b), Infinity);
  assert.ok(Number.isFinite(psnr(a, b, { quantize: false })));
});

test('Y plane: rounded MATLAB Y for RGB, the grey values for 1-channel images', () => {
  const y = metricPlane(rgb(2, 1, Uint8Array.from([255, 255, 255, 255, 0, 0])));
  assert.deepEqual(Array.from(y), [235, 81]);
  assert.deepEqual(Array.from(metricPlane(plane(2, 1, Float32Array.from([3.6, 7])))), [4, 7]);
});

test('size mismatch errors name both sizes', () => {
  const a = rgb(4, 3, new Uint8Array(36));
  const b = rgb(3, 4, new Uint8Array(36));
  assert.throws(() => psnr(a, b), /image sizes differ: 4×3×3 vs 3×4×3/);
  assert.throws(() => ssim(a, b), /image sizes differ: 4×3×3 vs 3×4×3/);
  assert.throws(() => ssim(rgb(10, 10, new Uint8Array(300)), rgb(10, 10, new Uint8Array(300))), /leaves less than 11×11/);
  assert.throws(() => psnr(rgb(4, 3, new Uint8Array(35)), a), /35 values, expected 4×3×3/);
});

test('SSIM window: fspecial(gaussian, 11, 1.5) factor, normalised', () => {
  const w = gaussianWindow1d();
  assert.equal(w.length, 11);
  assert.ok(Math.abs(w.reduce((s, v) => s + v, 0) - 1) < 1e-15);
  assert.ok(Math.abs(w[4]! / w[5]! - Math.exp(-1 / 4.5)) < 1e-14);
});

test('SSIM of a flat image vs a constant-shifted copy is the luminance term (2μ₁μ₂+C1)/(μ₁²+μ₂²+C1)', () => {
  const a = plane(16, 14, new Uint8Array(16 * 14).fill(100));
  const b = plane(16, 14, new Uint8Array(16 * 14).fill(110));
  const C1 = (0.01 * 255) ** 2;
  const expected = (2 * 100 * 110 + C1) / (100 * 100 + 110 * 110 + C1);
  assert.ok(Math.abs(ssim(a, b) - expected) < 1e-12);
  assert.ok(Math.abs(expected - 0.9954763) < 1e-6);
});

test('SSIM of a textured image vs a shifted copy: structure/contrast are perfect, only luminance drops', () => {
  const w = 24, h = 20;
  const base = noise(w * h, 5, 30, 200);
  const a = plane(w, h, base);
  const b = plane(w, h, Uint8Array.from(base, (v) => v + 20));
  const s = ssim(a, b);
  assert.ok(s < 1 && s > 0.95, `ssim ${s}`);
  // Same value from the per-window luminance term alone (σ terms are equal, so c·s = 1).
  const win = gaussianWindow1d();
  const C1 = (0.01 * 255) ** 2;
  let sum = 0, n = 0;
  for (let y = 0; y + 11 <= h; y++) for (let x = 0; x + 11 <= w; x++) {
    let mu = 0;
    for (let i = 0; i < 11; i++) for (let j = 0; j < 11; j++) mu += win[i]! * win[j]! * base[(y + i) * w + x + j]!;
    sum += (2 * mu * (mu + 20) + C1) / (mu * mu + (mu + 20) * (mu + 20) + C1);
    n++;
  }
  assert.ok(Math.abs(s - sum / n) < 1e-9);
});

test('SSIM matches a direct 2-D implementation of ssim_index.m on random planes; symmetric; bounded', () => {
  const w = 23, h = 17;
  const x = Float64Array.from(noise(w * h, 7));
  const yv = Float64Array.from(x, (v, i) => Math.min(255, Math.max(0, v * 0.7 + 30 + ((i * 13) % 17) - 8)));
  const win = gaussianWindow1d();
  const C1 = (0.01 * 255) ** 2, C2 = (0.03 * 255) ** 2;
  let sum = 0, n = 0;
  for (let r = 0; r + 11 <= h; r++) for (let c = 0; c + 11 <= w; c++) {
    let m1 = 0, m2 = 0, s11 = 0, s22 = 0, s12 = 0;
    for (let i = 0; i < 11; i++) for (let j = 0; j < 11; j++) {
      const k = win[i]! * win[j]!, p = x[(r + i) * w + c + j]!, q = yv[(r + i) * w + c + j]!;
      m1 += k * p; m2 += k * q; s11 += k * p * p; s22 += k * q * q; s12 += k * p * q;
    }
    const v1 = s11 - m1 * m1, v2 = s22 - m2 * m2, c12 = s12 - m1 * m2;
    sum += ((2 * m1 * m2 + C1) * (2 * c12 + C2)) / ((m1 * m1 + m2 * m2 + C1) * (v1 + v2 + C2));
    n++;
  }
  assert.equal(n, (w - 10) * (h - 10));
  const got = ssimPlanes(x, yv, w, h);
  assert.ok(Math.abs(got - sum / n) < 1e-12, `${got} vs ${sum / n}`);
  assert.ok(Math.abs(ssimPlanes(yv, x, w, h) - got) < 1e-15);
  const a = rgb(w, h, noise(w * h * 3, 8)), b = rgb(w, h, noise(w * h * 3, 9));
  const s = ssim(a, b, { border: 1 });
  assert.ok(Math.abs(s - ssim(b, a, { border: 1 })) < 1e-15);
  assert.ok(s > -1 && s < 0.2, `unrelated noise ssim ${s}`);
});
