import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad, rand, tensor, zeros, type Tensor } from '../../engine/index.js';
import {
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  InstanceNorm2d,
  ReflectionPad2d,
  ResidualBlock,
  ScaledTanh,
  Upsample,
  reflectPad,
} from './index.js';

const values = (t: Tensor): number[] => Array.from(t.toArray() as Float32Array);
const close = (a: number[], b: number[], tol = 1e-5): void => {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= tol, `[${i}] ${v} vs ${b[i]}`));
};

test('BatchNorm2d: batch statistics in training, running stats with momentum 0.1, used in eval', () => {
  const bn = new BatchNorm2d(1);
  // one channel, N=2, H=1, W=2: values 1 2 | 3 4 → mean 2.5, biased var 1.25, unbiased 5/3
  const x = tensor([1, 2, 3, 4], [2, 1, 1, 2]);
  const y = bn.forward(x);
  const s = Math.sqrt(1.25 + 1e-5);
  close(values(y), [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]);
  // running = 0.9·initial + 0.1·batch: mean 0.9·0 + 0.25, var 0.9·1 + 0.1·5/3
  close(values(bn.runningMean), [0.25]);
  close(values(bn.runningVar), [0.9 + 0.1 * (5 / 3)]);
  assert.equal(bn.stateDict().get('num_batches_tracked')!.item(), 1);
  bn.eval();
  const e = bn.forward(tensor([1.25], [1, 1, 1, 1]));
  close(values(e), [(1.25 - 0.25) / Math.sqrt(0.9 + 0.1 * (5 / 3) + 1e-5)]);
  assert.equal(bn.stateDict().get('num_batches_tracked')!.item(), 1, 'eval does not count batches');
  bn.dispose();
});

test('InstanceNorm2d normalises each sample and channel over H×W, also in eval', () => {
  const inorm = new InstanceNorm2d(1);
  // sample 0: 1, 3 (mean 2, var 1); sample 1: 10, 14 (mean 12, var 4)
  const x = tensor([1, 3, 10, 14], [2, 1, 1, 2]);
  const want = [-1 / Math.sqrt(1 + 1e-5), 1 / Math.sqrt(1 + 1e-5), -2 / Math.sqrt(4 + 1e-5), 2 / Math.sqrt(4 + 1e-5)];
  close(values(inorm.forward(x)), want);
  close(values(inorm.eval().forward(x)), want);
  assert.deepEqual([...inorm.stateDict().keys()], ['weight', 'bias']);
  inorm.dispose();
});

/** numpy's np.pad(mode='reflect') index for any pad: the mirror-periodic extension. */
function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

test('reflectPad equals the mirror-periodic extension for any pad, and PyTorch for small pads', () => {
  const h = 3;
  const w = 4;
  const data = Array.from({ length: h * w }, (_, i) => i * 1.5 - 2);
  const x = tensor(data, [1, 1, h, w]);
  for (const [l, r, t, b] of [[1, 2, 2, 1], [5, 9, 7, 4], [0, 0, 6, 0]] as const) {
    const y = reflectPad(x, [l, r, t, b]);
    assert.deepEqual(y.shape, [1, 1, h + t + b, w + l + r]);
    const got = values(y);
    const want: number[] = [];
    for (let i = -t; i < h + b; i++) for (let j = -l; j < w + r; j++) want.push(data[reflectIndex(i, h) * w + reflectIndex(j, w)]!);
    assert.deepEqual(got, want, `pads ${[l, r, t, b]}`);
  }
  // a 1-pixel dimension can only be repeated
  const one = reflectPad(tensor([7, 8], [1, 1, 1, 2]), [0, 0, 2, 1]);
  assert.deepEqual(values(one), [7, 8, 7, 8, 7, 8, 7, 8]);
  const layer = new ReflectionPad2d(40);
  assert.deepEqual(layer.forward(rand([1, 3, 5, 6])).shape, [1, 3, 85, 86]);
});

test('stride-2 convolution maps n → ⌈n/2⌉; stride-½ transposed convolution doubles exactly', () => {
  const d = new Conv2d(2, 3, 3, { stride: 2, padding: 1 });
  const u = new ConvTranspose2d(3, 2, 3, { stride: 2, padding: 1, outputPadding: 1 });
  assert.deepEqual(u.weight.shape, [3, 2, 3, 3]);
  for (const n of [7, 8, 13]) {
    const y = d.forward(rand([1, 2, n, n + 1]));
    assert.deepEqual(y.shape, [1, 3, Math.ceil(n / 2), Math.ceil((n + 1) / 2)]);
    assert.deepEqual(u.forward(y).shape, [1, 2, 2 * Math.ceil(n / 2), 2 * Math.ceil((n + 1) / 2)]);
  }
  assert.throws(() => new ConvTranspose2d(1, 1, 3, { stride: 2, outputPadding: 2 }), /outputPadding/);
  d.dispose();
  u.dispose();
});

test('Upsample repeats pixels; ScaledTanh maps onto (0, 255) with 127.5 at 0', () => {
  const up = new Upsample(2);
  assert.deepEqual(values(up.forward(tensor([1, 2, 3, 4], [1, 1, 2, 2]))), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  // Bilinear, half-pixel centres, edges clamped (by hand: output i samples the input at (i + ½)/2 − ½,
  // so −¼ → x0, ¼ → ¾x0 + ¼x1, ¾ → ¼x0 + ¾x1, 1¼ → x1; the same on rows).
  const bl = new Upsample(2, 'bilinear');
  close(values(bl.forward(tensor([1, 2, 3, 4], [1, 1, 2, 2]))), [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4], 1e-6);
  assert.throws(() => new Upsample(2, 'bicubic' as never), /mode must be 'nearest' or 'bilinear', got bicubic/);
  const st = new ScaledTanh();
  const y = values(st.forward(tensor([0, 1, -1, 50, -50], [5])));
  close(y, [127.5, 127.5 * (Math.tanh(1) + 1), 127.5 * (1 - Math.tanh(1)), 255, 0], 1e-4);
});

test('unpadded ResidualBlock shrinks by 4 and centre-crops the shortcut by 2', () => {
  const block = new ResidualBlock(2, { norm: 'batch', padding: 'none' });
  assert.equal(block.crop, 2);
  // zero convolutions: both branches' BN see constant 0, so the block returns the cropped input
  noGrad(() => {
    for (const conv of [block.conv1, block.conv2]) {
      conv.weight.copy_(zeros(conv.weight.shape));
      conv.bias!.copy_(zeros([2]));
    }
  });
  const x = rand([1, 2, 7, 9]);
  const y = block.forward(x);
  assert.deepEqual(y.shape, [1, 2, 3, 5]);
  assert.deepEqual(values(y), values(x.narrow(2, 2, 3).narrow(3, 2, 5).contiguous()));
  assert.throws(() => block.forward(rand([1, 2, 4, 9])), /too small/);
  for (const padding of ['zero', 'reflect', 'replicate'] as const) {
    const b = new ResidualBlock(2, { norm: 'instance', padding });
    assert.equal(b.crop, 0);
    assert.deepEqual(b.forward(rand([1, 2, 5, 6])).shape, [1, 2, 5, 6]);
    b.dispose();
  }
  block.dispose();
});
