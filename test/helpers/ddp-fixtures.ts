/**
 * Fixtures for the data-parallel tests: a folder of tiny photos, a style image, a random VGG-19
 * (to relu3_3, the default profile's deepest layer) as a weights file the CLI can load, and a
 * runner for the CLI from the TypeScript sources (the workers of `launch` run the same entry).
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { writeSafetensors, type NamedTensors } from '../../src/nn/safetensors.js';
import { Rng } from '../../src/data/rng.js';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
/** `node --import tsx src/cli/main.ts`: the sources, never a stale dist/. */
export const cliEntry = [process.execPath, '--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'main.ts')];

export async function photos(dir: string, n: number, seed: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (let k = 0; k < n; k++) {
    const w = 30 + k, h = 24 + 2 * k;
    const data = Buffer.alloc(w * h * 3);
    for (let i = 0; i < data.length; i++) data[i] = (Math.sin(i * 0.05 + k * 1.7 + seed) * 100 + 128) | 0;
    await sharp(data, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(dir, `p${String(k).padStart(2, '0')}.png`));
  }
}

export async function styleImage(file: string): Promise<void> {
  const w = 40, h = 30;
  const data = Buffer.alloc(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 251;
  await sharp(data, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
}

/** Random VGG-19 convolutions conv1_1 … conv3_3 (He-scaled, seeded), canonical names, caffe preprocessing. */
export async function randomVggFile(file: string, seed = 5): Promise<void> {
  const layers: Array<[string, number, number]> = [
    ['conv1_1', 3, 64], ['conv1_2', 64, 64], ['conv2_1', 64, 128], ['conv2_2', 128, 128],
    ['conv3_1', 128, 256], ['conv3_2', 256, 256], ['conv3_3', 256, 256],
  ];
  const rng = new Rng(seed);
  const tensors: NamedTensors = new Map();
  for (const [name, cin, cout] of layers) {
    const n = cout * cin * 9, scale = Math.sqrt(2 / (cin * 9));
    tensors.set(`${name}.weight`, { dtype: 'F32', shape: [cout, cin, 3, 3], data: Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale * Math.sqrt(3)) });
    tensors.set(`${name}.bias`, { dtype: 'F32', shape: [cout], data: new Float32Array(cout) });
  }
  await writeSafetensors(file, tensors, { arch: 'vgg19', preprocessing: 'caffe', source: 'ddp test (random)' });
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI; kills it (and fails) after `timeoutMs`. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; onStderr?: (text: string, child: import('node:child_process').ChildProcess) => void } = {}): Promise<Run> {
  return runNode([...cliEntry.slice(1), ...args], { ...options, what: `perceptual ${args.join(' ')}` });
}

/** Run node with `args` (e.g. `--import tsx --input-type=module -e <source>`); kills it (and fails) after `timeoutMs`. */
export function runNode(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; what?: string; onStderr?: (text: string, child: import('node:child_process').ChildProcess) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      options.onStderr?.(stderr, child);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${options.timeoutMs} ms: ${options.what ?? `node ${args.join(' ')}`}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, options.timeoutMs ?? 120_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
