import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSafetensorsHeader, writeSafetensors, type NamedTensors } from '../../nn/safetensors.js';
import { convertVggWeights, detectVggFormat, inspectVggWeights, loadVggWeights } from './weights.js';
import { defaultVggWeights, describeVggLayers, findVggWeights, formatVggLayers, VGG_WEIGHT_SOURCES } from './sources.js';
import { pythonMissing, runPython } from '../../../test/python-fixtures.js';
import { sharedDataDir } from '../../util/paths.js';

const DATA = path.join(sharedDataDir(), 'vgg19-keras');
const dataSkip = await fs.stat(path.join(DATA, 'model.json')).then(
  () => false,
  () => `VGG-19 TF.js weights not found at ${DATA} (set PERCEPTUAL_DATA)`,
);

async function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-vgg-'));
  try {
    return await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** A canonical conv1_1 + conv1_2 set with recognisable values. */
function tinyCanonical(dtype = 'F32'): NamedTensors {
  const t = (shape: number[], seed: number) => ({
    dtype,
    shape,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (((i * 7 + seed) % 13) - 6) / 8),
  });
  return new Map([
    ['conv1_1.weight', t([64, 3, 3, 3], 1)],
    ['conv1_1.bias', t([64], 2)],
    ['conv1_2.weight', t([64, 64, 3, 3], 3)],
    ['conv1_2.bias', t([64], 4)],
  ]);
}

test('format detection: folders, extensions, magic bytes, clear errors', async () => {
  await withTemp(async (dir) => {
    await assert.rejects(detectVggFormat(path.join(dir, 'nope.pth')), /nope\.pth: no such file or folder/);
    await assert.rejects(detectVggFormat(dir), /is a folder without model\.json/);
    await fs.writeFile(path.join(dir, 'model.json'), '{}');
    assert.equal(await detectVggFormat(dir), 'tfjs');
    for (const [name, format] of [['a.pth', 'torchvision'], ['a.PT', 'torchvision'], ['a.h5', 'keras-h5'], ['a.safetensors', 'safetensors'], ['x.json', 'tfjs']] as const) {
      await fs.writeFile(path.join(dir, name), 'x');
      assert.equal(await detectVggFormat(path.join(dir, name)), format, name);
    }
    await fs.writeFile(path.join(dir, 'zip.bin'), Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0, 0]));
    assert.equal(await detectVggFormat(path.join(dir, 'zip.bin')), 'torchvision');
    await fs.writeFile(path.join(dir, 'h.weights'), Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]));
    assert.equal(await detectVggFormat(path.join(dir, 'h.weights')), 'keras-h5');
    await fs.writeFile(path.join(dir, 'image.png'), 'not weights at all');
    await assert.rejects(detectVggFormat(path.join(dir, 'image.png')), /image\.png: unrecognised weights file type "\.png"/);
    await assert.rejects(loadVggWeights(path.join(dir, 'a.safetensors')), /a\.safetensors: only 1 bytes/);
  });
});

