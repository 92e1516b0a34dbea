/**
 * `npm run bench:ddp` — data-parallel training on this machine, in one run:
 *
 *  1. images/s of the paper's style network + the default loss (VGG-19 to relu3_3, random
 *     weights, random 256² images, global batch 4): 1 process × 2 threads against 2 processes ×
 *     1 thread (`perceptual launch`'s split), the latter through the trainer's DataParallel path
 *     (one bucketed gradient all-reduce per step);
 *  2. the time of an all-reduce (avg) of the style network's gradients (1.68 M floats; one flat
 *     tensor, and the 20-odd gradient tensors as one bucket) between 2 processes over
 *     127.0.0.1, this engine's c10d binding against python3-torch's torch.distributed (gloo)
 *     doing the same (bench/reference/allreduce.py);
 *  3. projected weak scaling to 2–16 machines (batch 4 per machine): compute / (compute +
 *     all-reduce), compute being this machine's faster setup of (1), the all-reduce by the ring model 2(M−1)/M · bytes / bandwidth + 2(M−1) · latency
 *     for 1 and 10 Gbit/s Ethernet — gloo's ring all-reduce; the network is not measured here.
 *
 * Prints tables; asserts nothing. usage: npm run bench:ddp -- [--size 256] [--steps 3] [--reps 30] [--precision float32|bf16] [--only throughput|allreduce]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { freePort } from '../src/util/free-port.js';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultPrecision, engineInfo, type Precision } from '../src/engine/index.js';
import { buildStyleNet } from '../src/models/transformer-net.js';
import { launch } from '../src/cli/commands/launch.js';
import { SYSTEM_PYTHON } from '../test/python-fixtures.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1]! : dflt);
const size = Number(opt('size', '256')), steps = Number(opt('steps', '3')), reps = Number(opt('reps', '30'));
const precision = opt('precision', defaultPrecision()) as Precision;
/** Run one part only (throughput also gives the scaling projection its compute time). */
const only = opt('only', 'all') as 'all' | 'throughput' | 'allreduce';
const GLOBAL_BATCH = 4; // the paper's
const worker = [process.execPath, '--import', 'tsx', path.join(here, 'ddp-worker.ts')];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;


function runJson(cmd: string, argv: string[], env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(out.trim() ? JSON.parse(out.trim().split('\n').at(-1)!) : {}) : reject(new Error(`${path.basename(argv.at(-4) ?? cmd)} failed (${code}):\n${err.slice(-2000)}`))));
  });
}

/** Two workers through `perceptual launch`'s code; rank 0's JSON line. */
async function launched(command: string[]): Promise<Record<string, unknown>> {
  let json: Record<string, unknown> | undefined;
  const errs: string[] = [];
  const r = await launch({
    nprocPerNode: 2, masterPort: await freePort(), command, entry: worker, timeout: 600,
    out: (l) => { const m = /^\[rank 0\] (\{.*\})$/.exec(l); if (m) json = JSON.parse(m[1]!); },
    err: (l) => errs.push(l),
  });
  if (r.exitCode !== 0 || !json) throw new Error(`launch ${command.join(' ')} failed:\n${errs.slice(-30).join('\n')}`);
  return json;
}

async function pythonAllreduce(floats: number, shapes: number[][]): Promise<{ flat: number; list: number }> {
  const port = String(await freePort());
  const script = path.join(here, 'reference', 'allreduce.py');
  const ranks = [0, 1].map((rank) => runJson(SYSTEM_PYTHON, [script, String(floats), String(reps), JSON.stringify(shapes)], { MASTER_ADDR: '127.0.0.1', MASTER_PORT: port, WORLD_SIZE: '2', RANK: String(rank), OMP_NUM_THREADS: '1' }));
  return (await Promise.all(ranks))[0] as { flat: number; list: number };
}

