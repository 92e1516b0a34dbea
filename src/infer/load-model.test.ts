/**
 * loadModel on a folder with both model.onnx and weights.safetensors: the runtime is chosen
 * per image, and a tiled instance-norm network goes to the engine (shared statistics).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { manualSeed } from '../engine/index.js';
import { buildStyleNet } from '../models/transformer-net.js';
import { exportOnnx } from '../runtime/onnx/export.js';
import { loadModel, loadStyleModel } from './load-model.js';
import type { RgbImage } from '../data/image.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'perceptual-load-model-'));
process.env.XDG_CACHE_HOME = path.join(dir, 'cache'); // the runtime-choice cache of this test only

manualSeed(4);
const net = buildStyleNet('c9s1-8,d16,R16,u8,c9s1-3', { norm: 'instance', padding: 'reflect' }).eval();
const folder = path.join(dir, 'tiny');
mkdirSync(folder, { recursive: true });
await net.saveSafetensors(path.join(folder, 'weights.safetensors'), { config: JSON.stringify(net.config) });
await exportOnnx(net, path.join(folder, 'model.onnx'));
writeFileSync(path.join(folder, 'card.json'), JSON.stringify({ name: 'tiny', title: 'Tiny', task: 'style', network: net.config }));

const image = (w: number, h: number): RgbImage => ({ data: Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 7) % 251), width: w, height: h, channels: 3 });

test('a tiled instance-norm model runs on the engine; forced runtimes are honoured', async () => {
  const m = await loadStyleModel(folder);
  await m.stylize(image(40, 30), { tileSize: 0 });
  assert.ok(['onnx', 'engine'].includes(m.runtime), m.reason);
  const tiled = await m.stylize(image(80, 60), { tileSize: 32, overlap: 8 });
  assert.equal(m.runtime, 'engine');
  assert.match(m.reason, /shares normalisation statistics/);
  assert.equal(tiled.width, 80);
  await m.dispose();

  const onnx = await loadModel(folder, { runtime: 'onnx' });
  await onnx.stylize(image(80, 60), { tileSize: 32, overlap: 8 });
  assert.equal(onnx.runtime, 'onnx');
  await onnx.dispose();
});

test('a broken model file fails at load time with its name', async () => {
  const bad = path.join(dir, 'bad.onnx');
  writeFileSync(bad, 'not an onnx model');
  await assert.rejects(loadModel(bad), /bad\.onnx/);
});
