import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspectTfjsVgg, loadTfjsVgg } from './tfjs.js';
import { sharedDataDir } from '../../../util/paths.js';

// The real (partial) VGG-19 weights; never copied into the repo, see its README.md.
const DATA = path.join(sharedDataDir(), 'vgg19-keras');
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
  assert.equal(w.notes[0], 'conv4_1: shards group9-shard1of2, group9-shard2of2 absent, layer not available');
  assert.deepEqual(w.precision, Object.fromEntries(w.layers.map((l) => [l, 'float32'])));
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
    assert.deepEqual(w.notes, [
      'weight group 2: 1 of 2 shard files present; layers whose bytes lie in absent shards are not available',
      'conv1_2: shard group2-shard2of2 absent, layer not available',
    ]);
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

// ---- quantised weights, shard selection ---------------------------------------------------

const FULL_UINT8 = path.join(sharedDataDir(), 'vgg19-full-uint8');
const fullSkip = dataSkip || (await fs.stat(path.join(FULL_UINT8, 'model.json')).then(
  () => false,
  () => `uint8 VGG-19 weights not found at ${FULL_UINT8} (set PERCEPTUAL_DATA)`,
));

test('hand-made fixture: uint8, uint16 and float16 weights decode to hand-computed values, across a shard boundary', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-tfjs-'));
  try {
    // conv1_1: uint8 kernel (1728 values, 1 byte each), uint16 bias (64 × 2 bytes);
    // conv1_2: float16 kernel (36864 × 2 bytes), uint8 bias. Three shards of equal size.
    const n1 = 3 * 3 * 3 * 64, n2 = 3 * 3 * 64 * 64;
    const k1 = Uint8Array.from({ length: n1 }, (_, i) => (i * 7) % 256);
    const b1 = Uint16Array.from({ length: 64 }, (_, i) => i * 1000);
    // float16 bit patterns and their values, by hand: 1, -2, 0.5, 65504 (largest), 2^-24 (smallest subnormal), -0.
    const halfBits = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000];
    const halfValues = [1, -2, 0.5, 65504, 2 ** -24, -0];
    const k2 = Uint16Array.from({ length: n2 }, (_, i) => halfBits[i % halfBits.length]!);
    const b2 = Uint8Array.from({ length: 64 }, (_, i) => 255 - i);
    const bytes = new Uint8Array(Buffer.concat([Buffer.from(k1), Buffer.from(b1.buffer), Buffer.from(k2.buffer), Buffer.from(b2)]));
    await writeModel(root, [{
      weights: [
        { name: 'block1_conv1/kernel', shape: [3, 3, 3, 64], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -3 } },
        { name: 'block1_conv1/bias', shape: [64], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.001, min: 2 } },
        { name: 'block1_conv2/kernel', shape: [3, 3, 64, 64], dtype: 'float32', quantization: { dtype: 'float16' } },
        { name: 'block1_conv2/bias', shape: [64], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.25, min: -1 } },
      ],
      values: bytes,
      shards: 3,
    }]);
    const w = await loadTfjsVgg(root, { arch: 'vgg19' });
    assert.deepEqual(w.precision, { conv1_1: 'uint8', conv1_2: 'float16' });
    const w1 = w.tensors.get('conv1_1.weight')!.data as Float32Array;
    // OIHW [o, i, h, x] is HWIO [h, x, i, o]; HWIO index j holds q = 7j mod 256 → value q/2 − 3.
    for (const [o, i, h, x] of [[0, 0, 0, 0], [5, 2, 1, 2], [63, 1, 2, 0]] as const) {
      const j = ((h * 3 + x) * 3 + i) * 64 + o;
      close(w1[((o * 3 + i) * 3 + h) * 3 + x]!, ((7 * j) % 256) * 0.5 - 3, `conv1_1 [${o},${i},${h},${x}]`);
    }
    const bias1 = w.tensors.get('conv1_1.bias')!.data as Float32Array;
    close(bias1[0]!, 2, 'bias1[0]');          // 0 × 0.001 + 2
    close(bias1[3]!, 5, 'bias1[3]');          // 3000 × 0.001 + 2
    close(bias1[63]!, 65, 'bias1[63]');       // 63000 × 0.001 + 2
    const w2 = w.tensors.get('conv1_2.weight')!.data as Float32Array;
    for (const [o, i, h, x] of [[0, 0, 0, 0], [1, 0, 0, 0], [2, 0, 0, 0], [3, 0, 0, 0], [4, 0, 0, 0], [5, 0, 0, 0], [17, 33, 2, 1]] as const) {
      const j = ((h * 3 + x) * 64 + i) * 64 + o;
      assert.equal(w2[((o * 64 + i) * 3 + h) * 3 + x], halfValues[j % 6], `conv1_2 [${o},${i},${h},${x}]`);
    }
    const bias2 = w.tensors.get('conv1_2.bias')!.data as Float32Array;
    assert.deepEqual([bias2[0], bias2[1], bias2[63]], [255 * 0.25 - 1, 254 * 0.25 - 1, 192 * 0.25 - 1]);

    // The same bytes through TensorFlow.js's own decoder (an independent implementation).
    const tf = await import('@tensorflow/tfjs');
    const manifest = JSON.parse(await fs.readFile(path.join(root, 'model.json'), 'utf8'));
    const decoded = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), manifest.weightsManifest[0].weights);
    const ref = await tf.transpose(decoded['block1_conv2/kernel']!, [3, 2, 0, 1]).data();
    assert.deepEqual(Array.from(w2), Array.from(ref));
    assert.deepEqual(Array.from(bias1), Array.from(await decoded['block1_conv1/bias']!.data()).map(Math.fround));
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});

