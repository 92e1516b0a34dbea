/**
 * The data-parallel pieces that need no second process: torchrun's environment, the global batch
 * split, and DistributedSampler semantics of sharded loaders — the ranks' batches together are the
 * single process's batch, at every step, across epoch boundaries and after a resume with another
 * world size. (Training across real processes: test/train/distributed.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchLoader, SkipSample } from '../data/batch-loader.js';
import { distributedEnv, worldSizeChangeNote, checkpointWorldSize, DEFAULT_MASTER_PORT } from './distributed.js';
import { freePort } from '../util/free-port.js';
import { runNode } from '../../test/helpers/ddp-fixtures.js';

const files = Array.from({ length: 7 }, (_, i) => `f${i}`);
const loader = (o: { batchSize: number; shard?: { rank: number; worldSize: number }; position?: { epoch: number; index: number }; bad?: string[] }) =>
  new BatchLoader<string>({
    files,
    batchSize: o.batchSize,
    seed: 11,
    shard: o.shard,
    position: o.position,
    decode: async ({ file }) => {
      if (o.bad?.includes(file)) throw new SkipSample('unreadable');
      return file;
    },
  });

async function take(l: BatchLoader<string>, n: number): Promise<string[][]> {
  const out: string[][] = [];
  for (let i = 0; i < n; i++) out.push((await l.next()).samples);
  return out;
}

test("torchrun's environment: parsed, defaulted, refused clearly; WORLD_SIZE unset or 1 is a single-process run", () => {
  assert.equal(distributedEnv({}), undefined);
  assert.equal(distributedEnv({ WORLD_SIZE: '1', RANK: '0' }), undefined);
  const e = distributedEnv({ WORLD_SIZE: '4', RANK: '3', LOCAL_RANK: '1', MASTER_ADDR: '10.0.0.1', MASTER_PORT: '29400', GLOO_SOCKET_IFNAME: 'eth0,eth1' })!;
  assert.deepEqual(e, { masterAddr: '10.0.0.1', masterPort: 29400, worldSize: 4, rank: 3, localRank: 1, timeoutMs: 30 * 60 * 1000, interfaces: ['eth0', 'eth1'] });
  assert.equal(distributedEnv({ WORLD_SIZE: '2', RANK: '0', MASTER_ADDR: 'h' })!.masterPort, DEFAULT_MASTER_PORT);
  assert.equal(distributedEnv({ WORLD_SIZE: '2', RANK: '0', MASTER_ADDR: 'h', PERCEPTUAL_DIST_TIMEOUT_MS: '5000' })!.timeoutMs, 5000);
  assert.throws(() => distributedEnv({ WORLD_SIZE: '2', RANK: '2', MASTER_ADDR: 'h' }), /RANK=2 is not below WORLD_SIZE=2/);
  assert.throws(() => distributedEnv({ WORLD_SIZE: '2', MASTER_ADDR: 'h' }), /RANK=\(unset\) must be an integer ≥ 0 .*perceptual launch/);
  assert.throws(() => distributedEnv({ WORLD_SIZE: '2', RANK: '1' }), /MASTER_ADDR is not set/);
  assert.throws(() => distributedEnv({ WORLD_SIZE: 'two', RANK: '1', MASTER_ADDR: 'h' }), /WORLD_SIZE=two must be an integer ≥ 2/);
  assert.throws(() => distributedEnv({ WORLD_SIZE: '2', RANK: '1', MASTER_ADDR: 'h', MASTER_PORT: '70000' }), /MASTER_PORT=70000 is not a port/);
});

test('sharded loaders (DistributedSampler rule over the stream): the ranks of each step hold exactly the single-process batch, across epochs', async () => {
  for (const world of [2, 3]) {
    const B = 6, steps = 5; // 30 samples: more than 4 epochs of 7 files, batches straddling epochs
    const single = await take(loader({ batchSize: B }), steps);
    const ranks = await Promise.all(Array.from({ length: world }, (_, r) => take(loader({ batchSize: B / world, shard: { rank: r, worldSize: world } }), steps)));
    for (let s = 0; s < steps; s++) {
      // element j of the global batch is on rank j mod W, at local index ⌊j / W⌋
      const interleaved = single[s]!.map((_, j) => ranks[j % world]![s]![Math.floor(j / world)]);
      assert.deepEqual(interleaved, single[s], `world ${world}, step ${s}`);
    }
  }
});

test('a sharded loader resumes from its own position, and a global position shifted by the rank rolls over the epoch end', async () => {
  const a = loader({ batchSize: 2, shard: { rank: 1, worldSize: 2 } });
  await take(a, 3);
  const saved = a.position;
  const rest = await take(a, 2);
  assert.deepEqual(await take(loader({ batchSize: 2, shard: { rank: 1, worldSize: 2 }, position: saved }), 2), rest);
  // rank 1 of a run resumed at global position {0, 7 - 1 + 1 = 7}: past the end of epoch 0 → element 0 of epoch 1
  const single = loader({ batchSize: 1, position: { epoch: 1, index: 0 } });
  const shifted = loader({ batchSize: 1, shard: { rank: 1, worldSize: 2 }, position: { epoch: 0, index: 7 } });
  assert.deepEqual((await shifted.next()).samples, (await single.next()).samples);
  assert.throws(() => loader({ batchSize: 1, shard: { rank: 2, worldSize: 2 } }), /shard: rank 2 is not in 0\.\.1/);
});

test('a skipped file is replaced from the same rank’s share (its position moves on; the checkpoint keeps each rank’s)', async () => {
  const order = (await take(loader({ batchSize: 7 }), 1))[0]!; // epoch 0's order
  const bad = order[0]!; // rank 0's first element
  const r0 = loader({ batchSize: 2, shard: { rank: 0, worldSize: 2 }, bad: [bad] });
  const r1 = loader({ batchSize: 2, shard: { rank: 1, worldSize: 2 }, bad: [bad] });
  assert.deepEqual((await r0.next()).samples, [order[2], order[4]]);
  assert.deepEqual((await r1.next()).samples, [order[1], order[3]]);
  assert.deepEqual([r0.position, r1.position], [{ epoch: 0, index: 6 }, { epoch: 0, index: 5 }]);
});

test('resume with another world size: the note says what continues exactly and what does not', () => {
  assert.equal(checkpointWorldSize(undefined), 1);
  assert.equal(checkpointWorldSize({ distributed: { worldSize: 4, positions: [] } }), 4);
  assert.match(worldSizeChangeNote(2, 1), /^resume: the checkpoint was written by 2 processes, this run has a single process: weights, optimizer state and iteration continue exactly; the data continue the same global sequence .*exact unless files were skipped/);
  assert.match(worldSizeChangeNote(1, 4), /written by a single process, this run has 4 processes/);
});

test('reduceStep: a rank stopped before its batch (no loss values) and a rank with values all-reduce the same size, and both stop', { timeout: 90_000 }, async () => {
  // The race of Ctrl-C during training: one rank's batch was aborted, the other's step ran. Their
  // per-step numbers must still have one length (a shorter one made gloo abort the peer).
  const port = await freePort();
  const rank = (r: number) =>
    runNode(['--import', 'tsx', '--input-type=module', '-e', `
      import { DataParallel } from ${JSON.stringify(new URL('./distributed.ts', import.meta.url).pathname)};
      import { tensor } from ${JSON.stringify(new URL('../engine/index.ts', import.meta.url).pathname)};
      const dp = await DataParallel.fromEnv({ env: { MASTER_ADDR: '127.0.0.1', MASTER_PORT: '${port}', RANK: '${r}', WORLD_SIZE: '2' }, log: () => {} });
      const p = tensor(new Float32Array([1, 2, 3]), [3]).requiresGrad_();
      p.sum().mul(${r + 1}).backward();
      const out = ${r === 0 ? 'await dp.reduceStep([p], undefined, true)' : "await dp.reduceStep([p], { total: 5, content: 3, style: 2, tv: 0 }, false)"};
      console.log(JSON.stringify({ stop: out.stop, grad: Array.from(p.grad.toFloat32Array()) }));
      await dp.close();`], { env: { PERCEPTUAL_THREADS: '1' }, timeoutMs: 60_000, what: `rank ${r}` });
  const [a, b] = await Promise.all([rank(0), rank(1)]);
  for (const [r, x] of [[0, a], [1, b]] as const) assert.equal(x.code, 0, `rank ${r} exited ${x.code}: ${x.stderr.slice(-1500)}`);
  const ra = JSON.parse(a.stdout.trim().split('\n').at(-1)!), rb = JSON.parse(b.stdout.trim().split('\n').at(-1)!);
  assert.equal(ra.stop, true);
  assert.equal(rb.stop, true);
  // Rank 0 contributed zeros, rank 1 gradients of 2: the average is 1 on both.
  assert.deepEqual(ra.grad, [1, 1, 1]);
  assert.deepEqual(rb.grad, [1, 1, 1]);
});
