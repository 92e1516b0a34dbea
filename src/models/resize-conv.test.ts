import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { manualSeed, noGrad, randn, tensor, tidy } from '../engine/index.js';
import { Conv2d, ConvTranspose2d, Upsample } from '../nn/index.js';
import { HALF_RB_STYLE_ARCH, HALF_RC_STYLE_ARCH, HALF_STYLE_ARCH } from './architecture.js';
import { TransformerNet } from './transformer-net.js';
import { bilinearResizeArch, resizeConvArch, toBilinearResize, toResizeConvolution } from './resize-conv.js';
import { imageToTensor, loadImageResized, tensorToImage } from '../data/tensor-image.js';
import { gridArtefacts } from '../metrics/artefacts.js';

/** A seeded style network of `arch` and its resize-convolution twin, both disposed after `fn`. */
async function withConverted(arch: string, seed: number, fn: (src: TransformerNet, dst: TransformerNet) => void | Promise<void>): Promise<void> {
  manualSeed(seed);
  const src = TransformerNet.fromConfig({ kind: 'style', arch, norm: 'instance', padding: 'reflect-start' });
  const dst = toResizeConvolution(src);
  try {
    await fn(src, dst);
  } finally {
    src.dispose();
    dst.dispose();
  }
}

test('resizeConvArch: every uN becomes rcN, nothing else changes; an architecture without uN is refused', () => {
  assert.equal(resizeConvArch(HALF_STYLE_ARCH), HALF_RC_STYLE_ARCH);
  assert.equal(resizeConvArch('c9s1-32,d64,R64x2,u32,c9s1-3'), 'c9s1-32,d64,R64,R64,rc32,c9s1-3');
  assert.throws(() => resizeConvArch(HALF_RC_STYLE_ARCH), /has no transposed-convolution upsampling \(uN\)/);
});

test('a transposed convolution that is not uN (fKsS-N) is kept as it is, weights copied unchanged', () =>
  withConverted('c3s1-4,d8,u4,d8,f3s2-4,c3s1-3', 5, (src, dst) => {
    assert.equal(dst.config.arch, 'c3s1-4,d8,rc4,d8,f3s2-4,c3s1-3');
    const s = [...src.stateDict()];
    const d = [...dst.stateDict()];
    const full = src.namedModules().filter(([, m]) => m instanceof ConvTranspose2d).map(([p]) => `${p}.weight`)[1]!;
    const i = s.findIndex(([n]) => n === full);
    assert.deepEqual([...(d[i]![1].toArray() as Float32Array)], [...(s[i]![1].toArray() as Float32Array)]);
  }));

test('toResizeConvolution: other tensors copied, the upsampling kernel flipped, transposed and ¼', () =>
  withConverted('c3s1-4,d8,R8,u4,c3s1-3', 3, (src, dst) => {
    assert.equal(dst.config.arch, 'c3s1-4,d8,R8,rc4,c3s1-3');
    const s = [...src.stateDict()];
    const d = [...dst.stateDict()];
    assert.equal(s.length, d.length);
    const up = src.namedModules().find(([, m]) => m instanceof ConvTranspose2d)![0];
    for (let i = 0; i < s.length; i++) {
      const [name, a] = s[i]!;
      const b = d[i]![1];
      const av = a.toArray() as Float32Array;
      const bv = b.toArray() as Float32Array;
      if (name !== `${up}.weight`) {
        assert.deepEqual([...bv], [...av], `${name} copied`);
        continue;
      }
      // [in 8, out 4, 3, 3] → [out 4, in 8, 3, 3]: d[o][i][ky][kx] = s[i][o][2−ky][2−kx] / 4, by index.
      assert.deepEqual(a.shape, [8, 4, 3, 3]);
      assert.deepEqual(b.shape, [4, 8, 3, 3]);
      for (let o = 0; o < 4; o++) for (let c = 0; c < 8; c++) for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) {
        const want = av[((c * 4 + o) * 3 + (2 - ky)) * 3 + (2 - kx)]! / 4;
        assert.ok(Math.abs(bv[((o * 8 + c) * 3 + ky) * 3 + kx]! - want) < 1e-7);
      }
    }
  }));

test('on flat input the converted layer gives the mean of the transposed layer\'s four phases (hand-derived: ΣW/4 + b)', () =>
  withConverted('c3s1-4,d8,u4,c3s1-3', 4, (src, dst) => {
    const tconv = src.namedModules().find(([, m]) => m instanceof ConvTranspose2d)![1] as ConvTranspose2d;
    const mods = dst.namedModules().map(([, m]) => m);
    const conv = mods[mods.findIndex((m) => m instanceof Upsample) + 1] as Conv2d;
    assert.ok(conv instanceof Conv2d);
    tidy(() =>
      noGrad(() => {
        // A per-channel constant 8×6×6 input (values 0.5 … 4).
        const x = tensor(Array.from({ length: 8 }, (_, c) => 0.5 * (c + 1)), [1, 8, 1, 1]).expand([1, 8, 6, 6]).contiguous();
        const yt = tconv.forward(x).toArray() as Float32Array; // [1, 4, 12, 12]
        const yr = conv.forward(new Upsample(2).forward(x)).toArray() as Float32Array;
        for (let o = 0; o < 4; o++) {
          for (let m = 1; m < 5; m++) for (let n = 1; n < 5; n++) {
            const at = (y: number, xx: number) => yt[(o * 12 + y) * 12 + xx]!;
            const phaseMean = (at(2 * m, 2 * n) + at(2 * m + 1, 2 * n) + at(2 * m, 2 * n + 1) + at(2 * m + 1, 2 * n + 1)) / 4;
            for (const [y, xx] of [[2 * m, 2 * n], [2 * m + 1, 2 * n + 1]]) {
              const r = yr[(o * 12 + y!) * 12 + xx!]!;
              assert.ok(Math.abs(r - phaseMean) < 1e-4 * (1 + Math.abs(phaseMean)), `channel ${o} (${y}, ${xx}): ${r} vs ${phaseMean}`);
            }
          }
          // The transposed layer's phases do differ (that difference is the checkerboard).
          const a = yt[(o * 12 + 4) * 12 + 4]!, b = yt[(o * 12 + 5) * 12 + 5]!;
          assert.ok(Math.abs(a - b) > 1e-3);
        }
      }),
    );
  }));

