import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  bfloat16BitsToNumber,
  decodeSafetensors,
  encodeSafetensors,
  float16BitsToNumber,
  numberToBfloat16Bits,
  numberToFloat16Bits,
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
  type NamedTensors,
} from './safetensors.js';
import { pythonMissing, runPython } from '../../test/python-fixtures.js';

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-st-'));
}

function sample(): NamedTensors {
  return new Map([
    ['w', { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2.5, 3.25, 0, -0, 1e-30]) }],
    ['d', { dtype: 'F64', shape: [2], data: Float64Array.from([Math.PI, -1e300]) }],
    ['h', { dtype: 'F16', shape: [4], data: Float32Array.from([1, -0.333251953125, 65504, 5.960464477539063e-8]) }],
    ['b', { dtype: 'BF16', shape: [3], data: Float32Array.from([1, -3.140625, 2 ** 120]) }],
    ['l', { dtype: 'I64', shape: [2], data: BigInt64Array.from([-(2n ** 62n), 7n]) }],
    ['i', { dtype: 'I32', shape: [1, 1], data: Int32Array.from([-123456]) }],
    ['u', { dtype: 'U8', shape: [3], data: Uint8Array.from([0, 128, 255]) }],
    ['scalar', { dtype: 'F32', shape: [], data: Float32Array.from([42]) }],
    ['empty', { dtype: 'F32', shape: [0, 5], data: new Float32Array(0) }],
  ]);
}

/** Build a file from a header object and raw data exactly as the spec describes (space padding to 8). */
function handBuilt(header: unknown, data: Uint8Array): Uint8Array {
  let json = JSON.stringify(header);
  while (json.length % 8) json += ' ';
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  out.set(data, 8 + json.length);
  return out;
}

test('round trip of every supported dtype is value- and byte-exact', () => {
  const tensors = sample();
  const bytes = encodeSafetensors(tensors, { arch: 'vgg19', note: 'ünïcødé' });
  const { tensors: back, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(metadata, { arch: 'vgg19', note: 'ünïcødé' });
  assert.deepEqual([...back.keys()].sort(), [...tensors.keys()].sort());
  for (const [name, t] of tensors) {
    const b = back.get(name)!;
    assert.equal(b.dtype, t.dtype, name);
    assert.deepEqual(b.shape, t.shape, name);
    assert.deepEqual(Array.from(b.data as ArrayLike<number | bigint>), Array.from(t.data as ArrayLike<number | bigint>), name);
  }
  assert.ok(Object.is(back.get('w')!.data[4], -0), 'negative zero survives');
  // decode → encode reproduces the file (F16/BF16 widened and narrowed again losslessly)
  assert.deepEqual(encodeSafetensors(back, metadata), bytes);
});

test('header is space-padded to 8 bytes and tensors are laid out by decreasing element size', () => {
  const bytes = encodeSafetensors(sample());
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const json = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.match(json, /^\{.*\} *$/);
  const header = JSON.parse(json) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const sizes: Record<string, number> = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, U8: 1 };
  for (const e of Object.values(header)) assert.equal(e.data_offsets[0] % sizes[e.dtype]!, 0, 'aligned to element size');
});

test('matches a file hand-built from the spec, both ways', () => {
  const data = new Uint8Array(8 + 2 + 8);
  const dv = new DataView(data.buffer);
  dv.setFloat32(0, 1.5, true);
  dv.setFloat32(4, -2, true);
  dv.setUint16(8, 0x3c00, true); // 1.0 in binary16
  dv.setBigInt64(10, -5n, true);
  const header = {
    __metadata__: { format: 'pt' },
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    h: { dtype: 'F16', shape: [1], data_offsets: [8, 10] },
    z: { dtype: 'I64', shape: [1, 1], data_offsets: [10, 18] },
  };
  const file = handBuilt(header, data);
  const { tensors, metadata } = decodeSafetensors(file);
  assert.deepEqual(metadata, { format: 'pt' });
  assert.deepEqual(Array.from(tensors.get('a')!.data as Float32Array), [1.5, -2]);
  assert.deepEqual(Array.from(tensors.get('h')!.data as Float32Array), [1]);
  assert.deepEqual(Array.from(tensors.get('z')!.data as BigInt64Array), [-5n]);
  assert.deepEqual(tensors.get('z')!.shape, [1, 1]);

  // The writer produces exactly the spec's bytes for an already-aligned layout.
  const ours = encodeSafetensors(
    new Map([
      ['a', { dtype: 'F32', shape: [2], data: Float32Array.from([1.5, -2]) }],
      ['z', { dtype: 'I64', shape: [1, 1], data: BigInt64Array.from([-5n]) }],
    ]),
    { format: 'pt' },
  );
  const zdata = new Uint8Array(16);
  new DataView(zdata.buffer).setBigInt64(0, -5n, true);
  zdata.set(data.subarray(0, 8), 8);
  const expected = handBuilt(
    { __metadata__: { format: 'pt' }, z: { dtype: 'I64', shape: [1, 1], data_offsets: [0, 8] }, a: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } },
    zdata,
  );
  assert.deepEqual(ours, expected);
});

