// precision-sensitive: scripts/test.sh runs this file again with ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autocast, F, randn, tensor, zeros, type Tensor } from '../engine/index.js';
import { featureLoss, gram, gramLoss, pixelLoss, styleLoss, tvLoss } from './index.js';

const values = (t: Tensor): number[] => Array.from(t.toFloat32Array());
const near = (a: number, b: number, tol = 1e-5): void => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

/**
 * x: one sample, C = 2, H = W = 2
 *   channel 0 = [[1, 2], [3, 4]]   → ψ0 = (1, 2, 3, 4)
 *   channel 1 = [[0, 1], [0, -1]]  → ψ1 = (0, 1, 0, -1)
 * ψ0·ψ0 = 30, ψ0·ψ1 = 2 − 4 = −2, ψ1·ψ1 = 2, C·H·W = 8
 * G = [[30, −2], [−2, 2]] / 8 = [[3.75, −0.25], [−0.25, 0.25]]
 */
const X = [1, 2, 3, 4, 0, 1, 0, -1];
const x = (): Tensor => tensor(X, [1, 2, 2, 2]);
/** a batch of x and 2x */
const x2 = (): Tensor => tensor([...X, ...X.map((v) => 2 * v)], [2, 2, 2, 2]);

test('gram: ψψᵀ/(C·H·W), symmetric, G(2x) = 4·G(x), float32 under autocast', () => {
  const g = gram(x());
  assert.deepEqual(g.shape, [1, 2, 2]);
  assert.deepEqual(values(g), [3.75, -0.25, -0.25, 0.25]);
  assert.deepEqual(values(gram(x2())), [3.75, -0.25, -0.25, 0.25, 15, -1, -1, 1]);

  const r = randn([2, 5, 7, 3]);
  const gr = gram(r);
  assert.deepEqual(values(gr), values(gr.transpose(1, 2).contiguous()), 'symmetric');
  values(gram(r.mul(2))).forEach((v, i) => near(v, 4 * values(gr)[i]!));
  // channels_last features give the same Gram
  values(gram(r.contiguous('channels_last'))).forEach((v, i) => near(v, values(gr)[i]!));

  // Under bf16 autocast a plain bmm would come back in bfloat16; the Gram stays float32 and exact.
  const ga = autocast('bf16', () => gram(r));
  assert.equal(ga.dtype, 'float32');
  const psi = r.reshape([2, 5, 21]);
  assert.equal(autocast('bf16', () => psi.bmm(psi.transpose(1, 2))).dtype, 'bfloat16', 'the engine behaviour gram() works around');
  values(ga).forEach((v, i) => near(v, values(gr)[i]!, 1e-6));
});

test('featureLoss: ‖Δ‖²/(C·H·W), mean over the batch', () => {
  // x vs 0: (1+4+9+16+0+1+0+1)/8 = 32/8 = 4
  near(featureLoss(x(), zeros([1, 2, 2, 2])).item(), 4);
  // batch [x, 2x] vs 0: per sample 4 and 4·4 = 16 → mean 10
  near(featureLoss(x2(), zeros([2, 2, 2, 2])).item(), 10);
  // same as PyTorch's mse_loss(reduction='mean')
  const a = randn([3, 4, 5, 6]);
  const b = randn([3, 4, 5, 6]);
  near(featureLoss(a, b).item(), F.mseLoss(a, b).item());
  assert.throws(() => featureLoss(a, randn([3, 4, 5, 5])), /shapes .* differ/);
});

test('pixelLoss on images: squared error per element, batch mean', () => {
  // 1×3×1×2: errors 1, −2, 3, −4, 0, 2 → (1+4+9+16+0+4)/6 = 34/6
  const a = tensor([10, 20, 30, 40, 50, 60], [1, 3, 1, 2]);
  const b = tensor([11, 18, 33, 36, 50, 62], [1, 3, 1, 2]);
  near(pixelLoss(a, b).item(), 34 / 6);
});

test('gramLoss / styleLoss: squared Frobenius norm, batch mean, one target broadcast over the batch', () => {
  // vs a zero target: ‖G‖²_F = 3.75² + 2·0.25² + 0.25² = 14.0625 + 0.125 + 0.0625 = 14.25
  near(gramLoss(gram(x()), zeros([1, 2, 2])).item(), 14.25);
  // target: the Gram of y with ψ0 = (1, 1, 1, 1), ψ1 = 0 → Gy = [[4/8, 0], [0, 0]] = [[0.5, 0], [0, 0]]
  const y = tensor([1, 1, 1, 1, 0, 0, 0, 0], [1, 2, 2, 2]);
  const gy = gram(y);
  assert.deepEqual(values(gy), [0.5, 0, 0, 0]);
  // sample x:  ΔG = [[3.25, −0.25], [−0.25, 0.25]] → 10.5625 + 3·0.0625 = 10.75
  // sample 2x: ΔG = 4G − Gy = [[14.5, −1], [−1, 1]] → 210.25 + 3 = 213.25
  // batch mean: (10.75 + 213.25)/2 = 112
  near(gramLoss(gram(x2()), gy).item(), 112);
  near(styleLoss([x2()], [gy]).item(), 112);
  // two layers with weights 2 and 0.5: 2·112 + 0.5·(14.25+228)/2   (‖4G‖² = 16·14.25 = 228)
  near(styleLoss([x2(), x2()], [gy, zeros([1, 2, 2])], [2, 0.5]).item(), 224 + 0.5 * 121.125);
  assert.throws(() => styleLoss([x2()], [gy, gy]), /1 feature maps for 2 target Grams/);
  assert.throws(() => styleLoss([x2()], [gy], [1, 2]), /2 weights for 1 layers/);
});

test('tvLoss: plain sum of squared horizontal and vertical differences, batch mean', () => {
  // channel 0 [[1,2],[3,4]]: horizontal (2−1)² + (4−3)² = 2, vertical (3−1)² + (4−2)² = 8 → 10
  // channel 1 [[0,1],[0,−1]]: horizontal 1 + 1 = 2, vertical 0 + (−1−1)² = 4 → 6
  near(tvLoss(x()).item(), 16);
  // batch [x, 2x]: 16 and 64 → mean 40
  near(tvLoss(x2()).item(), 40);
  // non-square: [[1, 2, 4], [1, 1, 1]]: horizontal 1 + 4 + 0 + 0 = 5, vertical 0 + 1 + 9 = 10
  near(tvLoss(tensor([1, 2, 4, 1, 1, 1], [1, 1, 2, 3])).item(), 15);
  near(tvLoss(tensor([3], [1, 1, 1, 1])).item(), 0);
});
