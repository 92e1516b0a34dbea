/**
 * `perceptual bench`: the paper's speed table (Johnson et al., Table 1: feed-forward
 * stylisation against the Gatys optimisation with 100/300/500 L-BFGS iterations at 256², 512²,
 * 1024²) measured on this machine, and the feed-forward path against what a user would run
 * instead — PyTorch (python3-torch, float32 and bf16 autocast + channels_last), onnxruntime-node,
 * this engine (float32, bf16 + channels_last), TensorFlow.js-wasm running ml5's network — with
 * the same architecture, weights and threads; plus a 4096² image stylised in tiles.
 *
 * Every row runs in its own child process (speed-bench-row.ts, or python) and reports its peak
 * RSS, so rows cannot pollute each other's memory or warm each other's caches. Timings are the
 * median of several runs after a warm-up run. Nothing is extrapolated silently: where the
 * Gatys optimisation is too slow to run in full at a size, its per-iteration time is measured
 * on a few iterations and the table marks those cells "≈ … (extrapolated)".
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RgbImage } from '../data/image.js';
import { hwcToChw } from '../data/tensor-layout.js';
import { psnr } from './metrics.js';
import type { BenchSection } from './bench-sections.js';
// The runtime choice's rule, applied to the bench's paths: a faster path counts only within this PSNR of float32.
import { MIN_BF16_PSNR_DB as MIN_PSNR } from '../infer/runtime-choice.js';
import type { RowResult, RowSpec } from './speed-bench-row.js';
import { probeLikeImage, squareImage } from './speed-bench-inputs.js';

export interface SpeedBenchOptions {
  /** Fewer sizes and iterations (minutes instead of most of an hour on 2 cores). */
  quick?: boolean;
  /** Threads for every row (default: the engine's default, i.e. the cores this process may use). */
  threads?: number;
  /** The shared data folder (photos, ml5 checkpoint); default PERCEPTUAL_DATA or ../shared/data. */
  dataDir?: string;
  /** A trained model folder of the paper's architecture (weights.safetensors [+ model.onnx]); default: random weights. */
  modelDir?: string;
  skipGatys?: boolean;
  skipPython?: boolean;
  /** Run only these sections (default: all). */
  only?: readonly BenchSection[];
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export interface BenchRow {
  id: string;
  section: BenchSection;
  label: string;
  side: number;
  result?: RowResult;
  error?: string;
  /** PSNR (dB) of this row's output against the float32 reference output, where measured. */
  psnrDb?: number;
}

export interface SpeedBenchReport {
  machine: Record<string, unknown>;
  options: { quick: boolean; threads: number; sizes: number[]; only?: readonly BenchSection[] };
  rows: BenchRow[];
  /** Derived numbers: default path, ratios, speed-ups, goals. */
  summary: Record<string, unknown>;
  markdown: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const packageRoot = path.resolve(here, '..', '..');
const PYTHON = process.env.PERCEPTUAL_PYTHON ?? '/usr/bin/python3';
/** What to keep of a failing child's stderr in the report. */
const ERROR_TAIL = 600;

/** Johnson et al. 2016, Table 1 (seconds, Titan X GPU): Gatys with 100/300/500 L-BFGS iterations, then ours. */
export const PAPER_TABLE_1: Record<number, { gatys: [number, number, number]; ours: number }> = {
  256: { gatys: [3.17, 9.52, 15.86], ours: 0.015 },
  512: { gatys: [10.97, 32.91, 54.85], ours: 0.05 },
  1024: { gatys: [42.89, 128.66, 214.44], ours: 0.21 },
};
const GATYS_ITERATIONS = [100, 300, 500] as const;

export const gb = (bytes: number | undefined): string => (bytes === undefined ? '–' : `${(bytes / 2 ** 30).toFixed(2)} GB`);
export function secs(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '–';
  if (s >= 100) return `${s.toFixed(0)} s`;
  if (s >= 10) return `${s.toFixed(1)} s`;
  if (s >= 1) return `${s.toFixed(2)} s`;
  return `${(s * 1000).toFixed(0)} ms`;
}
const ratio = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);

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

/** PSNR of two planar outputs of the same shape (RGB, float, no quantisation: stricter than saved 8-bit images). */
function planarPsnr(a: Float32Array, b: Float32Array, side: number): number {
  return psnr({ data: a, width: side, height: side, channels: 3 }, { data: b, width: side, height: side, channels: 3 }, { quantize: false });
}

