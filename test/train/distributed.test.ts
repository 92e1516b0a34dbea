/**
 * Data-parallel training end to end through `perceptual launch` (real processes on 127.0.0.1, c10d
 * gloo): the same weights as one process with the global batch, two "nodes", a killed worker, and
 * exact resume — on a tiny network (3.8 k parameters), 16-px photos and a random VGG-19 to relu3_3.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { freePort } from '../../src/util/free-port.js';
import os from 'node:os';
import path from 'node:path';
import { readSafetensors } from '../../src/nn/safetensors.js';
import { readCheckpointState } from '../../src/train/checkpoint.js';
import { photos, styleImage, randomVggFile, runCli, type Run } from '../helpers/ddp-fixtures.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'perceptual-ddp-'));
const clean = path.join(root, 'photos');
await photos(clean, 10, 0);
const withBroken = path.join(root, 'photos-broken');
await photos(withBroken, 9, 3);
writeFileSync(path.join(withBroken, 'p04-broken.png'), 'not a png'); // skipped: the ranks' positions drift apart
const style = path.join(root, 'style.png');
await styleImage(style);
const vgg = path.join(root, 'vgg19.safetensors');
await randomVggFile(vgg);

const trainArgs = (out: string, o: { batch?: number; iterations: number; data?: string; extra?: string[] }) => [
  'train-style', '--style', style, '--data', o.data ?? clean, '--vgg', vgg, '--arch', 'c9s1-4,d8,R8,u4,c9s1-3', '--norm', 'instance',
  '--image-size', '16', '--batch-size', String(o.batch ?? 4), '--iterations', String(o.iterations), '--precision', 'float32',
  '--checkpoint-every', '3', '--validate-every', '1000', '-o', out, ...(o.extra ?? []),
];


const launchArgs = async (n: number, extra: string[] = []) => ['launch', '--nproc-per-node', String(n), '--master-port', String(await freePort()), '--timeout', '60', ...extra, '--'];

function ok(r: Run, what: string): void {
  assert.equal(r.code, 0, `${what} failed (${r.code ?? r.signal}):\n${r.stderr.slice(-3000)}`);
}

async function weights(dir: string): Promise<Map<string, Float32Array>> {
  const { tensors } = await readSafetensors(path.join(dir, 'model', 'weights.safetensors'));
  return new Map([...tensors].map(([k, t]) => [k, t.data as Float32Array]));
}

/**
 * Conv biases followed by instance norm: the norm subtracts them again, so their gradient is zero
 * in exact arithmetic and float rounding noise alone; Adam's first steps (≈ lr·g/|g|) turn that
 * noise into ±lr moves in ANY two float32 runs. They cannot change an output; left out of the
 * comparison by this rule: a 1-D `.bias` whose `.weight` is 4-D, but not the last layer's.
 */
function inertBiases(w: Map<string, Float32Array>, shapes: Map<string, number[]>): Set<string> {
  const convBiases = [...w.keys()].filter((k) => k.endsWith('.bias') && shapes.get(k.replace(/bias$/, 'weight'))?.length === 4);
  return new Set(convBiases.slice(0, -1));
}

async function maxDiff(a: string, b: string): Promise<{ max: number; skipped: string[] }> {
  const { tensors } = await readSafetensors(path.join(a, 'model', 'weights.safetensors'));
  const shapes = new Map([...tensors].map(([k, t]) => [k, t.shape]));
  const wa = await weights(a), wb = await weights(b);
  const skip = inertBiases(wa, shapes);
  let max = 0;
  for (const [k, x] of wa) {
    if (skip.has(k)) continue;
    const y = wb.get(k)!;
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]! - y[i]!));
  }
  return { max, skipped: [...skip] };
}

async function assertIdentical(a: string, b: string): Promise<void> {
  const wa = await weights(a), wb = await weights(b);
  for (const [k, x] of wa) assert.deepEqual(Array.from(wb.get(k)!), Array.from(x), k);
}

const trainRecords = (dir: string) =>
  readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.kind === 'train');

/** Set by (a), reused by (c): the 2-process run. */
let twoProcessRun: string | undefined;

