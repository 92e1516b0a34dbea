import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspectTfjsVgg, loadTfjsVgg } from './tfjs.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
// The real (partial) VGG-19 weights; never copied into the repo, see its README.md.
const DATA = process.env.PERCEPTUAL_DATA
  ? path.resolve(process.env.PERCEPTUAL_DATA, 'vgg19-keras')
  : path.resolve(repoRoot, '../shared/data/vgg19-keras');
const dataSkip = await fs.stat(path.join(DATA, 'model.json')).then(
  () => false,
  () => `VGG-19 TF.js weights not found at ${DATA} (set PERCEPTUAL_DATA)`,
);

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= 1e-7 * Math.max(1, Math.abs(expected)), `${what}: ${actual} ≠ ${expected}`);

test('real vgg19-keras shards: groups 1–8 load, conv4_1 … conv5_4 reported missing, README values match', { skip: dataSkip }, async () => {
  const w = await loadTfjsVgg(DATA);
  assert.equal(w.arch, 'vgg19');
  assert.equal(w.preprocessing, 'caffe');
  assert.equal(w.format, 'tfjs');
  assert.deepEqual(w.layers, ['conv1_1', 'conv1_2', 'conv2_1', 'conv2_2', 'conv3_1', 'conv3_2', 'conv3_3', 'conv3_4']);
  assert.deepEqual(w.missingLayers, ['conv4_1', 'conv4_2', 'conv4_3', 'conv4_4', 'conv5_1', 'conv5_2', 'conv5_3', 'conv5_4']);
  assert.equal(w.notes.length, 8);
  assert.match(w.notes[0]!, /weight group 9 \(conv4_1\): 0 of 2 shard files present/);
  assert.equal(w.tensors.size, 16);
  assert.deepEqual(w.tensors.get('conv1_1.weight')!.shape, [64, 3, 3, 3]);
  assert.deepEqual(w.tensors.get('conv3_4.weight')!.shape, [256, 256, 3, 3]);
  assert.deepEqual(w.tensors.get('conv3_4.bias')!.shape, [256]);

  // Authenticity values from the data README.
  const bias = w.tensors.get('conv1_1.bias')!.data as Float32Array;
  [0.7301776, 0.06493629, 0.03428847, 0.8260386].forEach((v, i) => close(bias[i]!, v, `conv1_1 bias[${i}]`));
  // Keras kernel[0, 0, :, 0] (HWIO) is OIHW weight[0, :, 0, 0]: input channels B, G, R.
  const k = w.tensors.get('conv1_1.weight')!.data as Float32Array;
  [0.34119523, 0.46418372, 0.39416704].forEach((v, i) => close(k[i * 9]!, v, `conv1_1 kernel[0,0,${i},0]`));

  const info = await inspectTfjsVgg(path.join(DATA, 'model.json'));
  assert.deepEqual(info.layers, w.layers);
  assert.deepEqual(info.missingLayers, w.missingLayers);
});

test('agrees with TensorFlow.js (tf.io.decodeWeights + tf.transpose) on the real shards', { skip: dataSkip }, async () => {
  const tf = await import('@tensorflow/tfjs');
  const manifest = JSON.parse(await fs.readFile(path.join(DATA, 'model.json'), 'utf8'));
  const ours = await loadTfjsVgg(DATA);
  for (const gi of [0, 1, 4]) {
    const group = manifest.weightsManifest[gi];
    const buf = await fs.readFile(path.join(DATA, group.paths[0]));
    const decoded = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), group.weights);
    const [kernelName, biasName] = group.weights.map((x: { name: string }) => x.name);
    const layer = kernelName.replace(/^block(\d)_conv(\d)\/kernel$/, 'conv$1_$2');
    const oihw = await tf.transpose(decoded[kernelName]!, [3, 2, 0, 1]).data();
    assert.deepEqual(Array.from(ours.tensors.get(`${layer}.weight`)!.data as Float32Array), Array.from(oihw), layer);
    assert.deepEqual(Array.from(ours.tensors.get(`${layer}.bias`)!.data as Float32Array), Array.from(await decoded[biasName]!.data()), layer);
  }
});

// ---- synthetic models -------------------------------------------------------------------

interface W { name: string; shape: number[]; dtype: string; quantization?: object }

/** Write model.json + shards; `groups` give each group's weights, values and how many shards to write. */
async function writeModel(dir: string, groups: Array<{ weights: W[]; values: Uint8Array; shards?: number; keep?: number }>, extra: object = {}) {
  await fs.mkdir(dir, { recursive: true });
  const manifest = [];
  for (const [gi, g] of groups.entries()) {
    const n = g.shards ?? 1;
    const size = Math.ceil(g.values.length / n);
    const paths = [];
    for (let s = 0; s < n; s++) {
      const p = `group${gi + 1}-shard${s + 1}of${n}`;
      paths.push(p);
      if (s < (g.keep ?? n)) await fs.writeFile(path.join(dir, p), g.values.subarray(s * size, (s + 1) * size));
    }
    manifest.push({ paths, weights: g.weights });
  }
  await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: manifest, ...extra }));
}

