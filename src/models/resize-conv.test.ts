import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { manualSeed, noGrad, tensor, tidy } from '../engine/index.js';
import { Conv2d, ConvTranspose2d, Upsample } from '../nn/index.js';
import { HALF_RC_STYLE_ARCH, HALF_STYLE_ARCH } from './architecture.js';
import { TransformerNet } from './transformer-net.js';
import { resizeConvArch, toResizeConvolution } from './resize-conv.js';
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
