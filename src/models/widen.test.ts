import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, noGrad, randn, tidy } from '../engine/index.js';
import { HALF_RC_STYLE_ARCH, HALF_STYLE_ARCH, PAPER_RC_STYLE_ARCH, PAPER_STYLE_ARCH } from './architecture.js';
import { TransformerNet } from './transformer-net.js';
import { widen, widenArch } from './widen.js';
import type { NormKind } from '../nn/layers/index.js';

/** A seeded style network and its widened twin, both disposed after `fn`. */
async function withWidened(arch: string, norm: NormKind, fn: (src: TransformerNet, dst: TransformerNet) => void | Promise<void>): Promise<void> {
  manualSeed(11);
  const src = TransformerNet.fromConfig({ kind: 'style', arch, norm, padding: 'reflect-start' });
  const dst = widen(src, 2, 3);
  try {
    await fn(src, dst);
  } finally {
    src.dispose();
    dst.dispose();
  }
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('widenArch: every hidden channel count ×k, the RGB output layer kept; the half-width presets become the paper\'s', () => {
  assert.equal(widenArch(HALF_RC_STYLE_ARCH, 2), PAPER_RC_STYLE_ARCH);
  assert.equal(widenArch(HALF_STYLE_ARCH, 2), PAPER_STYLE_ARCH);
  assert.equal(widenArch('c3s1-4,d8,C8,R8,f3s2-4,U2,c3s2-3', 3), 'c3s1-12,d24,C24,R24,f3s2-12,U2,c3s2-3');
  assert.throws(() => widenArch('c3s1-48,x4', 2), /pixel shuffle/);
  assert.throws(() => widenArch(HALF_RC_STYLE_ARCH, 1), /integer ≥ 2/);
});

for (const [arch, norm] of [[HALF_RC_STYLE_ARCH, 'instance'], [HALF_STYLE_ARCH, 'batch']] as const) {
  test(`widen (${arch}, ${norm} norm): the wider network computes what the narrow one does`, () =>
    withWidened(arch, norm, (src, dst) => {
      assert.equal(dst.config.arch, widenArch(arch, 2));
      if (norm === 'batch') {
        // Running statistics are copied too: compare in eval mode after a few training-mode passes moved them.
        for (const net of [src, dst]) net.train();
        manualSeed(5);
        const warm = tidy(() => randn([2, 3, 24, 24]).mul(60).add(127));
        noGrad(() => tidy(() => void src.forward(warm)));
        warm.dispose();
        const moved = [...src.stateDict()].filter(([n]) => n.endsWith('running_mean'));
        assert.ok(moved.length > 0 && moved.some(([, t]) => Math.abs((t.toArray() as Float32Array)[0]!) > 1e-3));
        const again = widen(src, 2, 3);
        try {
          for (const net of [src, again]) net.eval();
          const x = tidy(() => randn([1, 3, 28, 36]).mul(60).add(127));
          const [a, b] = noGrad(() => tidy(() => [src.forward(x).toFloat32Array(), again.forward(x).toFloat32Array()]));
          x.dispose();
          assert.ok(maxAbsDiff(a!, b!) < 2e-3, `eval-mode outputs differ by ${maxAbsDiff(a!, b!)}`);
        } finally {
          again.dispose();
        }
        return;
      }
      manualSeed(7);
      const x = tidy(() => randn([2, 3, 32, 40]).mul(60).add(127));
      const [a, b] = noGrad(() => tidy(() => [src.forward(x).toFloat32Array(), dst.forward(x).toFloat32Array()]));
      x.dispose();
      // 0–255 outputs; float32 sums in another order differ by ~1e-4.
      assert.ok(maxAbsDiff(a!, b!) < 2e-3, `outputs differ by ${maxAbsDiff(a!, b!)}`);
      // And the outputs are not trivially flat: the network does something to compare.
      assert.ok(maxAbsDiff(a!, a!.map(() => a![0]!)) > 1);
    }));
}

test('widen: an input weight is split between the two copies in unequal shares that sum to it, so the copies get different gradients', () =>
  withWidened(HALF_RC_STYLE_ARCH, 'instance', (src, dst) => {
    // model.* of the second convolution (d32 → d64 in the wide net): [64, 32, 3, 3] from [32, 16, 3, 3].
    const conv = (net: TransformerNet) => [...net.stateDict()].filter(([n, t]) => n.endsWith('.weight') && t.shape.length === 4)[1]!;
    const [name, s] = conv(src);
    const [, d] = conv(dst);
    assert.deepEqual(d.shape, [64, 32, 3, 3], name);
    const sv = s.toFloat32Array(), dv = d.toFloat32Array();
    const at = (o: number, i: number, k: number) => dv[((o * 32 + i) * 9) + k]!;
    let unequal = 0;
    for (let o = 0; o < 64; o++) for (let i = 0; i < 16; i++) for (let k = 0; k < 9; k++) {
      const want = sv[(((o % 32) * 16 + i) * 9) + k]!;
      assert.ok(Math.abs(at(o, i, k) + at(o, i + 16, k) - want) < 1e-6 * Math.max(1, Math.abs(want)));
      if (Math.abs(at(o, i, k) - at(o, i + 16, k)) > 1e-3 * Math.abs(want)) unequal++;
    }
    assert.ok(unequal > 0.9 * 64 * 16 * 9, `only ${unequal} shares differ`);
    // Gradients: the first layer's copies (output channels j and j + 16) get different gradients.
    manualSeed(9);
    const x = tidy(() => randn([1, 3, 32, 32]).mul(60).add(127));
    tidy(() => dst.forward(x).div(255).square().mean().backward());
    x.dispose();
    const first = [...dst.parameters()][0]!;
    const g = first.grad!.toFloat32Array();
    const per = g.length / 32;
    let gap = 0;
    for (let j = 0; j < 16; j++) for (let k = 0; k < per; k++) gap = Math.max(gap, Math.abs(g[j * per + k]! - g[(j + 16) * per + k]!));
    assert.ok(gap > 1e-6, `copies' gradients differ by at most ${gap}`);
  }));
