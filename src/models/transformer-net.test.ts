import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { manualSeed, noGrad, rand, tidy, type Tensor } from '../engine/index.js';
import { writeSafetensors } from '../nn/safetensors.js';
import { toNamedTensor } from '../nn/module.js';
import type { Conv2d } from '../nn/layers/index.js';
import { buildStyleNet } from './transformer-net.js';
import { NO_TORCH, hasTorch, runTorch } from '../../test/helpers/python-torch.js';

const values = (t: Tensor): Float32Array => t.toArray() as Float32Array;

test('the paper network keeps any input size: 256×256, 37×53, 250×130', () => {
  manualSeed(0);
  const net = buildStyleNet('paper').eval();
  for (const [h, w] of [[256, 256], [37, 53], [250, 130]] as const) {
    tidy(() => {
      const y = noGrad(() => net.forward(rand([1, 3, h, w]).mul(255)));
      assert.deepEqual(y.shape, [1, 3, h, w]);
      assert.ok(y.min().item() >= 0 && y.max().item() <= 255);
    });
  }
  net.dispose();
});

test('odd sizes in training mode (batch statistics), other presets and paddings', () => {
  manualSeed(1);
  const nets = [
    buildStyleNet('c9s1-4,d8,d8,R8x5,u8,u4,c9s1-3'),
    buildStyleNet('half-instance'),
    buildStyleNet('c9s1-4,d8,d8,R8,u8,u4,c9s1-3', { padding: 'reflect', norm: 'instance' }),
    buildStyleNet('c9s1-4,d8,d8,R8,U2,c3s1-8,U2,c3s1-4,c9s1-3', { padding: 'zero' }),
  ];
  for (const net of nets) {
    for (const [h, w] of [[37, 53], [13, 6], [32, 30]] as const) {
      tidy(() => {
        const y = net.train().forward(rand([2, 3, h, w]).mul(255));
        assert.deepEqual(y.shape, [2, 3, h, w], `${net.config.arch} at ${h}×${w}`);
      });
    }
    net.dispose();
  }
});

test('output stays within [0, 255] even when the last layer saturates', () => {
  manualSeed(2);
  const net = buildStyleNet('c9s1-4,d8,R8,u4,c9s1-3', { norm: 'instance' });
  const last = net.model.at(net.model.length - 2) as Conv2d;
  noGrad(() => last.weight.copy_(last.weight.mul(1000)));
  const y = noGrad(() => net.forward(rand([2, 3, 24, 20]).mul(255)));
  const v = values(y);
  assert.ok(v.every((p) => p >= 0 && p <= 255));
  assert.ok(v.some((p) => p < 1) && v.some((p) => p > 254), 'saturated both ways');
  net.dispose();
});

test('gradients reach the first convolution', () => {
  manualSeed(3);
  const net = buildStyleNet('c9s1-4,d8,d8,R8x2,u8,u4,c9s1-3').train();
  const first = net.model.at(1) as Conv2d;
  tidy(() => net.forward(rand([2, 3, 20, 24]).mul(255)).square().mean().backward());
  const g = first.weight.grad!;
  assert.deepEqual(g.shape, [4, 3, 9, 9]);
  assert.ok(g.abs().sum().item() > 0);
  net.dispose();
});

/**
 * An independent PyTorch implementation of the supplementary material's network, loaded with
 * the same weights by name (strict): it checks the layers, their hyper-parameters, the names
 * of the state dict, and (through an odd input size) that the surplus of the stride-½ layers
 * is at the bottom/right, where forward() crops it.
 */
