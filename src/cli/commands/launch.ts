/**
 * `perceptual launch --nproc-per-node N [--nnodes M --node-rank K --master-addr A --master-port P] -- train-style …`
 *
 * torchrun for this CLI: starts N workers on this machine with torchrun's environment
 * (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK) and
 * `cores / N` threads each, prefixes every line of their output with the rank, forwards Ctrl-C
 * (once: the workers stop together after the current step and checkpoint), and when a worker
 * fails ends the others and exits non-zero with the failed rank's message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import type { Command } from 'commander';
import { DEFAULT_MASTER_PORT } from '../../train/distributed.js';
import { DEFAULT_DISTRIBUTED_TIMEOUT_MS } from '../../engine/index.js';
import { int, signalExitCode } from '../options.js';

export interface LaunchOptions {
  nprocPerNode: number;
  nnodes?: number;
  nodeRank?: number;
  masterAddr?: string;
  masterPort?: number;
  /** Seconds a rank waits for its peers (joining, each collective); default torch's 30 min. */
  timeout?: number;
  /** The CLI command and its arguments, e.g. ['train-style', '--style', …]. */
  command: string[];
  /** How to start the CLI (default: this process's node, its flags and its entry script). */
  entry?: string[];
  /** Where the prefixed output goes (default process.stdout / process.stderr). */
  out?: (line: string) => void;
  err?: (line: string) => void;
  /** Stop the workers (as Ctrl-C does). */
  signal?: AbortSignal;
  /** Milliseconds between asking a worker to end (SIGTERM) and killing it (default 10 s). */
  killGraceMs?: number;
}

export interface LaunchResult {
  /** 0 when every worker succeeded. */
  exitCode: number;
  /** The first worker to fail, with the last lines it wrote to stderr. */
  failed?: { rank: number; code: number | null; signal: NodeJS.Signals | null; message: string };
}

export const DEFAULT_MASTER_ADDR = '127.0.0.1';

