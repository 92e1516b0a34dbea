/**
 * Hostile model folders and checkpoints (issue 11, item 6): every bad file is refused with an
 * Error that names the file and the field, before any work. Non-finite weights are refused at
 * load (they would give an all-black image and exit 0), and the divergence message suggests
 * float32 only to a run that was not float32. None of this needs the libtorch engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSafetensors, type NamedTensors } from '../../src/nn/safetensors.js';
import { readModelFolder, loadNetwork, MODEL_FILES } from '../../src/models/model-folder.js';
import { listModels } from '../../src/infer/node/catalogue.js';
import { resolveModel } from '../../src/infer/load-model.js';
import { loadCheckpoint, readCheckpointState, CHECKPOINT_FORMAT } from '../../src/train/checkpoint.js';
import { TrainingDivergedError } from '../../src/train/trainer.js';
import { OnnxGraphBuilder } from '../../src/onnx/graph-builder.js';
import * as L from '../../src/onnx/layers.js';
import { loadModel } from '../../src/infer/load-model.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'perceptual-hostile-folders-'));

function folderWithCard(name: string, card: string): string {
  const dir = path.join(root, 'models', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, MODEL_FILES.card), card);
  writeFileSync(path.join(dir, MODEL_FILES.onnx), 'unused');
  return dir;
}

test('an empty card.json: the error names the file and says it is empty (load and catalogue)', async () => {
  const dir = folderWithCard('empty-card', '');
  const card = path.join(dir, MODEL_FILES.card);
  await assert.rejects(resolveModel(dir), (e: Error) => e.message === `${card}: the file is empty (expected a model card (a JSON object))`);
  const { models, skipped } = await listModels(path.join(root, 'models'));
  assert.ok(!models.some((m) => m.name === 'empty-card'));
  assert.deepEqual(skipped.find((s) => s.name === 'empty-card'), { name: 'empty-card', reason: 'card.json: the file is empty (expected a model card (a JSON object))' });
});

test('a card.json of null: the error names the file and says what it got', async () => {
  const dir = folderWithCard('null-card', 'null\n');
  await assert.rejects(readModelFolder(dir), (e: Error) => e.message === `${path.join(dir, MODEL_FILES.card)}: expected a JSON object, got null`);
});

test('a card.json that is not JSON: the file is named', async () => {
  const dir = folderWithCard('bad-json', '{"name": "x",');
  await assert.rejects(readModelFolder(dir), (e: Error) => e.message.startsWith(`${path.join(dir, MODEL_FILES.card)}: not valid JSON (expected a model card (a JSON object)): `));
});

const oneWeight = (v: number): NamedTensors => new Map([['model.0.weight', { dtype: 'F32', shape: [2], data: new Float32Array([0.5, v]) }]]);

async function checkpointWithState(name: string, state: string, tensors: NamedTensors = oneWeight(1)): Promise<string> {
  const file = path.join(root, `${name}.safetensors`);
  await writeSafetensors(file, tensors, { format: CHECKPOINT_FORMAT, state });
  return file;
}

const goodState = { iteration: 4, position: { epoch: 0, index: 8 }, elapsed: 1.5, config: { task: 'style' }, optimizer: { lr: 1e-3, steps: [4] } };

test('a truncated checkpoint state: the error names the file and metadata.state', async () => {
  const full = JSON.stringify(goodState);
  const file = await checkpointWithState('truncated', full.slice(0, full.length - 10));
  await assert.rejects(readCheckpointState(file), (e: Error) => {
    assert.match(e.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(metadata\\.state\\): not valid JSON \\(expected the checkpoint state`));
    return true;
  });
  await assert.rejects(loadCheckpoint(file), /truncated\.safetensors \(metadata\.state\): not valid JSON/);
});

test('an iteration of -5 in a checkpoint is refused, naming the file and the field', async () => {
  const file = await checkpointWithState('minus-five', JSON.stringify({ ...goodState, iteration: -5 }));
  await assert.rejects(readCheckpointState(file), (e: Error) => e.message === `${file}: metadata.state.iteration: expected an integer ≥ 0, got -5`);
});

test('other bad checkpoint fields are named too', async () => {
  const cases: Array<[string, unknown, string]> = [
    ['position', { ...goodState, position: null }, 'metadata.state.position: expected a JSON object, got null'],
    ['epoch', { ...goodState, position: { epoch: 1.5, index: 0 } }, 'metadata.state.position.epoch: expected an integer ≥ 0, got 1.5'],
    ['elapsed', { ...goodState, elapsed: 'soon' }, 'metadata.state.elapsed: expected a finite number ≥ 0, got "soon"'],
    ['lr', { ...goodState, optimizer: { lr: -1, steps: [] } }, 'metadata.state.optimizer.lr: expected a finite number ≥ 0, got -1'],
    ['lr0', { ...goodState, optimizer: { lr: 0, steps: [] } }, 'metadata.state.optimizer.lr: expected a learning rate > 0, got 0'],
    ['steps', { ...goodState, optimizer: { lr: 1e-3, steps: [2, -1] } }, 'metadata.state.optimizer.steps[1]: expected an integer ≥ 0, got -1'],
    ['state-null', null, 'metadata.state: expected a JSON object, got null'],
  ];
  for (const [name, state, message] of cases) {
    const file = await checkpointWithState(`bad-${name}`, JSON.stringify(state));
    await assert.rejects(readCheckpointState(file), (e: Error) => e.message === `${file}: ${message}`, name);
  }
  const notCkpt = path.join(root, 'plain.safetensors');
  await writeSafetensors(notCkpt, oneWeight(1), { config: '{}' });
  await assert.rejects(readCheckpointState(notCkpt), (e: Error) => e.message === `${notCkpt}: metadata.format: not a perceptual training checkpoint (expected perceptual-checkpoint-1); to fine-tune from a model's weights, pass them as option 'init', not 'resume'`);
});

test('NaN or infinite weights are refused at load: model weights and checkpoints', async () => {
  const dir = path.join(root, 'nan-model');
  mkdirSync(dir);
  const config = JSON.stringify({ kind: 'style', arch: 'c9s1-4,d8,R8,u4,c9s1-3', norm: 'instance', padding: 'reflect-start' });
  const weights = path.join(dir, MODEL_FILES.weights);
  await writeSafetensors(weights, oneWeight(Number.NaN), { config });
  await assert.rejects(loadNetwork(weights), (e: Error) => e.message === `${weights}: model.0.weight: weight 1 is NaN: the file holds non-finite weights (damaged, or saved from a diverged run); refusing to load it`);
  await writeSafetensors(weights, oneWeight(Number.POSITIVE_INFINITY), { config });
  await assert.rejects(loadNetwork(weights), /model\.0\.weight: weight 1 is Infinity/);
  const ckpt = await checkpointWithState('nan-ckpt', JSON.stringify(goodState), oneWeight(Number.NEGATIVE_INFINITY));
  await assert.rejects(loadCheckpoint(ckpt), (e: Error) => e.message.startsWith(`${ckpt}: model.0.weight: weight 1 is -Infinity`));
});

/** A 1×1-conv ONNX style model whose weight `bad` (when given) is put at index 4. */
function onnxModel(bad?: number): Uint8Array {
  const g = new OnnxGraphBuilder('hostile');
  const x = g.input('input', ['N', 3, 'H', 'W']);
  const weight = Float32Array.from({ length: 9 }, (_, i) => (i % 4 === 0 ? 1 : 0));
  if (bad !== undefined) weight[4] = bad;
  g.output(L.conv(g, x, { name: 'conv', weight, bias: new Float32Array(3), shape: [3, 3, 1, 1] }), 'output', ['N', 3, 'H', 'W']);
  return g.toBytes();
}

