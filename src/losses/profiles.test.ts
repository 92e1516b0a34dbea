import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { engineAvailable } from '../engine/index.js';
import { LOSS_PROFILES, lossProfile } from './profiles.js';
import { defaultLossProfile, FALLBACK_PROFILE, setupLoss } from './setup.js';
import { sharedDataDir } from '../util/paths.js';

const keras = path.join(sharedDataDir(), 'vgg19-keras');
const full = path.join(sharedDataDir(), 'vgg19-full-uint8');
const noFull = await Promise.all([keras, full].map((d) => fs.stat(path.join(d, 'model.json')))).then(
  () => false,
  () => `shared VGG-19 weights not found under ${sharedDataDir()} (set PERCEPTUAL_DATA)`,
);

test('paper-vgg19: the paper\'s layers on VGG-19 with fast-neural-style\'s per-layer weights 5/C²', () => {
  const p = lossProfile('paper-vgg19');
  assert.equal(p.arch, 'vgg19');
  assert.deepEqual(p.style.contentLayers, ['relu3_3']);
  assert.deepEqual(p.style.styleLayers, ['relu1_2', 'relu2_2', 'relu3_3', 'relu4_3']);
  // 5 / C² for C = 64, 128, 256, 512, by hand
  assert.deepEqual(p.style.styleWeights, [0.001220703125, 0.00030517578125, 0.0000762939453125, 0.000019073486328125]);
  assert.deepEqual([p.style.contentWeight, p.style.tvWeight], [1, 1e-6]);
  assert.deepEqual(p.sr.contentLayers, ['relu2_2']);
  assert.deepEqual(p.sr.styleLayers, []);
});

test('gatys: content relu4_2, style relu1_1 … relu5_1 with equal weights', () => {
  const g = LOSS_PROFILES.gatys;
  assert.equal(g.arch, 'vgg19');
  assert.deepEqual(g.style.contentLayers, ['relu4_2']);
  assert.deepEqual(g.style.styleLayers, ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1']);
  assert.equal(typeof g.style.styleWeights, 'number');
});

test('default profile follows the weights: paper-vgg19 with conv4_3, vgg19-conv3 with conv1–3 only', { skip: noFull }, async () => {
  assert.equal(await defaultLossProfile(`${keras}${path.delimiter}${full}`), 'paper-vgg19');
  assert.equal(await defaultLossProfile(full), 'paper-vgg19');
  assert.equal(await defaultLossProfile(keras), FALLBACK_PROFILE);
  assert.equal(FALLBACK_PROFILE, 'vgg19-conv3');
  // What every command finds by default here (the shared data): both copies, combined.
  assert.equal(await defaultLossProfile(), 'paper-vgg19');
});

test('setupLoss with paper-vgg19 and gatys builds VGG-19 up to relu4_3 / relu5_1 from the combined default weights', { skip: noFull || !engineAvailable() }, async () => {
  for (const [profile, deepest] of [['paper-vgg19', 'relu4_3'], ['gatys', 'relu5_1']] as const) {
    const { vgg, loss, vggPath } = await setupLoss({ profile, task: 'style' });
    assert.equal(vggPath.split(path.delimiter).length, 2, vggPath);
    assert.equal(vgg.deepest, deepest);
    loss.dispose();
    vgg.dispose();
  }
});
