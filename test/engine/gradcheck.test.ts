/**
 * Every differentiable op's analytic gradient (libtorch autograd through our binding) against
 * central finite differences, in float64, on tiny inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, tensor, F, noGrad, tidy } from '../../src/engine/index.js';

/** Deterministic values in ±[0.2, 1.2] (away from the kinks of relu/abs at 0). */
function values(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    out[i] = (u < 0.5 ? -1 : 1) * (0.2 + 2 * Math.abs(u - 0.5) * 2);
  }
  return out;
}

interface Spec {
  name: string;
  shapes: number[][];
  fn: (...xs: Tensor[]) => Tensor;
  /** Map raw values into the op's domain (e.g. positive for log/sqrt). */
  domain?: (v: number) => number;
}

function gradcheck(spec: Spec): void {
  const data = spec.shapes.map((s, k) => values(s.reduce((a, b) => a * b, 1), 17 + 31 * k).map((v) => (spec.domain ? spec.domain(v) : v)));
  const outShape = tidy(() => spec.fn(...data.map((d, k) => tensor(d, spec.shapes[k], { dtype: 'float64' }))).shape);
  const r = values(outShape.reduce((a, b) => a * b, 1), 99);
  const lossOf = (xs: Tensor[]): Tensor => spec.fn(...xs).mul(tensor(r, outShape, { dtype: 'float64' })).sum();

  const analytic = tidy(() => {
    const xs = data.map((d, k) => tensor(d, spec.shapes[k], { dtype: 'float64', requiresGrad: true }));
    lossOf(xs).backward();
    return xs.map((x) => Float64Array.from(x.grad?.toArray() as Float64Array ?? new Float64Array(x.numel)));
  });

  const eps = 1e-6;
  for (let k = 0; k < data.length; k++) {
    for (let i = 0; i < data[k]!.length; i++) {
      const evalAt = (delta: number): number =>
        tidy(() =>
          noGrad(() => {
            const xs = data.map((d, j) => {
              const c = Float64Array.from(d);
              if (j === k) c[i]! += delta;
              return tensor(c, spec.shapes[j], { dtype: 'float64' });
            });
            return lossOf(xs).item();
          }),
        );
      const numeric = (evalAt(eps) - evalAt(-eps)) / (2 * eps);
      const a = analytic[k]![i]!;
      const tol = 1e-5 * Math.max(1, Math.abs(numeric));
      assert.ok(Math.abs(a - numeric) <= tol, `${spec.name}: d/dx${k}[${i}] analytic ${a} vs numeric ${numeric}`);
    }
  }
}

