import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, createRng } from './rng.js';

test('same seed, same sequence; different seeds differ', () => {
  const a = new Rng(42), b = createRng(42), c = new Rng(43);
  const sa = Array.from({ length: 20 }, () => a.uint32());
  const sb = Array.from({ length: 20 }, () => b.uint32());
  const sc = Array.from({ length: 20 }, () => c.uint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  // mulberry32 reference value for seed 0 (first output), pinned so the stream never silently changes.
  assert.equal(new Rng(0).uint32(), 1144304738);
});

test('next() is in [0, 1) and roughly uniform', () => {
  const r = new Rng(1);
  const bins = new Array(10).fill(0);
  for (let i = 0; i < 20000; i++) {
    const v = r.next();
    assert.ok(v >= 0 && v < 1);
    bins[Math.floor(v * 10)]++;
  }
  for (const b of bins) assert.ok(b > 1800 && b < 2200, `bin count ${b}`);
});

test('int(n) stays in range, hits every value, rejects bad n', () => {
  const r = new Rng(7);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const v = r.int(7);
    assert.ok(Number.isInteger(v) && v >= 0 && v < 7);
    seen.add(v);
  }
  assert.equal(seen.size, 7);
  assert.equal(r.int(1), 0);
  assert.throws(() => r.int(0), /n must be an integer/);
  assert.throws(() => r.int(2.5), /n must be an integer/);
});

test('shuffle is an in-place permutation, deterministic per seed', () => {
  const arr = Array.from({ length: 50 }, (_, i) => i);
  const out = new Rng(5).shuffle(arr);
  assert.equal(out, arr);
  assert.deepEqual([...arr].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(arr, Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(new Rng(5).permutation(50), arr);
  assert.deepEqual(new Rng(5).shuffle([]), []);
});

test('state resumes the same stream; fork gives an independent reproducible stream', () => {
  const r = new Rng(99);
  r.next();
  r.next();
  const resumed = Rng.fromState(r.state);
  assert.deepEqual([r.uint32(), r.uint32()], [resumed.uint32(), resumed.uint32()]);
  const f1 = new Rng(3).fork(), f2 = new Rng(3).fork();
  assert.equal(f1.uint32(), f2.uint32());
  assert.throws(() => new Rng(Number.NaN), /finite/);
});