test('real uint8 VGG-19: conv1_1 … conv3_4 within scale/2 of the float32 copy; conv4_x/conv5_x load from shards 1–20', { skip: fullSkip }, async () => {
  const manifest = JSON.parse(await fs.readFile(path.join(FULL_UINT8, 'model.json'), 'utf8'));
  const scales = new Map<string, number>();
  for (const w of manifest.weightsManifest[0].weights) scales.set(w.name, w.quantization?.scale);
  const q = await loadTfjsVgg(FULL_UINT8, { upTo: 'relu3_4' });
  const f = await loadTfjsVgg(DATA);
  assert.deepEqual(q.layers, f.layers);
  for (const layer of f.layers) {
    const keras = layer.replace(/^conv(\d)_(\d)$/, 'block$1_conv$2');
    for (const [kind, name] of [['weight', 'kernel'], ['bias', 'bias']] as const) {
      const half = scales.get(`${keras}/${name}`)! / 2;
      const a = q.tensors.get(`${layer}.${kind}`)!.data as Float32Array;
      const b = f.tensors.get(`${layer}.${kind}`)!.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      // scale/2 from rounding to the nearest level, plus float32 rounding of min + scale × q.
      assert.ok(worst <= half * (1 + 1e-5) + 1e-7, `${layer}.${kind}: max |Δ| ${worst} > scale/2 = ${half}`);
    }
  }
  const full = await inspectTfjsVgg(FULL_UINT8);
  assert.equal(full.missingLayers.length, 0, full.missingLayers.join(','));
  assert.equal(full.precision!.conv5_4, 'uint8');
});

test('a missing shard: the requested layer that needs it fails naming the layer and the shard; earlier layers load without it', { skip: fullSkip }, async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-tfjs-'));
  try {
    // Shards of 1 MiB: conv1_1 … conv3_1 end at byte 555,328; conv3_2 spans 555,328 … 1,145,408
    // (kernel 589,824 + bias 256 bytes), across the end of shard 1 at 1,048,576.
    await fs.copyFile(path.join(FULL_UINT8, 'model.json'), path.join(root, 'model.json'));
    for (let s = 1; s <= 20; s++) {
      if (s !== 2) await fs.symlink(path.join(FULL_UINT8, `group1-shard${s}of138.bin`), path.join(root, `group1-shard${s}of138.bin`));
    }
    const ok = await loadTfjsVgg(root, { upTo: 'relu3_1' });
    assert.deepEqual(ok.layers, ['conv1_1', 'conv1_2', 'conv2_1', 'conv2_2', 'conv3_1']);
    await assert.rejects(loadTfjsVgg(root, { upTo: 'relu4_3' }), (e: Error) => {
      assert.match(e.message, /layer conv3_2: its weights lie in shard group1-shard2of138\.bin, which is missing/);
      return true;
    });
    const info = await inspectTfjsVgg(root);
    assert.ok(info.missingLayers.includes('conv3_2') && info.layers.includes('conv4_1'), info.missingLayers.join(','));
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});
