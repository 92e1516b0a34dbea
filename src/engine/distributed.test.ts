/**
 * The c10d binding: collectives between real processes on 127.0.0.1 (never in-process fakes),
 * a python3-torch rank in the same process group, and the errors a user meets — a port in use,
 * a peer that never comes, a peer that dies mid-collective — as clear Errors within bounded time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { freePort } from '../util/free-port.js';
import path from 'node:path';
import { ProcessGroup, DistributedError, distributedInfo } from './distributed.js';
import { SYSTEM_PYTHON } from '../../test/python-fixtures.js';
import { hasTorch, NO_TORCH } from '../../test/helpers/python-torch.js';

const here = import.meta.dirname;


interface Proc {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], timeoutMs: number, input?: string): { done: Promise<Proc>; kill: () => void; pid?: number } {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PERCEPTUAL_THREADS: '1' } });
  let stdout = '', stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  if (input !== undefined) child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<Proc>((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { done, kill: () => child.kill('SIGKILL'), pid: child.pid };
}

/** A TypeScript rank running `body` (a function body with `pg`, `tensor`, `rank` in scope, printing JSON on stdout). */
function tsRank(port: number, rank: number, worldSize: number, body: string, timeoutMs = 60_000, isServer?: boolean) {
  const src = `
    import { ProcessGroup, tensor, zeros } from ${JSON.stringify(path.join(here, 'index.ts'))};
    const rank = ${rank};
    const pg = await ProcessGroup.init({ masterAddr: '127.0.0.1', masterPort: ${port}, rank, worldSize: ${worldSize}, timeoutMs: 20000${isServer === undefined ? '' : `, isServer: ${isServer}`} });
    ${body}
    await pg.destroy();`;
  return run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', src], timeoutMs);
}

test('the engine build has c10d with gloo', () => {
  const info = distributedInfo();
  assert.equal(info.available, true, info.reason);
  assert.ok(info.backends.includes('gloo'));
});

test('allreduce (sum, avg, max; bucketed lists with a channels-last tensor), broadcast, barrier and the store across 3 processes', async () => {
  const port = await freePort();
  // Rank r contributes (r + 1)·base; base tensors of several shapes, one channels-last and one
  // larger than the 64-byte bucket cap below, so the list spans several buckets.
  const body = `
    const base = [Float32Array.from({ length: 6 }, (_, i) => i - 2.5), Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)), Float32Array.from({ length: 40 }, (_, i) => i / 7)];
    const mk = () => [tensor(base[0].map((v) => v * (rank + 1)), [2, 3]), tensor(base[1].map((v) => v * (rank + 1)), [1, 2, 3, 4]).contiguous('channels_last'), tensor(base[2].map((v) => v * (rank + 1)), [40])];
    const s = mk(); await pg.allReduce(s, { op: 'sum', bucketBytes: 64 });
    const a = mk(); await pg.allReduce(a, { op: 'avg' });
    const m = mk(); await pg.allReduce(m, { op: 'max' });
    const b = [tensor(Float32Array.from({ length: 5 }, (_, i) => rank * 100 + i), [5])];
    b[0].requiresGrad = true; // parameters are leaves that require grad
    await pg.broadcast(b, { root: 2 });
    await pg.store.set('from/' + rank, 'hello ' + rank);
    const peer = await pg.store.get('from/' + ((rank + 1) % 3));
    await pg.barrier();
    console.log(JSON.stringify({ s: s.map((t) => Array.from(t.contiguous().toFloat32Array())), a: a.map((t) => Array.from(t.contiguous().toFloat32Array())), m: m.map((t) => Array.from(t.contiguous().toFloat32Array())), cl: s[1].isChannelsLast, b: Array.from(b[0].toFloat32Array()), peer, size: pg.worldSize }));`;
  const ranks = [0, 1, 2].map((r) => tsRank(port, r, 3, body));
  const outs = await Promise.all(ranks.map((r) => r.done));
  const base = [Array.from({ length: 6 }, (_, i) => i - 2.5), Array.from({ length: 24 }, (_, i) => Math.fround(Math.sin(i))), Array.from({ length: 40 }, (_, i) => Math.fround(i / 7))];
  outs.forEach((o, rank) => {
    assert.equal(o.code, 0, o.stderr);
    const r = JSON.parse(o.stdout.trim().split('\n').at(-1)!);
    assert.equal(r.size, 3);
    // Σ_r (r+1)·x = 6x; avg = 2x; max = 3x (x ≥ 0) or 1x (x < 0): exact in float32 for these values up to rounding of the products
    r.s.forEach((t: number[], k: number) => t.forEach((v, i) => assert.ok(Math.abs(v - 6 * base[k]![i]!) <= 1e-5 * (1 + Math.abs(v)), `sum ${k}[${i}]: ${v}`)));
    r.a.forEach((t: number[], k: number) => t.forEach((v, i) => assert.ok(Math.abs(v - 2 * base[k]![i]!) <= 1e-5 * (1 + Math.abs(v)), `avg ${k}[${i}]: ${v}`)));
    r.m.forEach((t: number[], k: number) => t.forEach((v, i) => assert.ok(Math.abs(v - (base[k]![i]! >= 0 ? 3 : 1) * base[k]![i]!) <= 1e-5 * (1 + Math.abs(v)), `max ${k}[${i}]`)));
    assert.equal(r.cl, true, 'a channels-last tensor stays channels-last');
    assert.deepEqual(r.b, [200, 201, 202, 203, 204]);
    assert.equal(r.peer, `hello ${(rank + 1) % 3}`);
  });
});

