/**
 * loadModel on a folder with both model.onnx and weights.safetensors: the runtime is chosen
 * per image, and a tiled instance-norm network goes to the engine (shared statistics).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { manualSeed } from '../engine/index.js';
import { buildStyleNet } from '../models/transformer-net.js';
import { exportOnnx } from '../export/export.js';
import { loadModel, loadStyleModel } from './load-model.js';
import { MIN_BF16_PSNR_DB, type CacheEntry } from './runtime-choice.js';
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
  // Untiled, the runtime is the one the probe measured fastest at this size bucket (≤256²) and
  // cached: read the cache file and check both the choice and that it is the fastest eligible.
  const cache = JSON.parse(readFileSync(path.join(dir, 'cache', 'perceptual', 'runtime-choice.json'), 'utf8')) as { entries: Record<string, CacheEntry> };
  const entries = Object.entries(cache.entries).filter(([k]) => k.endsWith('| 256'));
  assert.equal(entries.length, 1, Object.keys(cache.entries).join('; '));
  const entry = entries[0]![1];
  assert.deepEqual([m.runtime, m.precision], [entry.runtime, entry.precision], m.reason);
  const eligible = entry.timings.filter((t) => t.precision !== 'bf16' || (entry.bf16PsnrDb ?? 0) >= MIN_BF16_PSNR_DB);
  const fastest = eligible.reduce((a, b) => (b.ms < a.ms ? b : a));
  assert.deepEqual([entry.runtime, entry.precision], [fastest.runtime, fastest.precision]);
  await m.dispose();

  // Tiled, an instance-norm network goes to the engine even where onnxruntime measured faster.
  // Which runtime the probe picked depends on timings, so the cache is rewritten to say onnx
  // won this size bucket: the override (and its reason) is then what is tested, every time.
  const file = path.join(dir, 'cache', 'perceptual', 'runtime-choice.json');
  const forced = JSON.parse(readFileSync(file, 'utf8')) as { entries: Record<string, CacheEntry> };
  const key = entries[0]![0];
  forced.entries[key] = { ...forced.entries[key]!, runtime: 'onnx', precision: 'float32' };
  writeFileSync(file, JSON.stringify(forced));
  const t = await loadStyleModel(folder);
  await t.stylize(image(40, 30), { tileSize: 0 });
  assert.deepEqual([t.runtime, t.precision], ['onnx', 'float32'], `the rewritten cache should be used: ${t.reason}`);
  const tiled = await t.stylize(image(80, 60), { tileSize: 32, overlap: 8 });
  assert.equal(t.runtime, 'engine');
  assert.match(t.reason, /shares normalisation statistics/);
  assert.equal(tiled.width, 80);
  await t.dispose();

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