/**
 * The benchmark network: the paper's, with the weights of `modelDir`, or random weights whose
 * batch-norm statistics come from a few passes over the bench image (so activations are
 * normalised as in a trained network and the bf16 PSNR is measured on realistic ranges).
 */
export async function prepareBenchNetwork(work: string, image: RgbImage, modelDir: string | undefined): Promise<{ weights: string; onnx: string; description: string }> {
  const { exportOnnx } = await import('../runtime/onnx/export.js');
  const E = await import('../engine/index.js');
  const { buildStyleNet, modelFromConfig } = await import('../models/index.js');
  if (modelDir) {
    const weights = path.join(modelDir, 'weights.safetensors');
    if (!existsSync(weights)) throw new Error(`${modelDir}: no weights.safetensors`);
    let onnx = path.join(modelDir, 'model.onnx');
    if (!existsSync(onnx)) {
      const { readSafetensorsHeader } = await import('../nn/safetensors.js');
      const net = modelFromConfig(JSON.parse((await readSafetensorsHeader(weights)).metadata.config!));
      await net.loadSafetensors(weights);
      onnx = path.join(work, 'model.onnx');
      await exportOnnx(net.eval(), onnx);
      net.dispose();
    }
    return { weights, onnx, description: `the weights of ${modelDir}` };
  }
  E.manualSeed(0);
  const net = buildStyleNet('paper');
  net.train();
  const x = E.tensor(hwcToChw(image), [1, 3, image.height, image.width]);
  E.noGrad(() => {
    for (let i = 0; i < 10; i++) E.tidy(() => void net.forward(x));
  });
  x.dispose();
  net.eval();
  const weights = path.join(work, 'weights.safetensors');
  const onnx = path.join(work, 'model.onnx');
  await net.saveSafetensors(weights, { config: JSON.stringify(net.config) });
  await exportOnnx(net, onnx);
  net.dispose();
  return { weights, onnx, description: 'random weights (seed 0), batch-norm statistics from the bench image' };
}

