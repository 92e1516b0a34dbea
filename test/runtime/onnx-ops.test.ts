// Graphs written by the builder, run in onnxruntime-node, against a plain float64
// reference of each operator written below (naive loops, no shared code with src/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OnnxGraphBuilder } from '../../src/onnx/graph-builder.js';
import * as L from '../../src/onnx/layers.js';
import { foldBatchNorm } from '../../src/onnx/fold-batch-norm.js';
import { OrtModel } from '../../src/runtime/ort-session.js';

// ---------------------------------------------------------------- reference (float64, NCHW)

interface T4 { d: Float64Array; n: number; c: number; h: number; w: number }
const t4 = (n: number, c: number, h: number, w: number): T4 => ({ d: new Float64Array(n * c * h * w), n, c, h, w });
const at = (t: T4, n: number, c: number, y: number, x: number) => ((n * t.c + c) * t.h + y) * t.w + x;
const map = (t: T4, f: (v: number) => number): T4 => ({ ...t, d: t.d.map(f) });

function refPad(x: T4, [top, left, bottom, right]: readonly number[], mode: 'reflect' | 'edge' | 'constant', value = 0): T4 {
  const y = t4(x.n, x.c, x.h + top! + bottom!, x.w + left! + right!);
  const src = (i: number, size: number): number => {
    if (i >= 0 && i < size) return i;
    if (mode === 'edge') return i < 0 ? 0 : size - 1;
    if (mode === 'reflect') return i < 0 ? -i : 2 * (size - 1) - i; // mirror without repeating the edge
    return -1;
  };
  for (let n = 0; n < x.n; n++) for (let c = 0; c < x.c; c++) for (let i = 0; i < y.h; i++) for (let j = 0; j < y.w; j++) {
    const si = src(i - top!, x.h), sj = src(j - left!, x.w);
    y.d[at(y, n, c, i, j)] = si < 0 || sj < 0 ? value : x.d[at(x, n, c, si, sj)]!;
  }
  return y;
}

/** Cross-correlation, weight OIHW, zero pads [top, left, bottom, right]. */
function refConv(x: T4, w: Float32Array, [O, I, kh, kw]: readonly number[], b: Float32Array | null, s: number, pads: readonly number[]): T4 {
  const xp = refPad(x, pads, 'constant');
  const oh = Math.floor((xp.h - kh!) / s) + 1, ow = Math.floor((xp.w - kw!) / s) + 1;
  const y = t4(x.n, O!, oh, ow);
  for (let n = 0; n < x.n; n++) for (let o = 0; o < O!; o++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    let acc = b ? b[o]! : 0;
    for (let c = 0; c < I!; c++) for (let u = 0; u < kh!; u++) for (let v = 0; v < kw!; v++) {
      acc += xp.d[at(xp, n, c, i * s + u, j * s + v)]! * w[((o * I! + c) * kh! + u) * kw! + v]!;
    }
    y.d[at(y, n, o, i, j)] = acc;
  }
  return y;
}

/** Transposed conv by scattering: input (i, j) adds w·x at full-output (i·s+u, j·s+v); then pads are cut off. Weight [I, O, kh, kw]. */
function refConvT(x: T4, w: Float32Array, [I, O, kh, kw]: readonly number[], b: Float32Array | null, s: number, [pt, pl, pb, pr]: readonly number[], [oph, opw]: readonly number[]): T4 {
  const fh = (x.h - 1) * s + kh! + oph!, fw = (x.w - 1) * s + kw! + opw!;
  const full = t4(x.n, O!, fh, fw);
  for (let n = 0; n < x.n; n++) for (let c = 0; c < I!; c++) for (let i = 0; i < x.h; i++) for (let j = 0; j < x.w; j++) {
    const xv = x.d[at(x, n, c, i, j)]!;
    for (let o = 0; o < O!; o++) for (let u = 0; u < kh!; u++) for (let v = 0; v < kw!; v++) {
      full.d[at(full, n, o, i * s + u, j * s + v)] += xv * w[((c * O! + o) * kh! + u) * kw! + v]!;
    }
  }
  const y = t4(x.n, O!, fh - pt! - pb!, fw - pl! - pr!);
  for (let n = 0; n < y.n; n++) for (let o = 0; o < O!; o++) for (let i = 0; i < y.h; i++) for (let j = 0; j < y.w; j++) {
    y.d[at(y, n, o, i, j)] = full.d[at(full, n, o, i + pt!, j + pl!)]! + (b ? b[o]! : 0);
  }
  return y;
}

