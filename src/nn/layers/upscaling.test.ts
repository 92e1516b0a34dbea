// precision-sensitive: scripts/test.sh runs this file again with ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2.
// The fixed upscaling layers of the residual SR networks: the pixel shuffle against its
// definition written out as loops, and the bicubic skip against the MATLAB-compatible resizer
// of data/resize-matlab.ts (an independent implementation: 1-D passes with per-sample weight
// tables, vs. here a grouped 5×5 convolution and a pixel shuffle).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autocast, manualSeed, noGrad, rand, tensor, tidy } from '../../engine/index.js';
import { imresizeBicubic } from '../../data/resize-matlab.js';
import { chwToHwc, hwcToChw } from '../../data/tensor-layout.js';
import { BicubicUpsample, PixelShuffle, bicubicPhaseWeights } from './index.js';

test('PixelShuffle: out[c, r·i + a, r·j + b] = in[c·r² + a·r + b, i, j] (PyTorch / DepthToSpace CRD)', () => {
  const [n, c, r, h, w] = [2, 3, 2, 3, 4];
  const data = Float32Array.from({ length: n * c * r * r * h * w }, (_, i) => i);
  const got = noGrad(() => tidy(() => new PixelShuffle(r).forward(tensor(data, [n, c * r * r, h, w])).toArray() as Float32Array));
  const want = new Float32Array(got.length);
  for (let b0 = 0; b0 < n; b0++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++)
          for (let a = 0; a < r; a++)
            for (let b = 0; b < r; b++) {
              const src = (((b0 * c * r * r + ch * r * r + a * r + b) * h + i) * w + j);
              const dst = ((b0 * c + ch) * h * r + r * i + a) * w * r + r * j + b;
              want[dst] = data[src]!;
            }
  assert.deepEqual(Array.from(got), Array.from(want));
  assert.throws(() => new PixelShuffle(2).forward(tensor(new Float32Array(6), [1, 6, 1, 1])), /6 channels are not a multiple of 4/);
});

test('bicubic phase weights: Keys a = −0.5 at MATLAB\'s sample positions, each phase summing to 1', () => {
  // ×2: phases sample at −¼ and +¼ of an input pixel; k(1.75), k(0.75), k(0.25), k(1.25) by hand:
  // k(t) = 1.5t³ − 2.5t² + 1 (t ≤ 1), −0.5t³ + 2.5t² − 4t + 2 (1 < t < 2).
  const k = (t: number) => (t <= 1 ? 1.5 * t ** 3 - 2.5 * t ** 2 + 1 : -0.5 * t ** 3 + 2.5 * t ** 2 - 4 * t + 2);
  const [p0] = bicubicPhaseWeights(2);
  const want = [k(1.75), k(0.75), k(0.25), k(1.25), 0];
  p0!.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-12, `tap ${i}: ${v} vs ${want[i]}`));
  for (const r of [2, 3, 4, 8]) for (const p of bicubicPhaseWeights(r)) assert.ok(Math.abs(p.reduce((a, b) => a + b) - 1) < 1e-12);
});

test('BicubicUpsample equals MATLAB imresize(x, r) with replicated edges (resize-matlab.ts), everywhere', () => {
  manualSeed(5);
  for (const [r, h, w] of [[4, 7, 9], [2, 5, 3], [8, 3, 4]] as const) {
    const x = noGrad(() => tidy(() => rand([1, 3, h, w]).mul(255).toArray() as Float32Array));
    const got = noGrad(() => tidy(() => new BicubicUpsample(r).forward(tensor(x, [1, 3, h, w])).toArray() as Float32Array));
    const ref = imresizeBicubic(chwToHwc(x, h, w), { scale: r, boundary: 'replicate', roundEachPass: false });
    assert.equal(ref.width, w * r);
    const want = hwcToChw({ ...ref, channels: 3 });
    let d = 0;
    for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(got[i]! - want[i]!));
    assert.ok(d < 2e-3, `×${r} ${h}×${w}: max |Δ| = ${d} on 0–255`);
  }
});

test('BicubicUpsample stays float32 under bf16 autocast, and keeps a constant image constant', () => {
  const up = new BicubicUpsample(4);
  tidy(() => {
    const x = rand([1, 3, 6, 6]).mul(255);
    const f32 = noGrad(() => up.forward(x));
    const bf = noGrad(() => autocast('bf16', () => up.forward(x)));
    assert.equal(bf.dtype, 'float32');
    assert.ok(bf.sub(f32).abs().max().item() < 1e-3, 'bf16 autocast must not round the skip');
    const flat = noGrad(() => up.forward(rand([1, 3, 1, 1]).mul(0).add(200).expand([1, 3, 5, 6])));
    assert.ok(flat.sub(200).abs().max().item() < 1e-4);
  });
});