test('an ONNX model with NaN or infinite weights is refused at load, naming the file and the initializer', async () => {
  const dir = path.join(root, 'nan-onnx');
  mkdirSync(dir);
  writeFileSync(path.join(dir, MODEL_FILES.card), JSON.stringify({ name: 'nan-onnx', task: 'style' }));
  const file = path.join(dir, MODEL_FILES.onnx);
  writeFileSync(file, onnxModel());
  const good = await loadModel(dir, { runtime: 'onnx' }); // the same graph with finite weights loads
  await good.dispose();
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
    writeFileSync(file, onnxModel(bad));
    await assert.rejects(loadModel(dir, { runtime: 'onnx' }), (e: Error) => {
      assert.equal(e.message, `model ${file}: initializer "conv.weight" holds ${bad} (value 4): the file has non-finite weights (damaged, or exported from a diverged run); refusing to load it`);
      return true;
    });
  }
});

test('the divergence message suggests float32 only when the run was not float32', () => {
  const bf16 = new TrainingDivergedError(7, { total: Number.NaN }, path.join(root, 'none.safetensors'), 'bf16');
  assert.match(bf16.message, /train in float32 \(precision: 'float32'; this run was bf16\)/);
  const f32 = new TrainingDivergedError(7, { total: Number.NaN }, path.join(root, 'none.safetensors'), 'float32');
  assert.doesNotMatch(f32.message, /float32/);
  assert.doesNotMatch(f32.message, /--precision/);
  assert.match(f32.message, /^training diverged at iteration 7: loss is total=NaN\. .*last good checkpoint is \(none yet\)\. Lower the learning rate \(option lr\) or the loss weights\.$/);
});