test('binary16 and bfloat16 conversions: exhaustive round trip and round-to-nearest-even', () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = float16BitsToNumber(h);
    if (Number.isNaN(v)) assert.ok(Number.isNaN(float16BitsToNumber(numberToFloat16Bits(v))));
    else assert.equal(numberToFloat16Bits(v), h, `half 0x${h.toString(16)}`);
    const b = bfloat16BitsToNumber(h);
    if (Number.isNaN(b)) assert.ok(Number.isNaN(bfloat16BitsToNumber(numberToBfloat16Bits(b))));
    else assert.equal(numberToBfloat16Bits(b), h, `bf16 0x${h.toString(16)}`);
  }
  assert.equal(numberToFloat16Bits(1 + 2 ** -11), 0x3c00); // tie → even (down)
  assert.equal(numberToFloat16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  assert.equal(numberToFloat16Bits(65520), 0x7c00); // rounds up to Inf
  assert.equal(numberToFloat16Bits(2 ** -25), 0x0000); // tie between 0 and the smallest subnormal → 0
  assert.equal(numberToFloat16Bits(2 ** -25 * 1.5), 0x0001);
  assert.equal(numberToFloat16Bits(2 ** -14 - 2 ** -25), 0x0400); // subnormal rounding carries into the normal range
  assert.equal(numberToBfloat16Bits(1 + 2 ** -8), 0x3f80);
  assert.equal(numberToBfloat16Bits(1 + 3 * 2 ** -8), 0x3f82);
});

test('invalid files are refused with errors naming the file and the tensor', () => {
  const f = 'bad.safetensors';
  const ok = (dtype: string, shape: number[], offsets: [number, number]) => ({ dtype, shape, data_offsets: offsets });
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['too short', new Uint8Array(5), /bad\.safetensors: only 5 bytes/],
    ['length past end', (() => { const b = new Uint8Array(16); b[0] = 200; return b; })(), /header length 200 runs past the end/],
    ['huge length', (() => { const b = new Uint8Array(16); b[7] = 1; return b; })(), /exceeds the 100000000-byte limit/],
    ['not JSON', handBuilt('x', new Uint8Array(0)), /does not start with "\{"/],
    ['broken JSON', (() => { const b = handBuilt({ a: 1 }, new Uint8Array(0)); b[12] = 0x7b; return b; })(), /not valid JSON/],
    ['offsets past end', handBuilt({ t: ok('F32', [2], [0, 8]) }, new Uint8Array(4)), /tensor "t": data_offsets \[0, 8\] run past the end/],
    ['shape × dtype', handBuilt({ t: ok('F32', [3], [0, 8]) }, new Uint8Array(8)), /tensor "t": shape \[3\] × F32 \(4 bytes\) needs 12 bytes but data_offsets span 8/],
    ['overlap', handBuilt({ a: ok('F32', [2], [0, 8]), b: ok('F32', [1], [4, 8]) }, new Uint8Array(8)), /overlaps tensor/],
    ['hole', handBuilt({ a: ok('F32', [1], [0, 4]), b: ok('F32', [1], [8, 12]) }, new Uint8Array(12)), /tensor "b": 4 unaccounted bytes/],
    ['trailing garbage', handBuilt({ a: ok('F32', [1], [0, 4]) }, new Uint8Array(12)), /data block is 12 bytes but the tensors cover 4/],
    ['unsupported dtype', handBuilt({ q: ok('F8_E4M3', [1], [0, 1]) }, new Uint8Array(1)), /tensor "q": unsupported dtype F8_E4M3/],
    ['negative shape', handBuilt({ q: ok('F32', [-1], [0, 4]) }, new Uint8Array(4)), /tensor "q": "shape" must be/],
    ['reversed offsets', handBuilt({ q: ok('F32', [0], [4, 0]) }, new Uint8Array(4)), /tensor "q": "data_offsets" must be/],
    ['metadata value', handBuilt({ __metadata__: { a: 1 } }, new Uint8Array(0)), /__metadata__\["a"\] is not a string/],
  ];
  for (const [label, bytes, re] of cases) {
    assert.throws(() => decodeSafetensors(bytes, f), (e: Error) => {
      assert.match(e.message, /^bad\.safetensors: /, label);
      assert.match(e.message, re, label);
      return true;
    }, label);
  }
});

