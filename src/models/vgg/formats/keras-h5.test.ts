import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspectKerasH5Vgg, loadKerasH5Vgg } from './keras-h5.js';
import { pythonMissing, runPython } from '../../../../test/python-fixtures.js';

// Tiny files in the layouts Keras writes, produced with h5py (the library Keras itself uses).
const FIXTURES = String.raw`
import os, sys, h5py, numpy as np
out = sys.argv[1]
P = lambda name: os.path.join(out, name)
rng = np.random.default_rng(0)
VGG16 = ['block1_conv1', 'block1_conv2', 'block1_pool', 'block2_conv1', 'block2_conv2', 'block2_pool',
         'block3_conv1', 'block3_conv2', 'block3_conv3', 'block3_pool', 'block4_conv1', 'block4_conv2', 'block4_conv3',
         'block4_pool', 'block5_conv1', 'block5_conv2', 'block5_conv3', 'block5_pool']
VGG19 = [n for b in range(1, 6) for n in ([f'block{b}_conv{c}' for c in range(1, 3 if b < 3 else 5)] + [f'block{b}_pool'])]
CH = {'block1_conv1': (3, 64), 'block1_conv2': (64, 64), 'block2_conv1': (64, 128)}

def layer(root, name, style, kshape=None, weight_names=True):
    cin, cout = CH[name]
    k = rng.standard_normal(kshape or (3, 3, cin, cout)).astype('<f4')
    b = rng.standard_normal(cout).astype('<f4')
    g = root.create_group(name)
    names = [f'{name}/kernel:0', f'{name}/bias:0'] if style == 2 else [f'{name}_W_1:0', f'{name}_b_1:0']
    if weight_names:
        g.attrs['weight_names'] = [n.encode() for n in names]
    g.create_dataset(names[0], data=k)
    g.create_dataset(names[1], data=b)
    return k, b

def listing(root, names):
    root.attrs['layer_names'] = [n.encode() for n in ['input_1'] + names]
    root.create_group('input_1').attrs['weight_names'] = np.array([], dtype='S1')

with h5py.File(P('vgg16_keras2.h5'), 'w') as f:
    f.attrs['keras_version'] = b'2.2.4'
    f.attrs['backend'] = b'tensorflow'
    listing(f, VGG16)
    for n in ['block1_conv1', 'block1_conv2', 'block2_conv1']:
        k, b = layer(f, n, 2)
        np.ascontiguousarray(k.transpose(3, 2, 0, 1)).tofile(P(n + '.oihw.f32'))
        b.tofile(P(n + '.bias.f32'))

with h5py.File(P('keras1.h5'), 'w') as f:
    listing(f, VGG19)
    k, b = layer(f, 'block1_conv1', 1)
    np.ascontiguousarray(k.transpose(3, 2, 0, 1)).tofile(P('k1.oihw.f32'))

with h5py.File(P('full_model.h5'), 'w') as f:
    f.attrs['keras_version'] = b'2.3.1'
    f.attrs['model_config'] = b'{}'
    mw = f.create_group('model_weights')
    listing(mw, VGG19)
    layer(mw, 'block1_conv1', 2, weight_names=False)

with h5py.File(P('vgg16_theano.h5'), 'w') as f:
    listing(f, VGG16)
    layer(f, 'block1_conv1', 1, kshape=(64, 3, 3, 3))

with h5py.File(P('vgg16_badshape.h5'), 'w') as f:
    listing(f, VGG16)
    layer(f, 'block1_conv2', 2, kshape=(3, 3, 3, 64))

with h5py.File(P('other.h5'), 'w') as f:
    f.attrs['layer_names'] = [b'dense_1']
    f.create_group('dense_1')
print('ok')
`;

const skip = pythonMissing(['numpy', 'h5py']);
let dir = '';
const fx = (name: string) => path.join(dir, name);
const floats = async (name: string) => Array.from(new Float32Array(new Uint8Array(await fs.readFile(fx(name))).buffer));

before(async () => {
  if (skip) return;
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-h5-'));
  runPython(FIXTURES, [dir]);
});
after(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

test('Keras 2 layout (kernel:0 / bias:0): exact values, HWIO → OIHW, arch from layer_names', { skip }, async () => {
  const w = await loadKerasH5Vgg(fx('vgg16_keras2.h5'));
  assert.equal(w.arch, 'vgg16');
  assert.equal(w.preprocessing, 'caffe');
  assert.equal(w.format, 'keras-h5');
  assert.match(w.source, /keras\.applications vgg16 \(Keras 2\.2\.4\)/);
  assert.deepEqual(w.layers, ['conv1_1', 'conv1_2', 'conv2_1']);
  assert.equal(w.missingLayers.length, 10);
  assert.match(w.notes.join('\n'), /conv2_2: listed but group block2_conv2 is absent/);
  for (const [layer, keras] of [['conv1_1', 'block1_conv1'], ['conv1_2', 'block1_conv2'], ['conv2_1', 'block2_conv1']] as const) {
    assert.deepEqual(Array.from(w.tensors.get(`${layer}.weight`)!.data as Float32Array), await floats(`${keras}.oihw.f32`), layer);
    assert.deepEqual(Array.from(w.tensors.get(`${layer}.bias`)!.data as Float32Array), await floats(`${keras}.bias.f32`), layer);
  }
  assert.deepEqual(w.tensors.get('conv2_1.weight')!.shape, [128, 64, 3, 3]);
  const info = await inspectKerasH5Vgg(fx('vgg16_keras2.h5'));
  assert.deepEqual(info.layers, w.layers);
});

test('Keras 1 names (block1_conv1_W_1:0), whole-model files (model_weights/) without weight_names', { skip }, async () => {
  const k1 = await loadKerasH5Vgg(fx('keras1.h5'));
  assert.equal(k1.arch, 'vgg19', 'layer_names lists block3_conv4');
  assert.deepEqual(k1.layers, ['conv1_1']);
  assert.deepEqual(Array.from(k1.tensors.get('conv1_1.weight')!.data as Float32Array), await floats('k1.oihw.f32'));
  const full = await loadKerasH5Vgg(fx('full_model.h5'));
  assert.deepEqual(full.layers, ['conv1_1']);
  assert.equal(full.arch, 'vgg19');
});

test('clear errors: Theano kernels, shape mismatch, unknown layout, not HDF5', { skip }, async () => {
  await assert.rejects(loadKerasH5Vgg(fx('vgg16_theano.h5')), /vgg16_theano\.h5: layer conv1_1: kernel block1_conv1_W_1:0 is in Theano order \[64, 3, 3, 3\]/);
  await assert.rejects(loadKerasH5Vgg(fx('vgg16_badshape.h5')), /vgg16_badshape\.h5: layer conv1_2: kernel block1_conv2\/block1_conv2\/kernel:0 has shape \[3, 3, 3, 64\], expected \[3, 3, 64, 64\]/);
  await assert.rejects(loadKerasH5Vgg(fx('other.h5')), /other\.h5: no Keras VGG layers .*unknown layout \(found dense_1\)/);
  await assert.rejects(loadKerasH5Vgg(fx('k1.oihw.f32')), /k1\.oihw\.f32: not an HDF5 file/);
});