function refInstanceNorm(x: T4, g: Float32Array, b: Float32Array, eps: number): T4 {
  const y = t4(x.n, x.c, x.h, x.w), hw = x.h * x.w;
  for (let n = 0; n < x.n; n++) for (let c = 0; c < x.c; c++) {
    const o = at(x, n, c, 0, 0);
    let mean = 0;
    for (let k = 0; k < hw; k++) mean += x.d[o + k]!;
    mean /= hw;
    let v = 0;
    for (let k = 0; k < hw; k++) v += (x.d[o + k]! - mean) ** 2;
    v /= hw; // biased variance, as instance norm defines it
    for (let k = 0; k < hw; k++) y.d[o + k] = g[c]! * (x.d[o + k]! - mean) / Math.sqrt(v + eps) + b[c]!;
  }
  return y;
}

function refBatchNorm(x: T4, g: Float32Array, b: Float32Array, mean: Float32Array, v: Float32Array, eps: number): T4 {
  const y = t4(x.n, x.c, x.h, x.w);
  for (let n = 0; n < x.n; n++) for (let c = 0; c < x.c; c++) for (let k = 0; k < x.h * x.w; k++) {
    const i = at(x, n, c, 0, 0) + k;
    y.d[i] = g[c]! * (x.d[i]! - mean[c]!) / Math.sqrt(v[c]! + eps) + b[c]!;
  }
  return y;
}

function refCrop(x: T4, top: number, left: number, h: number, w: number): T4 {
  const y = t4(x.n, x.c, h, w);
  for (let n = 0; n < x.n; n++) for (let c = 0; c < x.c; c++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) y.d[at(y, n, c, i, j)] = x.d[at(x, n, c, i + top, j + left)]!;
  return y;
}

function refUpsample(x: T4, s: number): T4 {
  const y = t4(x.n, x.c, x.h * s, x.w * s);
  for (let n = 0; n < x.n; n++) for (let c = 0; c < x.c; c++) for (let i = 0; i < y.h; i++) for (let j = 0; j < y.w; j++) y.d[at(y, n, c, i, j)] = x.d[at(x, n, c, Math.floor(i / s), Math.floor(j / s))]!;
  return y;
}

function refAdd(a: T4, b: T4): T4 {
  assert.deepEqual([a.n, a.c, a.h, a.w], [b.n, b.c, b.h, b.w]);
  return { ...a, d: a.d.map((v, i) => v + b.d[i]!) };
}

const relu = (x: T4) => map(x, (v) => Math.max(0, v));

// ---------------------------------------------------------------- helpers

/** Deterministic uniform numbers in [-a, a] (mulberry32). */
function rng(seed: number) {
  let s = seed >>> 0;
  return (a = 1) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296 * 2 - 1) * a;
  };
}
const rand = (r: ReturnType<typeof rng>, len: number, a: number) => Float32Array.from({ length: len }, () => r(a));
/** Weights scaled to keep activations O(1) (uniform He-ish: a = √(3 / fan_in)). */
const weights = (r: ReturnType<typeof rng>, shape: number[], fanIn: number) => rand(r, shape.reduce((x, y) => x * y, 1), Math.sqrt(3 / fanIn));

