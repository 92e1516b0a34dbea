import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { manualSeed, noGrad, rand, tensor, tidy, type Tensor } from '../engine/index.js';
import { Module, StateDictError } from './module.js';
import { BatchNorm2d, Conv2d, ReLU, ResidualBlock, Sequential } from './layers/index.js';
import { readSafetensors } from './safetensors.js';

/** A small composite network with named children, a Sequential and buffers. */
class Toy extends Module {
  readonly head: Conv2d;
  readonly res1: ResidualBlock;
  readonly tail: Sequential;
  constructor() {
    super();
    this.head = this.registerModule('head', new Conv2d(3, 4, 3, { padding: 1 }));
    this.res1 = this.registerModule('res1', new ResidualBlock(4, { norm: 'batch', padding: 'zero' }));
    this.tail = this.registerModule('tail', new Sequential(new Conv2d(4, 2, 1), new BatchNorm2d(2), new ReLU()));
  }
  forward(x: Tensor): Tensor {
    return this.tail.forward(this.res1.forward(this.head.forward(x)));
  }
}

const values = (t: Tensor): number[] => Array.from(t.toArray() as Float32Array);

const tempDirs: string[] = [];
after(() => Promise.all(tempDirs.map((d) => fs.rm(d, { recursive: true, force: true }))));

async function tempFile(name: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-nn-'));
  tempDirs.push(dir);
  return path.join(dir, name);
}

test('parameters and buffers get PyTorch dotted names in PyTorch order', () => {
  manualSeed(0);
  const m = new Toy();
  assert.deepEqual(
    m.namedParameters().map(([n]) => n),
    [
      'head.weight', 'head.bias',
      'res1.conv1.weight', 'res1.conv1.bias', 'res1.norm1.weight', 'res1.norm1.bias',
      'res1.conv2.weight', 'res1.conv2.bias', 'res1.norm2.weight', 'res1.norm2.bias',
      'tail.0.weight', 'tail.0.bias', 'tail.1.weight', 'tail.1.bias',
    ],
  );
  assert.deepEqual(m.namedBuffers().map(([n]) => n).slice(0, 3), ['res1.norm1.running_mean', 'res1.norm1.running_var', 'res1.norm1.num_batches_tracked']);
  // state_dict: per module, parameters then buffers (as torch orders it)
  assert.deepEqual([...m.stateDict().keys()].slice(2, 9), [
    'res1.conv1.weight', 'res1.conv1.bias',
    'res1.norm1.weight', 'res1.norm1.bias', 'res1.norm1.running_mean', 'res1.norm1.running_var', 'res1.norm1.num_batches_tracked',
  ]);
  // 3·4·9+4 + 2·(4·4·9+4) + 2·(4+4) + 4·2+2 + 2+2
  assert.equal(m.numParameters(), 112 + 2 * 148 + 16 + 10 + 4);
  assert.ok(m.parameters().every((p) => p.requiresGrad));
  m.dispose();
});

test('Conv2d init is PyTorch\'s U(±1/√fan_in) and reproducible with manualSeed', () => {
  manualSeed(7);
  const a = new Conv2d(16, 8, 3);
  manualSeed(7);
  const b = new Conv2d(16, 8, 3);
  assert.deepEqual(values(a.weight), values(b.weight));
  const bound = 1 / Math.sqrt(16 * 9);
  const w = values(a.weight);
  assert.ok(w.every((v) => Math.abs(v) <= bound));
  // uniform on ±bound has standard deviation bound/√3
  const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  assert.ok(Math.abs(std - bound / Math.sqrt(3)) < 0.1 * bound, `std ${std}`);
  assert.ok(values(a.bias!).every((v) => Math.abs(v) <= bound));
  a.dispose();
  b.dispose();
});

test('train()/eval() switch every module', () => {
  const m = new Toy();
  assert.ok(m.namedModules().every(([, x]) => x.training));
  m.eval();
  assert.ok(m.namedModules().every(([, x]) => !x.training));
  m.train();
  assert.ok(m.res1.norm1.training);
  m.dispose();
});