function f32(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(seed + i * 0.37) * 0.5));
}
const bytesOf = (...arrays: Float32Array[]) => new Uint8Array(Buffer.concat(arrays.map((a) => Buffer.from(a.buffer))));
const conv = (layer: string, cin: number, cout: number): W[] => [
  { name: `${layer}/kernel`, shape: [3, 3, cin, cout], dtype: 'float32' },
  { name: `${layer}/bias`, shape: [cout], dtype: 'float32' },
];

test('synthetic model: multi-shard groups, partial groups, HWIO → OIHW, arch from the folder name', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-tfjs-'));
  try {
    const dir = path.join(root, 'vgg16-tiny');
    const k1 = f32(3 * 3 * 3 * 64, 1);
    const b1 = f32(64, 2);
    await writeModel(dir, [
      { weights: conv('block1_conv1', 3, 64), values: bytesOf(k1, b1), shards: 3 },
      { weights: conv('block1_conv2', 64, 64), values: bytesOf(f32(3 * 3 * 64 * 64, 3), f32(64, 4)), shards: 2, keep: 1 },
      { weights: [{ name: 'fc1/kernel', shape: [4, 4], dtype: 'float32' }], values: new Uint8Array(64), keep: 0 },
    ]);
    const w = await loadTfjsVgg(dir);
    assert.equal(w.arch, 'vgg16');
    assert.deepEqual(w.layers, ['conv1_1']);
    assert.equal(w.missingLayers[0], 'conv1_2');
    assert.deepEqual(w.notes, ['weight group 2 (conv1_2): 1 of 2 shard files present, not loaded']);
    const oihw = w.tensors.get('conv1_1.weight')!.data as Float32Array;
    for (let o = 0; o < 64; o++) for (let i = 0; i < 3; i++) for (let h = 0; h < 3; h++) for (let x = 0; x < 3; x++) {
      assert.equal(oihw[((o * 3 + i) * 3 + h) * 3 + x], k1[((h * 3 + x) * 3 + i) * 64 + o]);
    }
    assert.deepEqual(Array.from(w.tensors.get('conv1_1.bias')!.data as Float32Array), Array.from(b1));
    // The option outranks a file-name hint (only the file's own content outranks the option).
    assert.equal((await loadTfjsVgg(dir, { arch: 'vgg19' })).arch, 'vgg19');
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});

test('synthetic model: uint8-quantised weights decode as min + scale × q', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-tfjs-'));
  try {
    const n = 3 * 3 * 3 * 64;
    const q = Uint8Array.from({ length: n + 64 }, (_, i) => i % 256);
    await writeModel(root, [{
      weights: [
        { name: 'block1_conv1/kernel', shape: [3, 3, 3, 64], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
        { name: 'block1_conv1/bias', shape: [64], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.25, min: 0 } },
      ],
      values: q,
    }]);
    const w = await loadTfjsVgg(root, { arch: 'vgg19' });
    const bias = w.tensors.get('conv1_1.bias')!.data as Float32Array;
    assert.deepEqual(Array.from(bias.subarray(0, 3)), [0.25 * (n % 256), 0.25 * ((n + 1) % 256), 0.25 * ((n + 2) % 256)]);
    assert.equal((w.tensors.get('conv1_1.weight')!.data as Float32Array)[0], -1); // kernel[0,0,0,0] = min + 0.5 × 0
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});

test('synthetic model errors: wrong sizes, shape mismatch, escaping paths, not a model.json', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-tfjs-'));
  try {
    const short = path.join(root, 'short');
    await writeModel(short, [{ weights: conv('block1_conv1', 3, 64), values: bytesOf(f32(100, 1)) }]);
    await assert.rejects(loadTfjsVgg(short, { arch: 'vgg16' }), /short\/model\.json: weight group 1 \(group1-shard1of1\): shards hold 400 bytes but the manifest describes 7168/);

    const shape = path.join(root, 'shape');
    await writeModel(shape, [{ weights: conv('block1_conv2', 3, 64), values: bytesOf(f32(3 * 3 * 3 * 64 + 64, 1)) }]);
    await assert.rejects(loadTfjsVgg(shape, { arch: 'vgg16' }), /shape\/model\.json: layer conv1_2: kernel block1_conv2\/kernel has shape \[3, 3, 3, 64\], expected \[3, 3, 64, 64\]/);

    const escape = path.join(root, 'escape');
    await writeModel(escape, [{ weights: conv('block1_conv1', 3, 64), values: new Uint8Array(0) }]);
    const m = JSON.parse(await fs.readFile(path.join(escape, 'model.json'), 'utf8'));
    m.weightsManifest[0].paths = ['../../etc/passwd'];
    await fs.writeFile(path.join(escape, 'model.json'), JSON.stringify(m));
    await assert.rejects(loadTfjsVgg(escape, { arch: 'vgg16' }), /points outside the model folder/);

    const other = path.join(root, 'other.json');
    await fs.writeFile(other, JSON.stringify({ modelTopology: {} }));
    await assert.rejects(loadTfjsVgg(other), /other\.json: no "weightsManifest" array/);

    const noVgg = path.join(root, 'novgg');
    await writeModel(noVgg, [{ weights: [{ name: 'dense/kernel', shape: [2], dtype: 'float32' }], values: new Uint8Array(8) }]);
    await assert.rejects(loadTfjsVgg(noVgg), /no Keras VGG convolution weights .*unknown layout/);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});
