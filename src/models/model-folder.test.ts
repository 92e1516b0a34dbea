/**
 * The model-folder contract: the shipped folders (written before it existed) still read with
 * the right kind, scale and network config; cards are checked field by field; and the one
 * atomic write keeps the previous file when a write fails half-way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../util/paths.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { readSafetensorsHeader } from '../nn/safetensors.js';
import { MODEL_FILES, parseCard, readModelFolder } from './model-folder.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'perceptual-model-folder-'));
const shipped = path.join(packageRoot, 'models');

test('a style folder in the format written before ModelCard (card with network, no kind) still reads', async () => {
  const dir = path.join(root, 'old-style');
  mkdirSync(dir);
  // The format of the first shipped cards (the fields of the starry-night card of the
  // third sitting: no kind, the network config in the card), beside today's starry-night weights.
  cpSync(path.join(shipped, 'starry-night', MODEL_FILES.weights), path.join(dir, MODEL_FILES.weights));
  const meta = JSON.parse((await readSafetensorsHeader(path.join(dir, MODEL_FILES.weights))).metadata.config!);
  const oldCard = {
    task: 'style', name: 'starry-night', title: 'The Starry Night — Vincent van Gogh, 1889', parameters: 424899,
    styleImage: 'starry-night.jpg', lossProfile: 'vgg19-conv3', lambda: { content: 1, style: [4e-5, 4e-5, 4e-5], tv: 1e-6 },
    data: { dir: 'train-256', imageSize: 128, batchSize: 4, seed: 0 }, styleSize: 192, iterations: 600, lr: 0.001,
    network: meta,
  };
  writeFileSync(path.join(dir, MODEL_FILES.card), JSON.stringify(oldCard, null, 2));
  const rawCard = JSON.parse(readFileSync(path.join(dir, MODEL_FILES.card), 'utf8'));
  assert.equal(rawCard.kind, undefined, 'the fixture must be in the old format');
  const f = await readModelFolder(dir);
  assert.equal(f.card.kind, 'style');
  assert.equal(f.card.task, 'style');
  assert.equal(f.card.name, 'starry-night');
  assert.equal(f.card.title, rawCard.title);
  assert.equal(f.files.onnx, undefined);
  assert.equal(f.files.weights, path.join(dir, MODEL_FILES.weights));
  // The network config comes from the weights' metadata, and equals what the old card says.
  assert.deepEqual(f.network, meta);
  assert.deepEqual(f.network, rawCard.network);
});

test('an SR folder of today reads as kind sr with its scale; an onnx-only folder takes the card\'s network', async () => {
  const dir = path.join(root, 'old-sr');
  mkdirSync(dir);
  cpSync(path.join(shipped, 'sr-x4-feat', MODEL_FILES.card), path.join(dir, MODEL_FILES.card));
  writeFileSync(path.join(dir, MODEL_FILES.onnx), 'not read here');
  const f = await readModelFolder(dir);
  assert.equal(f.card.kind, 'sr');
  assert.equal(f.card.kind === 'sr' && f.card.scale, 4);
  assert.equal(f.card.kind === 'sr' && f.card.histogramMatch, true);
  assert.equal(f.network?.factor, 4);
  assert.equal(f.network?.residual, 'bicubic');
  assert.equal(f.files.onnx, path.join(dir, MODEL_FILES.onnx));
});

test('every shipped model folder reads, with the kind its task implies', async () => {
  const names = readdirSync(shipped).filter((n) => !n.startsWith('.'));
  assert.ok(names.length >= 8);
  for (const name of names) {
    const f = await readModelFolder(path.join(shipped, name));
    assert.ok(typeof f.card.name === 'string' && f.card.name.length > 0, name);
    assert.equal(f.card.kind, f.card.task === 'sr' ? 'sr' : 'style', name);
    assert.ok(f.network, `${name}: network config`);
    assert.equal(f.network!.kind, f.card.task, name);
  }
});

test('an imported (ml5) card without kind reads as imported', () => {
  const card = parseCard({ name: 'wave', title: 'Wave (ml5.js)', task: 'style', source: 'https://example.org/wave', origin: 'ml5', licence: '?', architecture: 'ml5' }, 'x/card.json', 'wave');
  assert.equal(card.kind, 'imported');
});

test('card fields are checked, and the error names the file and the field', () => {
  assert.throws(() => parseCard({ task: 'video' }, 'm/card.json', 'm'), /^FileFieldError: m\/card\.json: task: must be "style" or "sr", got "video"$/);
  assert.throws(() => parseCard({ task: 'sr', scale: 0 }, 'm/card.json', 'm'), /m\/card\.json: scale: expected an integer ≥ 1, got 0/);
  assert.throws(() => parseCard({ task: 'sr' }, 'm/card.json', 'm'), /m\/card\.json: scale: a super-resolution card needs its upscaling factor/);
  assert.throws(() => parseCard({ task: 'style', kind: 'sr' }, 'm/card.json', 'm'), /m\/card\.json: kind: "sr" does not go with task "style"/);
  assert.throws(() => parseCard({ name: 3 }, 'm/card.json', 'm'), /m\/card\.json: name: expected a string, got 3/);
  assert.throws(() => parseCard([], 'm/card.json', 'm'), /m\/card\.json: expected a JSON object, got an array/);
});

test('writeFileAtomic: a write that fails half-way (disk full) keeps the previous file and leaves no temporary file', async (t) => {
  const dir = path.join(root, 'atomic');
  const file = path.join(dir, 'card.json');
  await writeFileAtomic(file, 'previous\n');
  assert.equal(readFileSync(file, 'utf8'), 'previous\n');
  // Make every FileHandle write half its bytes and then fail as a full disk does.
  const probe = await fsp.open(path.join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { writeFile: (this: unknown, data: unknown) => Promise<void> };
  await probe.close();
  await fsp.rm(path.join(dir, 'probe'));
  const original = proto.writeFile;
  proto.writeFile = async function (this: unknown, data: unknown) {
    const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data as Uint8Array);
    await original.call(this, bytes.subarray(0, bytes.length >> 1));
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
  t.after(() => {
    proto.writeFile = original;
  });
  await assert.rejects(writeFileAtomic(file, 'the new, longer content that does not fit\n'), (e: Error) => {
    assert.match(e.message, /^cannot write .*atomic\/card\.json \(the disk is full\): ENOSPC/);
    assert.match(e.message, /the previous file, if any, is unchanged/);
    return true;
  });
  proto.writeFile = original;
  assert.equal(readFileSync(file, 'utf8'), 'previous\n');
  assert.deepEqual(readdirSync(dir), ['card.json']);
});