test('a python3-torch process (torch.distributed, gloo) joins a TypeScript rank in one process group, either side hosting the store', { skip: hasTorch() ? false : NO_TORCH, timeout: 120_000 }, async () => {
  for (const tsRankNo of [0, 1]) {
    const port = await freePort();
    const pyRank = 1 - tsRankNo;
    // python: the documented entry point, init_process_group with a tcp:// rendezvous (hosting it when rank 0)
    const py = run(SYSTEM_PYTHON, ['-c', `
import datetime, json, torch, torch.distributed as dist
dist.init_process_group('gloo', init_method='tcp://127.0.0.1:${port}', rank=${pyRank}, world_size=2, timeout=datetime.timedelta(seconds=20))
x = torch.arange(1000, dtype=torch.float32) * ${pyRank + 1} + 0.25
y = torch.full((3, 5), 2.0 ** ${pyRank})
# one bucket, as DDP flattens its gradients: torch's own flatten/unflatten of the list
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors
flat = _flatten_dense_tensors([x, y])
dist.all_reduce(flat)
x, y = _unflatten_dense_tensors(flat, [x, y])
b = torch.full((4,), float(${pyRank}))
dist.broadcast(b, src=0)
dist.barrier()
print(json.dumps({'x': x.tolist(), 'y': y.tolist(), 'b': b.tolist(), 'size': dist.get_world_size()}))
dist.destroy_process_group()
`], 60_000);
    const ts = tsRank(port, tsRankNo, 2, `
      const x = tensor(Float32Array.from({ length: 1000 }, (_, i) => i * (rank + 1) + 0.25), [1000]);
      const y = tensor(new Float32Array(15).fill(2 ** rank), [3, 5]);
      await pg.allReduce([x, y]); // bucketed: the same one collective of 1015 floats as python's flattened buffer
      const b = tensor(new Float32Array(4).fill(rank), [4]);
      await pg.broadcast(b, { root: 0 });
      await pg.barrier();
      console.log(JSON.stringify({ x: Array.from(x.toFloat32Array()), y: Array.from(y.toFloat32Array()), b: Array.from(b.toFloat32Array()) }));`, 60_000, tsRankNo === 0 ? true : false);
    const [p, t] = await Promise.all([py.done, ts.done]);
    assert.equal(p.code, 0, `python rank ${pyRank}: ${p.stderr}`);
    assert.equal(t.code, 0, `TypeScript rank ${tsRankNo}: ${t.stderr}`);
    const P = JSON.parse(p.stdout.trim().split('\n').at(-1)!), T = JSON.parse(t.stdout.trim().split('\n').at(-1)!);
    assert.equal(P.size, 2);
    // Σ over both ranks, computed here independently: i·1 + 0.25 + i·2 + 0.25 = 3i + 0.5; 2⁰ + 2¹ = 3
    const expectX = Array.from({ length: 1000 }, (_, i) => 3 * i + 0.5);
    assert.deepEqual(P.x, expectX);
    assert.deepEqual(T.x, expectX);
    assert.deepEqual(P.y.flat(), new Array(15).fill(3));
    assert.deepEqual(T.y, new Array(15).fill(3));
    assert.deepEqual(P.b, [0, 0, 0, 0]);
    assert.deepEqual(T.b, [0, 0, 0, 0]);
  }
});