test('loadStateDict copies into the existing tensors and checks shapes and keys', () => {
  manualSeed(1);
  const a = new Toy();
  manualSeed(2);
  const b = new Toy();
  const headBefore = b.head.weight;
  b.loadStateDict(a.stateDict());
  assert.equal(b.head.weight, headBefore, 'same tensor object: optimizers keep working');
  assert.deepEqual(values(b.head.weight), values(a.head.weight));
  assert.ok(b.head.weight.requiresGrad);

  // shape mismatch names the key and both shapes, and copies nothing
  const wrong = new Map(a.stateDict());
  wrong.set('tail.0.weight', rand([3, 4, 1, 1]));
  manualSeed(3);
  const c = new Toy();
  const before = values(c.head.weight);
  assert.throws(() => c.loadStateDict(wrong), (e: unknown) => {
    assert.ok(e instanceof StateDictError);
    assert.match(e.message, /tail\.0\.weight: checkpoint has shape \[3, 4, 1, 1\], the model \[2, 4, 1, 1\]/);
    return true;
  });
  assert.deepEqual(values(c.head.weight), before, 'a failed load leaves the module unchanged');

  // strict: missing and unexpected keys
  const partial = new Map(a.stateDict());
  partial.delete('head.bias');
  partial.set('extra.weight', rand([1]));
  assert.throws(() => c.loadStateDict(partial), /missing keys: head\.bias; unexpected keys: extra\.weight/);
  const r = c.loadStateDict(partial, { strict: false });
  assert.deepEqual(r, { missing: ['head.bias'], unexpected: ['extra.weight'] });
  assert.deepEqual(values(c.head.weight), values(a.head.weight));
  for (const m of [a, b, c]) m.dispose();
});

test('state dict round trip through safetensors (float32 parameters, int64 counters, metadata)', async () => {
  manualSeed(4);
  const a = new Toy();
  // update the running statistics so that the buffers are not at their defaults
  tidy(() => a.train().forward(rand([2, 3, 6, 6]).mul(255)));
  const file = await tempFile('toy.safetensors');
  await a.saveSafetensors(file, { kind: 'toy' });
  const raw = await readSafetensors(file);
  assert.equal(raw.tensors.get('head.weight')!.dtype, 'F32');
  assert.equal(raw.tensors.get('res1.norm1.num_batches_tracked')!.dtype, 'I64');
  assert.deepEqual(raw.metadata, { kind: 'toy' });

  manualSeed(5);
  const b = new Toy();
  const meta = await b.loadSafetensors(file);
  assert.deepEqual(meta, { kind: 'toy' });
  for (const [k, t] of a.stateDict()) assert.deepEqual(b.stateDict().get(k)!.toArray(), t.toArray(), k);
  assert.equal(b.stateDict().get('tail.1.num_batches_tracked')!.item(), 1);

  const x = rand([1, 3, 5, 7]).mul(255);
  const ya = noGrad(() => a.eval().forward(x));
  const yb = noGrad(() => b.eval().forward(x));
  assert.deepEqual(values(ya), values(yb));

  // a file for another network fails with the key named
  const other = new Sequential(new Conv2d(3, 4, 3));
  await assert.rejects(other.loadSafetensors(file), (e: unknown) => e instanceof StateDictError && e.message.includes(file) && /unexpected keys/.test(e.message));
  for (const m of [a, b, other]) m.dispose();
});

test('toMemoryFormat(channels_last) keeps values, names and results', async () => {
  manualSeed(6);
  const m = new Toy().eval();
  const x = rand([1, 3, 9, 8]).mul(255);
  const ref = values(noGrad(() => m.forward(x)));
  const names = m.namedParameters().map(([n]) => n);
  m.toMemoryFormat('channels_last');
  assert.ok(m.head.weight.isChannelsLast);
  assert.ok(m.head.weight.requiresGrad);
  assert.deepEqual(m.namedParameters().map(([n]) => n), names);
  const y = values(noGrad(() => m.forward(x.contiguous('channels_last'))));
  y.forEach((v, i) => assert.ok(Math.abs(v - ref[i]!) < 1e-4, `${v} vs ${ref[i]}`));
  // saved in logical order: reloading into a contiguous model gives the same network
  const file = await tempFile('cl.safetensors');
  await m.saveSafetensors(file);
  const n = new Toy().eval();
  await n.loadSafetensors(file);
  const z = values(noGrad(() => n.forward(x)));
  z.forEach((v, i) => assert.ok(Math.abs(v - ref[i]!) < 1e-4));
  m.dispose();
  n.dispose();
});

test('dispose frees parameters and buffers; names are validated', () => {
  const m = new Toy();
  const w = m.head.weight;
  const rm = m.res1.norm1 as BatchNorm2d;
  const buf = rm.runningMean;
  m.dispose();
  assert.ok(w.isDisposed && buf.isDisposed);
  const s = new Sequential();
  assert.throws(() => s.registerParameter('a.b', tensor([1])), /invalid name/);
  s.registerParameter('a', tensor([1]));
  assert.throws(() => s.registerBuffer('a', tensor([1])), /already registered/);
  s.dispose();
});
