// The SR training task on a tiny ×4 network and a random VGG-19 (up to relu2_2): both
// objectives go down under Adam on a fixed toy batch, validation reports PSNR beside bicubic,
// samples are bicubic | network | HR, and objectives the task cannot train are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { Adam, manualSeed, tidy } from '../engine/index.js';
import { buildSrNet } from '../models/sr-net.js';
import { Vgg } from '../models/vgg/vgg.js';
import { createPerceptualLoss } from '../losses/profiles.js';
import type { PerceptualLossConfig } from '../losses/perceptual-loss.js';
import { degrade } from '../data/degrade.js';
import { packBatch } from '../data/tensor-layout.js';
import type { RgbImage } from '../data/image.js';
import type { SrBatch } from '../data/sr-dataset.js';
import { SrTask, sideBySide, type SrBatchSource, type SrValidationPair } from './sr-task.js';

const TINY = 'c3s1-8,R8,u8,u8,c3s1-3';

/** Smooth colour gradients plus a little texture: something a network can learn to upscale. */
function photo(size: number, seed: number): RgbImage {
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      data[i] = 128 + 100 * Math.sin((x + seed) / 3);
      data[i + 1] = 128 + 100 * Math.cos((y - seed) / 4);
      data[i + 2] = (x * 7 + y * 3 + seed * 11) % 256;
    }
  }
  return { data, width: size, height: size, channels: 3 };
}

function pair(size: number, seed: number): SrValidationPair {
  const hr = photo(size, seed);
  return { name: `p${seed}`, hr, lr: { ...degrade(hr, { factor: 4, mode: 'bicubic' }), channels: 3 } };
}

/** The same batch forever: a source with SrDataset's shape. */
function toySource(pairs: SrValidationPair[]): SrBatchSource {
  let index = 0;
  return {
    batchSize: pairs.length,
    factor: 4,
    async next(): Promise<SrBatch> {
      index++;
      const hr = packBatch(pairs.map((p) => p.hr));
      const lr = packBatch(pairs.map((p) => p.lr));
      return { hr: hr.data, hrShape: hr.shape, lr: lr.data, lrShape: lr.shape, files: pairs.map((p) => p.name), position: { epoch: 0, index } };
    },
    get position() {
      return { epoch: 0, index };
    },
    stats: () => ({ waitMs: 0, decodeMs: 0, batches: index, samples: index * pairs.length, skipped: 0 }),
    close() {},
  };
}

const vgg = Vgg.random('vgg19', 'relu2_2', 3);

function makeTask(overrides: Partial<PerceptualLossConfig>, validation?: SrValidationPair[]) {
  manualSeed(11);
  const model = buildSrNet(4, { arch: TINY });
  const loss = createPerceptualLoss(vgg, 'vgg19-conv3', 'sr', overrides);
  return new SrTask({ model, loss, dataset: toySource([pair(16, 1), pair(16, 2)]), validation });
}

async function trainSteps(task: SrTask, steps: number, lr: number): Promise<number[]> {
  const opt = new Adam(task.model.parameters(), { lr });
  task.model.train();
  const totals: number[] = [];
  for (let i = 0; i < steps; i++) {
    const batch = await task.nextBatch();
    opt.zeroGrad();
    totals.push(
      tidy(() => {
        const { total } = task.losses(batch);
        total.backward();
        return total.item();
      }),
    );
    task.releaseBatch(batch);
    opt.step();
  }
  return totals;
}

test('ℓfeat (relu2_2) and ℓpixel both decrease over a few Adam steps on a fixed toy batch', async () => {
  for (const [name, overrides] of [
    ['feat', { contentWeight: 1, pixelWeight: 0 }],
    ['pixel', { contentWeight: 0, pixelWeight: 1, tvWeight: 1e-4 }],
  ] as const) {
    const task = makeTask(overrides);
    const batch = await task.nextBatch();
    const parts = tidy(() => Object.keys(task.losses(batch).parts));
    task.releaseBatch(batch);
    assert.deepEqual(parts, name === 'feat' ? ['feat'] : ['pixel', 'tv'], name);
    const totals = await trainSteps(task, 12, 1e-2);
    assert.ok(totals.every(Number.isFinite), `${name}: ${totals.join(', ')}`);
    const first = totals[0]!, last = Math.min(...totals.slice(-3));
    assert.ok(last < 0.7 * first, `${name}: loss ${first} → ${last} (${totals.map((t) => t.toPrecision(3)).join(', ')})`);
    task.model.dispose();
    task.close();
  }
});

