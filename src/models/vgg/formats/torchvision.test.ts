import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { inspectTorchvisionVgg, loadTorchvisionVgg } from './torchvision.js';
import { pythonMissing, runPython } from '../../../../test/python-fixtures.js';

// Fixtures are written by the real torch.save (both containers), plus hand-built legacy files
// in the layouts of pre-0.4 PyTorch, which current torch can no longer produce.
const FIXTURES = String.raw`
import collections, os, pickle, struct, sys, torch
out = sys.argv[1]
torch.manual_seed(0)
P = lambda name: os.path.join(out, name)

sd = collections.OrderedDict()
sd['features.0.weight'] = torch.randn(64, 3, 3, 3)
shared = torch.randn(200)
sd['features.0.bias'] = shared[10:74]            # view at storage offset 10
sd['features.2.weight'] = torch.randn(64, 64, 3, 3).half()   # HalfStorage
sd['features.2.bias'] = shared[100:164]          # same storage, another offset
sd['classifier.6.bias'] = torch.randn(10)
torch.save(sd, P('tiny.pth'))
torch.save(sd, P('tiny-legacy.pth'), _use_new_zipfile_serialization=False)
for k, v in sd.items():
    v.float().contiguous().numpy().astype('<f4').tofile(P(k + '.f32'))

torch.save(collections.OrderedDict([('features.16.weight', torch.randn(256, 256, 3, 3)), ('features.16.bias', torch.randn(256))]), P('only16.pth'))
torch.save({'features.0.weight': torch.randn(32, 3, 3, 3), 'features.0.bias': torch.randn(32)}, P('vgg16-badshape.pth'))
torch.save({'features.0.weight': torch.randn(3, 64, 3, 3).transpose(0, 1), 'features.0.bias': torch.randn(64)}, P('vgg16-noncontig.pth'))
torch.save(torch.nn.Sequential(torch.nn.Conv2d(3, 64, 3)), P('vgg16-module.pth'))
torch.save({'features.0.weight': torch.randn(64, 3, 3, 3), 'features.1.running_mean': torch.zeros(64)}, P('vgg16_bn.pth'))
torch.save({'epoch': 3, 'state_dict': sd}, P('vgg16-wrapped.pth'))
torch.save({'features.17.weight': torch.randn(512, 256, 3, 3), 'features.16.weight': torch.randn(256, 256, 3, 3)}, P('mixed.pth'))

# Legacy container as torch < 0.4 wrote it: tensors as torch.FloatTensor() + BUILD (style 'shell')
# or torch._utils._rebuild_tensor (style 'v1'), each with its own storage.
def legacy_save(path, items, style):
    storages = {}
    class Storage:
        def __init__(self, key): self.key = key
    class Tensor:
        def __init__(self, key, t): self.key, self.t = key, t
        def __reduce__(self):
            state = (Storage(self.key), 0, tuple(self.t.shape), tuple(self.t.stride()))
            return (torch.FloatTensor, (), state) if style == 'shell' else (torch._utils._rebuild_tensor, state)
    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ('storage', torch.FloatStorage, obj.key, 'cpu', storages[obj.key].numel(), None)
            return None
    od = collections.OrderedDict()
    for i, (k, t) in enumerate(items):
        storages[str(i)] = t.contiguous().view(-1)
        od[k] = Tensor(str(i), t)
    with open(path, 'wb') as f:
        pickle.dump(0x1950a86a20f9469cfc6c, f, protocol=2)
        pickle.dump(1001, f, protocol=2)
        pickle.dump({'protocol_version': 1001, 'little_endian': True, 'type_sizes': {'short': 2, 'int': 4, 'long': 8}}, f, protocol=2)
        Pickler(f, protocol=2).dump(od)
        keys = sorted(storages)
        pickle.dump(keys, f, protocol=2)
        for k in keys:
            f.write(struct.pack('<q', storages[k].numel()))
            f.write(storages[k].numpy().astype('<f4').tobytes())

old = [('features.0.weight', sd['features.0.weight']), ('features.0.bias', sd['features.0.bias'])]
legacy_save(P('vgg19-ancient-shell.pth'), old, 'shell')
legacy_save(P('vgg19-ancient-v1.pth'), old, 'v1')
print('ok')
`;

const skip = pythonMissing(['numpy', 'torch']);
let dir = '';
const fx = (name: string) => path.join(dir, name);
async function expected(key: string): Promise<number[]> {
  return Array.from(new Float32Array(new Uint8Array(await fs.readFile(fx(`${key}.f32`))).buffer));
}

