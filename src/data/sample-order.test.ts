import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SampleOrder } from './sample-order.js';
import { Rng } from './rng.js';

test('epoch e is a permutation shuffled with seed + e', () => {
  const o = new SampleOrder(10, 42);
  for (const e of [0, 1, 5]) {
    const p = Array.from(o.permutation(e));
    assert.deepEqual([...p].sort((a, b) => a - b), [...Array(10).keys()]);
    assert.deepEqual(p, new Rng(42 + e).permutation(10));
  }
  assert.notDeepEqual(Array.from(o.permutation(0)), Array.from(o.permutation(1)));
  // same seed, same order (a fresh instance: nothing cached)
  assert.deepEqual(Array.from(new SampleOrder(10, 42).permutation(3)), Array.from(o.permutation(3)));
});

test('positions walk the epochs as one stream', () => {
  const o = new SampleOrder(3, 0);
  let p = { epoch: 0, index: 0 };
  const seen: string[] = [];
  for (let i = 0; i < 7; i++) {
    seen.push(`${p.epoch}:${p.index}`);
    p = o.next(p);
  }
  assert.deepEqual(seen, ['0:0', '0:1', '0:2', '1:0', '1:1', '1:2', '2:0']);
  assert.equal(o.fileIndex({ epoch: 1, index: 2 }), o.permutation(1)[2]);
});

test('normalize accepts JSON positions, maps index = size to the next epoch, refuses nonsense', () => {
  const o = new SampleOrder(5, 1);
  assert.deepEqual(o.normalize(JSON.parse('{"epoch":2,"index":4}')), { epoch: 2, index: 4 });
  assert.deepEqual(o.normalize({ epoch: 2, index: 5 }), { epoch: 3, index: 0 });
  for (const bad of [{ epoch: -1, index: 0 }, { epoch: 0, index: 6 }, { epoch: 0.5, index: 0 }, { epoch: 0, index: NaN }, null]) {
    assert.throws(() => o.normalize(bad as never), /invalid data position/);
  }
  assert.throws(() => new SampleOrder(0, 1), /positive/);
});

test('sample seeds are a pure function of (seed, epoch, index) and differ between samples', () => {
  const a = new SampleOrder(100, 7);
  const b = new SampleOrder(100, 7);
  const seeds = new Set<number>();
  for (let e = 0; e < 3; e++) {
    for (let i = 0; i < 100; i++) {
      const s = a.sampleSeed({ epoch: e, index: i });
      assert.equal(s, b.sampleSeed({ epoch: e, index: i }));
      assert.ok(Number.isInteger(s) && s >= 0 && s < 2 ** 32);
      seeds.add(s);
    }
  }
  assert.equal(seeds.size, 300);
  assert.notEqual(new SampleOrder(100, 8).sampleSeed({ epoch: 0, index: 0 }), a.sampleSeed({ epoch: 0, index: 0 }));
});
