/**
 * The speed bench's child processes: every row runs in its own process (speed-bench-row.ts
 * through Node, or the PyTorch reference through python3) and reports its timings and peak RSS.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../util/paths.js';
import type { RowResult, RowSpec } from './speed-bench-row.js';
const here = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.PERCEPTUAL_PYTHON ?? '/usr/bin/python3';
/** What to keep of a failing child's stderr in the report. */
const ERROR_TAIL = 600;

/** Run one child process to completion; resolve with its stdout, or reject with the end of its stderr. */
function runProcess(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${path.basename(command)} exited with ${signal ?? code}: ${err.trim().split('\n').filter((l) => !/onnxruntime.*\[E:/.test(l)).join('\n').slice(-ERROR_TAIL)}`));
    });
  });
}

/** The row runner as a child: the compiled .js, or the .ts through tsx in a development checkout. */
export async function runNodeRow(spec: RowSpec): Promise<RowResult> {
  const ext = path.extname(fileURLToPath(import.meta.url));
  const file = path.join(here, `speed-bench-row${ext}`);
  const execArgs = [...process.execArgv];
  if (ext === '.ts' && !execArgs.some((a) => a.includes('tsx'))) execArgs.push('--import', 'tsx');
  const out = await runProcess(process.execPath, [...execArgs, file, JSON.stringify(spec)]);
  const line = out.split('\n').find((l) => l.startsWith('@@ROW '));
  if (!line) throw new Error(`the row process printed no result: ${out.slice(-ERROR_TAIL)}`);
  return JSON.parse(line.slice(6)) as RowResult;
}

interface PythonResult {
  median_s: Record<string, number>;
  times: Record<string, number[]>;
  max_rss_kb: number;
  torch: string;
  threads: number;
}

export async function runPythonRow(weights: string, precision: 'float32' | 'bf16', side: number, iters: number, threads: number, io?: { input: string; dims: number[]; output: string }): Promise<RowResult> {
  const script = path.join(packageRoot, 'bench', 'reference', 'stylize.py');
  if (!existsSync(script)) throw new Error(`${script} not found (the PyTorch reference ships with the repository, not the npm package)`);
  const args = [script, weights, '--threads', String(threads), '--precision', precision, '--sizes', String(side), '--iters', String(iters)];
  if (io) args.push('--input', io.input, '--shape', io.dims.join(','), '--output', io.output);
  const out = await runProcess(PYTHON, args);
  const r = JSON.parse(out.trim().split('\n').pop()!) as PythonResult;
  const times = r.times[String(side)]!;
  return { times, median_s: r.median_s[String(side)]!, min_s: Math.min(...times), peakRssBytes: r.max_rss_kb * 1024, info: { torch: r.torch, threads: r.threads } };
}

export async function pythonTorchVersion(): Promise<string | undefined> {
  try {
    return (await runProcess(PYTHON, ['-c', 'import torch; print(torch.__version__)'])).trim();
  } catch {
    return undefined;
  }
}

export async function readF32(file: string): Promise<Float32Array> {
  const b = await fs.readFile(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
