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
import { readModelFolder } from '../models/model-folder.js';
import { initArchNote, trainStyle, type TrainStyleOptions } from './train-style.js';

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
  // A checkpoint temp file left by a killed run (pid 2^22 + 1 is above Linux's pid limit, so not alive).
  mkdirSync(path.join(root, 'run'), { recursive: true });
  const stale = path.join(root, 'run', `.checkpoint.safetensors.${2 ** 22 + 1}.0123abcd.tmp`);
  writeFileSync(stale, 'half a checkpoint');
  const r = await trainStyle({ ...opts(path.join(root, 'run')), onSkip: (f) => skipped.push(path.basename(f)) });
  assert.ok(!existsSync(stale), 'the dead run\'s temp file was removed');
  assert.equal(r.completed, true);
  assert.deepEqual(skipped, ['broken.jpg']);
  const card = JSON.parse(readFileSync(path.join(r.modelDir!, 'card.json'), 'utf8'));
  assert.equal(card.task, 'style');
  assert.equal(card.iterations, 4);
  assert.equal(card.name, 'run');
  assert.equal(card.lossProfile, 'vgg19-conv3');
  assert.deepEqual(card.data, { dir: 'train', imageSize: 16, batchSize: 2, seed: 0 });
  const { metadata } = await readSafetensors(path.join(r.modelDir!, 'weights.safetensors'));
  assert.deepEqual(JSON.parse(metadata.config!), { kind: 'style', arch: 'c9s1-4,d8,R8,u4,c9s1-3', norm: 'instance', padding: 'reflect-start' });
  // The folder reads back through the one reader, with the network from the weights.
  const folder = await readModelFolder(r.modelDir!);
  assert.equal(folder.card.kind, 'style');
  assert.equal(folder.network?.norm, 'instance');
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
  await assert.rejects(trainStyle(opts(half, { resume: 'auto', imageSize: 20, iterations: 6 })), /^Error: train-style: resume: the checkpoint .*half\/checkpoint\.safetensors was trained with imageSize=16, this run asks for 20$/);
});

test('styleWeight reaches the loss and the card: doubling it doubles the logged style term, and the card records it', async () => {
  const { JsonlLog } = await import('./log.js');
  const firstTrain = async (dir: string) => (await JsonlLog.read(path.join(dir, 'log.jsonl'))).find((r) => r.kind === 'train') as Record<string, number>;
  const w = 3e-5;
  const a = await trainStyle(opts(path.join(root, 'sw1'), { styleWeight: w, iterations: 1, valDir: undefined }));
  const b = await trainStyle(opts(path.join(root, 'sw2'), { styleWeight: 2 * w, iterations: 1, valDir: undefined }));
  const ra = await firstTrain(path.join(root, 'sw1'));
  const rb = await firstTrain(path.join(root, 'sw2'));
  assert.ok(ra.style! > 0);
  // Same seed, data and initial weights: the first step's style term is linear in λ_style.
  assert.ok(Math.abs(rb.style! / ra.style! - 2) < 1e-5, `style ${ra.style} → ${rb.style}`);
  assert.ok(Math.abs(rb.content! - ra.content!) <= 1e-6 * Math.abs(ra.content!), 'the content term does not change');
  const cardA = JSON.parse(readFileSync(path.join(a.modelDir!, 'card.json'), 'utf8'));
  const cardB = JSON.parse(readFileSync(path.join(b.modelDir!, 'card.json'), 'utf8'));
  assert.deepEqual(cardA.lambda.style, [w, w, w]);
  assert.deepEqual(cardB.lambda.style, [2 * w, 2 * w, 2 * w]);
  assert.equal(cardA.kind, 'style');
  assert.equal(cardA.network, undefined, 'the network config is stored once, in the weights');
  assert.deepEqual((a.config.lossConfig as { styleWeights: number[] }).styleWeights, [w, w, w]);
});

test('gridWeight reaches the loss and the run config: the logged grid term is λ·ℓ_grid with the default window cut to the image, linear in λ', async () => {
  const { JsonlLog } = await import('./log.js');
  const firstTrain = async (dir: string) => (await JsonlLog.read(path.join(dir, 'log.jsonl'))).find((r) => r.kind === 'train') as Record<string, number>;
  const a = await trainStyle(opts(path.join(root, 'gw1'), { gridWeight: 1000, iterations: 1, valDir: undefined }));
  const b = await trainStyle(opts(path.join(root, 'gw2'), { gridWeight: 3000, iterations: 1, valDir: undefined }));
  const none = await trainStyle(opts(path.join(root, 'gw0'), { iterations: 1, valDir: undefined }));
  const ra = await firstTrain(path.join(root, 'gw1'));
  const rb = await firstTrain(path.join(root, 'gw2'));
  assert.ok(ra.grid! > 0);
  assert.ok(Math.abs(rb.grid! / ra.grid! - 3) < 1e-4, `grid ${ra.grid} → ${rb.grid}`);
  assert.equal((await firstTrain(path.join(root, 'gw0'))).grid, undefined);
  assert.deepEqual(a.config.grid, { weight: 1000, window: 16 }, 'the 16-px images take the whole image as the window');
  assert.equal(none.config.grid, undefined);
});