test('convert the real TF.js shards to safetensors and load them back identically', { skip: dataSkip }, async () => {
  await withTemp(async (dir) => {
    const out = path.join(dir, 'nested', 'vgg19-partial.safetensors');
    const res = await convertVggWeights(DATA, out);
    assert.equal(res.output, out);
    assert.deepEqual(res.missingLayers, ['conv4_1', 'conv4_2', 'conv4_3', 'conv4_4', 'conv5_1', 'conv5_2', 'conv5_3', 'conv5_4']);
    const header = await readSafetensorsHeader(out);
    assert.deepEqual(header.metadata, {
      format: 'perceptual-vgg/1',
      arch: 'vgg19',
      preprocessing: 'caffe',
      source: 'keras.applications vgg19 (Keras 2.1.4), TF.js layers format',
      channel_order: 'BGR',
      input_range: '255',
      mean: '[103.939,116.779,123.68]',
      std: '[1,1,1]',
      layers: 'conv1_1,conv1_2,conv2_1,conv2_2,conv3_1,conv3_2,conv3_3,conv3_4',
      missing_layers: 'conv4_1,conv4_2,conv4_3,conv4_4,conv5_1,conv5_2,conv5_3,conv5_4',
    });
    const original = await loadVggWeights(DATA);
    const back = await loadVggWeights(out);
    assert.equal(back.format, 'safetensors');
    assert.equal(back.arch, 'vgg19');
    assert.equal(back.preprocessing, 'caffe');
    assert.equal(back.source, original.source, 'provenance survives conversion');
    assert.deepEqual(back.missingLayers, original.missingLayers);
    assert.deepEqual([...back.tensors.keys()], [...original.tensors.keys()]);
    for (const [name, t] of original.tensors) {
      assert.deepEqual(back.tensors.get(name)!.shape, t.shape, name);
      assert.deepEqual(Buffer.from((back.tensors.get(name)!.data as Float32Array).buffer), Buffer.from((t.data as Float32Array).buffer), name);
    }
    const info = await inspectVggWeights(out);
    assert.deepEqual(info.layers, original.layers);
    await assert.rejects(convertVggWeights(DATA, path.join(dir, 'x.bin')), /x\.bin: the output must be a \.safetensors file/);
  });
});

test('a converted torchvision checkpoint reads back in PyTorch as the original tensors', { skip: pythonMissing(['numpy', 'torch']) }, async () => {
  await withTemp(async (dir) => {
    const pth = path.join(dir, 'vgg19-tiny.pth');
    const out = path.join(dir, 'vgg19.safetensors');
    runPython(`
import sys, torch, collections
torch.manual_seed(1)
torch.save(collections.OrderedDict([('features.0.weight', torch.randn(64, 3, 3, 3)), ('features.0.bias', torch.randn(64)),
                                    ('features.16.weight', torch.randn(256, 256, 3, 3)), ('features.16.bias', torch.randn(256))]), sys.argv[1])
`, [pth]);
    const res = await convertVggWeights(pth, out);
    assert.equal(res.arch, 'vgg19');
    assert.deepEqual(res.layers, ['conv1_1', 'conv3_4']);
    const verdict = runPython(`
import json, struct, sys, numpy as np, torch
raw = open(sys.argv[2], 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
header = json.loads(raw[8:8 + n])
meta = header.pop('__metadata__')
ours = {k: torch.from_numpy(np.frombuffer(raw[8 + n + e['data_offsets'][0]: 8 + n + e['data_offsets'][1]], dtype='<f4').reshape(e['shape']).copy())
        for k, e in header.items()}
sd = torch.load(sys.argv[1])
pairs = {'conv1_1.weight': 'features.0.weight', 'conv1_1.bias': 'features.0.bias', 'conv3_4.weight': 'features.16.weight', 'conv3_4.bias': 'features.16.bias'}
print(json.dumps({'equal': all(torch.equal(ours[a], sd[b]) for a, b in pairs.items()), 'names': sorted(ours), 'meta': meta['preprocessing']}))
`, [pth, out]);
    assert.deepEqual(JSON.parse(verdict), { equal: true, names: ['conv1_1.bias', 'conv1_1.weight', 'conv3_4.bias', 'conv3_4.weight'], meta: 'torchvision' });
  });
});