const pos = (v: number) => Math.abs(v) + 0.1;
const specs: Spec[] = [
  { name: 'add', shapes: [[2, 3], [2, 3]], fn: (a, b) => a.add(b) },
  { name: 'add broadcast', shapes: [[2, 3], [3]], fn: (a, b) => a.add(b) },
  { name: 'sub', shapes: [[2, 3], [2, 3]], fn: (a, b) => a.sub(b) },
  { name: 'mul', shapes: [[2, 3], [2, 3]], fn: (a, b) => a.mul(b) },
  { name: 'div', shapes: [[2, 3], [2, 3]], fn: (a, b) => a.div(b) },
  { name: 'pow tensor', shapes: [[2, 3], [2, 3]], fn: (a, b) => a.pow(b), domain: pos },
  { name: 'pow scalar', shapes: [[2, 3]], fn: (a) => a.pow(3) },
  { name: 'scalar ops', shapes: [[2, 3]], fn: (a) => a.mul(2.5).add(1).sub(0.5).div(3) },
  { name: 'neg', shapes: [[4]], fn: (a) => a.neg() },
  { name: 'sqrt', shapes: [[4]], fn: (a) => a.sqrt(), domain: pos },
  { name: 'exp', shapes: [[4]], fn: (a) => a.exp() },
  { name: 'log', shapes: [[4]], fn: (a) => a.log(), domain: pos },
  { name: 'abs', shapes: [[6]], fn: (a) => a.abs() },
  { name: 'square', shapes: [[6]], fn: (a) => a.square() },
  { name: 'clamp', shapes: [[8]], fn: (a) => a.clamp(-0.5, 0.6) },
  { name: 'tanh', shapes: [[6]], fn: (a) => a.tanh() },
  { name: 'relu', shapes: [[6]], fn: (a) => a.relu() },
  { name: 'sigmoid', shapes: [[6]], fn: (a) => a.sigmoid() },
  { name: 'maximum', shapes: [[6], [6]], fn: (a, b) => a.maximum(b) },
  { name: 'where', shapes: [[6], [6]], fn: (a, b) => F.where(a.gt(0), a.mul(b), b) },
  { name: 'sum dims', shapes: [[2, 3, 4]], fn: (a) => a.sum([0, 2]) },
  { name: 'mean keepdim', shapes: [[2, 3, 4]], fn: (a) => a.mean([1], true) },
  { name: 'var', shapes: [[2, 5]], fn: (a) => a.var([1], { unbiased: false }) },
  { name: 'max', shapes: [[7]], fn: (a) => a.max() },
  { name: 'min dim', shapes: [[3, 4]], fn: (a) => a.minDim(1)[0] },
  { name: 'reshape/permute/transpose', shapes: [[2, 3, 4]], fn: (a) => a.reshape([3, 2, 4]).permute([2, 0, 1]).transpose(0, 2) },
  { name: 'narrow/slice', shapes: [[4, 6]], fn: (a) => a.narrow(0, 1, 2).slice(1, 1, -1, 2) },
  { name: 'cat/stack', shapes: [[2, 3], [2, 3]], fn: (a, b) => F.stack([F.cat([a, b], 1), F.cat([b, a], 1)], 0) },
  { name: 'flip', shapes: [[2, 3]], fn: (a) => a.flip([0, 1]) },
  { name: 'unsqueeze/expand', shapes: [[3]], fn: (a) => a.unsqueeze(0).expand([4, 3]) },
  { name: 'pad reflect', shapes: [[1, 2, 4, 5]], fn: (a) => F.pad(a, [2, 1, 1, 3], 'reflect') },
  { name: 'pad replicate', shapes: [[1, 2, 3, 3]], fn: (a) => F.pad(a, [1, 2, 2, 1], 'replicate') },
  { name: 'pad constant', shapes: [[1, 2, 3, 3]], fn: (a) => F.pad(a, [1, 0, 0, 2], 'constant', 0.5) },
  { name: 'conv2d', shapes: [[1, 2, 5, 5], [3, 2, 3, 3], [3]], fn: (x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1 }) },
  { name: 'conv2d groups', shapes: [[1, 4, 4, 4], [4, 2, 3, 3]], fn: (x, w) => F.conv2d(x, w, null, { groups: 2, padding: 1 }) },
  {
    name: 'conv_transpose2d',
    shapes: [[1, 2, 3, 3], [2, 3, 3, 3], [3]],
    fn: (x, w, b) => F.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
  },
  { name: 'max_pool2d', shapes: [[1, 2, 4, 4]], fn: (x) => F.maxPool2d(x, 2) },
  { name: 'avg_pool2d', shapes: [[1, 2, 4, 4]], fn: (x) => F.avgPool2d(x, 2) },
  { name: 'interpolate nearest', shapes: [[1, 2, 3, 3]], fn: (x) => F.interpolate(x, { scaleFactor: 2, mode: 'nearest' }) },
  { name: 'interpolate bilinear', shapes: [[1, 1, 3, 4]], fn: (x) => F.interpolate(x, { size: [5, 7], mode: 'bilinear' }) },
  { name: 'interpolate bicubic', shapes: [[1, 1, 4, 4]], fn: (x) => F.interpolate(x, { size: [6, 5], mode: 'bicubic' }) },
  { name: 'interpolate bicubic antialias', shapes: [[1, 1, 8, 8]], fn: (x) => F.interpolate(x, { size: [3, 3], mode: 'bicubic', antialias: true }) },
  { name: 'batch_norm train', shapes: [[3, 2, 2, 2], [2], [2]], fn: (x, w, b) => F.batchNorm(x, true, { weight: w, bias: b }) },
  { name: 'instance_norm', shapes: [[2, 2, 3, 3], [2], [2]], fn: (x, w, b) => F.instanceNorm(x, { weight: w, bias: b }) },
  { name: 'matmul', shapes: [[2, 3], [3, 4]], fn: (a, b) => a.matmul(b) },
  { name: 'bmm', shapes: [[2, 2, 3], [2, 3, 2]], fn: (a, b) => a.bmm(b) },
  { name: 'mse_loss', shapes: [[2, 3], [2, 3]], fn: (a, b) => F.mseLoss(a, b) },
  { name: 'gram', shapes: [[2, 3, 2, 2]], fn: (x) => { const f = x.reshape([2, 3, 4]); return f.bmm(f.transpose(1, 2)).div(12); } },
];

for (const spec of specs) {
  test(`gradient of ${spec.name} matches finite differences (float64)`, () => gradcheck(spec));
}

test('backward with an explicit gradient', () => {
  tidy(() => {
    const x = tensor([1, 2, 3], [3], { dtype: 'float64', requiresGrad: true });
    x.mul(x).backward(tensor([1, 10, 100], [3], { dtype: 'float64' }));
    assert.deepEqual(Array.from(x.grad!.toArray() as Float64Array), [2, 40, 600]);
  });
});
