// `perceptual export` and `perceptual import-ml5`, driven through commander as the CLI runs
// them: files written, the card, errors, and no download without --yes-download.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { engineAvailable, manualSeed } from '../../src/engine/index.js';
import { buildStyleNet } from '../../src/models/index.js';
import { OrtModel } from '../../src/runtime/ort-session.js';
import { register as registerExport } from '../../src/cli/commands/export.js';
import { register as registerImportMl5 } from '../../src/cli/commands/import-ml5.js';
import { sharedDataDir } from '../../src/util/paths.js';
import { readModelFolder } from '../../src/models/model-folder.js';

const dataRoot = sharedDataDir();
const ml5Fixture = path.join(dataRoot, 'peer/ml5-wave');

async function cli(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerExport(program);
  registerImportMl5(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  try {
    await program.parseAsync(['node', 'perceptual', ...args]);
  } finally {
    console.log = log;
  }
  return lines.join('\n');
}

test('export: a model folder and a weights file become a checked, loadable ONNX model', { skip: engineAvailable() ? false : 'engine not built' }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'perceptual-export-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  manualSeed(0);
  const net = buildStyleNet('c9s1-8,d16,R16,u8,c9s1-3', { norm: 'instance' });
  await mkdir(path.join(dir, 'm'));
  await net.saveSafetensors(path.join(dir, 'm', 'weights.safetensors'), { config: JSON.stringify(net.config) });
  net.dispose();

  const out = await cli('export', path.join(dir, 'm'));
  assert.match(out, /model\.onnx .*ONNX opset 17, style c9s1-8,d16,R16,u8,c9s1-3, dynamic N\/H\/W, max \|onnxruntime − engine\| /);
  assert.deepEqual((await readdir(path.join(dir, 'm'))).sort(), ['model.onnx', 'weights.safetensors']);
  const model = await OrtModel.load(path.join(dir, 'm', 'model.onnx'), { threads: 1 });
  assert.deepEqual((await model.run(new Float32Array(3 * 9 * 11).fill(90), [1, 3, 9, 11])).dims, [1, 3, 9, 11]);
  await model.dispose();

  await cli('export', path.join(dir, 'm', 'weights.safetensors'), '-o', path.join(dir, 'other', 'x.onnx'), '--no-verify');
  assert.ok(existsSync(path.join(dir, 'other', 'x.onnx')));
  await assert.rejects(cli('export', path.join(dir, 'nothing')), /nothing: no such file or folder/);
  await assert.rejects(cli('export', dir), /no weights\.safetensors in this folder/);
});

test('import-ml5: a URL is not fetched without --yes-download', async () => {
  await assert.rejects(cli('import-ml5', 'https://example.invalid/models/wave/'), /not downloading https:\/\/example\.invalid\/models\/wave\/: .*--yes-download.*nothing was fetched/);
});

test('import-ml5: a checkpoint folder becomes model.onnx + card.json (+ its LICENSE)', { skip: existsSync(path.join(ml5Fixture, 'manifest.json')) ? false : `no ml5 fixture at ${ml5Fixture}` }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'perceptual-ml5-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'models', 'wave');
  const printed = await cli('import-ml5', ml5Fixture, '-o', out, '--name', 'wave');
  assert.match(printed, /model\.onnx \+ card\.json/);
  assert.deepEqual((await readdir(out)).sort(), ['LICENSE', 'card.json', 'model.onnx']);
  const card = JSON.parse(await readFile(path.join(out, 'card.json'), 'utf8')) as Record<string, string>;
  assert.equal(card.name, 'wave');
  assert.equal(card.title, 'Wave (ml5.js)');
  assert.equal(card.task, 'style');
  assert.equal(card.source, path.resolve(ml5Fixture));
  assert.match(card.licence!, /LICENSE/);
  assert.equal(card.kind, 'imported');
  // The folder reads back through the one model-folder reader as an imported model (no network config).
  const folder = await readModelFolder(out);
  assert.equal(folder.card.kind, 'imported');
  assert.equal(folder.network, undefined);
  assert.equal(folder.files.onnx, path.join(out, 'model.onnx'));
  const model = await OrtModel.load(path.join(out, 'model.onnx'), { threads: 1 });
  const y = await model.run(new Float32Array(3 * 20 * 18).fill(120), [1, 3, 20, 18]);
  assert.deepEqual(y.dims, [1, 3, 20, 18]);
  await model.dispose();
});