export async function runSpeedBench(o: SpeedBenchOptions = {}): Promise<SpeedBenchReport> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const E = await import('../engine/index.js');
  if (!E.engineAvailable()) throw new E.EngineNotInstalledError('the benchmark builds its network and runs the Gatys baseline on the engine');
  const quick = o.quick ?? false;
  const threads = o.threads ?? E.defaultThreads();
  const dataDir = o.dataDir ?? process.env.PERCEPTUAL_DATA ?? path.resolve(packageRoot, '..', 'shared', 'data');
  const photo = path.join(dataDir, 'content', 'chicago.jpg');
  const styleImage = path.join(dataDir, 'styles', 'starry-night.jpg');
  const ml5Folder = path.join(dataDir, 'peer', 'ml5-wave');
  const havePhoto = existsSync(photo);
  const sizes = quick ? [256, 512] : [256, 512, 1024];
  const ffIters = (side: number) => (quick ? (side <= 256 ? 3 : 2) : side <= 256 ? 5 : 3);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-bench-'));
  const rows: BenchRow[] = [];
  const run = async (row: Omit<BenchRow, 'result' | 'error'>, fn: () => Promise<RowResult>): Promise<BenchRow> => {
    const r: BenchRow = { ...row };
    const t0 = performance.now();
    try {
      r.result = await fn();
      log(`  ${row.label} @ ${row.side}²: median ${secs(r.result.median_s)}, peak RSS ${gb(r.result.peakRssBytes)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    } catch (e) {
      r.error = (e as Error).message;
      log(`  ${row.label} @ ${row.side}²: FAILED: ${r.error.split('\n')[0]}`);
    }
    rows.push(r);
    return r;
  };

  try {
    // The bench image: the photo (or the synthetic probe image) at 256², as float32 NCHW.
    const benchImage = havePhoto ? await squareImage(photo, 256) : probeLikeImage(256);
    const inputFile = path.join(work, 'input-256.f32');
    await fs.writeFile(inputFile, hwcToChw(benchImage));
    const inputDims = [1, 3, 256, 256];
    const net = await prepareBenchNetwork(work, benchImage, o.modelDir);
    log(`perceptual bench${quick ? ' --quick' : ''}: ${threads} threads, network: the paper's (${net.description})`);

    // ------------------------------------------------------------- feed-forward: every path
    const torch = o.skipPython ? undefined : await pythonTorchVersion();
    const outputs = new Map<string, string>(); // row id → output file at 256²
    const io = (id: string) => {
      const output = path.join(work, `${id}.f32`);
      outputs.set(id, output);
      return { inputFile, inputDims, outputFile: output };
    };
    log('feed-forward stylisation (the paper\'s network):');
    const want = (section: BenchSection) => !o.only || o.only.includes(section);
    for (const side of want('feedforward') ? sizes : []) {
      const iters = ffIters(side);
      const withIo = side === 256;
      const ff = (runtime: 'onnx' | 'engine', precision: 'float32' | 'bf16', id: string): RowSpec => ({
        kind: 'feedforward', runtime, precision, model: runtime === 'onnx' ? net.onnx : net.weights, side, iters, threads, ...(withIo ? io(id) : {}),
      });
      await run({ id: `engine-f32-${side}`, section: 'feedforward', label: 'this engine, float32', side }, () => runNodeRow(ff('engine', 'float32', 'engine-f32')));
      await run({ id: `engine-bf16-${side}`, section: 'feedforward', label: 'this engine, bf16 autocast + channels_last', side }, () => runNodeRow(ff('engine', 'bf16', 'engine-bf16')));
      await run({ id: `onnx-f32-${side}`, section: 'feedforward', label: 'onnxruntime-node, float32', side }, () => runNodeRow(ff('onnx', 'float32', 'onnx-f32')));
      if (torch) {
        for (const precision of ['float32', 'bf16'] as const) {
          const id = `torch-${precision === 'float32' ? 'f32' : 'bf16'}`;
          const label = precision === 'float32' ? 'PyTorch (python3-torch), float32' : 'PyTorch (python3-torch), bf16 autocast + channels_last';
          const pio = withIo ? { input: inputFile, dims: inputDims, output: path.join(work, `${id}.f32`) } : undefined;
          if (pio) outputs.set(id, pio.output);
          await run({ id: `${id}-${side}`, section: 'feedforward', label, side }, () => runPythonRow(net.weights, precision, side, iters, threads, pio));
        }
      }
    }
    // PSNR of each path's 256² output against the engine's float32 output.
    const reference = outputs.get('engine-f32');
    if (reference && existsSync(reference)) {
      const ref = await readF32(reference);
      for (const [id, file] of outputs) {
        const row = rows.find((r) => r.id === `${id}-256`);
        if (row?.result && existsSync(file)) row.psnrDb = planarPsnr(await readF32(file), ref, 256);
      }
    }

    // --------------------------------------------------------------------- Gatys baseline
    if (!o.skipGatys && want('paper')) {
      log('Gatys et al. optimisation (L-BFGS, loss network VGG-19 to relu3_3, profile vgg19-conv3):');
      const content = havePhoto ? photo : undefined;
      if (!content || !existsSync(styleImage)) {
        rows.push({ id: 'gatys-256', section: 'paper', label: 'Gatys et al.', side: 256, error: `needs ${photo} and ${styleImage}` });
      } else {
        const gatysSpec = (side: number, iterations: number): RowSpec => {
          const checkpoints: number[] = GATYS_ITERATIONS.filter((c) => c <= iterations);
          if (!checkpoints.includes(iterations)) checkpoints.push(iterations);
          return { kind: 'gatys', side, iterations, checkpoints, content, style: styleImage, profile: 'vgg19-conv3' };
        };
        // 256²: the real thing, one 500-iteration run timed at 100, 300, 500 (quick: 100).
        await run({ id: 'gatys-256', section: 'paper', label: 'Gatys et al., L-BFGS', side: 256 }, () => runNodeRow(gatysSpec(256, quick ? 100 : 500)));
        // Larger sizes: a few iterations give the per-iteration time, extrapolated (and marked so).
        if (!quick) {
          for (const [side, its] of [[512, 10], [1024, 3]] as const) {
            await run({ id: `gatys-${side}`, section: 'paper', label: `Gatys et al., L-BFGS (${its} iterations, extrapolated)`, side }, () => runNodeRow(gatysSpec(side, its)));
          }
        }
      }
    }

    // ------------------------------------------------------------- ml5: tfjs-wasm vs ours
    if (want('ml5')) log('ml5.js network at 256²: TensorFlow.js (wasm backend) vs its import on onnxruntime and on this engine:');
    if (want('ml5') && existsSync(path.join(ml5Folder, 'manifest.json'))) {
      const { importMl5 } = await import('../models/ml5/index.js');
      const { writeFileAtomic } = await import('../runtime/onnx/export.js');
      const ml5Onnx = path.join(work, 'ml5.onnx');
      // As `perceptual import-ml5` writes it (explicit SAME padding; measured as fast as auto_pad on CPU).
      await writeFileAtomic(ml5Onnx, (await importMl5(ml5Folder)).toOnnx());
      let tfjsAvailable = true;
      try {
        createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
      } catch {
        tfjsAvailable = false;
      }
      const tfOut = path.join(work, 'ml5-tfjs.f32');
      const ourOut = path.join(work, 'ml5-onnx.f32');
      const tfRow = tfjsAvailable
        ? await run({ id: 'ml5-tfjs-wasm', section: 'ml5', label: 'TensorFlow.js 4 + tfjs-backend-wasm (ml5\'s forward pass)', side: 256 }, () =>
            runNodeRow({ kind: 'tfjs-ml5', folder: ml5Folder, side: 256, iters: quick ? 2 : 3, inputFile, outputFile: tfOut }))
        : (rows.push({ id: 'ml5-tfjs-wasm', section: 'ml5', label: 'TensorFlow.js + wasm', side: 256, error: '@tensorflow/tfjs-backend-wasm is not installed (a devDependency)' }), undefined);
      const ours = await run({ id: 'ml5-onnx', section: 'ml5', label: `ours: ml5 import on onnxruntime-node, ${threads} threads`, side: 256 }, () =>
        runNodeRow({ kind: 'feedforward', runtime: 'onnx', precision: 'float32', model: ml5Onnx, side: 256, iters: quick ? 3 : 5, threads, inputFile, inputDims, outputFile: ourOut }));
      if (threads > 1) {
        await run({ id: 'ml5-onnx-1t', section: 'ml5', label: 'ours: ml5 import on onnxruntime-node, 1 thread', side: 256 }, () =>
          runNodeRow({ kind: 'feedforward', runtime: 'onnx', precision: 'float32', model: ml5Onnx, side: 256, iters: quick ? 3 : 5, threads: 1 }));
      }
      for (const precision of ['float32', 'bf16'] as const) {
        const id = `ml5-engine-${precision === 'float32' ? 'f32' : 'bf16'}`;
        const label = `ours: ml5 import on this engine, ${precision === 'float32' ? 'float32' : 'bf16 autocast + channels_last'}, ${threads} threads`;
        const row = await run({ id, section: 'ml5', label, side: 256 }, () =>
          runNodeRow({ kind: 'ml5-engine', folder: ml5Folder, precision, side: 256, iters: quick ? 3 : 5, threads, inputFile, outputFile: path.join(work, `${id}.f32`) }));
        if (tfRow?.result && row.result) row.psnrDb = planarPsnr(await readF32(path.join(work, `${id}.f32`)), await readF32(tfOut), 256);
      }
      if (tfRow?.result && ours.result) ours.psnrDb = planarPsnr(await readF32(ourOut), await readF32(tfOut), 256);
    } else if (want('ml5')) {
      rows.push({ id: 'ml5-onnx', section: 'ml5', label: 'ml5 network', side: 256, error: `no ml5 checkpoint at ${ml5Folder}` });
    }

    // ----------------------------------------------------------------- summary and tiling
    const summary = summarise(rows, sizes, threads);
    const tileSide = quick ? 2048 : 4096;
    const choice = (summary.defaultPath as Record<string, { runtime: 'onnx' | 'engine'; precision: 'float32' | 'bf16' } | undefined>)[String(sizes.at(-1))];
    // The default path at the largest size (what `stylize` would use for the tiles), and
    // onnxruntime as well when that is another path: it is what runs where libtorch is absent.
    const tilingPaths = [choice, { runtime: 'onnx' as const, precision: 'float32' as const }].filter(
      (c, i, all): c is { runtime: 'onnx' | 'engine'; precision: 'float32' | 'bf16' } => c !== undefined && all.findIndex((d) => d?.runtime === c.runtime && d?.precision === c.precision) === i,
    );
    for (const [i, c] of want('tiling') ? tilingPaths.entries() : []) {
      log(`a ${tileSide}² image stylised in 1024² tiles (${c.runtime} ${c.precision}):`);
      await run({ id: i === 0 ? 'tiling' : 'tiling-onnx', section: 'tiling', label: `${tileSide}×${tileSide} via StyleModelCore tiles of 1024 (${pathName(c)}${i === 0 ? ', the default path' : ''})`, side: tileSide }, () =>
        runNodeRow({ kind: 'tiling', runtime: c.runtime, precision: c.precision, model: c.runtime === 'onnx' ? net.onnx : net.weights, side: tileSide, tileSize: 1024, threads, photo: havePhoto ? photo : undefined }));
    }
    const machine = {
      cpu: os.cpus()[0]?.model.trim(),
      cores: os.availableParallelism(),
      threads,
      memory: gb(os.totalmem()),
      node: process.version,
      libtorch: E.engineInfo().libtorch,
      onnxruntime: onnxruntimeVersion(),
      pythonTorch: torch ?? 'not used',
      bf16Native: E.cpuHasFastBf16(),
      loadAverage: os.loadavg().map((l) => l.toFixed(1)).join(' '),
      network: net.description,
      photo: havePhoto ? photo : 'synthetic probe image',
    };
    const full = { ...summarise(rows, sizes, threads) };
    const report: SpeedBenchReport = { machine, options: { quick, threads, sizes, ...(o.only ? { only: o.only } : {}) }, rows, summary: full, markdown: '' };
    report.markdown = toMarkdown(report);
    return report;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

function onnxruntimeVersion(): string | undefined {
  try {
    return (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return undefined;
  }
}

const row = (rows: BenchRow[], id: string): BenchRow | undefined => rows.find((r) => r.id === id);
const med = (rows: BenchRow[], id: string): number | undefined => row(rows, id)?.result?.median_s;

/** The bf16 floor of the runtime choice (src/infer/runtime-choice.ts). */

/** Whether every ratio is ≤ `limit`; undefined when any was not measured. */
function allAtMost(values: Array<number | undefined>, limit: number): boolean | undefined {
  return values.some((v) => v === undefined) ? undefined : values.every((v) => v! <= limit);
}

/** Default path per size, ratios against PyTorch float32, Gatys speed-ups, goals. */
function summarise(rows: BenchRow[], sizes: number[], threads: number): Record<string, unknown> {
  const bf16Psnr = row(rows, 'engine-bf16-256')?.psnrDb;
  const defaultPath: Record<string, { runtime: 'onnx' | 'engine'; precision: 'float32' | 'bf16'; seconds: number; id: string } | undefined> = {};
  const ratios: Record<string, Record<string, number | undefined>> = {};
  for (const side of sizes) {
    // What chooseRuntime picks: the fastest path, bf16 only if its output keeps ≥ 40 dB.
    const candidates = [
      { runtime: 'onnx' as const, precision: 'float32' as const, id: `onnx-f32-${side}` },
      { runtime: 'engine' as const, precision: 'float32' as const, id: `engine-f32-${side}` },
      ...(bf16Psnr !== undefined && bf16Psnr >= MIN_PSNR ? [{ runtime: 'engine' as const, precision: 'bf16' as const, id: `engine-bf16-${side}` }] : []),
    ]
      .map((c) => ({ ...c, seconds: med(rows, c.id) }))
      .filter((c): c is typeof c & { seconds: number } => c.seconds !== undefined);
    defaultPath[side] = candidates.length ? candidates.reduce((a, b) => (b.seconds < a.seconds ? b : a)) : undefined;
    const torch = med(rows, `torch-f32-${side}`);
    ratios[side] = {
      defaultVsTorchF32: ratio(defaultPath[side]?.seconds, torch),
      onnxVsTorchF32: ratio(med(rows, `onnx-f32-${side}`), torch),
      engineF32VsTorchF32: ratio(med(rows, `engine-f32-${side}`), torch),
      engineBf16VsTorchF32: ratio(med(rows, `engine-bf16-${side}`), torch),
      torchBf16VsTorchF32: ratio(med(rows, `torch-bf16-${side}`), torch),
    };
  }
  const gatys: Record<string, { seconds: Array<number | undefined>; extrapolated: boolean; speedup: Array<number | undefined> }> = {};
  for (const side of sizes) {
    const g = row(rows, `gatys-${side}`)?.result;
    if (!g) continue;
    const its = g.info.iterations as number;
    const extrapolated = its < 100;
    const seconds = GATYS_ITERATIONS.map((n, i) => (extrapolated ? (g.info.perIteration as number) * n : g.times[i]));
    gatys[side] = { seconds, extrapolated, speedup: seconds.map((s) => ratio(s, defaultPath[side]?.seconds)) };
  }
  // Ours: the fastest of our ml5 paths whose output is within MIN_PSNR of ml5's own (tfjs) output.
  const ml5Paths = ['ml5-onnx', 'ml5-engine-f32', 'ml5-engine-bf16']
    .map((id) => row(rows, id))
    .filter((b): b is BenchRow => !!b?.result && (b.psnrDb === undefined || b.psnrDb >= MIN_PSNR))
    .sort((a, b) => a.result!.median_s - b.result!.median_s);
  const ml5Best = ml5Paths[0];
  const ml5Ours = ml5Best?.result?.median_s;
  const ml5Tf = med(rows, 'ml5-tfjs-wasm');
  const tiling = row(rows, 'tiling')?.result;
  return {
    threads,
    bf16PsnrDb: bf16Psnr,
    defaultPath,
    ratios,
    gatys,
    ml5SpeedupVsTfjsWasm: ratio(ml5Tf, ml5Ours),
    ml5Path: ml5Best?.label,
    tilingPeakRssBytes: tiling?.peakRssBytes,
    goals: {
      defaultVsTorchF32AtMost07: allAtMost(sizes.map((s) => ratios[s]!.defaultVsTorchF32), 0.7),
      onnxOnlyVsTorchF32AtMost1: allAtMost(sizes.map((s) => ratios[s]!.onnxVsTorchF32), 1.0),
      ml5AtLeast10x: ml5Tf === undefined || ml5Ours === undefined ? undefined : ml5Tf / ml5Ours >= 10,
      tilingAtMost3GB: tiling ? tiling.peakRssBytes <= 3 * 2 ** 30 : undefined,
    },
  };
}

const pathName = (p: { runtime: string; precision: string } | undefined): string =>
  !p ? '–' : p.runtime === 'onnx' ? 'onnxruntime' : p.precision === 'bf16' ? 'engine bf16+CL' : 'engine float32';
const x = (r: number | undefined, digits = 2): string => (r === undefined ? '–' : `${r.toFixed(digits)}×`);
const check = (ok: boolean | undefined): string => (ok === undefined ? 'not measured' : ok ? '**met**' : '**not met**');

/** The report as Markdown (the README's speed section). */
export function toMarkdown(r: SpeedBenchReport): string {
  const { rows, summary: s } = r;
  const sizes = r.options.sizes;
  const m = r.machine;
  const cell = (id: string) => {
    const b = row(rows, id);
    if (!b) return '–';
    if (b.error) return 'failed';
    return `${secs(b.result!.median_s)} · ${gb(b.result!.peakRssBytes)}`;
  };
  const lines: string[] = [];
  lines.push(`Measured by \`perceptual bench${r.options.quick ? ' --quick' : ''}${r.options.only ? ` --only ${r.options.only.join(',')}` : ''}\` on ${m.cpu} (${m.cores} cores, ${m.memory}), ${r.options.threads} threads for every row, ` +
    `Node ${m.node}, libtorch ${m.libtorch}, onnxruntime-node ${m.onnxruntime ?? '?'}, python3-torch ${m.pythonTorch}; native bf16: ${m.bf16Native ? 'yes' : 'no'}; ` +
    `load average at the end ${m.loadAverage}. The paper's style network with ${m.network}. ` +
    'Times are medians after a warm-up run; each cell also gives the peak RSS of the row\'s own process.');
  lines.push('');

  // Table 1
  const gatys = s.gatys as Record<string, { seconds: Array<number | undefined>; extrapolated: boolean; speedup: Array<number | undefined> }>;
  const dp = s.defaultPath as Record<string, { seconds: number; runtime: string; precision: string; id: string } | undefined>;
  lines.push('### The paper\'s Table 1 on this machine (CPU)');
  lines.push('');
  lines.push(`| method | ${sizes.map((z) => `${z}×${z}`).join(' | ')} |`);
  lines.push(`|---|${sizes.map(() => '---').join('|')}|`);
  GATYS_ITERATIONS.forEach((n, i) => {
    const cells = sizes.map((z) => {
      const g = gatys[z];
      const b = row(rows, `gatys-${z}`);
      if (b?.error) return 'failed';
      if (!g || g.seconds[i] === undefined || !Number.isFinite(g.seconds[i]!)) return 'not run';
      return g.extrapolated ? `≈ ${secs(g.seconds[i])} (extrapolated) · ${gb(b!.result!.peakRssBytes)}` : `${secs(g.seconds[i])} · ${gb(b!.result!.peakRssBytes)}`;
    });
    lines.push(`| Gatys et al., ${n} L-BFGS iterations | ${cells.join(' | ')} |`);
  });
  lines.push(`| ours, feed-forward (default path) | ${sizes.map((z) => (dp[z] ? `${cell(dp[z]!.id)} (${pathName(dp[z])})` : '–')).join(' | ')} |`);
  lines.push(`| speed-up vs 100 / 300 / 500 iterations | ${sizes.map((z) => (gatys[z] ? gatys[z]!.speedup.map((v) => (v === undefined ? '–' : `${v.toFixed(0)}×`)).join(' / ') + (gatys[z]!.extrapolated ? ' (≈)' : '') : '–')).join(' | ')} |`);
  lines.push(`| *paper (Titan X GPU): Gatys 100 / 300 / 500 it., ours* | ${sizes.map((z) => { const p = PAPER_TABLE_1[z]!; return `*${p.gatys.join(' / ')} s; ${p.ours} s*`; }).join(' | ')} |`);
  lines.push('');
  const g256 = row(rows, 'gatys-256');
  const gNote = g256?.result
    ? `Gatys at 256²: one run of ${g256.result.info.iterations as number} iterations timed at ${GATYS_ITERATIONS.filter((n) => n <= (g256.result!.info.iterations as number)).join(', ')} (L-BFGS iterations are sequential, so this equals separate runs; the RSS is the whole run's). `
    : '';
  const ext = sizes.filter((z) => gatys[z]?.extrapolated);
  lines.push(`${gNote}${ext.length ? `At ${ext.map((z) => `${z}²`).join(' and ')} the optimisation was run for ${ext.map((z) => row(rows, `gatys-${z}`)!.result!.info.iterations).join(' and ')} iterations and its per-iteration time multiplied by 100/300/500 (marked ≈): a full run there takes hours on this CPU. ` : ''}` +
    'The loss network is the one this project trains with (VGG-19 to relu3_3, profile vgg19-conv3); the paper\'s Gatys baseline used VGG-16 to relu4_3, which costs more per iteration.');
  lines.push('');

  // Feed-forward comparison
  lines.push('### Feed-forward stylisation: the same network, weights and threads on each runtime');
  lines.push('');
  lines.push(`| runtime | ${sizes.map((z) => `${z}×${z}`).join(' | ')} | vs PyTorch float32 (${sizes.join(' / ')}) | PSNR vs float32 (256²) |`);
  lines.push(`|---|${sizes.map(() => '---').join('|')}|---|---|`);
  const ffRows: Array<[string, string]> = [
    ['torch-f32', 'PyTorch (python3-torch) float32'],
    ['torch-bf16', 'PyTorch bf16 autocast + channels_last'],
    ['onnx-f32', 'onnxruntime-node float32 (our ONNX export)'],
    ['engine-f32', 'this engine float32'],
    ['engine-bf16', 'this engine bf16 autocast + channels_last'],
  ];
  for (const [id, label] of ffRows) {
    if (!sizes.some((z) => row(rows, `${id}-${z}`))) continue;
    const torchRatios = sizes.map((z) => x(ratio(med(rows, `${id}-${z}`), med(rows, `torch-f32-${z}`)))).join(' / ');
    const p = row(rows, `${id}-256`)?.psnrDb;
    const psnrCell = id === 'engine-f32' ? 'reference' : p === undefined ? '–' : p === Infinity ? '∞ (identical)' : `${p.toFixed(1)} dB`;
    lines.push(`| ${label} | ${sizes.map((z) => cell(`${id}-${z}`)).join(' | ')} | ${torchRatios} | ${psnrCell} |`);
  }
  const ratios = s.ratios as Record<string, Record<string, number | undefined>>;
  const goals = s.goals as Record<string, boolean | undefined>;
  lines.push(`| **default path** (${sizes.map((z) => pathName(dp[z])).join(' / ')}) | ${sizes.map((z) => secs(dp[z]?.seconds)).join(' | ')} | ${sizes.map((z) => x(ratios[z]!.defaultVsTorchF32)).join(' / ')} | |`);
  lines.push('');
  lines.push(`Goals: default inference path ≤ 0.7× PyTorch float32 where libtorch is installed — ${check(goals.defaultVsTorchF32AtMost07)} ` +
    `(${sizes.map((z) => x(ratios[z]!.defaultVsTorchF32)).join(' / ')}); ≤ 1.0× where only onnxruntime is — ${check(goals.onnxOnlyVsTorchF32AtMost1)} ` +
    `(${sizes.map((z) => x(ratios[z]!.onnxVsTorchF32)).join(' / ')}). bf16 paths are used only at PSNR ≥ ${MIN_PSNR} dB against float32 (float output, not rounded to 8 bits); ` +
    'the default path is what `chooseRuntime` picks: the fastest eligible path at that size.');
  lines.push('');

  // ml5
  lines.push('### ml5.js\'s network (peer model "wave") at 256×256');
  lines.push('');
  lines.push('| runtime | time · peak RSS | threads | PSNR vs tfjs output |');
  lines.push('|---|---|---|---|');
  for (const id of ['ml5-tfjs-wasm', 'ml5-onnx', 'ml5-onnx-1t', 'ml5-engine-f32', 'ml5-engine-bf16']) {
    const b = row(rows, id);
    if (!b) continue;
    const p = b.psnrDb === undefined ? '–' : b.psnrDb === Infinity ? '∞' : `${b.psnrDb.toFixed(1)} dB`;
    lines.push(`| ${b.label}${b.label === s.ml5Path ? ' **(ours)**' : ''} | ${b.error ? `failed: ${b.error.split('\n')[0]}` : cell(id)} | ${String(b.result?.info.threads ?? '–')} | ${p} |`);
  }
  const ml5 = s.ml5SpeedupVsTfjsWasm as number | undefined;
  const ml5OneThread = ratio(med(rows, 'ml5-tfjs-wasm'), med(rows, 'ml5-onnx-1t'));
  lines.push('');
  lines.push(`Ours (${String(s.ml5Path ?? '–')}: the fastest of our paths within ${MIN_PSNR} dB of ml5's output) is ${x(ml5, 1)} faster than TensorFlow.js-wasm (goal ≥ 10×: ${check(ml5 === undefined ? undefined : ml5 >= 10)})` +
    `${ml5OneThread !== undefined ? `; onnxruntime with one thread, like tfjs-wasm: ${x(ml5OneThread, 1)}` : ''}. tfjs-backend-wasm in Node runs single-threaded (no worker-thread pool), SIMD on.`);
  lines.push('');

  // Tiling
  const tilingRows = rows.filter((b) => b.section === 'tiling');
  if (tilingRows.length) {
    lines.push('### Large images: tiling');
    lines.push('');
    for (const t of tilingRows) {
      if (t.error) lines.push(`- ${t.label}: failed: ${t.error.split('\n')[0]}`);
      else {
        const tr = t.result!;
        const ok = tr.peakRssBytes <= 3 * 2 ** 30;
        lines.push(`- ${t.label}: ${secs(tr.median_s)}, ${String(tr.info.tiles)} tiles, peak RSS ${gb(tr.peakRssBytes)} (goal ≤ 3 GB: ${check(ok)}); input: ${String(tr.info.input)}.`);
      }
    }
    lines.push('');
  }
  const failed = rows.filter((b) => b.error);
  if (failed.length) {
    lines.push('Rows that failed:');
    for (const b of failed) lines.push(`- ${b.label} @ ${b.side}²: ${b.error!.split('\n').slice(0, 3).join(' ')}`);
  }
  return dropEmptySections(lines.join('\n'), r.rows);
}

/** Leave out the `### …` sections of a partial run (`--only`) whose rows were not measured. */
function dropEmptySections(markdown: string, rows: readonly BenchRow[]): string {
  const present = new Set(rows.map((b) => b.section));
  const needs: Array<[string, BenchSection[]]> = [
    ["### The paper's Table 1", ['paper']],
    ['### Feed-forward stylisation', ['feedforward']],
    ["### ml5.js's network", ['ml5']],
  ];
  return markdown
    .split(/\n(?=### )/)
    .filter((chunk) => {
      const rule = needs.find(([heading]) => chunk.startsWith(heading));
      return !rule || rule[1].some((section) => present.has(section));
    })
    .join('\n');
}