test('(a) 2 processes × global batch 4 give the weights of 1 process × batch 4 after 5 steps (|Δ| ≤ 1e-5; a half-batch run differs by > 1e-3)', { timeout: 240_000 }, async () => {
  const single = path.join(root, 'a-single'), ddp = path.join(root, 'a-ddp'), half = path.join(root, 'a-half');
  const [r1, r2, r3] = await Promise.all([
    runCli(trainArgs(single, { iterations: 5 }), { timeoutMs: 200_000 }),
    runCli([...(await launchArgs(2)), ...trainArgs(ddp, { iterations: 5 })], { timeoutMs: 200_000 }),
    runCli(trainArgs(half, { iterations: 5, batch: 2 }), { timeoutMs: 200_000 }),
  ]);
  ok(r1, '1 process');
  ok(r2, 'launch');
  ok(r3, 'half batch');
  twoProcessRun = ddp;
  assert.match(r2.stderr, /\[rank 0\] data-parallel: rank 0 of 2 \(gloo/);
  assert.match(r2.stderr, /\[rank 1\] data-parallel: rank 1 of 2 \(gloo/);
  assert.match(r2.stderr, /\[launch\] 2 worker\(s\) on node 0 of 1 \(world size 2\), \d+ thread\(s\) each/);

  const same = await maxDiff(single, ddp);
  assert.equal(same.skipped.length, 5, `inert biases: ${same.skipped}`);
  assert.ok(same.max <= 1e-5, `2 processes vs 1: max |Δw| = ${same.max}`);
  const control = await maxDiff(single, half);
  assert.ok(control.max > 1e-3, `control (half batch) differs by only ${control.max}: the comparison could not see a data error`);

  // rank 0 logs the global batch's mean loss: the single process's value
  const [l1, l2] = [trainRecords(single).at(-1), trainRecords(ddp).at(-1)];
  assert.equal(l2.iteration, 5);
  for (const k of ['total', 'content', 'style', 'tv']) assert.ok(Math.abs(l1[k] - l2[k]) <= 1e-5 * Math.abs(l1[k]), `${k}: ${l1[k]} vs ${l2[k]}`);
  // the checkpoint keeps both ranks' positions: rank r is at element 4·5 + r = 20 + r of the stream (10 photos: epoch 2, index r)
  const ck = await readCheckpointState(path.join(ddp, 'checkpoint.safetensors'));
  assert.deepEqual(ck.extra?.distributed, { worldSize: 2, positions: [{ epoch: 2, index: 0 }, { epoch: 2, index: 1 }] });
  assert.deepEqual(ck.position, { epoch: 2, index: 0 });
});

test('(a, SR) train-sr: 2 processes × global batch 4 = 1 process × batch 4 after 4 steps (|Δ| ≤ 1e-5, every weight)', { timeout: 240_000 }, async () => {
  const sr = (out: string) => ['train-sr', '-x', '4', '--data', clean, '--vgg', vgg, '--net', 'fast', '--patch', '16', '--batch-size', '4', '--iterations', '4', '--precision', 'float32', '--checkpoint-every', '2', '--workers', '0', '-o', out];
  const single = path.join(root, 'a-sr-single'), ddp = path.join(root, 'a-sr-ddp');
  const [r1, r2] = await Promise.all([runCli(sr(single), { timeoutMs: 200_000 }), runCli([...(await launchArgs(2)), ...sr(ddp)], { timeoutMs: 200_000 })]);
  ok(r1, '1 process');
  ok(r2, 'launch');
  const wa = await weights(single), wb = await weights(ddp);
  let max = 0;
  for (const [k, x] of wa) for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]! - wb.get(k)![i]!));
  assert.ok(max <= 1e-5, `max |Δw| = ${max}`);
});

test('(c) two "nodes" on 127.0.0.1 (--nnodes 2, --node-rank 0 / 1) train together: the weights of 2 processes on one node (|Δ| ≤ 1e-5)', { timeout: 240_000 }, async () => {
  const out = path.join(root, 'c-nodes');
  const port = String(await freePort());
  const node = (k: number) => runCli(['launch', '--nproc-per-node', '1', '--nnodes', '2', '--node-rank', String(k), '--master-addr', '127.0.0.1', '--master-port', port, '--timeout', '60', '--', ...trainArgs(out, { iterations: 5 })], { timeoutMs: 200_000 });
  const [n0, n1] = await Promise.all([node(0), node(1)]);
  ok(n0, 'node 0');
  ok(n1, 'node 1');
  assert.match(n0.stderr, /\[launch\] 1 worker\(s\) on node 0 of 2 \(world size 2\)/);
  assert.match(n1.stderr, /\[rank 1\] data-parallel: rank 1 of 2/);
  assert.match(n1.stdout, /\[rank 1\] finished 5 iterations .* model in the model folder written by rank 0/);
  // 2 threads per process here, 1 in (a)'s launch of 2 on this node: equal up to float rounding
  if (twoProcessRun) {
    const d = await maxDiff(twoProcessRun, out);
    assert.ok(d.max <= 1e-5, `two nodes vs one: max |Δw| = ${d.max}`);
  } else assert.ok(readdirSync(path.join(out, 'model')).includes('weights.safetensors'));
});

test('(d) killing one worker ends the run within the timeout, non-zero, with a message naming the rank', { timeout: 120_000 }, async () => {
  const out = path.join(root, 'd-kill');
  let killed = false;
  const t0 = Date.now();
  const r = await runCli([...(await launchArgs(2)), ...trainArgs(out, { iterations: 100_000 })], {
    timeoutMs: 90_000,
    onStderr: (text) => {
      const pid = /\[launch\] rank 1: pid (\d+)/.exec(text)?.[1];
      if (!killed && pid && /\[rank 1\] data-parallel: rank 1 of 2/.test(text)) {
        killed = true;
        setTimeout(() => process.kill(Number(pid), 'SIGKILL'), 500); // mid-training
      }
    },
  });
  assert.ok(killed, `never reached training:\n${r.stderr}`);
  assert.equal(r.code, 1, r.stderr.slice(-2000));
  assert.ok(Date.now() - t0 < 60_000, 'ended well within the 60 s timeout');
  assert.match(r.stderr, /perceptual: rank 1 was killed by SIGKILL/);
  // rank 0 saw its peer go: a clear error, not a hang
  assert.match(r.stderr, /\[rank 0\] perceptual: allreduce\(avg\) of \d+ tensors .* on rank 0 of 2: .*a peer process ended/);
});