test('validation: losses and PSNR beside bicubic on fixed crops; samples are bicubic | network | HR', async () => {
  const validation = [pair(24, 5), pair(32, 6)];
  const task = makeTask({ contentWeight: 0, pixelWeight: 1 }, validation);
  task.model.eval();
  const v = await task.validate();
  assert.deepEqual(Object.keys(v).sort(), ['pixel', 'psnr', 'psnrBicubic', 'total']);
  assert.ok(v.psnr! > 0 && v.psnr! < 60, `psnr ${v.psnr}`);
  assert.ok(v.psnrBicubic! > 15, `bicubic psnr ${v.psnrBicubic}`);
  assert.equal(v.total, v.pixel);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'perceptual-sr-task-'));
  await task.saveSamples(dir, 7);
  assert.deepEqual(readdirSync(dir).sort(), ['iter-000007-0.png', 'iter-000007-1.png']);
  const meta = await sharp(path.join(dir, 'iter-000007-1.png')).metadata();
  assert.deepEqual([meta.width, meta.height], [3 * 32 + 2 * 4, 32]);
  // The right third is the HR crop itself.
  const { data } = await sharp(path.join(dir, 'iter-000007-1.png')).raw().toBuffer({ resolveWithObject: true });
  const w = 3 * 32 + 8;
  for (const [x, y] of [[0, 0], [31, 17], [12, 31]] as const) {
    for (let c = 0; c < 3; c++) assert.equal(data[(y * w + 2 * 36 + x) * 3 + c], validation[1]!.hr.data[(y * 32 + x) * 3 + c]);
  }
  task.model.dispose();
  task.close();
});

test('refused: style terms, no term at all, a network of another factor, a mismatched validation pair', () => {
  const model = buildSrNet(4, { arch: TINY });
  const src = toySource([pair(16, 1)]);
  const loss = (o: Partial<PerceptualLossConfig>) => createPerceptualLoss(vgg, 'vgg19-conv3', 'sr', o);
  assert.throws(() => new SrTask({ model, dataset: src, loss: loss({ styleLayers: ['relu1_2'], styleWeights: 1 }) }), /style weights/);
  assert.throws(() => new SrTask({ model, dataset: src, loss: loss({ contentWeight: 0 }) }), /neither a feature nor a pixel term/);
  const x2 = buildSrNet(2, { arch: 'c3s1-8,u8,c3s1-3' });
  assert.throws(() => new SrTask({ model: x2, dataset: src, loss: loss({}) }), /upscales ×2, the data is made for ×4/);
  const bad = { ...pair(16, 1), hr: photo(20, 1) };
  assert.throws(() => new SrTask({ model, dataset: src, loss: loss({}), validation: [bad] }), /LR 4×4 is not HR 20×20 \/ 4/);
  model.dispose();
  x2.dispose();
});

test('sideBySide puts images next to each other with white gaps and refuses unequal heights', () => {
  const a = photo(3, 1), b = { ...photo(3, 2), data: Float32Array.from(photo(3, 2).data) };
  const s = sideBySide([a, b], 2);
  assert.deepEqual([s.width, s.height], [8, 3]);
  assert.deepEqual(Array.from(s.data.subarray(9, 15)), [255, 255, 255, 255, 255, 255]);
  assert.deepEqual(Array.from(s.data.subarray(15, 24)), Array.from(photo(3, 2).data.subarray(0, 9)));
  assert.throws(() => sideBySide([a, photo(4, 1)]), /heights differ/);
});
