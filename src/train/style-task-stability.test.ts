/**
 * `train-style --stability-weight λ`: the style task adds λ·ℓ_stab to the objective, with ℓ_stab
 * recomputed here independently from the same random draws (same seed), and nothing without λ.
 * `--grid-weight λ` adds λ·ℓ_grid of the same output, alone or beside the stability term.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, rand, tensor, tidy, zeros, type Tensor } from '../engine/index.js';
import { buildStyleNet } from '../models/transformer-net.js';
import { drawPerturbation, perturbInput, stabilityLoss } from '../losses/stability-loss.js';
import { gridLoss } from '../losses/grid-loss.js';
import type { PerceptualLoss } from '../losses/perceptual-loss.js';
import type { StyleDataset } from '../data/style-dataset.js';
import { StyleTask } from './style-task.js';

const stubLoss = { forward: (y: Tensor) => ({ total: y.mean(), content: y.mean(), style: zeros([]), tv: zeros([]), pixel: zeros([]) }) } as unknown as PerceptualLoss;
const stubData = { batchSize: 2, close() {} } as unknown as StyleDataset;

test('the stability term: λ × ℓ_stab of the drawn shift and noise, added to the total', () => {
  manualSeed(3);
  const net = buildStyleNet('c9s1-8,d16,R16,u8,c9s1-3', { norm: 'instance', padding: 'zero' });
  const data = Float32Array.from({ length: 2 * 3 * 24 * 24 }, (_, i) => (i * 53) % 256);
  const withTerm = new StyleTask({ model: net, loss: stubLoss, dataset: stubData, stability: { weight: 7, noise: 2, shift: 3 } });
  const without = new StyleTask({ model: net, loss: stubLoss, dataset: stubData });
  tidy(() => {
    const x = tensor(data, [2, 3, 24, 24]);
    for (const seed of [1, 2, 5]) {
      manualSeed(seed);
      const r = withTerm.losses({ x });
      manualSeed(seed);
      const p = drawPerturbation(() => rand([1]).item(), 2, 3);
      const y = net.forward(x);
      const ref = stabilityLoss(y, net.forward(perturbInput(x, p)), p).item();
      assert.ok(Math.abs(r.parts.stability!.item() - 7 * ref) <= 1e-4 * Math.max(1, 7 * ref), `seed ${seed}: ${r.parts.stability!.item()} vs 7 × ${ref}`);
      assert.ok(Math.abs(r.total.item() - (y.mean().item() + 7 * ref)) <= 1e-3 * Math.max(1, 7 * ref));
    }
    const plain = without.losses({ x });
    assert.equal(plain.parts.stability, undefined);
    assert.ok(Math.abs(plain.total.item() - net.forward(x).mean().item()) < 1e-4);
  });
  net.dispose();
});

test('the grid penalty: λ × ℓ_grid of the output, added to the total, beside the stability term or alone', () => {
  manualSeed(4);
  const net = buildStyleNet('c9s1-8,d16,R16,u8,c9s1-3', { norm: 'instance', padding: 'zero' });
  const data = Float32Array.from({ length: 2 * 3 * 24 * 24 }, (_, i) => (i * 37) % 256);
  const gridOnly = new StyleTask({ model: net, loss: stubLoss, dataset: stubData, grid: { weight: 50, window: 12 } });
  const both = new StyleTask({ model: net, loss: stubLoss, dataset: stubData, grid: { weight: 50, window: 12 }, stability: { weight: 7, noise: 0, shift: 0 } });
  tidy(() => {
    const x = tensor(data, [2, 3, 24, 24]);
    const y = net.forward(x);
    const ref = 50 * gridLoss(y, { window: 12 }).item();
    assert.ok(ref > 0);
    const r = gridOnly.losses({ x });
    assert.ok(Math.abs(r.parts.grid!.item() - ref) <= 1e-4 * ref, `${r.parts.grid!.item()} vs ${ref}`);
    assert.equal(r.parts.stability, undefined);
    assert.ok(Math.abs(r.total.item() - (y.mean().item() + ref)) <= 1e-3 * Math.max(1, ref));
    // σ = 0, shift 0: the stability term is exactly 0 (same network, same input), so the total is the same.
    const b = both.losses({ x });
    assert.equal(b.parts.stability!.item(), 0);
    assert.ok(Math.abs(b.total.item() - r.total.item()) <= 1e-4 * Math.max(1, ref));
  });
  net.dispose();
});

test('edge padding: the losses see the network run as stylize runs it (mirrored input, output cropped back), and not without it', async () => {
  const { edgePadded } = await import('../infer/core/edge-pad.js');
  manualSeed(5);
  const net = buildStyleNet('c9s1-8,d16,R16,u8,c9s1-3', { norm: 'instance', padding: 'zero' });
  const data = Float32Array.from({ length: 1 * 3 * 20 * 28 }, (_, i) => (i * 29) % 256);
  const seen: Float32Array[] = [];
  const capture = { forward: (y: Tensor) => (seen.push(y.toFloat32Array()), stubLoss.forward(y)) } as unknown as PerceptualLoss;
  for (const pad of [0, 3, 8]) {
    seen.length = 0;
    tidy(() => void new StyleTask({ model: net, loss: capture, dataset: stubData, edgePad: pad }).losses({ x: tensor(data, [1, 3, 20, 28]) }));
    // the inference core's own mirror (src/infer/core/edge-pad.ts), around the same network
    const ref = await edgePadded(async (x, dims) => tidy(() => { const y = net.forward(tensor(x, [...dims])); return { data: y.toFloat32Array(), dims: y.shape }; }), pad)(data, [1, 3, 20, 28]);
    assert.equal(seen[0]!.length, ref.data.length);
    let worst = 0;
    for (let i = 0; i < ref.data.length; i++) worst = Math.max(worst, Math.abs(seen[0]![i]! - ref.data[i]!));
    assert.ok(worst < 1e-3, `edge pad ${pad}: off by ${worst}`);
  }
  net.dispose();
});