test('(e) resume continues exactly: interrupted by Ctrl-C (all ranks stop at the same step) and resumed = straight, with skipped files; another world size is explained', { timeout: 300_000 }, async () => {
  const straight = path.join(root, 'e-straight'), stopped = path.join(root, 'e-stopped');
  const iterations = 200;
  const args = (out: string) => trainArgs(out, { iterations, data: withBroken, extra: ['--checkpoint-every', '4'] });
  const interrupted = runCli([...(await launchArgs(2)), ...args(stopped)], {
    timeoutMs: 200_000,
    onStderr: (text, child) => {
      // Once training runs (rank 0's first progress line, at 10 of 200 iterations; a fixed delay after setup raced with a
      // loaded machine's setup and could stop a rank before its loop): Ctrl-C to the launcher, forwarded once to each worker.
      if (/\[rank 0\] train-style \d+\/\d+/.test(text) && !(child as { sent?: boolean }).sent) {
        (child as { sent?: boolean }).sent = true;
        child.kill('SIGINT');
      }
    },
  });
  const [s, i] = await Promise.all([runCli([...(await launchArgs(2)), ...args(straight)], { timeoutMs: 200_000 }), interrupted]);
  ok(s, 'straight');
  assert.equal(i.code, 130, `interrupted run: ${i.stderr.slice(-2000)}`);
  const at = [0, 1].map((r) => Number(new RegExp(`\\[rank ${r}\\] interrupted at iteration (\\d+)`).exec(i.stdout)?.[1]));
  assert.equal(at[0], at[1], `both ranks stop at the same step:\n${i.stdout}`);
  assert.ok(at[0]! >= 0 && at[0]! < iterations, `stopped at ${at[0]}`);
  const ck = await readCheckpointState(path.join(stopped, 'checkpoint.safetensors'));
  assert.equal(ck.iteration, at[0]);

  const resumed = await runCli([...(await launchArgs(2)), ...args(stopped), '--resume'], { timeoutMs: 200_000 });
  ok(resumed, 'resume');
  assert.match(resumed.stdout, new RegExp(`\\[rank 0\\] finished ${iterations} iterations`));
  await assertIdentical(straight, stopped);
  const skipped = (await readCheckpointState(path.join(straight, 'checkpoint.safetensors'))).extra?.distributed as { positions: Array<{ index: number }> };
  assert.equal(skipped.positions.length, 2);

  // A checkpoint of 2 processes resumed by 1: said clearly, and (no skipped files) the same data follow.
  const two = path.join(root, 'e-two'), mixed = path.join(root, 'e-mixed');
  ok(await runCli([...(await launchArgs(2)), ...trainArgs(two, { iterations: 6 })], { timeoutMs: 200_000 }), '2 processes × 6');
  ok(await runCli([...(await launchArgs(2)), ...trainArgs(mixed, { iterations: 3 })], { timeoutMs: 200_000 }), '2 processes × 3');
  const one = await runCli([...trainArgs(mixed, { iterations: 6 }), '--resume'], { timeoutMs: 200_000 });
  ok(one, '1 process resuming');
  assert.match(one.stderr, /resume: the checkpoint was written by 2 processes, this run has a single process: weights, optimizer state and iteration continue exactly; the data continue the same global sequence/);
  const d = await maxDiff(two, mixed);
  assert.ok(d.max <= 1e-5, `2→1 process resume vs 2 processes straight: max |Δw| = ${d.max}`);
});

test('ranks that do not run the same configuration refuse to start, naming the difference', { timeout: 120_000 }, async () => {
  const port = String(await freePort());
  const out = path.join(root, 'f-mismatch');
  // launch's environment, set by hand: rank 1 asks for another learning rate
  const rank = (r: number, extra: string[]) =>
    runCli([...trainArgs(out, { iterations: 3 }), ...extra], { env: { MASTER_ADDR: '127.0.0.1', MASTER_PORT: port, WORLD_SIZE: '2', RANK: String(r), LOCAL_RANK: String(r), PERCEPTUAL_DIST_TIMEOUT_MS: '30000' }, timeoutMs: 100_000 });
  const [r0, r1] = await Promise.all([rank(0, []), rank(1, ['--lr', '0.002'])]);
  for (const r of [r0, r1]) {
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the ranks do not run the same configuration and state, refusing to start .*rank 1 \(.*\) differs from rank 0 \(.*\) in lr \(0\.002 vs 0\.001\)/);
  }
});
