/**
 * The trainer loop on a tiny task: checkpoints, exact resume, Ctrl-C (abort), NaN guard,
 * log and plot. The model is a 3×3 conv, the data a deterministic function of the position.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tensor, manualSeed, F, type Tensor } from '../engine/index.js';
import { Conv2d } from '../nn/index.js';
import type { LoaderPosition } from '../data/batch-loader.js';
import { train, TrainingDivergedError, type TrainingTask } from './trainer.js';
import { loadCheckpoint } from './checkpoint.js';
import { JsonlLog } from './log.js';

class ToyTask implements TrainingTask<{ x: Tensor; index: number }> {
  readonly name = 'toy';
  readonly batchSize = 2;
  readonly model: Conv2d;
  private position: LoaderPosition;
  constructor(start: LoaderPosition = { epoch: 0, index: 0 }, private readonly nanAt = -1) {
    manualSeed(7);
    this.model = new Conv2d(3, 3, 3, { padding: 1 });
    this.position = { ...start };
  }
  async nextBatch() {
    const i = this.position.index;
    const data = Float32Array.from({ length: 2 * 3 * 6 * 6 }, (_, k) => Math.sin(k * 0.3 + i));
    this.position = { epoch: 0, index: i + 1 };
    return { x: tensor(data, [2, 3, 6, 6]), index: i };
  }
  dataPosition() {
    return { ...this.position };
  }
  losses(b: { x: Tensor; index: number }) {
    const y = this.model.forward(b.x);
    let total = F.mseLoss(y, b.x.mul(0.5));
    if (b.index === this.nanAt) total = total.mul(Number.NaN);
    return { total, parts: { mse: total } };
  }
  releaseBatch(b: { x: Tensor }) {
    b.x.dispose();
  }
  async validate() {
    return { total: 1 };
  }
  async saveSamples() {}
  close() {}
}

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'perceptual-trainer-'));
const weights = (t: ToyTask) => [...t.model.stateDict().values()].map((v) => Array.from(v.toFloat32Array()));

test('checkpoint + resume continues exactly like an uninterrupted run', async () => {
  const straight = new ToyTask();
  await train(straight, { outDir: tmp(), iterations: 6, checkpointEvery: 3, validateEvery: 100, quiet: true });

  const dir = tmp();
  const first = new ToyTask();
  const r1 = await train(first, { outDir: dir, iterations: 3, checkpointEvery: 100, validateEvery: 100, quiet: true });
  assert.equal(r1.iteration, 3);
  const ck = await loadCheckpoint(path.join(dir, 'checkpoint.safetensors'));
  assert.equal(ck.iteration, 3);
  assert.deepEqual(ck.position, { epoch: 0, index: 3 });
  const resumed = new ToyTask(ck.position);
  const r2 = await train(resumed, { outDir: dir, iterations: 6, resume: 'auto', checkpointEvery: 100, validateEvery: 100, quiet: true });
  assert.equal(r2.iteration, 6);
  assert.deepEqual(weights(resumed), weights(straight));

  // a fresh start (no optimizer state) does not reproduce it: the resume test can fail
  const fresh = new ToyTask(ck.position);
  fresh.model.loadStateDict(ck.model);
  await train(fresh, { outDir: tmp(), iterations: 3, checkpointEvery: 100, validateEvery: 100, quiet: true });
  assert.notDeepEqual(weights(fresh), weights(straight));

  const log = await JsonlLog.read(path.join(dir, 'log.jsonl'));
  assert.deepEqual(log.filter((r) => r.kind === 'train').map((r) => r.iteration), [3, 6]);
  assert.ok(readFileSync(path.join(dir, 'losses.svg'), 'utf8').startsWith('<svg'));
});

test('a resume that asks for the iterations already done runs no step and reports the run as it was', async () => {
  const dir = tmp();
  const first = new ToyTask();
  const r1 = await train(first, { outDir: dir, iterations: 3, checkpointEvery: 100, validateEvery: 3, quiet: true });
  const ck = await loadCheckpoint(path.join(dir, 'checkpoint.safetensors'));
  const again = new ToyTask(ck.position);
  const r2 = await train(again, { outDir: dir, iterations: 3, resume: 'auto', checkpointEvery: 100, validateEvery: 100, quiet: true });
  assert.equal(r2.iteration, 3);
  assert.ok(r2.completed);
  assert.deepEqual(weights(again), weights(first));
  // the last losses come from the checkpoint (they were {} before), and the speed is the whole run's, not 0
  assert.deepEqual(r2.lastTrain, r1.lastTrain);
  assert.ok(Object.keys(r2.lastTrain).length > 0);
  assert.deepEqual(r2.lastVal, r1.lastVal);
  const whole = (3 * 2) / r2.elapsed;
  assert.ok(r2.imagesPerSecond > 0 && Math.abs(r2.imagesPerSecond - whole) / whole < 0.05, `images/s ${r2.imagesPerSecond}, expected ${whole}`);
});

test('an aborted run (Ctrl-C) saves a checkpoint where it stopped', async () => {
  const dir = tmp();
  const ac = new AbortController();
  const task = new ToyTask();
  const r = await train(task, {
    outDir: dir,
    iterations: 50,
    quiet: true,
    signal: ac.signal,
    onProgress: (_f, info) => {
      if (info.iteration === 4) ac.abort();
    },
  });
  assert.equal(r.interrupted, true);
  assert.equal(r.iteration, 4);
  assert.equal((await loadCheckpoint(path.join(dir, 'checkpoint.safetensors'))).iteration, 4);
});

test('a NaN loss stops the run before updating the weights and keeps the last good checkpoint', async () => {
  const dir = tmp();
  const task = new ToyTask(undefined, 5);
  await assert.rejects(
    train(task, { outDir: dir, iterations: 10, checkpointEvery: 2, validateEvery: 100, quiet: true }),
    (e: unknown) => e instanceof TrainingDivergedError && e.iteration === 6 && /diverged at iteration 6.*mse=NaN/.test(e.message),
  );
  const ck = await loadCheckpoint(path.join(dir, 'checkpoint.safetensors'));
  assert.equal(ck.iteration, 4);
  for (const v of task.model.stateDict().values()) assert.ok(v.toFloat32Array().every(Number.isFinite));
  assert.ok(existsSync(path.join(dir, 'log.jsonl')));
});

test('warmup: the first Adam step moves each weight by lr/warmup (hand-computed), and a resume inside the warmup continues it exactly', async () => {
  // Adam's first step from fresh moments: m̂ = g, v̂ = g², so Δw = −lr·g/(|g| + ε) ≈ −lr·sign(g) for every weight.
  const lr = 1e-2;
  const stepSizes = async (warmup: number) => {
    const t = new ToyTask();
    const before = weights(t).flat();
    await train(t, { outDir: tmp(), iterations: 1, lr, warmup, checkpointEvery: 100, validateEvery: 100, quiet: true });
    return weights(t).flat().map((w, i) => Math.abs(w - before[i]!)).sort((a, b) => a - b);
  };
  const median = (a: number[]) => a[Math.floor(a.length / 2)]!;
  const plain = await stepSizes(0);
  const warm = await stepSizes(4);
  assert.ok(Math.abs(median(plain) - lr) < 1e-4, `median |Δw| without warmup ${median(plain)}, expected ${lr}`);
  assert.ok(Math.abs(median(warm) - lr / 4) < 2.5e-5, `median |Δw| with warmup 4 ${median(warm)}, expected ${lr / 4}`);
  assert.ok(warm.at(-1)! <= (lr / 4) * 1.0001, `largest |Δw| ${warm.at(-1)} exceeds lr/4`);

  // 6 iterations with warmup 4 in one go, or 3 then a resume: the same weights (the ramp is a function of the iteration)
  const straight = new ToyTask();
  await train(straight, { outDir: tmp(), iterations: 6, lr, warmup: 4, checkpointEvery: 100, validateEvery: 100, quiet: true });
  const dir = tmp();
  await train(new ToyTask(), { outDir: dir, iterations: 3, lr, warmup: 4, checkpointEvery: 100, validateEvery: 100, quiet: true });
  const ck = await loadCheckpoint(path.join(dir, 'checkpoint.safetensors'));
  const resumed = new ToyTask(ck.position);
  await train(resumed, { outDir: dir, iterations: 6, lr, warmup: 4, resume: 'auto', checkpointEvery: 100, validateEvery: 100, quiet: true });
  assert.deepEqual(weights(resumed), weights(straight));
  // and it differs from the run without warmup (the test can fail)
  const noWarm = new ToyTask();
  await train(noWarm, { outDir: tmp(), iterations: 6, lr, checkpointEvery: 100, validateEvery: 100, quiet: true });
  assert.notDeepEqual(weights(noWarm), weights(straight));
});
