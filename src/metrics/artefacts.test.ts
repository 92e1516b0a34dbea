import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fft, fft2Real } from './fft.js';
import { gridArtefacts, hann, darkFraction, GRID_FREQUENCIES, ARTEFACT_DEFAULTS } from './artefacts.js';
import type { RgbImage } from '../data/image.js';
import { loadImage } from '../data/image.js';
import { sharedDataDir } from '../util/paths.js';
import { pythonMissing, runPython } from '../../test/python-fixtures.js';

/** Deterministic uniform [0, 1) numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The DFT by its definition, float64: the independent reference for the FFT. */
function naiveDft(re: Float64Array, im: Float64Array): { re: Float64Array; im: Float64Array } {
  const n = re.length;
  const or = new Float64Array(n), oi = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      const a = (-2 * Math.PI * ((k * j) % n)) / n;
      or[k] += re[j]! * Math.cos(a) - im[j]! * Math.sin(a);
      oi[k] += re[j]! * Math.sin(a) + im[j]! * Math.cos(a);
    }
  }
  return { re: or, im: oi };
}

test('fft equals the DFT by definition for power-of-two and other lengths (Bluestein)', () => {
  const r = rng(1);
  for (const n of [1, 2, 3, 5, 8, 12, 17, 64, 97, 118, 237]) {
    const re = Float64Array.from({ length: n }, () => r() - 0.5), im = Float64Array.from({ length: n }, () => r() - 0.5);
    const want = naiveDft(re, im);
    const got = { re: re.slice(), im: im.slice() };
    fft(got);
    let err = 0, scale = 0;
    for (let k = 0; k < n; k++) {
      err = Math.max(err, Math.hypot(got.re[k]! - want.re[k]!, got.im[k]! - want.im[k]!));
      scale = Math.max(scale, Math.hypot(want.re[k]!, want.im[k]!));
    }
    assert.ok(err <= 1e-11 * Math.max(1, scale) * n, `n=${n}: max error ${err} (scale ${scale})`);
  }
});

test('fft2Real of a single 2-D cosine has exactly its two spectral lines', () => {
  // cos(2π(3y/H + 5x/W)) on 12×20: lines of height H·W/2 at (3, 5) and (−3, −5), zero elsewhere.
  const w = 20, h = 12;
  const plane = Float64Array.from({ length: w * h }, (_, i) => Math.cos(2 * Math.PI * ((3 * Math.floor(i / w)) / h + (5 * (i % w)) / w)));
  const { re, im } = fft2Real(plane, w, h);
  for (let ky = 0; ky < h; ky++) {
    for (let kx = 0; kx < w; kx++) {
      const line = (ky === 3 && kx === 5) || (ky === h - 3 && kx === w - 5);
      assert.ok(Math.abs(re[ky * w + kx]! - (line ? (w * h) / 2 : 0)) < 1e-9 && Math.abs(im[ky * w + kx]!) < 1e-9, `bin (${ky}, ${kx}): ${re[ky * w + kx]} + ${im[ky * w + kx]}i`);
    }
  }
  assert.throws(() => fft2Real(plane, w, h + 1), /fft2Real: plane of 240 values does not match 20×13/);
});

test('hann is numpy.hanning (symmetric, zero at the ends)', () => {
  const h5 = Array.from(hann(5));
  [0, 0.5, 1, 0.5, 0].forEach((v, i) => assert.ok(Math.abs(h5[i]! - v) < 1e-15, `hann(5)[${i}] = ${h5[i]}`));
  assert.deepEqual(Array.from(hann(1)), [1]);
});

/** A smooth image: a few low-frequency waves and a gradient, no energy near the grid frequencies. */
function smoothImage(w: number, h: number): RgbImage {
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = 100 + 60 * Math.sin((2 * Math.PI * x) / 97) * Math.cos((2 * Math.PI * y) / 61) + (40 * x) / w + 20 * Math.sin((2 * Math.PI * (x + 2 * y)) / 41);
      data.set([v, 0.9 * v + 10, 0.7 * v + 30], (y * w + x) * 3);
    }
  }
  return { data, width: w, height: h, channels: 3 };
}

