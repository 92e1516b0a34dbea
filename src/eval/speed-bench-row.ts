/**
 * One row of `perceptual bench`, run in its own process (`node speed-bench-row.js '<spec json>'`)
 * so that its peak RSS (`process.resourceUsage().maxRSS`) is its own and rows do not warm up or
 * fragment each other's allocators. Prints one line `@@ROW {json}` with the result.
 */
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Tensor } from '../engine/index.js';
import type { Module } from '../nn/module.js';

export type RowSpec =
  | {
      kind: 'feedforward';
      runtime: 'onnx' | 'engine';
      precision: 'float32' | 'bf16';
      /** model.onnx (onnx) or weights.safetensors (engine). */
      model: string;
      side: number;
      iters: number;
      threads: number;
      /** Deterministic input, raw float32 NCHW [1, 3, h, w]; the output is written to `outputFile`. */
      inputFile?: string;
      inputDims?: number[];
      outputFile?: string;
    }
  | {
      kind: 'gatys';
      side: number;
      iterations: number;
      /** Report the elapsed time at these iterations of the one run. */
      checkpoints: number[];
      content: string;
      style: string;
      profile: string;
    }
  | { kind: 'tfjs-ml5'; folder: string; side: number; iters: number; inputFile: string; outputFile: string }
  | { kind: 'ml5-engine'; folder: string; precision: 'float32' | 'bf16'; side: number; iters: number; threads: number; inputFile: string; outputFile: string }
  | { kind: 'tiling'; runtime: 'onnx' | 'engine'; precision: 'float32' | 'bf16'; model: string; side: number; tileSize: number; threads: number; photo?: string };