test('asking for NCCL on a libtorch without it is a clear error', async () => {
  await assert.rejects(ProcessGroup.init({ masterAddr: '127.0.0.1', masterPort: 1, rank: 0, worldSize: 2, backend: 'nccl' }), /rank 0: the nccl backend is not in this engine build \(it has: gloo\)/);
});

test('a port in use is a clear error naming the port, not a hang', { timeout: 30_000 }, async () => {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '0.0.0.0', r));
  const port = (srv.address() as net.AddressInfo).port;
  try {
    const t0 = Date.now();
    await assert.rejects(
      ProcessGroup.init({ masterAddr: '127.0.0.1', masterPort: port, rank: 0, worldSize: 2, timeoutMs: 5000 }),
      (e: unknown) => e instanceof DistributedError && e.rank === 0 && new RegExp(`rank 0 of 2.*hosting.*127\\.0\\.0\\.1:${port}`).test(e.message) && /in use/i.test(e.message) && e.message.includes('--master-port'),
    );
    assert.ok(Date.now() - t0 < 5000);
  } finally {
    srv.close();
  }
});

test('a peer that never joins: init fails after the timeout, naming the rank', { timeout: 30_000 }, async () => {
  const port = await freePort();
  const t0 = Date.now();
  await assert.rejects(
    ProcessGroup.init({ masterAddr: '127.0.0.1', masterPort: port, rank: 0, worldSize: 2, timeoutMs: 1500 }),
    (e: unknown) => e instanceof DistributedError && /rank 0 of 2/.test(e.message) && /did not take part within 1500 ms/.test(e.message),
  );
  const took = Date.now() - t0;
  assert.ok(took >= 1400 && took < 15_000, `failed after ${took} ms`);
});

test('a peer that dies mid-run: the waiting all-reduce rejects (event loop free meanwhile) with an error naming the rank and the tensors', { timeout: 60_000 }, async () => {
  const port = await freePort();
  // rank 1 joins, takes part in one all-reduce, lets rank 0 wait in the next for a second, then dies without a word
  const r1 = tsRank(port, 1, 2, `const t = tensor(new Float32Array(8), [8]); await pg.allReduce(t); await new Promise((r) => setTimeout(r, 1000)); process.kill(process.pid, 'SIGKILL');`);
  const pg = await ProcessGroup.init({ masterAddr: '127.0.0.1', masterPort: port, rank: 0, worldSize: 2, timeoutMs: 20_000 });
  try {
    const { tensor } = await import('./creation.js');
    const t = tensor(new Float32Array(8), [8]);
    await pg.allReduce(t);
    const big = [tensor(new Float32Array(1000), [10, 100]), tensor(new Float32Array(3), [3])];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const t0 = Date.now();
    try {
      await assert.rejects(pg.allReduce(big, { op: 'avg' }), (e: unknown) => {
        assert.ok(e instanceof DistributedError);
        assert.match(e.message, /allreduce\(avg\) of 2 tensors \(1003 elements: \[10,100\] float32 \[3\] float32\) on rank 0 of 2/);
        assert.match(e.message, /a peer process ended/);
        return true;
      });
    } finally {
      clearInterval(timer);
    }
    assert.ok(Date.now() - t0 < 20_000, 'well before the 20 s timeout');
    assert.ok(Date.now() - t0 >= 900, 'it did wait for the peer');
    assert.ok(ticks >= 5, `the event loop ran while the collective waited (${ticks} timer ticks)`);
  } finally {
    await pg.destroy();
    const r = await r1.done;
    assert.equal(r.signal, 'SIGKILL');
  }
});
