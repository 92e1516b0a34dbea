// chooseRuntime: onnxruntime when it is the only option, a measured (and cached) choice when
// the folder has both an ONNX model and engine weights, the cache keyed by machine,
// architecture and size bucket, bf16 only with its PSNR measured — and only timed at all where
// the CPU has native bf16 (the test says which case it ran). Tiny random model.
// precision-sensitive: scripts/test.sh runs this file again with ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cpuHasFastBf16, engineAvailable, manualSeed } from '../../src/engine/index.js';
import { describeBf16 } from '../../src/engine/cpu.js';
import { buildStyleNet } from '../../src/models/index.js';
import { exportOnnx } from '../../src/export/export.js';
import { cacheKey, chooseRuntime, pickFastest, probeImage, sizeBucket, MIN_BF16_PSNR_DB } from '../../src/infer/runtime-choice.js';

const skip = engineAvailable() ? false : 'the libtorch engine is not built';

async function modelFolder(dir: string, withOnnx: boolean, withWeights: boolean) {
  manualSeed(0);
  const net = buildStyleNet('c9s1-8,d16,R16,u8,c9s1-3', { norm: 'instance' }).eval();
  await mkdir(dir, { recursive: true });
  if (withWeights) await net.saveSafetensors(path.join(dir, 'weights.safetensors'), { config: JSON.stringify(net.config) });
  if (withOnnx) await exportOnnx(net, path.join(dir, 'model.onnx'));
  const card = { name: path.basename(dir), task: 'style', network: net.config };
  net.dispose();
  return card;
}

test('size buckets and the probe image', () => {
  assert.equal(sizeBucket(), 512);
  assert.equal(sizeBucket(200), 256);
  assert.equal(sizeBucket({ width: 640, height: 400 }), 512);
  assert.equal(sizeBucket({ width: 4096, height: 4096 }), 1024);
  const a = probeImage(32), b = probeImage(32);
  assert.deepEqual(a.data, b.data, 'deterministic');
  assert.ok(Math.max(...a.data) - Math.min(...a.data) > 150, 'not flat');
  assert.match(cacheKey('style c9s1-8', 256, 2), /\| 2 threads \| .* \| style c9s1-8 \| 256$/);
});

test('bf16 is never picked below the PSNR floor, whatever its speed', () => {
  const timings = [
    { runtime: 'onnx' as const, precision: 'float32' as const, ms: 50, runs: 2 },
    { runtime: 'engine' as const, precision: 'float32' as const, ms: 80, runs: 2 },
    { runtime: 'engine' as const, precision: 'bf16' as const, ms: 10, runs: 2 },
  ];
  const low = pickFastest({ timings, bf16PsnrDb: MIN_BF16_PSNR_DB - 5 }, 128);
  assert.deepEqual([low.runtime, low.precision], ['onnx', 'float32']);
  assert.match(low.reason, /not used/);
  const high = pickFastest({ timings, bf16PsnrDb: 48 }, 128);
  assert.deepEqual([high.runtime, high.precision], ['engine', 'bf16']);
});

test('measures once, caches by machine/architecture/bucket, then answers from the cache', { skip }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'perceptual-choice-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cacheFile = path.join(dir, 'cache', 'runtime-choice.json');

  const onlyOnnx = await modelFolder(path.join(dir, 'onnx-only'), true, false);
  const r0 = await chooseRuntime({ card: onlyOnnx, folder: path.join(dir, 'onnx-only'), cacheFile });
  assert.equal(r0.runtime, 'onnx');
  assert.equal(existsSync(cacheFile), false, 'nothing to measure, nothing cached');

  const card = await modelFolder(path.join(dir, 'both'), true, true);
  const folder = path.join(dir, 'both');
  const never = await chooseRuntime({ card, folder, cacheFile, measure: 'never' });
  assert.equal(never.runtime, 'onnx');
  assert.match(never.reason, /not measured/);

  const t0 = performance.now();
  const first = await chooseRuntime({ card, folder, cacheFile, size: 200 });
  const seconds = (performance.now() - t0) / 1000;
  t.diagnostic(`probe: ${seconds.toFixed(2)} s → ${first.runtime} ${first.precision}: ${first.reason}`);
  assert.ok(['onnx', 'engine'].includes(first.runtime));
  const cache = JSON.parse(await readFile(cacheFile, 'utf8')) as { entries: Record<string, { timings: unknown[]; bf16PsnrDb?: number; measuredSide: number }> };
  const keys = Object.keys(cache.entries);
  assert.equal(keys.length, 1);
  assert.match(keys[0]!, /c9s1-8,d16,R16,u8,c9s1-3 instance reflect-start \| 256$/);
  const entry = cache.entries[keys[0]!]!;
  assert.ok(entry.timings.length >= 2, 'onnx and engine float32 at least');
  assert.equal(entry.measuredSide, 128);
  if (first.precision === 'bf16') assert.ok(entry.bf16PsnrDb! >= MIN_BF16_PSNR_DB);
  const timed = (entry.timings as Array<{ runtime: string; precision: string }>).map((x) => `${x.runtime}/${x.precision}`);
  t.diagnostic(`${describeBf16()}: timed ${timed.join(', ')}${entry.bf16PsnrDb === undefined ? '' : `; bf16 ${entry.bf16PsnrDb.toFixed(1)} dB`}`);
  if (cpuHasFastBf16()) {
    assert.ok(timed.includes('engine/bf16') && entry.bf16PsnrDb !== undefined, 'native bf16: the bf16 path is timed and its PSNR measured');
  } else {
    assert.ok(!timed.includes('engine/bf16'), 'no native bf16: bf16 (emulated, slower than float32) is not even timed');
    assert.equal(entry.bf16PsnrDb, undefined);
    assert.notEqual(first.precision, 'bf16');
  }

  const again = await chooseRuntime({ card, folder, cacheFile, size: 256 });
  assert.deepEqual([again.runtime, again.precision], [first.runtime, first.precision]);
  assert.match(again.reason, /cached in/);
  // Another bucket is another measurement.
  await chooseRuntime({ card, folder, cacheFile, size: 1000 });
  assert.equal(Object.keys((JSON.parse(await readFile(cacheFile, 'utf8')) as { entries: object }).entries).length, 2);
});
