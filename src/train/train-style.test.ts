/**
 * trainStyle end to end on tiny photos with a random VGG-19 (injected as the loss network):
 * model folder (weights with config metadata + card), log, samples, and an exact resume.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, existsSync, writeFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { Vgg } from '../models/vgg/vgg.js';
import { readSafetensors } from '../nn/safetensors.js';
import { trainStyle, type TrainStyleOptions } from './train-style.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'perceptual-train-style-'));
async function photos(dir: string, n: number, seed: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (let k = 0; k < n; k++) {
    const w = 30 + k, h = 24 + 2 * k;
    const data = Buffer.alloc(w * h * 3);
    for (let i = 0; i < data.length; i++) data[i] = (Math.sin(i * 0.05 + k + seed) * 100 + 128) | 0;
    await sharp(data, { raw: { width: w, height: h, channels: 3 } }).jpeg().toFile(path.join(dir, `p${k}.jpg`));
  }
}
const data = path.join(root, 'train');
await photos(data, 6, 0);
writeFileSync(path.join(data, 'broken.jpg'), 'not a jpeg'); // skipped with a warning, never a crash
await photos(path.join(root, 'val'), 2, 9);
const style = path.join(root, 'style.png');
await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 30, g: 60, b: 200 } } }).png().toFile(style);
const vgg = Vgg.random('vgg19', 'relu3_3', 2);

const opts = (outDir: string, o: Partial<TrainStyleOptions> = {}): TrainStyleOptions => ({
  styleImage: style,
  dataDir: data,
  valDir: path.join(root, 'val'),
  valCount: 2,
  outDir,
  arch: 'c9s1-4,d8,R8,u4,c9s1-3',
  norm: 'instance',
  vgg,
  imageSize: 16,
  batchSize: 2,
  iterations: 4,
  precision: 'float32',
  checkpointEvery: 2,
  validateEvery: 2,
  quiet: true,
  ...o,
});

test('trainStyle writes a model folder, a log and samples; unreadable photos are skipped', async () => {
  const skipped: string[] = [];
  const r = await trainStyle({ ...opts(path.join(root, 'run')), onSkip: (f) => skipped.push(path.basename(f)) });
  assert.equal(r.completed, true);
  assert.deepEqual(skipped, ['broken.jpg']);
  const card = JSON.parse(readFileSync(path.join(r.modelDir!, 'card.json'), 'utf8'));
  assert.equal(card.task, 'style');
  assert.equal(card.iterations, 4);
  assert.equal(card.network.arch, 'c9s1-4,d8,R8,u4,c9s1-3');
  const { metadata } = await readSafetensors(path.join(r.modelDir!, 'weights.safetensors'));
  assert.equal(JSON.parse(metadata.config!).norm, 'instance');
  assert.ok(existsSync(path.join(root, 'run', 'losses.svg')));
  assert.ok(readdirSync(path.join(root, 'run', 'samples')).length >= 2);
});

test('trainStyle --resume continues exactly (2 + 2 iterations = 4 straight)', async () => {
  const straight = await trainStyle(opts(path.join(root, 'straight')));
  const half = path.join(root, 'half');
  await trainStyle(opts(half, { iterations: 2 }));
  const resumed = await trainStyle(opts(half, { resume: 'auto' }));
  assert.equal(resumed.iteration, 4);
  const a = await readSafetensors(path.join(straight.modelDir!, 'weights.safetensors'));
  const b = await readSafetensors(path.join(resumed.modelDir!, 'weights.safetensors'));
  for (const [k, t] of a.tensors) assert.deepEqual(Array.from(b.tensors.get(k)!.data as Float32Array), Array.from(t.data as Float32Array), k);
  await assert.rejects(trainStyle(opts(half, { resume: 'auto', imageSize: 20, iterations: 6 })), /trained with imageSize=16/);
});