test('the encoder refuses inconsistent tensors', () => {
  assert.throws(() => encodeSafetensors(new Map([['x', { dtype: 'F32', shape: [3], data: new Float32Array(2) }]])), /tensor "x": shape \[3\] has 3 elements but data has 2/);
  assert.throws(() => encodeSafetensors(new Map([['x', { dtype: 'I64', shape: [1], data: new Float32Array(1) }]])), /tensor "x": dtype I64 cannot be written from a Float32Array/);
  assert.throws(() => encodeSafetensors(new Map([['x', { dtype: 'F8', shape: [1], data: new Uint8Array(1) }]])), /cannot write dtype F8/);
});

test('writeSafetensors is atomic: replaces, leaves no temp file, and never leaves a partial file', async () => {
  const dir = await tempDir();
  try {
    const file = path.join(dir, 'w.safetensors');
    await writeSafetensors(file, sample(), { v: '1' });
    await writeSafetensors(file, new Map([['only', { dtype: 'F32', shape: [1], data: Float32Array.from([7]) }]]), { v: '2' });
    const back = await readSafetensors(file);
    assert.deepEqual([...back.tensors.keys()], ['only']);
    assert.deepEqual(back.metadata, { v: '2' });
    const header = await readSafetensorsHeader(file);
    assert.deepEqual(header.entries.get('only'), { dtype: 'F32', shape: [1], dataOffsets: [0, 4] });

    // A rename that fails (the target is a non-empty directory) must clean up and report the file.
    const blocked = path.join(dir, 'blocked.safetensors');
    await fs.mkdir(blocked);
    await fs.writeFile(path.join(blocked, 'keep'), 'x');
    await assert.rejects(writeSafetensors(blocked, sample()), /blocked\.safetensors: write failed/);
    assert.deepEqual((await fs.readdir(dir)).sort(), ['blocked.safetensors', 'w.safetensors']);

    // Truncated files are caught from the header alone.
    const truncated = path.join(dir, 't.safetensors');
    const full = await fs.readFile(file);
    await fs.writeFile(truncated, full.subarray(0, full.length - 1));
    await assert.rejects(readSafetensorsHeader(truncated), /t\.safetensors: tensor "only": data_offsets \[0, 4\] run past the end/);
    await assert.rejects(readSafetensors(truncated), /t\.safetensors: tensor "only"/);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

// A reader/writer in ~15 lines of plain Python (json + struct + numpy), independent of our code,
// and torch for bfloat16 since numpy has no such dtype.
const PY_COMMON = `
import json, struct, sys, numpy as np
NP = {'F32': '<f4', 'F64': '<f8', 'F16': '<f2', 'I64': '<i8', 'I32': '<i4', 'U8': 'u1', 'BF16': '<u2'}
def read(path):
    raw = open(path, 'rb').read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop('__metadata__', {})
    out = {}
    for name, e in header.items():
        b, end = e['data_offsets']
        a = np.frombuffer(raw[8 + n + b: 8 + n + end], dtype=NP[e['dtype']]).reshape(e['shape'])
        if e['dtype'] == 'BF16':
            a = (a.astype('<u4') << 16).view('<f4')
        out[name] = (e['dtype'], a)
    return meta, out
`;

test('files written here are read correctly by an independent Python reader (numpy, torch)', { skip: pythonMissing(['numpy', 'torch']) }, async () => {
  const dir = await tempDir();
  try {
    const file = path.join(dir, 'ts.safetensors');
    // Values chosen to exercise binary16/bfloat16 rounding (ties, subnormals, overflow).
    const tricky = Float32Array.from([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65519, 65520, 2 ** -25, 3 * 2 ** -26, 0.1, -1e-8, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.3333333]);
    const tensors: NamedTensors = new Map([
      ['f32', { dtype: 'F32', shape: [tricky.length], data: tricky }],
      ['f16', { dtype: 'F16', shape: [tricky.length], data: tricky }],
      ['bf16', { dtype: 'BF16', shape: [tricky.length], data: tricky }],
      ['f64', { dtype: 'F64', shape: [1, 2], data: Float64Array.from([Math.E, -0.1]) }],
      ['i64', { dtype: 'I64', shape: [2], data: BigInt64Array.from([-(2n ** 40n), 3n]) }],
      ['u8', { dtype: 'U8', shape: [2], data: Uint8Array.from([1, 254]) }],
    ]);
    await writeSafetensors(file, tensors, { arch: 'vgg16' });
    const out = runPython(`${PY_COMMON}
import torch
meta, t = read(sys.argv[1])
src = t['f32'][1]
res = {'meta': meta, 'shapes': {k: list(v[1].shape) for k, v in t.items()},
       'f16_equals_numpy': bool((t['f16'][1] == src.astype(np.float16)).all()),
       'bf16_equals_torch': bool((torch.from_numpy(t['bf16'][1].copy()) == torch.from_numpy(src.copy()).to(torch.bfloat16).float()).all()),
       'f64': t['f64'][1].tolist(), 'i64': t['i64'][1].tolist(), 'u8': t['u8'][1].tolist(), 'f32': t['f32'][1].tolist()}
print(json.dumps(res))
`, [file]);
    const res = JSON.parse(out);
    assert.deepEqual(res.meta, { arch: 'vgg16' });
    assert.deepEqual(res.shapes, { f32: [11], f16: [11], bf16: [11], f64: [1, 2], i64: [2], u8: [2] });
    assert.equal(res.f16_equals_numpy, true, 'binary16 rounding agrees with numpy');
    assert.equal(res.bf16_equals_torch, true, 'bfloat16 rounding agrees with torch');
    assert.deepEqual(res.f64, [[Math.E, -0.1]]);
    assert.deepEqual(res.i64, [-(2 ** 40), 3]);
    assert.deepEqual(res.u8, [1, 254]);
    assert.deepEqual(res.f32, Array.from(tricky));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('files written by an independent Python writer (numpy, torch) are read correctly', { skip: pythonMissing(['numpy', 'torch']) }, async () => {
  const dir = await tempDir();
  try {
    const file = path.join(dir, 'py.safetensors');
    const out = runPython(`
import json, struct, sys, numpy as np, torch
torch.manual_seed(0)
w = torch.randn(4, 3, 3, 3)
arrays = {  # name -> (dtype, bytes, shape)
  'conv.weight': ('F32', w.numpy().astype('<f4').tobytes(), list(w.shape)),
  'half': ('F16', w[0].numpy().astype('<f2').tobytes(), [3, 3, 3]),
  'bf': ('BF16', w[1].to(torch.bfloat16).view(torch.int16).numpy().astype('<i2').tobytes(), [3, 3, 3]),
  'steps': ('I64', np.array([1, -2, 2**50], dtype='<i8').tobytes(), [3]),
}
header, blob = {'__metadata__': {'source': 'python'}}, b''
for name, (dt, b, shape) in arrays.items():
    header[name] = {'dtype': dt, 'shape': shape, 'data_offsets': [len(blob), len(blob) + len(b)]}
    blob += b
h = json.dumps(header).encode()
h += b' ' * (-len(h) % 8)
open(sys.argv[1], 'wb').write(struct.pack('<Q', len(h)) + h + blob)
print(json.dumps({'w': w.flatten().tolist(), 'half': w[0].half().float().flatten().tolist(),
                  'bf': w[1].to(torch.bfloat16).float().flatten().tolist()}))
`, [file]);
    const expected = JSON.parse(out) as { w: number[]; half: number[]; bf: number[] };
    const { tensors, metadata } = await readSafetensors(file);
    assert.deepEqual(metadata, { source: 'python' });
    assert.deepEqual(tensors.get('conv.weight')!.shape, [4, 3, 3, 3]);
    assert.deepEqual(Array.from(tensors.get('conv.weight')!.data as Float32Array), expected.w);
    assert.deepEqual(Array.from(tensors.get('half')!.data as Float32Array), expected.half);
    assert.deepEqual(Array.from(tensors.get('bf')!.data as Float32Array), expected.bf);
    assert.deepEqual(Array.from(tensors.get('steps')!.data as BigInt64Array), [1n, -2n, 2n ** 50n]);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('agrees with the reference safetensors Python package', { skip: pythonMissing(['numpy', 'safetensors']) }, async () => {
  const dir = await tempDir();
  try {
    const ours = path.join(dir, 'ours.safetensors');
    const theirs = path.join(dir, 'theirs.safetensors');
    await writeSafetensors(ours, new Map([['a', { dtype: 'F32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) }]]), { k: 'v' });
    const out = runPython(`
import sys, json, numpy as np
from safetensors.numpy import load_file, save_file
a = load_file(sys.argv[1])['a']
save_file({'b': np.arange(6, dtype=np.float16).reshape(2, 3)}, sys.argv[2], metadata={'m': 'x'})
print(json.dumps(a.tolist()))
`, [ours, theirs]);
    assert.deepEqual(JSON.parse(out), [[1, 2], [3, 4]]);
    const back = await readSafetensors(theirs);
    assert.deepEqual(Array.from(back.tensors.get('b')!.data as Float32Array), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(back.metadata, { m: 'x' });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