const demo = path.resolve('assets/demo/motorcycle.jpg');
test('the grid goes with the transposed layers: a half-instance network\'s figure on the demo photo falls ~10× when converted', { skip: !existsSync(demo) }, () =>
  // Seeded random weights (measured on the shipped half-instance styles too: 64–122 → 10–13 at 320 px).
  withConverted(HALF_STYLE_ARCH, 0, async (src, dst) => {
    const photo = await loadImageResized(demo, 320);
    const figure = (net: TransformerNet) =>
      tidy(() => noGrad(() => gridArtefacts(tensorToImage(net.eval().forward(imageToTensor(photo)))).figure));
    const before = figure(src);
    const after = figure(dst);
    assert.ok(before > 40 && after < before / 3 && after < 20, `grid figure ${before.toFixed(1)} → ${after.toFixed(1)}`);
  }));

test('bilinearResizeArch: every rcN becomes rbN, nothing else changes; an architecture without rcN is refused', () => {
  assert.equal(bilinearResizeArch(HALF_RC_STYLE_ARCH), HALF_RB_STYLE_ARCH);
  assert.equal(bilinearResizeArch('c3s1-4,d8,u4,rc4,c3s1-3'), 'c3s1-4,d8,u4,rb4,c3s1-3');
  assert.throws(() => bilinearResizeArch(HALF_STYLE_ARCH), /has no nearest resize-convolution \(rcN\)/);
  assert.throws(() => bilinearResizeArch(HALF_RB_STYLE_ARCH), /has no nearest resize-convolution/);
});

test('toBilinearResize: every tensor copied by name, the upsampling made bilinear, which changes the output', () => {
  manualSeed(11);
  const src = TransformerNet.fromConfig({ kind: 'style', arch: 'c3s1-4,d8,R8,rc4,c3s1-3', norm: 'instance', padding: 'reflect-start' });
  const dst = toBilinearResize(src);
  try {
    assert.equal(dst.config.arch, 'c3s1-4,d8,R8,rb4,c3s1-3');
    const d = new Map(dst.stateDict());
    assert.equal(d.size, [...src.stateDict()].length);
    for (const [name, t] of src.stateDict()) assert.deepEqual([...(d.get(name)!.toArray() as Float32Array)], [...(t.toArray() as Float32Array)], name);
    assert.deepEqual(dst.namedModules().filter(([, m]) => m instanceof Upsample).map(([, m]) => (m as Upsample).mode), ['bilinear']);
    tidy(() =>
      noGrad(() => {
        const r = randn([1, 3, 16, 20]).mul(60).add(128);
        const a = src.eval().forward(r).toArray() as Float32Array;
        const b = dst.eval().forward(r).toArray() as Float32Array;
        assert.ok(a.some((v, i) => Math.abs(v - b[i]!) > 1e-2), 'the interpolation is in use');
      }),
    );
  } finally {
    src.dispose();
    dst.dispose();
  }
});

test('on a ramp of slope s, nearest ×2 + 3×3 conv steps unevenly (by hand: s·(V0 + V2), then s·V1); bilinear ×2 + the same conv gives a ramp', () =>
  tidy(() =>
    noGrad(() => {
      manualSeed(2);
      const conv = new Conv2d(1, 1, 3, { padding: 1 });
      // A horizontal ramp, slope 3 per input pixel, constant along y: per column the kernel acts
      // as V_j = Σ_rows k[·][j]. Rows and columns away from the borders only.
      const s = 3;
      const w = 12;
      const ramp = tensor(Array.from({ length: 8 * w }, (_, i) => s * (i % w)), [1, 1, 8, w]);
      const steps = (mode: 'nearest' | 'bilinear') => {
        const y = conv.forward(new Upsample(2, mode).forward(ramp)).toArray() as Float32Array; // [1, 1, 16, 24]
        const row = Array.from({ length: 2 * w }, (_, x) => y[6 * 2 * w + x]!);
        return Array.from({ length: 2 * w - 6 }, (_, i) => ({ x: i + 2, step: row[i + 3]! - row[i + 2]! }));
      };
      const k = conv.weight.toArray() as Float32Array; // [1, 1, 3, 3]
      const v = [0, 1, 2].map((j) => k[j]! + k[3 + j]! + k[6 + j]!);
      assert.ok(Math.abs(v[0]! + v[2]! - v[1]!) > 1e-2, 'the seeded kernel has V0 + V2 ≠ V1');
      for (const { x, step } of steps('nearest')) {
        const want = x % 2 === 0 ? s * (v[0]! + v[2]!) : s * v[1]!; // from y[2m] to y[2m+1], then to y[2m+2]
        assert.ok(Math.abs(step - want) < 1e-3, `nearest, step after x = ${x}: ${step} vs ${want}`);
      }
      const sum = v[0]! + v[1]! + v[2]!;
      for (const { x, step } of steps('bilinear')) assert.ok(Math.abs(step - (s / 2) * sum) < 1e-3, `bilinear, step after x = ${x}: ${step} vs ${(s / 2) * sum}`);
    }),
  ));
