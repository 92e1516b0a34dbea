import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { WorkerPool, WorkerTaskError } from './worker-pool.js';
import type { SrPair, SrPairRequest } from './sr-dataset.js';

// Exercised through the real SR pair worker (the pool's only user), running from source.
const MODULE = new URL('./sr-pair-worker.ts', import.meta.url);

test('runs requests on workers, transfers results back, rebuilds thrown errors by name, closes', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-pool-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const good = path.join(dir, 'g.png');
  await sharp({ create: { width: 20, height: 20, channels: 3, background: '#102030' } }).png().toFile(good);
  await fs.writeFile(path.join(dir, 'bad.jpg'), 'nope');

  const pool = new WorkerPool<SrPairRequest, SrPair>(MODULE, 2, 'test');
  const req = { seed: 1, crop: 8, factor: 2, mode: 'bicubic' as const };
  const results = await Promise.all([1, 2, 3, 4].map((seed) => pool.run({ ...req, seed, file: good })));
  for (const r of results) {
    assert.ok(r.hr.data instanceof Uint8Array && r.hr.data.length === 8 * 8 * 3);
    assert.ok(r.lr.data instanceof Float32Array && r.lr.data.length === 4 * 4 * 3);
    assert.deepEqual(Array.from(r.lr.data.subarray(0, 3)), [16, 32, 48]);
  }
  await assert.rejects(pool.run({ ...req, file: path.join(dir, 'bad.jpg') }), (e) => e instanceof WorkerTaskError && e.name === 'SkipSample');
  await assert.rejects(pool.run({ ...req, file: good, crop: 40 }), (e) => e instanceof WorkerTaskError && /smaller than the 40×40 crop/.test((e as Error).message));
  const pending = assert.rejects(pool.run({ ...req, file: good }), /closed/);
  await pool.close();
  await pending;
  await assert.rejects(pool.run({ ...req, file: good }), /closed/);
});

test('size check', () => {
  assert.throws(() => new WorkerPool(MODULE, 0), /positive integer/);
});
