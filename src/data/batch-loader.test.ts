import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchLoader, SkipSample, type BatchLoaderOptions, type SampleContext } from './batch-loader.js';
import { SampleOrder } from './sample-order.js';

const files = Array.from({ length: 10 }, (_, i) => `f${i}`);

/** A loader over fake files whose "decode" returns the file name and its sample seed. */
function loader(extra: Partial<BatchLoaderOptions<string>> = {}, calls: string[] = []) {
  return new BatchLoader<string>({
    files,
    batchSize: 4,
    seed: 5,
    prefetch: 2,
    decode: async ({ file, seed }: SampleContext) => {
      calls.push(file);
      await sleep(1);
      return `${file}#${seed}`;
    },
    ...extra,
  });
}

test('batches follow the seeded order and straddle epoch boundaries', async () => {
  const order = new SampleOrder(files.length, 5);
  const expected: string[] = [];
  for (let p = { epoch: 0, index: 0 }; expected.length < 12; p = order.next(p)) {
    expected.push(`f${order.fileIndex(p)}#${order.sampleSeed(p)}`);
  }
  const l = loader();
  const got: string[] = [];
  const positions = [];
  for (let i = 0; i < 3; i++) {
    const b = await l.next();
    got.push(...b.samples);
    assert.deepEqual(b.files, b.samples.map((s) => s.split('#')[0]));
    positions.push(b.position);
  }
  l.close();
  assert.deepEqual(got, expected);
  assert.deepEqual(positions, [{ epoch: 0, index: 4 }, { epoch: 0, index: 8 }, { epoch: 1, index: 2 }]);
});

test('resume: a loader created from a saved position yields exactly the next batch', async () => {
  const a = loader();
  for (let i = 0; i < 3; i++) await a.next();
  const saved = JSON.parse(JSON.stringify(a.position));
  const fourth = await a.next();
  a.close();
  const b = loader({ position: saved });
  assert.deepEqual(await b.next(), fourth);
  b.close();
});

test('prefetch: decodes are queued ahead and replaced as soon as samples are taken', async () => {
  const calls: string[] = [];
  const l = loader({ prefetch: 3 }, calls);
  assert.equal(calls.length, 12, 'three batches queued on construction');
  await l.next();
  assert.equal(calls.length, 16, 'refilled after a batch');
  l.close();
});

test('skips: reported once per file, counted, batch filled from the following files, not decoded again', async () => {
  const skips: Array<[string, string]> = [];
  const calls: string[] = [];
  const bad = new Set(['f2', 'f7']);
  const l = new BatchLoader<string>({
    files,
    batchSize: 4,
    seed: 1,
    prefetch: 1,
    onSkip: (f, r) => skips.push([f, r]),
    decode: async ({ file }) => {
      calls.push(file);
      if (bad.has(file)) throw new SkipSample(`cannot decode ${file}`);
      return file;
    },
  });
  const seen: string[] = [];
  for (let i = 0; i < 8; i++) {
    const b = await l.next(); // 32 samples: more than three epochs of 8 good files
    assert.equal(b.samples.length, 4);
    seen.push(...b.samples);
  }
  assert.ok(seen.every((f) => !bad.has(f)));
  assert.deepEqual(skips.map(([f]) => f).sort(), ['f2', 'f7']);
  assert.match(skips[0]![1], /cannot decode f[27]/);
  assert.equal(l.skipped, 2);
  assert.equal(l.stats().skipped, 2);
  assert.equal(calls.filter((f) => bad.has(f)).length, 2, 'known-bad files are not decoded again');
  // 8 batches of 4 = 32 good samples = 4 epochs of 8 good files; position counts the skipped files too
  assert.deepEqual(l.position, { epoch: 4, index: 0 });
  l.close();
});

