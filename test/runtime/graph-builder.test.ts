// The builder's own bookkeeping, checked by decoding the bytes it writes (no onnxruntime here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import { Attr, ONNX_IR_VERSION, ONNX_OPSET, OnnxGraphBuilder } from '../../src/onnx/graph-builder.js';

const { onnx } = onnxProto;

/** The parts of a decoded ModelProto these tests read (protobufjs types every field as optional). */
interface Decoded {
  irVersion: unknown;
  opsetImport: { domain: string; version: unknown }[];
  graph: {
    input: { type: { tensorType: { shape: { dim: { dimParam?: string; dimValue?: unknown }[] } } } }[];
    node: { opType: string; output: string[]; attribute: { name: string; type: number; f: number; ints: unknown[]; s: Uint8Array }[] }[];
    initializer: { name: string; dataType: number; rawData: Uint8Array }[];
  };
}

function decode(bytes: Uint8Array): Decoded {
  return onnx.ModelProto.decode(bytes) as unknown as Decoded;
}

test('writes opset 17 / IR 8 with symbolic and fixed dims', () => {
  const g = new OnnxGraphBuilder('tiny');
  const x = g.input('input', ['N', 3, 'H', 'W']);
  const y = g.node('Relu', [x]);
  g.output(y, 'output', ['N', 3, 'H', 'W']);
  const m = decode(g.toBytes());
  assert.equal(Number(m.irVersion), ONNX_IR_VERSION);
  assert.equal(m.opsetImport.length, 1);
  assert.equal(m.opsetImport[0]!.domain, '');
  assert.equal(Number(m.opsetImport[0]!.version), ONNX_OPSET);
  const dims = m.graph.input[0]!.type.tensorType.shape.dim;
  assert.deepEqual(dims.map((d) => d.dimParam || Number(d.dimValue)), ['N', 3, 'H', 'W']);
  // The output was renamed in place: no Identity node, and the Relu writes "output".
  assert.equal(m.graph.node.length, 1);
  assert.deepEqual(m.graph.node[0]!.output, ['output']);
});

test('node() returns fresh unique names and checks its inputs exist', () => {
  const g = new OnnxGraphBuilder('names');
  const x = g.input('x', [1]);
  const a = g.node('Relu', [x]);
  const b = g.node('Relu', [x]);
  assert.notEqual(a, b);
  assert.throws(() => g.node('Relu', ['nope']), /input "nope" is not defined/);
  assert.throws(() => g.input('x', [1]), /already used/);
  assert.throws(() => g.initializer('w', new Float32Array(5), [2, 3]), /5 values for shape \[2, 3\]/);
});

test('attributes are typed: ints, int, float (by name or explicitly), floats, string', () => {
  const g = new OnnxGraphBuilder('attrs');
  const x = g.input('x', [1, 3, 4, 4]);
  const y = g.node('Foo', [x], {
    kernel_shape: [3, 3],
    group: 1,
    epsilon: 1, // integer value, but epsilon is a float attribute
    alpha: Attr.float(2),
    scales: Attr.floats([1, 2]),
    ratio: 0.5,
    mode: 'reflect',
    empty: Attr.ints([]),
  });
  g.output(y, 'y', [1, 3, 4, 4]);
  const attrs = Object.fromEntries(decode(g.toBytes()).graph.node[0]!.attribute.map((a) => [a.name, a]));
  const T = onnx.AttributeProto.AttributeType;
  assert.equal(attrs.kernel_shape!.type, T.INTS);
  assert.deepEqual(attrs.kernel_shape!.ints.map(Number), [3, 3]);
  assert.equal(attrs.group!.type, T.INT);
  assert.equal(attrs.epsilon!.type, T.FLOAT);
  assert.equal(attrs.epsilon!.f, 1);
  assert.equal(attrs.alpha!.type, T.FLOAT);
  assert.equal(attrs.scales!.type, T.FLOATS);
  assert.equal(attrs.ratio!.type, T.FLOAT);
  assert.equal(attrs.mode!.type, T.STRING);
  assert.equal(new TextDecoder().decode(attrs.mode!.s), 'reflect');
  assert.equal(attrs.empty!.type, T.INTS);
});

test('initializers are stored little-endian and round-trip', () => {
  const g = new OnnxGraphBuilder('init');
  const x = g.input('x', [2]);
  const w = g.initializer('w', Float32Array.from([1.5, -2.25]), [2]);
  const p = g.int64Initializer('p', [-2, 3]);
  g.output(g.node('Add', [x, w]), 'y', [2]);
  assert.deepEqual([...g.initializerData('w')!], [1.5, -2.25]);
  const inits = decode(g.toBytes()).graph.initializer;
  const wp = inits.find((t) => t.name === 'w')!;
  const pp = inits.find((t) => t.name === p)!;
  const wv = new DataView(wp.rawData.buffer, wp.rawData.byteOffset, wp.rawData.byteLength);
  assert.equal(wv.getFloat32(4, true), -2.25);
  const pv = new DataView(pp.rawData.buffer, pp.rawData.byteOffset, pp.rawData.byteLength);
  assert.equal(pv.getBigInt64(0, true), -2n);
  assert.equal(pp.dataType, onnx.TensorProto.DataType.INT64);
});

test('an input passed straight to the output goes through Identity', () => {
  const g = new OnnxGraphBuilder('id');
  const x = g.input('x', ['N']);
  g.output(x, 'y', ['N']);
  const m = decode(g.toBytes());
  assert.equal(m.graph.node[0]!.opType, 'Identity');
  assert.throws(() => new OnnxGraphBuilder('empty').toBytes(), /no input/);
});