function maxAbsDiff(a: Float32Array, b: Float64Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function runGraph(g: OnnxGraphBuilder, x: T4): Promise<{ data: Float32Array; dims: number[] }> {
  const model = await OrtModel.load(g.toBytes(), { threads: 2 });
  try {
    return await model.run(Float32Array.from(x.d), [x.n, x.c, x.h, x.w]);
  } finally {
    await model.dispose();
  }
}

// ---------------------------------------------------------------- tests

test('transformation-network ops match the float64 reference on an odd size (2×3×37×29)', async () => {
  const r = rng(1234);
  const x = t4(2, 3, 37, 29);
  for (let i = 0; i < x.d.length; i++) x.d[i] = Math.fround((r() + 1) * 127.5); // 0–255, like an image

  const p = {
    c1: { w: weights(r, [8, 3, 9, 9], 3 * 81), b: rand(r, 8, 0.1) },
    in1: { g: rand(r, 8, 0.5).map((v) => v + 1), b: rand(r, 8, 0.3) },
    c2: { w: weights(r, [16, 8, 3, 3], 8 * 9), b: rand(r, 16, 0.1) },
    in2: { g: rand(r, 16, 0.5).map((v) => v + 1), b: rand(r, 16, 0.3) },
    r1: { w: weights(r, [16, 16, 3, 3], 16 * 9) },
    rin1: { g: rand(r, 16, 0.5).map((v) => v + 1), b: rand(r, 16, 0.3) },
    r2: { w: weights(r, [16, 16, 3, 3], 16 * 9) },
    rin2: { g: rand(r, 16, 0.5).map((v) => v + 1), b: rand(r, 16, 0.3) },
    t1: { w: weights(r, [16, 8, 3, 3], 16 * 9 / 4), b: rand(r, 8, 0.1) },
    in3: { g: rand(r, 8, 0.5).map((v) => v + 1), b: rand(r, 8, 0.3) },
    c3: { w: weights(r, [8, 8, 3, 3], 8 * 9), b: rand(r, 8, 0.1) },
    c4: { w: weights(r, [3, 8, 9, 9], 8 * 81), b: rand(r, 3, 0.1) },
  };

  // Graph: reflect pad → conv 9×9 → IN → ReLU → conv 3×3/2 → IN → ReLU → unpadded residual
  // block (centre-crop shortcut) → conv-transpose 3×3/2 (output_padding 1) → IN → ReLU →
  // nearest ×2 → edge pad → conv 3×3 → ReLU → constant pad → conv 9×9 → tanh·150 + 127.5.
  const g = new OnnxGraphBuilder('ops');
  let y = g.input('input', ['N', 3, 'H', 'W']);
  y = L.pad(g, y, { mode: 'reflect', pads: [4, 4, 4, 4] });
  y = L.conv(g, y, { name: 'c1', weight: p.c1.w, shape: [8, 3, 9, 9], bias: p.c1.b });
  y = L.relu(g, L.instanceNorm(g, y, { name: 'in1', scale: p.in1.g, bias: p.in1.b, epsilon: 1e-5 }));
  y = L.conv(g, y, { name: 'c2', weight: p.c2.w, shape: [16, 8, 3, 3], bias: p.c2.b, stride: 2, pads: [1, 1, 1, 1] });
  y = L.relu(g, L.instanceNorm(g, y, { name: 'in2', scale: p.in2.g, bias: p.in2.b, epsilon: 1e-5 }));
  const shortcut = L.centreCrop(g, y, 2);
  let z = L.conv(g, y, { name: 'r1', weight: p.r1.w, shape: [16, 16, 3, 3] });
  z = L.relu(g, L.instanceNorm(g, z, { name: 'rin1', scale: p.rin1.g, bias: p.rin1.b, epsilon: 1e-5 }));
  z = L.conv(g, z, { name: 'r2', weight: p.r2.w, shape: [16, 16, 3, 3] });
  z = L.instanceNorm(g, z, { name: 'rin2', scale: p.rin2.g, bias: p.rin2.b, epsilon: 1e-5 });
  y = L.add(g, z, shortcut);
  y = L.convTranspose(g, y, { name: 't1', weight: p.t1.w, shape: [16, 8, 3, 3], bias: p.t1.b, stride: 2, pads: [1, 1, 1, 1], outputPadding: [1, 1] });
  y = L.relu(g, L.instanceNorm(g, y, { name: 'in3', scale: p.in3.g, bias: p.in3.b, epsilon: 1e-3 }));
  y = L.upsampleNearest(g, y, 2);
  y = L.pad(g, y, { mode: 'edge', pads: [1, 1, 1, 1] });
  y = L.relu(g, L.conv(g, y, { name: 'c3', weight: p.c3.w, shape: [8, 8, 3, 3], bias: p.c3.b }));
  y = L.pad(g, y, { mode: 'constant', pads: [4, 4, 4, 4] });
  y = L.conv(g, y, { name: 'c4', weight: p.c4.w, shape: [3, 8, 9, 9], bias: p.c4.b });
  y = L.addConst(g, L.mulConst(g, L.tanh(g, y), 150), 127.5);
  g.output(y, 'output', ['N', 3, 'H2', 'W2']);

  const out = await runGraph(g, x);

  let e = refPad(x, [4, 4, 4, 4], 'reflect');
  e = refConv(e, p.c1.w, [8, 3, 9, 9], p.c1.b, 1, [0, 0, 0, 0]);
  e = relu(refInstanceNorm(e, p.in1.g, p.in1.b, 1e-5));
  e = refConv(e, p.c2.w, [16, 8, 3, 3], p.c2.b, 2, [1, 1, 1, 1]);
  e = relu(refInstanceNorm(e, p.in2.g, p.in2.b, 1e-5));
  let f = refConv(e, p.r1.w, [16, 16, 3, 3], null, 1, [0, 0, 0, 0]);
  f = relu(refInstanceNorm(f, p.rin1.g, p.rin1.b, 1e-5));
  f = refConv(f, p.r2.w, [16, 16, 3, 3], null, 1, [0, 0, 0, 0]);
  f = refInstanceNorm(f, p.rin2.g, p.rin2.b, 1e-5);
  e = refAdd(f, refCrop(e, 2, 2, e.h - 4, e.w - 4));
  e = refConvT(e, p.t1.w, [16, 8, 3, 3], p.t1.b, 2, [1, 1, 1, 1], [1, 1]);
  e = relu(refInstanceNorm(e, p.in3.g, p.in3.b, 1e-3));
  e = refUpsample(e, 2);
  e = refPad(e, [1, 1, 1, 1], 'edge');
  e = relu(refConv(e, p.c3.w, [8, 8, 3, 3], p.c3.b, 1, [0, 0, 0, 0]));
  e = refPad(e, [4, 4, 4, 4], 'constant');
  e = refConv(e, p.c4.w, [3, 8, 9, 9], p.c4.b, 1, [0, 0, 0, 0]);
  e = map(e, (v) => 150 * Math.tanh(v) + 127.5);

  // 37×29 → conv/2 19×15 → residual 15×11 → transpose (15−1)·2+1+3−2 = 30×22 → ×2 = 60×44.
  assert.deepEqual(out.dims, [2, 3, 60, 44]);
  assert.deepEqual([e.n, e.c, e.h, e.w], [2, 3, 60, 44]);
  let spread = 0;
  for (const v of e.d) spread = Math.max(spread, Math.abs(v - 127.5));
  assert.ok(spread > 30, `the reference output should not be flat (max |y − 127.5| = ${spread})`);
  const diff = maxAbsDiff(out.data, e.d);
  console.log(`ops graph 2×3×37×29 → 60×44: max |onnxruntime − float64 reference| = ${diff.toExponential(3)} (0–255 scale)`);
  assert.ok(diff < 1e-3, `max abs diff ${diff}`);
});

test('TF-style SAME padding (auto_pad or explicit Pad), asymmetric transpose pads or crop, Clip, Sub, Transpose', async () => {
  const r = rng(99);
  const w = weights(r, [4, 3, 3, 3], 27);
  const wt = weights(r, [4, 2, 3, 3], 4 * 9 / 4);
  const build = (explicit: boolean) => {
    const g = new OnnxGraphBuilder('same');
    const x = g.input('input', ['N', 3, 'H', 'W']);
    let y = explicit
      ? L.conv(g, L.padSame(g, x, 3, 2), { name: 'c', weight: w, shape: [4, 3, 3, 3], stride: 2 })
      : L.conv(g, x, { name: 'c', weight: w, shape: [4, 3, 3, 3], stride: 2, autoPad: 'SAME_UPPER' });
    y = explicit
      ? L.crop(g, L.convTranspose(g, y, { name: 't', weight: wt, shape: [4, 2, 3, 3], stride: 2 }), [0, 0, 1, 1])
      : L.convTranspose(g, y, { name: 't', weight: wt, shape: [4, 2, 3, 3], stride: 2, pads: [0, 0, 1, 1] });
    y = L.clip(g, L.subConst(g, y, 0.25), -1, 1);
    y = L.transpose(g, y, [0, 1, 3, 2]);
    g.output(y, 'output', ['N', 2, 'W2', 'H2']);
    return g.toBytes();
  };
  for (const explicit of [false, true]) {
    const model = await OrtModel.load(build(explicit), { threads: 2 });
    try {
      for (const [h, wd] of [[9, 8], [10, 7]] as const) {
        const xin = t4(1, 3, h, wd);
        for (let i = 0; i < xin.d.length; i++) xin.d[i] = Math.fround(r());
        const out = await model.run(Float32Array.from(xin.d), [1, 3, h, wd]);
        // SAME, stride 2, k 3: total pad = max((⌈n/2⌉−1)·2 + 3 − n, 0), the odd pixel after.
        const same = (n: number) => { const t = Math.max((Math.ceil(n / 2) - 1) * 2 + 3 - n, 0); return [Math.floor(t / 2), t - Math.floor(t / 2)]; };
        const [pt, pb] = same(h), [pl, pr] = same(wd);
        let e = refConv(xin, w, [4, 3, 3, 3], null, 2, [pt!, pl!, pb!, pr!]);
        e = refConvT(e, wt, [4, 2, 3, 3], null, 2, [0, 0, 1, 1], [0, 0]);
        e = map(e, (v) => Math.min(1, Math.max(-1, v - 0.25)));
        const tr = t4(e.n, e.c, e.w, e.h);
        for (let c = 0; c < e.c; c++) for (let i = 0; i < e.h; i++) for (let j = 0; j < e.w; j++) tr.d[at(tr, 0, c, j, i)] = e.d[at(e, 0, c, i, j)]!;
        assert.deepEqual(out.dims, [1, 2, 2 * Math.ceil(wd / 2), 2 * Math.ceil(h / 2)]);
        const diff = maxAbsDiff(out.data, tr.d);
        console.log(`SAME padding (${explicit ? 'explicit Pad + crop' : 'auto_pad + asymmetric pads'}) ${h}×${wd}: max abs diff ${diff.toExponential(3)}`);
        assert.ok(diff < 1e-5, `${h}×${wd}: ${diff}`);
      }
    } finally {
      await model.dispose();
    }
  }
});

test('padSame matches TF SAME for other kernels and strides (k 4 / s 3, k 9 / s 1, k 2 / s 2)', async () => {
  const r = rng(5);
  for (const [k, s] of [[4, 3], [9, 1], [2, 2]] as const) {
    const w = weights(r, [2, 3, k, k], 3 * k * k);
    const g = new OnnxGraphBuilder('pad-same');
    const x = g.input('input', ['N', 3, 'H', 'W']);
    g.output(L.conv(g, L.padSame(g, x, k, s), { name: 'c', weight: w, shape: [2, 3, k, k], stride: s }), 'output', ['N', 2, 'H2', 'W2']);
    const model = await OrtModel.load(g.toBytes(), { threads: 1 });
    try {
      for (const [h, wd] of [[11, 12], [13, 10]] as const) {
        const xin = t4(1, 3, h, wd);
        for (let i = 0; i < xin.d.length; i++) xin.d[i] = Math.fround(r());
        const same = (n: number) => { const t = Math.max((Math.ceil(n / s) - 1) * s + k - n, 0); return [Math.floor(t / 2), t - Math.floor(t / 2)]; };
        const [pt, pb] = same(h), [pl, pr] = same(wd);
        const e = refConv(xin, w, [2, 3, k, k], null, s, [pt!, pl!, pb!, pr!]);
        const out = await model.run(Float32Array.from(xin.d), [1, 3, h, wd]);
        assert.deepEqual(out.dims, [1, 2, Math.ceil(h / s), Math.ceil(wd / s)]);
        const diff = maxAbsDiff(out.data, e.d);
        assert.ok(diff < 1e-5, `k ${k} s ${s} ${h}×${wd}: ${diff}`);
      }
    } finally {
      await model.dispose();
    }
  }
});

test('BatchNormalization matches the reference, and foldBatchNorm into Conv / ConvTranspose gives the same output', async () => {
  const r = rng(7);
  const x = t4(1, 3, 11, 13);
  for (let i = 0; i < x.d.length; i++) x.d[i] = Math.fround(r(2));
  const w = weights(r, [5, 3, 3, 3], 27), b = rand(r, 5, 0.5);
  const bn = { g: rand(r, 5, 0.5).map((v) => v + 1), b: rand(r, 5, 0.5), m: rand(r, 5, 0.5), v: rand(r, 5, 0.4).map((v) => v + 0.5) };
  const eps = 1e-5;

  const g1 = new OnnxGraphBuilder('bn');
  let y1 = L.conv(g1, g1.input('input', ['N', 3, 'H', 'W']), { name: 'c', weight: w, shape: [5, 3, 3, 3], bias: b, pads: [1, 1, 1, 1] });
  y1 = L.batchNorm(g1, y1, { name: 'bn', scale: bn.g, bias: bn.b, mean: bn.m, variance: bn.v, epsilon: eps });
  g1.output(y1, 'output', ['N', 5, 'H', 'W']);
  const folded = foldBatchNorm(w, b, bn.g, bn.b, bn.m, bn.v, eps);
  const g2 = new OnnxGraphBuilder('folded');
  const y2 = L.conv(g2, g2.input('input', ['N', 3, 'H', 'W']), { name: 'c', weight: folded.weight, shape: [5, 3, 3, 3], bias: folded.bias, pads: [1, 1, 1, 1] });
  g2.output(y2, 'output', ['N', 5, 'H', 'W']);

  const e = refBatchNorm(refConv(x, w, [5, 3, 3, 3], b, 1, [1, 1, 1, 1]), bn.g, bn.b, bn.m, bn.v, eps);
  const d1 = maxAbsDiff((await runGraph(g1, x)).data, e.d);
  const d2 = maxAbsDiff((await runGraph(g2, x)).data, e.d);
  console.log(`BatchNorm: ${d1.toExponential(3)}, folded into Conv: ${d2.toExponential(3)}`);
  assert.ok(d1 < 1e-5 && d2 < 1e-5, `${d1} ${d2}`);

  // Transposed conv: output channels are axis 1 of [in, out, kh, kw].
  const wt = weights(r, [3, 5, 3, 3], 27);
  const ft = foldBatchNorm(wt, null, bn.g, bn.b, bn.m, bn.v, eps, { outChannelAxis: 1, shape: [3, 5, 3, 3] });
  const g3 = new OnnxGraphBuilder('folded-t');
  const y3 = L.convTranspose(g3, g3.input('input', ['N', 3, 'H', 'W']), { name: 't', weight: ft.weight, shape: [3, 5, 3, 3], bias: ft.bias, stride: 2, pads: [1, 1, 1, 1], outputPadding: [1, 1] });
  g3.output(y3, 'output', ['N', 5, 'H2', 'W2']);
  const et = refBatchNorm(refConvT(x, wt, [3, 5, 3, 3], null, 2, [1, 1, 1, 1], [1, 1]), bn.g, bn.b, bn.m, bn.v, eps);
  const d3 = maxAbsDiff((await runGraph(g3, x)).data, et.d);
  console.log(`BatchNorm folded into ConvTranspose: ${d3.toExponential(3)}`);
  assert.ok(d3 < 1e-5, `${d3}`);
  assert.throws(() => foldBatchNorm(wt, null, bn.g, bn.b, bn.m, bn.v, eps, { outChannelAxis: 1 }), /needs shape/);
});
