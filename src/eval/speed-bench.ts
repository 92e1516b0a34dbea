/**
 * `perceptual bench`: the paper's speed table (Johnson et al., Table 1: feed-forward
 * stylisation against the Gatys optimisation with 100/300/500 L-BFGS iterations at 256², 512²,
 * 1024²) measured on this machine, and the feed-forward path against what a user would run
 * instead — PyTorch (python3-torch, float32 and bf16 autocast + channels_last), onnxruntime-node,
 * this engine (float32, bf16 + channels_last), TensorFlow.js-wasm running ml5's network — with
 * the same architecture, weights and threads; plus a 4096² image stylised in tiles.
 *
 * Every row runs in its own child process (speed-bench-processes.ts: speed-bench-row.ts, or
 * python) and reports its peak RSS, so rows cannot pollute each other's memory or warm each other's caches. Timings are the
 * median of several runs after a warm-up run. Nothing is extrapolated silently: where the
 * Gatys optimisation is too slow to run in full at a size, its per-iteration time is measured
 * on a few iterations and the table marks those cells "≈ … (extrapolated)". The report and its
 * Markdown are speed-bench-markdown.ts.
 */
import { existsSync, promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { RgbImage } from '../data/image.js';
import { hwcToChw } from '../data/tensor-layout.js';
import { psnr } from '../metrics/metrics.js';
import type { BenchSection } from './bench-sections.js';
import type { RowResult, RowSpec } from './speed-bench-row.js';
import { probeLikeImage, squareImage } from './speed-bench-inputs.js';
import { sharedDataDir } from '../util/paths.js';
import { pythonTorchVersion, readF32, runNodeRow, runPythonRow } from './speed-bench-processes.js';
import { GATYS_ITERATIONS, gb, pathName, secs, summarise, toMarkdown } from './speed-bench-markdown.js';
import { MODEL_FILES } from '../models/model-folder.js';

export { PAPER_TABLE_1, toMarkdown } from './speed-bench-markdown.js';

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
  const { exportOnnx } = await import('../export/export.js');
  const E = await import('../engine/index.js');
  const { buildStyleNet, modelFromConfig } = await import('../models/index.js');
  if (modelDir) {
    const weights = path.join(modelDir, MODEL_FILES.weights);
    if (!existsSync(weights)) throw new Error(`${modelDir}: no weights.safetensors`);
    let onnx = path.join(modelDir, MODEL_FILES.onnx);
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
  const dataDir = o.dataDir ?? sharedDataDir();
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
      const { writeFileAtomic } = await import('../util/atomic-write.js');
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