export interface RowResult {
  /** Seconds of each timed run (Gatys: the elapsed seconds at each checkpoint). */
  times: number[];
  median_s: number;
  min_s: number;
  /** Peak resident set of the row's process, bytes. */
  peakRssBytes: number;
  /** Anything else the row reports (threads used, tiles, …). */
  info: Record<string, unknown>;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function readF32(file: string): Promise<Float32Array> {
  const b = await fs.readFile(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Warm-up, then `iters` timed runs. */
async function timeRuns(iters: number, run: () => Promise<unknown> | unknown): Promise<number[]> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await run();
    times.push((performance.now() - t0) / 1000);
  }
  return times;
}

/**
 * One inference as EngineStyleModel runs it: eval mode, no autograd, bf16 autocast with the
 * network and input in channels_last (or plain float32), the output back as float32 NCHW.
 */
async function engineRunner(net: Module<Tensor>, precision: 'float32' | 'bf16'): Promise<(data: Float32Array, dims: number[]) => Float32Array> {
  const E = await import('../engine/index.js');
  net.eval();
  const cl = precision === 'bf16';
  if (cl) net.toMemoryFormat('channels_last');
  return (data, dims) =>
    E.noGrad(() =>
      E.tidy(() => {
        let x = E.tensor(data, dims);
        if (cl) x = x.contiguous('channels_last');
        return E.autocast(precision, () => net.forward(x)).to('float32').toFloat32Array();
      }),
    );
}

async function feedforward(s: Extract<RowSpec, { kind: 'feedforward' }>): Promise<{ times: number[]; info: Record<string, unknown> }> {
  const input = new Float32Array(3 * s.side * s.side);
  for (let i = 0; i < input.length; i++) input[i] = (Math.sin(i * 0.37) * 0.5 + 0.5) * 255; // deterministic, not constant
  const dims = [1, 3, s.side, s.side];
  if (s.runtime === 'onnx') {
    const { OrtModel } = await import('../runtime/ort-session.js');
    const model = await OrtModel.load(s.model, { threads: s.threads });
    const times = await timeRuns(s.iters, () => model.run(input, dims));
    if (s.inputFile && s.outputFile) await fs.writeFile(s.outputFile, (await model.run(await readF32(s.inputFile), s.inputDims!)).data);
    await model.dispose();
    return { times, info: { threads: s.threads } };
  }
  const E = await import('../engine/index.js');
  const { modelFromConfig } = await import('../models/index.js');
  const { readSafetensorsHeader } = await import('../nn/safetensors.js');
  E.setNumThreads(s.threads);
  const net = modelFromConfig(JSON.parse((await readSafetensorsHeader(s.model)).metadata.config!));
  await net.loadSafetensors(s.model);
  const run = await engineRunner(net, s.precision);
  const times = await timeRuns(s.iters, () => run(input, dims));
  if (s.inputFile && s.outputFile) await fs.writeFile(s.outputFile, run(await readF32(s.inputFile), s.inputDims!));
  net.dispose();
  return { times, info: { threads: E.getNumThreads() } };
}

async function gatys(s: Extract<RowSpec, { kind: 'gatys' }>): Promise<{ times: number[]; info: Record<string, unknown> }> {
  const { setupLoss } = await import('../losses/setup.js');
  const { optimizeImage } = await import('../optimize/gatys.js');
  const { imageToTensor } = await import('../data/tensor-image.js');
  const { squareImage } = await import('./speed-bench-inputs.js');
  const { getNumThreads } = await import('../engine/index.js');
  const { vgg, loss, vggPath } = await setupLoss({ profile: s.profile, task: 'style' });
  const content = await squareImage(s.content, s.side);
  const style = imageToTensor(await squareImage(s.style, s.side));
  loss.setStyle(style);
  style.dispose();
  const at = new Map<number, number>();
  const started = performance.now();
  const r = await optimizeImage({ loss, content, iterations: s.iterations, optimizer: 'lbfgs', onIteration: (i) => void (s.checkpoints.includes(i.iteration) && at.set(i.iteration, i.seconds)) });
  const total = (performance.now() - started) / 1000;
  const last = r.history.at(-1);
  loss.dispose();
  vgg.dispose();
  return {
    times: s.checkpoints.map((c) => at.get(c) ?? NaN),
    info: {
      iterations: last?.iteration ?? 0,
      totalSeconds: total,
      // From the optimiser's own clock (setup and the final read-back excluded).
      perIteration: last ? last.seconds / last.iteration : NaN,
      loss: last?.total,
      vgg: vggPath,
      profile: s.profile,
      threads: getNumThreads(),
    },
  };
}

async function tfjsMl5(s: Extract<RowSpec, { kind: 'tfjs-ml5' }>): Promise<{ times: number[]; info: Record<string, unknown> }> {
  const tf = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const dir = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  // In Node the backend reads the .wasm files from disk: a folder path, with its trailing separator.
  wasm.setWasmPaths(path.join(dir, 'dist') + path.sep);
  if (!(await tf.setBackend('wasm'))) throw new Error('the TensorFlow.js wasm backend did not initialise');
  await tf.ready();
  const { Ml5TfjsStyleTransfer } = await import('./ml5-tfjs.js');
  const net = new Ml5TfjsStyleTransfer(tf, s.folder);
  const nchw = await readF32(s.inputFile);
  const hw = s.side * s.side;
  const hwc = new Float32Array(3 * hw);
  for (let i = 0; i < hw; i++) for (let c = 0; c < 3; c++) hwc[i * 3 + c] = nchw[c * hw + i]!;
  const image = tf.tensor3d(hwc, [s.side, s.side, 3]);
  const run = async () => {
    const y = net.transfer(image);
    const data = (await y.data()) as Float32Array;
    y.dispose();
    return data;
  };
  const times = await timeRuns(s.iters, run);
  const out = await run();
  const planar = new Float32Array(3 * hw);
  for (let i = 0; i < hw; i++) for (let c = 0; c < 3; c++) planar[c * hw + i] = out[i * 3 + c]!;
  await fs.writeFile(s.outputFile, planar);
  image.dispose();
  net.dispose();
  return { times, info: { backend: tf.getBackend(), simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'), threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'multi' : 1 } };
}

/** The ml5 network imported onto this engine (Ml5Net), run as EngineStyleModel runs our networks. */
async function ml5Engine(s: Extract<RowSpec, { kind: 'ml5-engine' }>): Promise<{ times: number[]; info: Record<string, unknown> }> {
  const E = await import('../engine/index.js');
  const { importMl5, Ml5Net } = await import('../models/ml5/index.js');
  E.setNumThreads(s.threads);
  const net = new Ml5Net((await importMl5(s.folder)).tensors);
  const run = await engineRunner(net, s.precision);
  const dims = [1, 3, s.side, s.side];
  const input = await readF32(s.inputFile);
  const times = await timeRuns(s.iters, () => run(input, dims));
  await fs.writeFile(s.outputFile, run(input, dims));
  net.dispose();
  return { times, info: { threads: E.getNumThreads() } };
}

async function tiling(s: Extract<RowSpec, { kind: 'tiling' }>): Promise<{ times: number[]; info: Record<string, unknown> }> {
  const { squareImage, probeLikeImage } = await import('./speed-bench-inputs.js');
  const image = s.photo ? await squareImage(s.photo, s.side) : probeLikeImage(s.side);
  let model: { stylize: (img: typeof image, o: { tileSize: number }) => Promise<{ width: number; height: number; data: ArrayLike<number> }>; dispose(): unknown };
  if (s.runtime === 'onnx') {
    const { NodeStyleModel } = await import('../infer/node/node-style-model.js');
    model = await NodeStyleModel.load(s.model, { threads: s.threads });
  } else {
    const { EngineStyleModel } = await import('../infer/engine-model.js');
    model = await EngineStyleModel.load(s.model, { precision: s.precision });
  }
  let tiles = 0;
  const t0 = performance.now();
  const out = await (model as unknown as { stylize: (i: unknown, o: object) => Promise<{ width: number; height: number }> }).stylize(image, { tileSize: s.tileSize, onProgress: (_d: number, total: number) => void (tiles = total) });
  const seconds = (performance.now() - t0) / 1000;
  await model.dispose();
  if (out.width !== s.side || out.height !== s.side) throw new Error(`tiled output is ${out.width}×${out.height}, expected ${s.side}×${s.side}`);
  return { times: [seconds], info: { tiles, tileSize: s.tileSize, runtime: s.runtime, precision: s.precision, input: s.photo ? path.basename(s.photo) : 'synthetic' } };
}

export async function runRow(spec: RowSpec): Promise<RowResult> {
  const r =
    spec.kind === 'feedforward' ? await feedforward(spec)
    : spec.kind === 'gatys' ? await gatys(spec)
    : spec.kind === 'tfjs-ml5' ? await tfjsMl5(spec)
    : spec.kind === 'ml5-engine' ? await ml5Engine(spec)
    : await tiling(spec);
  const finite = r.times.filter(Number.isFinite);
  return {
    times: r.times,
    median_s: finite.length ? median(finite) : NaN,
    min_s: finite.length ? Math.min(...finite) : NaN,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    info: r.info,
  };
}

// Entry point when run as a child process.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  runRow(JSON.parse(process.argv[2]!) as RowSpec).then(
    (r) => {
      process.stdout.write(`@@ROW ${JSON.stringify(r)}\n`);
      // onnxruntime and libtorch thread pools can keep the process alive a little: leave now.
      process.exit(0);
    },
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
