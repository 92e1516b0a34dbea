/**
 * The temporally smoothed rewrite against the running average computed by hand, on a one-layer
 * graph (input → InstanceNormalization → output) small enough to check every number.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OnnxGraphBuilder } from '../onnx/graph-builder.js';
import { instanceNorm } from '../onnx/layers.js';
import { OrtGraph } from '../runtime/ort-session.js';
import { temporalOnnx, TemporalStats } from './temporal-onnx.js';

const GAMMA = [2, 0.5], BETA = [1, -3], EPS = 1e-5;

function oneNormGraph(): Uint8Array {
  const g = new OnnxGraphBuilder('one-norm');
  const x = g.input('input', ['N', 2, 'H', 'W']);
  g.output(instanceNorm(g, x, { name: 'in', scale: Float32Array.from(GAMMA), bias: Float32Array.from(BETA), epsilon: EPS }), 'output', ['N', 2, 'H', 'W']);
  return g.toBytes();
}

/** Channel mean and biased variance. */
const stats = (v: number[]) => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return [m, v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length] as const;
};

test('temporalOnnx: statistics and outputs follow μ̄_t = α μ̄_{t−1} + (1 − α) μ_t, frame by frame', async () => {
  const t = temporalOnnx(oneNormGraph(), 'one-norm');
  assert.deepEqual(t.channels, [2]);
  assert.equal(t.statsLength, 4);
  const g = await OrtGraph.load(t.bytes, 'one-norm temporal');
  const alpha = 0.75;
  const s = new TemporalStats(t.statsLength, alpha);
  // Two frames of 2 channels × 2×2 pixels.
  const frames = [
    [[1, 2, 3, 6], [10, 10, 12, 8]],
    [[5, 5, 9, 1], [0, 4, 4, 0]],
  ];
  let mu = [0, 0], va = [0, 0];
  for (let f = 0; f < frames.length; f++) {
    const feeds = s.feeds();
    assert.equal(feeds.momentum[0], f === 0 ? 0 : alpha, 'the first frame has no past');
    const r = await g.run({ input: { data: Float32Array.from(frames[f]!.flat()), dims: [1, 2, 2, 2] }, stats: { data: feeds.stats, dims: [4] }, momentum: { data: feeds.momentum, dims: [1] } });
    s.update(r.stats_out!.data);
    for (let c = 0; c < 2; c++) {
      const [m, v] = stats(frames[f]![c]!);
      const a = f === 0 ? 0 : alpha;
      mu[c] = a * mu[c]! + (1 - a) * m;
      va[c] = a * va[c]! + (1 - a) * v;
    }
    // stats_out layout: [μ̄ (C), σ̄² (C)].
    const got = [...r.stats_out!.data];
    [...mu, ...va].forEach((want, i) => assert.ok(Math.abs(got[i]! - want) < 1e-4, `frame ${f} stat ${i}: ${got[i]} vs ${want}`));
    for (let c = 0; c < 2; c++) {
      for (let p = 0; p < 4; p++) {
        const want = (GAMMA[c]! * (frames[f]![c]![p]! - mu[c]!)) / Math.sqrt(va[c]! + EPS) + BETA[c]!;
        const v = r.output!.data[c * 4 + p]!;
        assert.ok(Math.abs(v - want) < 1e-4, `frame ${f} channel ${c} pixel ${p}: ${v} vs ${want}`);
      }
    }
  }
  s.reset();
  assert.equal(s.feeds().momentum[0], 0);
  await g.dispose();
});

test('temporalOnnx refuses what it cannot rewrite', () => {
  const g = new OnnxGraphBuilder('no-norm');
  const x = g.input('input', ['N', 3, 'H', 'W']);
  g.output(g.node('Relu', [x]), 'output', ['N', 3, 'H', 'W']);
  assert.throws(() => temporalOnnx(g.toBytes(), 'no-norm.onnx'), /no-norm\.onnx: the model has no InstanceNormalization layer/);
  assert.throws(() => temporalOnnx(temporalOnnx(oneNormGraph()).bytes, 'twice.onnx'), /already has a 'stats' input/);
  assert.throws(() => new TemporalStats(4, 1), /momentum must be in \[0, 1\)/);
});