before(async () => {
  if (skip) return;
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-pth-'));
  runPython(FIXTURES, [dir]);
});
after(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

test('zip and legacy torch.save state dicts load with exact values (storage offsets, half storage)', { skip }, async () => {
  for (const name of ['tiny.pth', 'tiny-legacy.pth']) {
    const w = await loadTorchvisionVgg(fx(name), { arch: 'vgg16' });
    assert.equal(w.arch, 'vgg16');
    assert.equal(w.preprocessing, 'torchvision');
    assert.equal(w.format, 'torchvision');
    assert.deepEqual(w.layers, ['conv1_1', 'conv1_2']);
    assert.equal(w.missingLayers.length, 11);
    assert.deepEqual([...w.tensors.keys()], ['conv1_1.weight', 'conv1_1.bias', 'conv1_2.weight', 'conv1_2.bias']);
    assert.deepEqual(w.tensors.get('conv1_2.weight')!.shape, [64, 64, 3, 3]);
    assert.deepEqual(Array.from(w.tensors.get('conv1_1.weight')!.data as Float32Array), await expected('features.0.weight'), name);
    assert.deepEqual(Array.from(w.tensors.get('conv1_1.bias')!.data as Float32Array), await expected('features.0.bias'), name);
    assert.deepEqual(Array.from(w.tensors.get('conv1_2.weight')!.data as Float32Array), await expected('features.2.weight'), name);
    assert.deepEqual(Array.from(w.tensors.get('conv1_2.bias')!.data as Float32Array), await expected('features.2.bias'), name);
  }
});

test('architecture: proven by the indices, else from the file name or option, else a clear error', { skip }, async () => {
  await assert.rejects(loadTorchvisionVgg(fx('tiny.pth')), /tiny\.pth: cannot tell whether these are VGG-16 or VGG-19 .*arch/);
  const only16 = await inspectTorchvisionVgg(fx('only16.pth'));
  assert.equal(only16.arch, 'vgg19', 'features.16 is a convolution only in VGG-19');
  assert.deepEqual(only16.layers, ['conv3_4']);
  await assert.rejects(loadTorchvisionVgg(fx('only16.pth'), { arch: 'vgg16' }), /only16\.pth: the file holds vgg19 weights but vgg16 was requested/);
  await assert.rejects(loadTorchvisionVgg(fx('mixed.pth')), /mixed\.pth: features\.\{17\} are VGG-16 convolutions but features\.\{16\} are VGG-19 ones/);
  const ancient = await loadTorchvisionVgg(fx('vgg19-ancient-v1.pth'));
  assert.equal(ancient.arch, 'vgg19', 'from the file name');
});

test('pre-0.4 legacy pickles (FloatTensor + BUILD, _rebuild_tensor) load', { skip }, async () => {
  for (const name of ['vgg19-ancient-shell.pth', 'vgg19-ancient-v1.pth']) {
    const w = await loadTorchvisionVgg(fx(name));
    assert.deepEqual(w.layers, ['conv1_1'], name);
    assert.deepEqual(Array.from(w.tensors.get('conv1_1.weight')!.data as Float32Array), await expected('features.0.weight'), name);
    assert.deepEqual(Array.from(w.tensors.get('conv1_1.bias')!.data as Float32Array), await expected('features.0.bias'), name);
  }
});

test('wrapped training checkpoints ({state_dict: …}) are unwrapped', { skip }, async () => {
  const w = await loadTorchvisionVgg(fx('vgg16-wrapped.pth'));
  assert.deepEqual(w.layers, ['conv1_1', 'conv1_2']);
});

test('clear errors: shape mismatch, non-contiguous, pickled modules, batch-norm VGG, non-checkpoints', { skip }, async () => {
  await assert.rejects(loadTorchvisionVgg(fx('vgg16-badshape.pth')), (e: Error) => {
    assert.match(e.message, /vgg16-badshape\.pth: layer conv1_1: features\.0\.weight has shape \[32, 3, 3, 3\], expected \[64, 3, 3, 3\]/);
    return true;
  });
  await assert.rejects(loadTorchvisionVgg(fx('vgg16-noncontig.pth')), /vgg16-noncontig\.pth: tensor features\.0\.weight: is not contiguous \(shape \[64, 3, 3, 3\], stride \[9, 576, 3, 1\]\)/);
  await assert.rejects(loadTorchvisionVgg(fx('vgg16-module.pth')), /vgg16-module\.pth: .*refusing to load global torch\.nn\.modules\.container\.Sequential/);
  await assert.rejects(loadTorchvisionVgg(fx('vgg16_bn.pth')), /features\.1\.running_mean: this is a batch-normalised VGG/);
  await assert.rejects(loadTorchvisionVgg(fx('features.0.weight.f32')), /not a PyTorch checkpoint/);
});

test('a malicious data.pkl inside a torch-style zip is refused without running anything', async () => {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-evil-'));
  try {
    const marker = path.join(d, 'pwned');
    const pkl = Uint8Array.from(`\x80\x02cposix\nsystem\nq\x00X${String.fromCharCode(6 + marker.length)}\x00\x00\x00touch ${marker}q\x01\x85q\x02Rq\x03.`, (c) => c.charCodeAt(0));
    const file = path.join(d, 'vgg16-evil.pth');
    await fs.writeFile(file, zipSync({ 'archive/data.pkl': [pkl, { level: 0 }], 'archive/version': [new TextEncoder().encode('3\n'), { level: 0 }] }));
    await assert.rejects(loadTorchvisionVgg(file), /vgg16-evil\.pth: archive\/data\.pkl: refusing to load global posix\.system/);
    await assert.rejects(fs.stat(marker), 'nothing was executed');
  } finally {
    await fs.rm(d, { recursive: true, force: true });
  }
});