/** Run the workers of this node; resolves when all have exited. */
export async function launch(o: LaunchOptions): Promise<LaunchResult> {
  const nproc = o.nprocPerNode, nnodes = o.nnodes ?? 1, nodeRank = o.nodeRank ?? 0;
  if (!Number.isInteger(nproc) || nproc < 1) throw new Error(`launch: --nproc-per-node must be a positive integer, got ${nproc}`);
  if (!Number.isInteger(nnodes) || nnodes < 1) throw new Error(`launch: --nnodes must be a positive integer, got ${nnodes}`);
  if (!Number.isInteger(nodeRank) || nodeRank < 0 || nodeRank >= nnodes) throw new Error(`launch: --node-rank ${nodeRank} is not in 0..${nnodes - 1}`);
  if (o.command.length === 0) throw new Error('launch: no command to run; write it after --, e.g. perceptual launch --nproc-per-node 2 -- train-style --style s.jpg --data photos -o runs/s');
  const worldSize = nproc * nnodes;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const threads = Math.max(1, Math.floor(cores / nproc));
  const entry = o.entry ?? [process.execPath, ...process.execArgv, process.argv[1]!];
  const out = o.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const err = o.err ?? ((l: string) => process.stderr.write(l + '\n'));
  const grace = o.killGraceMs ?? 10_000;
  err(`[launch] ${nproc} worker(s) on node ${nodeRank} of ${nnodes} (world size ${worldSize}), ${threads} thread(s) each, store at ${o.masterAddr ?? DEFAULT_MASTER_ADDR}:${o.masterPort ?? DEFAULT_MASTER_PORT}`);

  interface Worker {
    rank: number;
    child: ChildProcess;
    tail: string[];
    done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  }
  const workers: Worker[] = [];
  for (let local = 0; local < nproc; local++) {
    const rank = nodeRank * nproc + local;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MASTER_ADDR: o.masterAddr ?? DEFAULT_MASTER_ADDR,
      MASTER_PORT: String(o.masterPort ?? DEFAULT_MASTER_PORT),
      WORLD_SIZE: String(worldSize),
      RANK: String(rank),
      LOCAL_RANK: String(local),
      LOCAL_WORLD_SIZE: String(nproc),
      GROUP_RANK: String(nodeRank),
      PERCEPTUAL_THREADS: String(threads),
      OMP_NUM_THREADS: String(threads),
      ...(o.timeout !== undefined ? { PERCEPTUAL_DIST_TIMEOUT_MS: String(Math.round(o.timeout * 1000)) } : {}),
    };
    // Own process group: a terminal's Ctrl-C reaches the launcher only, which forwards it once.
    const child = spawn(entry[0]!, [...entry.slice(1), ...o.command], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const w: Worker = { rank, child, tail: [], done: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))) };
    child.on('error', (e) => w.tail.push(`cannot start: ${e.message}`));
    pipeLines(child.stdout!, (l) => out(`[rank ${rank}] ${l}`));
    pipeLines(child.stderr!, (l) => {
      err(`[rank ${rank}] ${l}`);
      if (l.trim()) w.tail.push(l);
      if (w.tail.length > 20) w.tail.shift();
    });
    workers.push(w);
    err(`[launch] rank ${rank}: pid ${child.pid}`);
  }

  const alive = new Set(workers);
  let stopping = false;
  let interrupts = 0;
  let killTimer: NodeJS.Timeout | undefined;
  const signalAll = (sig: NodeJS.Signals) => {
    for (const w of alive) {
      try {
        w.child.kill(sig);
      } catch {
        /* already gone */
      }
    }
  };
  const endOthers = () => {
    if (stopping) return;
    stopping = true;
    signalAll('SIGTERM');
    killTimer = setTimeout(() => signalAll('SIGKILL'), grace);
    killTimer.unref();
  };
  const onInterrupt = (sig: NodeJS.Signals) => {
    interrupts++;
    err(interrupts === 1 ? `[launch] ${sig}: asking the workers to stop after the current step…` : `[launch] ${sig} again: stopping the workers now`);
    signalAll(interrupts === 1 ? sig : 'SIGKILL');
  };
  const onSigint = () => onInterrupt('SIGINT');
  const onSigterm = () => onInterrupt('SIGTERM');
  const onAbort = () => onInterrupt('SIGINT');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  // If the launcher itself exits, leave no worker behind.
  const onExit = () => signalAll('SIGKILL');
  process.on('exit', onExit);

  // Failures are collected for a moment before the others are ended: when one worker dies, its
  // peers fail right after it with "a peer process ended"; the root cause is the one that did not.
  const failures: NonNullable<LaunchResult['failed']>[] = [];
  let settle: NodeJS.Timeout | undefined;
  let interruptedCode = 0;
  try {
    await Promise.all(
      workers.map(async (w) => {
        const { code, signal } = await w.done;
        alive.delete(w);
        if (code === 0) return;
        if (interrupts > 0 && (code === 130 || code === 143 || signal === 'SIGINT' || signal === 'SIGTERM')) {
          interruptedCode ||= code ?? signalExitCode(signal!);
          return;
        }
        if (stopping) return; // ended by us
        const errorLine = [...w.tail].reverse().find((l) => /error|perceptual:|failed|exception/i.test(l));
        const message = errorLine?.trim() ?? (signal ? 'no error message: it was killed from outside (out of memory? kill?)' : w.tail.at(-1)?.trim() ?? '(no output)');
        failures.push({ rank: w.rank, code, signal, message });
        err(`[launch] rank ${w.rank} (pid ${w.child.pid}) ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`);
        settle ??= setTimeout(() => {
          err('[launch] ending the other workers');
          endOthers();
        }, 500);
      }),
    );
  } finally {
    if (settle) clearTimeout(settle);
    if (killTimer) clearTimeout(killTimer);
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    process.off('exit', onExit);
    o.signal?.removeEventListener('abort', onAbort);
  }
  const failed = failures.find((f) => !/a peer process ended|connection closed by peer|connection reset/i.test(f.message)) ?? failures[0];
  if (failed) return { exitCode: 1, failed };
  return { exitCode: interruptedCode };
}

function pipeLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    const lines = buf.split(/\r?\n|\r/);
    buf = lines.pop()!;
    for (const l of lines) onLine(l);
  });
  stream.on('end', () => {
    if (buf) onLine(buf);
    buf = '';
  });
}

export function register(program: Command): void {
  program
    .command('launch')
    .description('run a training command data-parallel on this machine (and others), like torchrun: perceptual launch --nproc-per-node 2 -- train-style …')
    .requiredOption('--nproc-per-node <n>', 'worker processes on this machine (each gets cores/n threads)', int)
    .option('--nnodes <n>', 'machines taking part', int, 1)
    .option('--node-rank <k>', "this machine's number, 0..nnodes−1 (node 0 hosts the store)", int, 0)
    .option('--master-addr <host>', 'address of node 0, reachable from every machine', DEFAULT_MASTER_ADDR)
    .option('--master-port <port>', "port of node 0's store (TCPStore)", int, DEFAULT_MASTER_PORT)
    .option('--timeout <seconds>', `how long a worker waits for its peers (joining, each step) before failing (default ${DEFAULT_DISTRIBUTED_TIMEOUT_MS / 1000})`, int)
    .argument('<command...>', 'the command to run, after --: train-style … or train-sr …')
    .action(async (command: string[], o: { nprocPerNode: number; nnodes: number; nodeRank: number; masterAddr: string; masterPort: number; timeout?: number }) => {
      const r = await launch({ ...o, command });
      if (r.failed) {
        const how = r.failed.signal ? `was killed by ${r.failed.signal}` : `exited with code ${r.failed.code}`;
        throw new Error(`rank ${r.failed.rank} ${how}: ${r.failed.message.replace(/^perceptual: /, '')}`);
      }
      process.exitCode = r.exitCode;
    });
}