test('everything unreadable: a clear error, not an endless loop', async () => {
  const l = new BatchLoader<string>({
    files,
    batchSize: 4,
    seed: 1,
    name: 'style images in /x',
    decode: async ({ file }) => {
      throw new SkipSample(`bad ${file}`);
    },
  });
  await assert.rejects(l.next(), /style images in \/x: cannot fill a batch: all 10 images were skipped .*bad f\d/);
  await assert.rejects(l.next(), /cannot fill a batch/, 'the loader stays closed with the same reason');
});

test('a bug in decode (not SkipSample) stops the loader', async () => {
  const l = new BatchLoader<string>({
    files,
    batchSize: 2,
    seed: 1,
    decode: async ({ file }) => {
      if (file === 'f3') throw new TypeError('oops');
      return file;
    },
  });
  await assert.rejects(async () => {
    for (let i = 0; i < 10; i++) await l.next();
  }, /oops/);
});

test('abort: next() rejects, the loader closes, position stays at the last batch returned', async () => {
  const l = loader({
    decode: async ({ file }) => {
      await sleep(file === 'f0' || file === 'f1' ? 1 : 5000, undefined, { ref: false });
      return file;
    },
    files: ['f0', 'f1', 'f2'],
    batchSize: 1,
    seed: 0,
  });
  // find a batch that waits: f2 never comes in time
  const ac = new AbortController();
  let n = 0;
  const t = setTimeout(() => ac.abort(), 100);
  await assert.rejects(async () => {
    for (;;) {
      await l.next({ signal: ac.signal });
      n++;
    }
  }, { name: 'AbortError' });
  clearTimeout(t);
  assert.ok(n <= 2);
  assert.equal(l.position.epoch, 0);
  assert.equal(l.position.index, n);
  await assert.rejects(l.next(), { name: 'AbortError' });
});

test('constructor signal and close()', async () => {
  const ac = new AbortController();
  const l = loader({ signal: ac.signal });
  await l.next();
  ac.abort();
  await assert.rejects(l.next(), { name: 'AbortError' });
  const m = loader();
  m.close();
  await assert.rejects(m.next(), /closed/);
  const k = loader();
  const pending = k.next();
  k.close(); // while next() is yielding to the event loop
  await assert.rejects(pending, /closed/);
});

test('concurrent next() calls are served in order', async () => {
  const a = loader();
  const [b1, b2, b3] = await Promise.all([a.next(), a.next(), a.next()]);
  a.close();
  const b = loader();
  assert.deepEqual(b1, await b.next());
  assert.deepEqual(b2, await b.next());
  assert.deepEqual(b3, await b.next());
  b.close();
});

test('stats: waiting shows up in waitMs; a consumer slower than decoding barely waits', async () => {
  const slow = new BatchLoader<number>({
    files,
    batchSize: 2,
    seed: 0,
    prefetch: 1,
    decode: async () => {
      await sleep(30);
      return 1;
    },
  });
  for (let i = 0; i < 3; i++) await slow.next();
  const s = slow.stats();
  slow.close();
  assert.equal(s.batches, 3);
  assert.equal(s.samples, 6);
  assert.ok(s.waitMs >= 60, `waited ${s.waitMs} ms`);
  assert.ok(s.decodeMs >= 60, `decode busy ${s.decodeMs} ms`);

  const fast = new BatchLoader<number>({ files, batchSize: 2, seed: 0, prefetch: 2, decode: async () => 1 });
  await fast.next();
  const before = fast.stats().waitMs;
  for (let i = 0; i < 5; i++) {
    const until = performance.now() + 20; // a "training step" blocking the main thread
    while (performance.now() < until);
    await fast.next();
  }
  const waited = fast.stats().waitMs - before;
  fast.close();
  assert.ok(waited < 50, `waited ${waited} ms over 5 batches`);
});

test('option checks', () => {
  assert.throws(() => loader({ batchSize: 0 }), /batchSize/);
  assert.throws(() => loader({ prefetch: 0 }), /prefetch/);
  assert.throws(() => loader({ files: [] }), /no files/);
  assert.throws(() => loader({ position: { epoch: 0, index: 11 } }), /invalid data position/);
});
