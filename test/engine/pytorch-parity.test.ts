/**
 * Cross-check against Debian's python3-torch: a small network built from the ops the paper
 * needs (reflection pad, conv, instance norm, relu, strided conv, transposed conv, tanh, Gram
 * matrix, mse) with fixed weights gives the same output, loss, parameter gradients and Adam
 * updates in this engine as in PyTorch, within 1e-5 relative.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, tensor, F, tidy, Adam } from '../../src/engine/index.js';
import { hasTorch, runTorch, NO_TORCH } from '../helpers/python-torch.js';

function det(n: number, seed: number, scale = 1): number[] {
  return Array.from({ length: n }, (_, i) => scale * Math.sin(1.7 * i + seed) * Math.cos(0.37 * i * seed + 1));
}

const shapes: Record<string, number[]> = {
  w1: [4, 3, 5, 5], b1: [4], g1: [4], be1: [4],
  w2: [6, 4, 3, 3], b2: [6],
  w3: [6, 3, 3, 3], b3: [3],
};
const params: Record<string, number[]> = Object.fromEntries(
  Object.entries(shapes).map(([k, s], i) => [k, det(s.reduce((a, b) => a * b, 1), i + 1, k.startsWith('g') ? 1 : 0.2)]),
);
params.g1 = params.g1!.map((v) => 1 + 0.3 * v);
const x = det(2 * 3 * 12 * 12, 42, 127).map((v) => v + 128);
const target = det(2 * 3 * 12 * 12, 7, 100).map((v) => v + 128);

function gram(f: Tensor): Tensor {
  const [n, c, h, w] = f.shape as [number, number, number, number];
  const m = f.reshape([n, c, h * w]);
  return m.bmm(m.transpose(1, 2)).div(c * h * w);
}

function forward(p: Record<string, Tensor>, xt: Tensor, tt: Tensor): { y: Tensor; loss: Tensor } {
  const h1 = F.instanceNorm(F.conv2d(F.pad(xt, [2, 2, 2, 2], 'reflect'), p.w1!, p.b1), { weight: p.g1, bias: p.be1 }).relu();
  const h2 = F.conv2d(h1, p.w2!, p.b2, { stride: 2, padding: 1 }).relu();
  const y = F.convTranspose2d(h2, p.w3!, p.b3, { stride: 2, padding: 1, outputPadding: 1 }).tanh().mul(127.5).add(127.5);
  const h1t = F.instanceNorm(F.conv2d(F.pad(tt, [2, 2, 2, 2], 'reflect'), p.w1!, p.b1), { weight: p.g1, bias: p.be1 }).relu().detach();
  const loss = F.mseLoss(y, tt).add(F.mseLoss(gram(h1), gram(h1t)).mul(1e-3));
  return { y, loss };
}

const PY = `
p = {k: torch.tensor(v, dtype=torch.float32).reshape(inp['shapes'][k]).requires_grad_() for k, v in inp['params'].items()}
x = torch.tensor(inp['x'], dtype=torch.float32).reshape(2, 3, 12, 12)
t = torch.tensor(inp['t'], dtype=torch.float32).reshape(2, 3, 12, 12)
F = torch.nn.functional
def gram(f):
    n, c, h, w = f.shape
    m = f.reshape(n, c, h * w)
    return torch.bmm(m, m.transpose(1, 2)) / (c * h * w)
def forward():
    h1 = F.relu(F.instance_norm(F.conv2d(F.pad(x, (2, 2, 2, 2), mode='reflect'), p['w1'], p['b1']), weight=p['g1'], bias=p['be1']))
    h2 = F.relu(F.conv2d(h1, p['w2'], p['b2'], stride=2, padding=1))
    y = torch.tanh(F.conv_transpose2d(h2, p['w3'], p['b3'], stride=2, padding=1, output_padding=1)) * 127.5 + 127.5
    h1t = F.relu(F.instance_norm(F.conv2d(F.pad(t, (2, 2, 2, 2), mode='reflect'), p['w1'], p['b1']), weight=p['g1'], bias=p['be1'])).detach()
    loss = F.mse_loss(y, t) + F.mse_loss(gram(h1), gram(h1t)) * 1e-3
    return y, loss
y, loss = forward()
loss.backward()
grads = {k: v.grad.flatten().tolist() for k, v in p.items()}
opt = torch.optim.Adam(list(p.values()), lr=1e-2)
for _ in range(3):
    opt.zero_grad()
    _, l = forward()
    l.backward()
    opt.step()
out = {'y': y.detach().flatten().tolist(), 'loss': loss.item(), 'grads': grads, 'after': {k: v.detach().flatten().tolist() for k, v in p.items()}}
`;

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-12);
}

test('small network: outputs, gradients and Adam updates match python3-torch (1e-5 relative)', { skip: hasTorch() ? false : NO_TORCH }, () => {
  const ref = runTorch<{ y: number[]; loss: number; grads: Record<string, number[]>; after: Record<string, number[]> }>(PY, { params, shapes, x, t: target });
  const p: Record<string, Tensor> = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, tensor(v, shapes[k], { requiresGrad: true })]));
  const xt = tensor(x, [2, 3, 12, 12]);
  const tt = tensor(target, [2, 3, 12, 12]);

  tidy(() => {
    const { y, loss } = forward(p, xt, tt);
    const ey = relErr(y.toFloat32Array(), ref.y);
    assert.ok(ey < 1e-5, `output relative error ${ey}`);
    assert.ok(Math.abs(loss.item() - ref.loss) / ref.loss < 1e-5, `loss ${loss.item()} vs ${ref.loss}`);
    loss.backward();
  });
  // b1 is a conv bias right before instance norm, which subtracts each channel's mean: its exact
  // gradient is 0 and both sides hold only rounding noise (relative error noise/noise, which failed
  // now and then with one thread). It is checked against 0 on the scale of w1's gradient instead,
  // and left out of the Adam comparison (Adam divides that noise by its own RMS into ±lr steps).
  const CANCELLED = new Set(['b1']);
  const w1Scale = Math.max(...ref.grads.w1!.map(Math.abs));
  for (const k of Object.keys(p)) {
    if (CANCELLED.has(k)) {
      const ours = Math.max(...Array.from(p[k]!.grad!.toFloat32Array(), Math.abs));
      const theirs = Math.max(...ref.grads[k]!.map(Math.abs));
      assert.ok(ours < 1e-5 * w1Scale && theirs < 1e-5 * w1Scale, `grad of ${k} should vanish under instance norm: ours ${ours}, torch ${theirs}, |grad w1| ${w1Scale}`);
      continue;
    }
    const e = relErr(p[k]!.grad!.toFloat32Array(), ref.grads[k]!);
    assert.ok(e < 1e-5, `grad of ${k}: relative error ${e}`);
  }
  const opt = new Adam(Object.values(p), { lr: 1e-2 });
  for (let i = 0; i < 3; i++) {
    opt.zeroGrad();
    tidy(() => forward(p, xt, tt).loss.backward());
    opt.step();
  }
  for (const k of Object.keys(p)) {
    if (CANCELLED.has(k)) continue;
    const e = relErr(p[k]!.toFloat32Array(), ref.after[k]!);
    assert.ok(e < 1e-5, `${k} after 3 Adam steps: relative error ${e}`);
  }
});