const TORCH_PAPER_NET = `
import struct
import torch.nn as nn
def read_st(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    header = json.loads(b[8:8 + n]); data = b[8 + n:]
    out = {}
    for k, v in header.items():
        if k == '__metadata__': continue
        s, e = v['data_offsets']
        dt = {'F32': np.float32, 'I64': np.int64}[v['dtype']]
        out[k] = torch.from_numpy(np.frombuffer(data[s:e], dtype=dt).copy().reshape(v['shape']))
    return out
class Res(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.conv1 = nn.Conv2d(c, c, 3); s.norm1 = nn.BatchNorm2d(c)
        s.conv2 = nn.Conv2d(c, c, 3); s.norm2 = nn.BatchNorm2d(c)
    def forward(s, x):
        return s.norm2(s.conv2(torch.relu(s.norm1(s.conv1(x))))) + x[:, :, 2:-2, 2:-2]
class ScaledTanh(nn.Module):
    def forward(s, x): return 127.5 * torch.tanh(x) + 127.5
class Net(nn.Module):
    def __init__(s):
        super().__init__()
        L = [nn.ReflectionPad2d(40),
             nn.Conv2d(3, 32, 9, padding=4), nn.BatchNorm2d(32), nn.ReLU(),
             nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
             nn.Conv2d(64, 128, 3, stride=2, padding=1), nn.BatchNorm2d(128), nn.ReLU()]
        L += [Res(128) for _ in range(5)]
        L += [nn.ConvTranspose2d(128, 64, 3, stride=2, padding=1, output_padding=1), nn.BatchNorm2d(64), nn.ReLU(),
              nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.BatchNorm2d(32), nn.ReLU(),
              nn.Conv2d(32, 3, 9, padding=4), ScaledTanh()]
        s.model = nn.Sequential(*L)
    def forward(s, x): return s.model(x)
net = Net()
net.load_state_dict(read_st(inp['weights']), strict=True)
x = read_st(inp['inputs'])
net.eval()
with torch.no_grad():
    ev = net(x['eval'])
net.train()
with torch.no_grad():
    tr = net(x['train'])
h, w = inp['eval_hw']
out = {'eval': ev[:, :, :h, :w].flatten().tolist(), 'eval_full': list(ev.shape), 'train': tr.flatten().tolist(),
       'running_mean': net.model[2].running_mean.tolist(), 'nbt': int(net.model[2].num_batches_tracked)}
`;

test('the paper network matches an independent PyTorch implementation with the same weights', { skip: hasTorch() ? false : NO_TORCH }, async () => {
  manualSeed(4);
  const net = buildStyleNet('paper');
  // A few training batches give the batch norms non-trivial running statistics to test eval with.
  for (let i = 0; i < 3; i++) tidy(() => noGrad(() => net.train().forward(rand([2, 3, 44, 44]).mul(255))));
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-tnet-'));
  try {
    const weights = path.join(dir, 'net.safetensors');
    const inputs = path.join(dir, 'x.safetensors');
    await net.saveSafetensors(weights);
    const xe = rand([1, 3, 50, 45]).mul(255); // odd, not a multiple of 4, > 40 for PyTorch's reflection pad
    const xt = rand([2, 3, 44, 52]).mul(255);
    await writeSafetensors(inputs, new Map([['eval', toNamedTensor(xe)], ['train', toNamedTensor(xt)]]));

    const ours = noGrad(() => ({ eval: values(net.eval().forward(xe)), train: values(net.train().forward(xt)) }));
    const ref = runTorch<{ eval: number[]; eval_full: number[]; train: number[]; running_mean: number[]; nbt: number }>(TORCH_PAPER_NET, {
      weights,
      inputs,
      eval_hw: [50, 45],
    });
    // PyTorch's uncropped output is 52×48: the multiple of 4 above 50×45.
    assert.deepEqual(ref.eval_full, [1, 3, 52, 48]);
    for (const k of ['eval', 'train'] as const) {
      const a = ours[k];
      const b = ref[k];
      assert.equal(a.length, b.length);
      let maxDiff = 0;
      let maxRef = 0;
      let spread = 0;
      for (let i = 0; i < a.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
        maxRef = Math.max(maxRef, Math.abs(b[i]!));
        spread += Math.abs(b[i]! - 127.5);
      }
      assert.ok(spread / b.length > 1, `${k}: outputs vary (not all saturated or flat)`);
      assert.ok(maxDiff / maxRef < 1e-4, `${k}: max |Δ| ${maxDiff} relative to ${maxRef}`);
    }
    // running statistics updated the same way by the training-mode forward
    const rm = values((net.model.at(2) as unknown as { runningMean: Tensor }).runningMean);
    ref.running_mean.forEach((v, i) => assert.ok(Math.abs(v - rm[i]!) <= 1e-4 * Math.max(1, Math.abs(v)), `running_mean[${i}]`));
    // 3 batches before saving, then one more in each implementation
    assert.equal(ref.nbt, 4);
    assert.equal(net.stateDict().get('model.2.num_batches_tracked')!.item(), 4);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
    net.dispose();
  }
});