test('one styleWeight is refused for a profile with per-layer weights (paper); a list per layer is taken', async () => {
  const { resolveStyleWeights } = await import('./train-style.js');
  const { lossProfile } = await import('../losses/profiles.js');
  const paper = lossProfile('paper');
  assert.throws(() => resolveStyleWeights(paper, 5), /^Error: train-style: option 'styleWeight': profile 'paper' has per-layer style weights \(relu1_2 1\.22e-3, relu2_2 3\.05e-4, relu3_3 7\.63e-5, relu4_3 1\.91e-5\); give 4 values, one per layer, not one number$/);
  assert.deepEqual(resolveStyleWeights(paper, [1, 2, 3, 4]), [1, 2, 3, 4]);
  assert.deepEqual(resolveStyleWeights(paper, undefined), [5 / 64 ** 2, 5 / 128 ** 2, 5 / 256 ** 2, 5 / 512 ** 2]);
  assert.throws(() => resolveStyleWeights(paper, [1, 2]), /2 values for the 4 style layers of profile 'paper'/);
  assert.deepEqual(resolveStyleWeights(lossProfile('vgg19-conv3'), 7), [7, 7, 7]);
});

test('trainStyle: bad options are refused before any work, naming the option (not a CLI flag)', async () => {
  await assert.rejects(trainStyle(opts(path.join(root, 'bad1'), { lr: -1 })), /^Error: train-style: option 'lr' must be ≥ 0 \(and not 0\), got -1$/);
  await assert.rejects(trainStyle(opts(path.join(root, 'bad2'), { imageSize: 2.5 })), /train-style: option 'imageSize' must be an integer, got 2\.5/);
  await assert.rejects(trainStyle(opts(path.join(root, 'bad3'), { resume: path.join(root, 'nope.safetensors') })), /^Error: train-style: option 'resume': no checkpoint at .*nope\.safetensors$/);
  await assert.rejects(trainStyle(opts(path.join(root, 'bad4'), { device: 'tpu' })), /unknown device 'tpu'/);
  await assert.rejects(trainStyle(opts(path.join(root, 'bad5'), { gridWeight: 10, gridWindow: 6 })), /train-style: option 'gridWindow' must be a multiple of 4 no larger than imageSize \d+, got 6/);
  await assert.rejects(trainStyle(opts(path.join(root, 'bad6'), { gridWeight: 10, gridWindow: 4096 })), /option 'gridWindow' must be a multiple of 4 no larger than imageSize/);
  for (const d of ['bad1', 'bad5', 'bad6']) assert.ok(!existsSync(path.join(root, d)), `nothing was written (${d})`);
});

test('--init from another architecture whose tensors fit (rc → rb) trains, and the log says so; the same architecture says nothing', async () => {
  const rc = await trainStyle(opts(path.join(root, 'init-rc'), { arch: 'c9s1-4,d8,R8,rc4,c9s1-3', iterations: 1, validateEvery: 1000 }));
  for (const [arch, said] of [['c9s1-4,d8,R8,rb4,c9s1-3', true], ['c9s1-4,d8,R8,rc4,c9s1-3', false]] as const) {
    const lines: string[] = [];
    const r = await trainStyle(opts(path.join(root, `init-${said}`), { arch, init: rc.modelDir!, iterations: 1, validateEvery: 1000, log: (m) => lines.push(m) }));
    assert.equal(r.completed, true);
    const note = lines.find((l) => l.startsWith('--init '));
    if (said) assert.match(note ?? '', /its network is c9s1-4,d8,R8,rc4,c9s1-3, this run trains c9s1-4,d8,R8,rb4,c9s1-3/);
    else assert.equal(note, undefined);
  }
  assert.equal(initArchNote('w.safetensors', {}, 'c3s1-3'), undefined, 'a file without a config says nothing');
  assert.equal(initArchNote('w.safetensors', { config: '{not json' }, 'c3s1-3'), undefined);
});