/** `base` plus a fixed 4×4 tile repeated over the image: the grid of two stride-2 layers. */
function withGrid(base: RgbImage, period: number, amplitude: number, seed: number): RgbImage {
  const r = rng(seed);
  const tile = Array.from({ length: period * period }, () => (r() - 0.5) * 2 * amplitude);
  const data = Float32Array.from(base.data as ArrayLike<number>);
  for (let y = 0; y < base.height; y++) for (let x = 0; x < base.width; x++) for (let c = 0; c < 3; c++) data[(y * base.width + x) * 3 + c] += tile[(y % period) * period + (x % period)]!;
  return { ...base, data };
}

function noiseImage(w: number, h: number, seed: number): RgbImage {
  const r = rng(seed);
  return { data: Float32Array.from({ length: w * h * 3 }, () => 255 * r()), width: w, height: h, channels: 3 };
}

test('a 4-px grid on a smooth image scores in the hundreds at every grid frequency; the smooth image and noise score a few', () => {
  const w = 200, h = 152;
  const smooth = smoothImage(w, h);
  const s = gridArtefacts(smooth);
  const n = gridArtefacts(noiseImage(w, h, 7));
  // Noise: the max of 9 bins over the median of exponentially distributed powers, ≈ 4 (see header); smooth: ≈ 1–few.
  assert.ok(s.figure < 8, `smooth figure ${s.figure}`);
  assert.ok(n.figure > 1.5 && n.figure < 8, `noise figure ${n.figure}`);
  // A 4×4 tile of amplitude 2 (grey levels) — faint to the eye — puts a line at all 15 frequencies.
  const g = gridArtefacts(withGrid(smooth, 4, 2, 3));
  assert.equal(g.peaks.length, 15);
  assert.deepEqual(new Set(g.peaks.map((p) => `${p.fy},${p.fx}`)).size, 15);
  assert.ok(g.figure > 100, `4-px grid figure ${g.figure}`);
  for (const p of g.peaks) assert.ok(p.ratio > 20, `4-px grid at (${p.fy}, ${p.fx}): ratio ${p.ratio}`);
});

test('a 2-px grid lights only the frequencies of period 2', () => {
  const w = 200, h = 152;
  // Smooth content plus a little noise (a floor like a photo's: without it, the floor at ¼ is so
  // low that even the Hann leakage of the ½ line, 50 bins away, would show).
  const noise = noiseImage(w, h, 11);
  const photo = smoothImage(w, h);
  photo.data = photo.data.map((v, i) => v + 0.02 * ((noise.data[i] as number) - 127.5));
  const base = gridArtefacts(photo);
  const g = gridArtefacts(withGrid(photo, 2, 2, 5));
  g.peaks.forEach((p, i) => {
    const period2 = [0, 0.5].includes(Math.abs(p.fy)) && [0, 0.5].includes(Math.abs(p.fx));
    // A period-2 pattern has no energy at ±¼; the Hann window's leakage from ½ to ¼ (50 bins away) is negligible.
    if (period2) assert.ok(p.ratio > 100, `(${p.fy}, ${p.fx}): ${p.ratio}`);
    else assert.ok(Math.abs(p.ratio / base.peaks[i]!.ratio - 1) < 0.01, `(${p.fy}, ${p.fx}) should be as without the grid: ${p.ratio} vs ${base.peaks[i]!.ratio}`);
  });
  // 3 of 15 frequencies lit: geometric mean well above the smooth image's, well below a 4-px grid's.
  assert.ok(g.figure > 5 && g.figure < 100, `2-px grid figure ${g.figure}`);
});