const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? os.cpus()[0]?.model ?? 'unknown CPU').trim();
const cores = os.availableParallelism();
const net0 = buildStyleNet('paper');
const shapes = net0.parameters().map((p) => p.shape);
const floats = net0.numParameters();
net0.dispose();
console.log(`bench:ddp — ${cpu}, ${cores} cores, libtorch ${engineInfo().libtorch}, ${precision}, ${size}×${size}, global batch ${GLOBAL_BATCH}; load average at start ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);

// 1. throughput
let s1 = NaN, s2 = NaN;
if (only !== 'allreduce') {
const one = await runJson(worker[0]!, [...worker.slice(1), 'train', String(size), String(GLOBAL_BATCH), String(steps), precision], { PERCEPTUAL_THREADS: String(cores) });
const two = await launched(['train', String(size), String(GLOBAL_BATCH), String(steps), precision]);
s1 = one.median as number;
s2 = two.median as number;
console.log('\n| setup | step (median of ' + steps + ') | images/s |');
console.log('|---|---|---|');
console.log(`| 1 process × ${cores} threads, batch ${GLOBAL_BATCH} | ${s1.toFixed(3)} s | ${(GLOBAL_BATCH / s1).toFixed(2)} |`);
console.log(`| 2 processes × ${Math.max(1, Math.floor(cores / 2))} thread, ${GLOBAL_BATCH / 2} each + all-reduce | ${s2.toFixed(3)} s | ${(GLOBAL_BATCH / s2).toFixed(2)} |`);

}

// 2. all-reduce of the style network's gradients, this binding vs python3-torch (alternating, twice)
if (only !== 'throughput') {
const ours: Array<{ flat: number; list: number }> = [], theirs: Array<{ flat: number; list: number }> = [];
const ROUNDS = 4; // alternating, so a burst of load on the shared machine hits both sides
for (let round = 0; round < ROUNDS; round++) {
  ours.push((await launched(['allreduce', String(floats), String(reps)])) as { flat: number; list: number });
  theirs.push(await pythonAllreduce(floats, shapes));
}
const m = (xs: Array<{ flat: number; list: number }>, k: 'flat' | 'list') => median(xs.map((x) => x[k]));
console.log(`\nall-reduce (avg) of ${floats.toLocaleString('en')} floats (${(floats * 4 / 2 ** 20).toFixed(2)} MiB) between 2 processes on 127.0.0.1, median of ${ROUNDS} alternating rounds, each the median of ${reps}:`);
console.log('\n| payload | this engine (c10d gloo) | python3-torch (torch.distributed gloo) | ratio |');
console.log('|---|---|---|---|');
for (const k of ['flat', 'list'] as const) {
  const a = m(ours, k), b = m(theirs, k);
  console.log(`| ${k === 'flat' ? 'one flat tensor' : `${shapes.length} gradient tensors, one bucket (flatten, all-reduce, copy back)`} | ${(a * 1000).toFixed(2)} ms | ${(b * 1000).toFixed(2)} ms | ${(a / b).toFixed(3)} |`);
}

}

// 3. projected weak scaling
if (Number.isFinite(s1)) {
const compute = Math.min(s1, s2); // one machine's step at batch 4: the faster of its two setups
const bytes = floats * 4, latency = 50e-6;
const ringS = (machines: number, gbit: number) => (2 * (machines - 1) / machines) * bytes / (gbit * 1e9 / 8) + 2 * (machines - 1) * latency;
console.log(`\nprojected scaling, ${GLOBAL_BATCH} images per machine per step: compute ${compute.toFixed(3)} s per step (the faster setup measured above); ring all-reduce of ${(bytes / 2 ** 20).toFixed(2)} MiB, ${latency * 1e6} µs per hop:`);
console.log('\n| machines | all-reduce 1 Gbit/s | efficiency | speed-up | all-reduce 10 Gbit/s | efficiency | speed-up |');
console.log('|---|---|---|---|---|---|---|');
for (const M of [2, 4, 8, 16]) {
  const cells = [1, 10].flatMap((g) => {
    const t = ringS(M, g), e = compute / (compute + t);
    return [`${(t * 1000).toFixed(1)} ms`, `${(100 * e).toFixed(1)} %`, `${(M * e).toFixed(2)}×`];
  });
  console.log(`| ${M} | ${cells.join(' | ')} |`);
}
}
console.log(`\nload average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