test('own safetensors: validated names, shapes, metadata; half precision accepted', async () => {
  await withTemp(async (dir) => {
    const file = (n: string) => path.join(dir, n);
    await writeSafetensors(file('ok.safetensors'), tinyCanonical('F16'), { arch: 'vgg16', preprocessing: 'torchvision', source: 'test' });
    const ok = await loadVggWeights(file('ok.safetensors'));
    assert.deepEqual(ok.layers, ['conv1_1', 'conv1_2']);
    assert.equal(ok.tensors.get('conv1_1.weight')!.dtype, 'F32');
    assert.equal((ok.tensors.get('conv1_1.bias')!.data as Float32Array)[0], -0.5);

    await writeSafetensors(file('nopre.safetensors'), tinyCanonical(), { arch: 'vgg16' });
    await assert.rejects(loadVggWeights(file('nopre.safetensors')), /nopre\.safetensors: metadata "preprocessing" is missing/);

    const extra = tinyCanonical();
    extra.set('fc6.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
    await writeSafetensors(file('extra.safetensors'), extra, { arch: 'vgg16', preprocessing: 'caffe' });
    await assert.rejects(loadVggWeights(file('extra.safetensors')), /extra\.safetensors: unexpected tensor "fc6\.weight"/);

    const bad = tinyCanonical();
    bad.set('conv1_2.weight', { dtype: 'F32', shape: [64, 3, 3, 3], data: new Float32Array(64 * 27) });
    await writeSafetensors(file('shape.safetensors'), bad, { arch: 'vgg16', preprocessing: 'caffe' });
    await assert.rejects(loadVggWeights(file('shape.safetensors')), /shape\.safetensors: layer conv1_2: conv1_2\.weight has shape \[64, 3, 3, 3\], expected \[64, 64, 3, 3\]/);

    const half = tinyCanonical();
    half.delete('conv1_2.bias');
    await writeSafetensors(file('half.safetensors'), half, { arch: 'vgg16', preprocessing: 'caffe' });
    await assert.rejects(loadVggWeights(file('half.safetensors')), /layer conv1_2: has a weight but no bias/);

    const nan = tinyCanonical();
    (nan.get('conv1_1.bias')!.data as Float32Array)[3] = NaN;
    await writeSafetensors(file('nan.safetensors'), nan, { arch: 'vgg16', preprocessing: 'caffe' });
    await assert.rejects(loadVggWeights(file('nan.safetensors')), /nan\.safetensors: layer conv1_1: bias value #3 is NaN/);

    await assert.rejects(loadVggWeights(file('ok.safetensors'), { arch: 'vgg19' }), /holds vgg16 weights but vgg19 was requested/);
  });
});

test('findVggWeights: env, cache, shared data; reports coverage and broken candidates, deduplicated', async () => {
  await withTemp(async (home) => {
    const cache = path.join(home, '.cache', 'perceptual');
    await fs.mkdir(cache, { recursive: true });
    await writeSafetensors(path.join(cache, 'vgg16-tiny.safetensors'), tinyCanonical(), { arch: 'vgg16', preprocessing: 'caffe', source: 'unit test' });
    await fs.writeFile(path.join(cache, 'vgg-broken.safetensors'), 'garbage!!');
    await fs.writeFile(path.join(cache, 'notes.txt'), 'ignored');
    const root = path.join(home, 'repo');
    await fs.mkdir(root);

    const found = await findVggWeights({ env: { PERCEPTUAL_VGG: path.join(home, 'missing.pth') }, home, root });
    assert.deepEqual(found.map((f) => [path.basename(f.path), f.origin]), [
      ['missing.pth', 'PERCEPTUAL_VGG'],
      ['vgg-broken.safetensors', 'cache'],
      ['vgg16-tiny.safetensors', 'cache'],
    ]);
    assert.match(found[0]!.error!, /does not exist/);
    assert.match(found[1]!.error!, /vgg-broken\.safetensors: header length \d+ /);
    assert.deepEqual(found[2]!.info!.layers, ['conv1_1', 'conv1_2']);
    assert.equal(found[2]!.info!.missingLayers.length, 11);

    if (!dataSkip) {
      // The real shared data, found both through PERCEPTUAL_DATA and next to the repo: listed once.
      const shared = await findVggWeights({ env: { PERCEPTUAL_DATA: path.dirname(DATA) }, home: path.join(home, 'none'), root: path.resolve(DATA, '..', '..', '..', 'main') });
      assert.deepEqual(shared.map((f) => [path.basename(f.path), f.origin]), [['vgg19-keras', 'PERCEPTUAL_DATA'], ['vgg19-full-uint8', 'PERCEPTUAL_DATA']]);
      assert.equal(shared[0]!.info!.arch, 'vgg19');
      assert.deepEqual(shared[0]!.info!.missingLayers.slice(0, 1), ['conv4_1']);
      assert.deepEqual(shared[1]!.info!.missingLayers, []);

      // The default combines them layer by layer: float32 conv1–3 from vgg19-keras, the rest uint8.
      const def = (await defaultVggWeights(undefined, { env: { PERCEPTUAL_DATA: path.dirname(DATA) }, home: path.join(home, 'none'), root }))!;
      assert.equal(def.path, shared.map((f) => f.path).join(path.delimiter));
      assert.equal(def.info.format, 'combined');
      const rows = describeVggLayers(def.info);
      assert.equal(rows.length, 16);
      for (const r of rows) {
        const float = /^conv[123]_/.test(r.layer);
        assert.equal(r.precision, float ? 'float32' : 'uint8', r.layer);
        assert.equal(path.basename(path.dirname(r.file!)), float ? 'vgg19-keras' : 'vgg19-full-uint8', r.layer);
      }
      // doctor's lines: runs of layers with the same file and precision
      assert.deepEqual(formatVggLayers(def.info).map((l) => l.replace(/\s+/g, ' ')), [
        `conv1_1 … conv3_4 float32 ${path.join(DATA, 'model.json')}`,
        `conv4_1 … conv5_4 uint8 ${path.join(path.dirname(DATA), 'vgg19-full-uint8', 'model.json')}`,
      ]);
      // Loading it reads only what relu4_3 needs, from the chosen copies.
      const w = await loadVggWeights(def.path, { upTo: 'relu4_3' });
      assert.deepEqual(w.layers, ['conv1_1', 'conv1_2', 'conv2_1', 'conv2_2', 'conv3_1', 'conv3_2', 'conv3_3', 'conv3_4', 'conv4_1', 'conv4_2', 'conv4_3']);
      const f32 = await loadVggWeights(DATA);
      assert.deepEqual(w.tensors.get('conv3_4.weight')!.data, f32.tensors.get('conv3_4.weight')!.data);
      assert.equal(w.precision!.conv4_3, 'uint8');
      // Converted to one safetensors file, the dequantised layers still say where they came from.
      const out = path.join(home, 'vgg19-combined.safetensors');
      await convertVggWeights(def.path, out);
      const back = await inspectVggWeights(out);
      assert.deepEqual(back.missingLayers, []);
      assert.equal(back.precision!.conv3_4, 'float32');
      assert.equal(back.precision!.conv5_4, 'uint8');
      const again = await defaultVggWeights(undefined, { env: { PERCEPTUAL_VGG: out, PERCEPTUAL_DATA: path.dirname(DATA) }, home: path.join(home, 'none'), root });
      // the file first, then the shared copies: float32 conv1–3 still win from the first file, conv4–5 stay uint8 (ties: earlier file)
      assert.equal(describeVggLayers(again!.info).find((r) => r.layer === 'conv4_1')!.file, out);
    }
  });
});

test('documented sources name both torchvision files and both Keras notop files', () => {
  const urls = VGG_WEIGHT_SOURCES.map((s) => s.url);
  assert.ok(urls.includes('https://download.pytorch.org/models/vgg16-397923af.pth'));
  assert.ok(urls.includes('https://download.pytorch.org/models/vgg19-dcbb9e9d.pth'));
  assert.ok(urls.some((u) => u.endsWith('/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5')));
  assert.ok(urls.some((u) => u.endsWith('/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5')));
  for (const s of VGG_WEIGHT_SOURCES) assert.equal(s.preprocessing, s.format === 'torchvision' ? 'torchvision' : 'caffe');
});