test('errors name the operation and the sizes', () => {
  assert.throws(() => gridArtefacts(noiseImage(40, 40, 1)), /gridArtefacts: a 40×40 image is too small for a neighbourhood of ±8 bins/);
  assert.throws(() => gridArtefacts(noiseImage(100, 100, 1), { peakRadius: 3, neighbourhoodRadius: 3 }), /0 ≤ peakRadius < neighbourhoodRadius/);
  assert.throws(() => gridArtefacts({ data: new Float32Array(5), width: 2, height: 2, channels: 3 }), /lumaPlane: 2×2 RGB needs 12 values, got 5/);
});

const NUMPY_FIGURE = `
import sys, json, numpy as np
w, h, pr, R = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rgb = np.fromfile(sys.argv[1], dtype=np.float32).astype(np.float64).reshape(h, w, 3)
y = rgb @ np.array([0.299, 0.587, 0.114])
y = (y - y.mean()) * np.outer(np.hanning(h), np.hanning(w))
P = np.abs(np.fft.fft2(y)) ** 2
d = np.arange(-R, R + 1)
cheb = np.maximum(np.abs(d)[:, None], np.abs(d)[None, :])
ratios = {}
for fy in [0, 0.25, 0.5, -0.25]:
    for fx in [0, 0.25, 0.5, -0.25]:
        if fy == 0 and fx == 0: continue
        cy, cx = int(np.floor(fy * h + 0.5)), int(np.floor(fx * w + 0.5))
        block = P[np.ix_((cy + d) % h, (cx + d) % w)]
        ratios[f"{fy},{fx}"] = block[cheb <= pr].max() / np.median(block[cheb > pr])
print(json.dumps({"figure": float(np.exp(np.mean(np.log(list(ratios.values()))))), "ratios": ratios}))
`;

test('the figure equals an independent numpy implementation (np.fft.fft2, np.hanning, np.median) on chicago.jpg', { skip: pythonMissing(['numpy']) }, async () => {
  // The photo when the shared data is here (712×474: Bluestein on both axes), else a synthetic one.
  const chicago = path.join(sharedDataDir(), 'content', 'chicago.jpg');
  const img = existsSync(chicago) ? await loadImage(chicago) : withGrid(smoothImage(212, 150), 4, 3, 9);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'artefacts-'));
  try {
    const file = path.join(dir, 'rgb.f32');
    writeFileSync(file, Buffer.from(Float32Array.from(img.data as ArrayLike<number>).buffer));
    const ref = JSON.parse(runPython(NUMPY_FIGURE, [file, String(img.width), String(img.height), String(ARTEFACT_DEFAULTS.peakRadius), String(ARTEFACT_DEFAULTS.neighbourhoodRadius)])) as { figure: number; ratios: Record<string, number> };
    const ours = gridArtefacts(img);
    assert.ok(Math.abs(ours.figure / ref.figure - 1) < 1e-9, `figure: ours ${ours.figure}, numpy ${ref.figure}`);
    for (const p of ours.peaks) {
      const want = ref.ratios[`${p.fy},${p.fx}`]!;
      assert.ok(Math.abs(p.ratio / want - 1) < 1e-9, `(${p.fy}, ${p.fx}): ours ${p.ratio}, numpy ${want}`);
    }
    assert.equal(GRID_FREQUENCIES.length, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('darkFraction counts the pixels whose brightest channel is at most the threshold', () => {
  // 2×2: (0,0,0) dark, (12,5,0) dark at 12, (13,0,0) not, (200,200,200) not
  const img = { data: Uint8Array.from([0, 0, 0, 12, 5, 0, 13, 0, 0, 200, 200, 200]), width: 2, height: 2, channels: 3 as const };
  assert.equal(darkFraction(img), 0.5);
  assert.equal(darkFraction(img, 13), 0.75);
  assert.equal(darkFraction(img, 0), 0.25);
  assert.throws(() => darkFraction({ ...img, data: img.data.subarray(0, 9) }), /darkFraction: expected an RGB image with 12 bytes, got 9/);
});

