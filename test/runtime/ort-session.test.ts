// OrtModel: loading from a file or bytes, and errors that name the model and the input shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OnnxGraphBuilder } from '../../src/onnx/graph-builder.js';
import * as L from '../../src/onnx/layers.js';
import { OrtModel, OrtModelError } from '../../src/runtime/ort-session.js';

/** 2× nearest upsampling then ·0.5: a trivially checkable image network with dynamic N/H/W. */
function tinyModel(): Uint8Array {
  const g = new OnnxGraphBuilder('tiny');
  const x = g.input('input', ['N', 3, 'H', 'W']);
  g.output(L.mulConst(g, L.upsampleNearest(g, x, 2), 0.5), 'output', ['N', 3, 'H2', 'W2']);
  return g.toBytes();
}

test('loads from a file, runs dynamic shapes, reports the output dims', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'perceptual-ort-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'tiny.onnx');
  await writeFile(file, tinyModel());
  const model = await OrtModel.load(file, { threads: 1 });
  try {
    assert.equal(model.inputName, 'input');
    assert.equal(model.outputName, 'output');
    for (const [n, h, w] of [[1, 1, 2], [2, 3, 5]] as const) {
      const input = Float32Array.from({ length: n * 3 * h * w }, (_, i) => i);
      const out = await model.run(input, [n, 3, h, w]);
      assert.deepEqual(out.dims, [n, 3, 2 * h, 2 * w]);
      // The last output pixel (bottom-right copy) is the last input pixel, halved.
      assert.equal(out.data[out.data.length - 1], input[input.length - 1]! / 2);
      assert.equal(out.data[1], input[0]! / 2);
    }
    await assert.rejects(model.run(new Float32Array(10), [1, 3, 2, 2]), (e: Error) => {
      assert.ok(e instanceof OrtModelError);
      assert.match(e.message, /tiny\.onnx/);
      assert.match(e.message, /\[1, 3, 2, 2\] needs 12 values, got 10/);
      return true;
    });
    await assert.rejects(model.run(new Float32Array(8), [1, 2, 2, 2]), /tiny\.onnx: input shape \[1, 2, 2, 2\] is not \[N, 3, H, W\]/);
  } finally {
    await model.dispose();
  }
  await model.dispose(); // idempotent
  await assert.rejects(model.run(new Float32Array(3), [1, 3, 1, 1]), /tiny\.onnx was disposed/);
});

test('runtime failures name the model and the input shape', async () => {
  // A 3×3 valid conv cannot run on a 1×1 image: onnxruntime fails at run time, not at load.
  const g = new OnnxGraphBuilder('conv');
  const x = g.input('input', ['N', 3, 'H', 'W']);
  g.output(L.conv(g, x, { name: 'c', weight: new Float32Array(27), shape: [1, 3, 3, 3] }), 'output', ['N', 1, 'H2', 'W2']);
  const model = await OrtModel.load(g.toBytes(), { threads: 1 });
  try {
    await assert.rejects(model.run(new Float32Array(3), [1, 3, 1, 1]), /model <bytes> failed on input \[1, 3, 1, 1\]: /);
  } finally {
    await model.dispose();
  }
});

test('a bad model file or a missing CUDA provider gives a clear error', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'perceptual-ort-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bad = path.join(dir, 'bad.onnx');
  await writeFile(bad, 'not a model');
  await assert.rejects(OrtModel.load(bad), /cannot load ONNX model .*bad\.onnx/);
  await assert.rejects(OrtModel.load(path.join(dir, 'missing.onnx')), /missing\.onnx/);
  await assert.rejects(OrtModel.load(tinyModel(), { threads: 0 }), /threads must be a positive integer/);

  // Either CUDA is installed and works, or the error says what to do about it.
  try {
    const m = await OrtModel.load(tinyModel(), { executionProviders: ['cuda'] });
    await m.dispose();
    t.diagnostic('CUDA execution provider present: loaded with it');
  } catch (e) {
    assert.match((e as Error).message, /CUDA execution provider was requested but is not available|cannot load ONNX model/);
    assert.match((e as Error).message, /<bytes>/);
    t.diagnostic(`no CUDA: ${(e as Error).message.slice(0, 120)}…`);
  }
});
