/**
 * What stylises the frames of a video: a style model on onnxruntime or on the libtorch engine,
 * per frame or with temporally smoothed instance-norm statistics, behind one interface that
 * takes planar `[N, 3, H, W]` batches in frame order.
 *
 * Runtime: as for images, the fastest one measured on this machine for the frame size
 * (`chooseRuntime`), unless forced. Smoothing ('stats') runs one frame per network call (each
 * frame's statistics depend on the previous frame's) on either runtime: the ONNX model rewritten
 * by `temporal-onnx.ts`, or the engine with `engine-temporal.ts`.
 */
import { promises as fs } from 'node:fs';
import { tensor, tidy, noGrad, autocast, defaultPrecision, resolveDevice, engineAvailable, type Precision } from '../engine/index.js';
import type { TransformerNet } from '../models/transformer-net.js';
import { loadNetwork } from '../models/model-folder.js';
import { resolveModel } from '../infer/load-model.js';
import { chooseRuntime } from '../infer/runtime-choice.js';
import { OrtGraph, OrtModel } from '../runtime/ort-session.js';
import { shiftAveraged, checkShifts, DEFAULT_SHIFTS, edgePadded, checkEdgePad, DEFAULT_EDGE_PAD, type RunNetwork } from '../infer/core/index.js';
import { EngineStatsSmoother } from './engine-temporal.js';
import { temporalOnnx, TemporalStats, TEMPORAL_INPUTS, TEMPORAL_OUTPUT, DEFAULT_STATS_MOMENTUM } from './temporal-onnx.js';

/** 'stats': running-average instance-norm statistics over the frames; 'none': each frame by itself. */
export type Smoothing = 'stats' | 'none';
export const SMOOTHINGS: readonly Smoothing[] = ['stats', 'none'];
/**
 * Per-frame by default: on the flicker clips (README, docs/video/flicker.md) the smoothed
 * statistics changed flicker by < 1 % for every shipped style — a frame's instance-norm statistics
 * average over every pixel and hardly move between frames — while per-frame keeps batches and the
 * CUDA provider. `--smoothing stats` (and the webcam, which runs one frame at a time anyway) smooth.
 */
export const DEFAULT_SMOOTHING: Smoothing = 'none';
/** Frames per network call without smoothing (with smoothing: 1). */
export const DEFAULT_VIDEO_BATCH = 1;

export interface FrameRunner {
  /** What runs: "onnxruntime", "engine bf16", with the smoothing. */
  readonly label: string;
  readonly smoothing: Smoothing;
  /** Most frames per {@link run} call. */
  readonly maxBatch: number;
  /** Stylise `n` frames (planar, 0–255) in order; the output has the same shape. */
  run(input: Float32Array, n: number, height: number, width: number): Promise<Float32Array>;
  /** Forget the temporal state (a new clip). */
  reset(): void;
  dispose(): Promise<void>;
}

export interface FrameRunnerOptions {
  runtime?: 'auto' | 'onnx' | 'engine';
  smoothing?: Smoothing;
  /** α of the running statistics (default {@link DEFAULT_STATS_MOMENTUM}). */
  statsMomentum?: number;
  /** Frames per call without smoothing (default {@link DEFAULT_VIDEO_BATCH}). */
  batchSize?: number;
  device?: string;
  precision?: Precision;
  /** Frame size, for the runtime choice. */
  width?: number;
  height?: number;
  /** Folder of shipped models (default the package's). */
  modelsDir?: string;
  /**
   * Average each frame over this many sub-stride shifts (1, 2, 4, 8, 16; default `DEFAULT_SHIFTS`, 1): the grid the
   * network prints is fixed to the frame, so on a camera pan it flickers; averaged, it is gone
   * (src/infer/core/shift-average.ts). One network run per shift; per-frame smoothing only.
   */
  shifts?: number;
  /**
   * Mirror each frame outward by this many pixels and crop them off after the network (default
   * `DEFAULT_EDGE_PAD`; 0: off), as the image path does: the frame a zero-padded network paints at
   * its border falls outside the picture (src/infer/core/edge-pad.ts).
   */
  edgePad?: number;
}

function checkBatch(input: Float32Array, n: number, h: number, w: number, max: number): void {
  if (!(Number.isInteger(n) && n >= 1 && n <= max)) throw new RangeError(`batch of ${n} frames: expected 1…${max}`);
  if (input.length !== n * 3 * h * w) throw new RangeError(`input has ${input.length} values, expected ${n}×3×${h}×${w}`);
}

function checkOutput(source: string, dims: readonly number[], n: number, h: number, w: number): void {
  // Style networks with stride 4 give up to 3 px more at sizes that are not multiples of 4; the
  // exports crop in the graph, so anything but the input size is an error here.
  if (dims.length !== 4 || dims[0] !== n || dims[1] !== 3 || dims[2] !== h || dims[3] !== w) {
    throw new Error(`${source}: output [${dims.join(', ')}] for frames [${n}, 3, ${h}, ${w}]: not a style network that keeps the size`);
  }
}

class OnnxFrames implements FrameRunner {
  readonly smoothing = 'none';
  readonly label = 'onnxruntime';
  constructor(private readonly model: OrtModel, readonly maxBatch: number) {}
  async run(input: Float32Array, n: number, h: number, w: number): Promise<Float32Array> {
    checkBatch(input, n, h, w, this.maxBatch);
    const out = await this.model.run(input, [n, 3, h, w]);
    checkOutput(this.model.source, out.dims, n, h, w);
    return out.data;
  }
  reset(): void {}
  dispose(): Promise<void> {
    return this.model.dispose();
  }
}

class OnnxTemporalFrames implements FrameRunner {
  readonly smoothing = 'stats';
  readonly label = 'onnxruntime, smoothed statistics';
  readonly maxBatch = 1;
  constructor(private readonly graph: OrtGraph, private readonly stats: TemporalStats) {}
  async run(input: Float32Array, n: number, h: number, w: number): Promise<Float32Array> {
    checkBatch(input, n, h, w, 1);
    const f = this.stats.feeds();
    const out = await this.graph.run({
      input: { data: input, dims: [1, 3, h, w] },
      [TEMPORAL_INPUTS.stats]: { data: f.stats, dims: [f.stats.length] },
      [TEMPORAL_INPUTS.momentum]: { data: f.momentum, dims: [1] },
    });
    const y = out.output!;
    checkOutput(this.graph.source, y.dims, 1, h, w);
    this.stats.update(out[TEMPORAL_OUTPUT]!.data);
    return y.data;
  }
  reset(): void {
    this.stats.reset();
  }
  dispose(): Promise<void> {
    return this.graph.dispose();
  }
}

class EngineFrames implements FrameRunner {
  readonly label: string;
  readonly maxBatch: number;
  private readonly smoother: EngineStatsSmoother | undefined;
  constructor(private readonly net: TransformerNet, private readonly precision: Precision, device: string, smoothing: Smoothing, momentum: number, batch: number) {
    net.eval();
    if (device !== 'cpu') net.toDevice(device);
    if (precision === 'bf16') net.toMemoryFormat('channels_last');
    this.smoother = smoothing === 'stats' ? new EngineStatsSmoother(net, momentum) : undefined;
    this.maxBatch = this.smoother ? 1 : batch;
    this.label = `engine ${precision === 'bf16' ? 'bf16+channels_last' : 'float32'}${this.smoother ? ', smoothed statistics' : ''}`;
  }
  get smoothing(): Smoothing {
    return this.smoother ? 'stats' : 'none';
  }
  async run(input: Float32Array, n: number, h: number, w: number): Promise<Float32Array> {
    checkBatch(input, n, h, w, this.maxBatch);
    const { data, dims } = noGrad(() =>
      tidy(() => {
        let x = tensor(input, [n, 3, h, w]);
        if (this.precision === 'bf16') x = x.contiguous('channels_last');
        const y = autocast(this.precision, () => this.net.forward(x)).to('float32').contiguous();
        return { data: y.toFloat32Array(), dims: y.shape };
      }),
    );
    checkOutput('engine', dims, n, h, w);
    return data;
  }
  reset(): void {
    this.smoother?.reset();
  }
  async dispose(): Promise<void> {
    this.smoother?.dispose();
    this.net.dispose();
  }
}

/** `inner` with a per-frame transform of its network run (shift averaging, edge padding: src/infer/core/). */
class WrappedFrames implements FrameRunner {
  readonly smoothing: Smoothing;
  readonly label: string;
  readonly maxBatch: number;
  private readonly wrapped: RunNetwork;
  constructor(private readonly inner: FrameRunner, what: string, wrap: (run: RunNetwork) => RunNetwork) {
    this.smoothing = inner.smoothing;
    this.label = what ? `${inner.label}, ${what}` : inner.label;
    this.maxBatch = inner.maxBatch;
    this.wrapped = wrap(async (x, d) => ({ data: await inner.run(x, d[0]!, d[2]!, d[3]!), dims: [d[0]!, 3, d[2]!, d[3]!] }));
  }
  async run(input: Float32Array, n: number, h: number, w: number): Promise<Float32Array> {
    checkBatch(input, n, h, w, this.maxBatch);
    return (await this.wrapped(input, [n, 3, h, w])).data;
  }
  reset(): void {
    this.inner.reset();
  }
  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}

/** Load the style model `style` (a shipped name, model folder, .onnx or .safetensors) for video frames. */
export async function loadFrameRunner(style: string, o: FrameRunnerOptions = {}): Promise<FrameRunner> {
  const shifts = o.shifts ?? DEFAULT_SHIFTS;
  checkShifts(shifts);
  if (shifts > 1 && o.smoothing === 'stats') {
    throw new Error(`shift averaging (${shifts} shifts) runs the network ${shifts} times a frame, and smoothed statistics must advance once a frame: use one or the other`);
  }
  const edgePad = o.edgePad ?? DEFAULT_EDGE_PAD;
  checkEdgePad(edgePad);
  let runner = await loadRunner(style, o);
  // As StyleModelCore.stylize: shifts inside, the edge padding around them.
  if (shifts > 1) runner = new WrappedFrames(runner, `${shifts} shifts averaged`, (run) => shiftAveraged(run, shifts));
  if (edgePad > 0) runner = new WrappedFrames(runner, '', (run) => edgePadded(run, edgePad));
  return runner;
}

async function loadRunner(style: string, o: FrameRunnerOptions): Promise<FrameRunner> {
  const { files, card } = await resolveModel(style, o.modelsDir);
  if (card.task !== 'style') throw new Error(`${style} is a ${card.task} model, not a style network`);
  const smoothing = o.smoothing ?? DEFAULT_SMOOTHING;
  if (!SMOOTHINGS.includes(smoothing)) throw new RangeError(`smoothing must be ${SMOOTHINGS.join(' or ')}, got '${smoothing}'`);
  const momentum = o.statsMomentum ?? DEFAULT_STATS_MOMENTUM;
  const batch = o.batchSize ?? DEFAULT_VIDEO_BATCH;
  if (!(Number.isInteger(batch) && batch >= 1)) throw new RangeError(`batchSize must be a positive integer, got ${batch}`);
  const want = o.runtime ?? 'auto';
  let runtime: 'onnx' | 'engine';
  let precision: Precision | undefined = o.precision;
  if (want !== 'auto') runtime = want;
  else if (files.onnx && files.weights && files.folder && engineAvailable()) {
    const c = await chooseRuntime({ card, folder: files.folder, size: o.width && o.height ? { width: o.width, height: o.height } : undefined });
    runtime = c.runtime;
    precision ??= c.precision;
  } else runtime = files.onnx ? 'onnx' : 'engine';
  if (runtime === 'onnx') {
    if (!files.onnx) throw new Error(`${style}: no .onnx file for onnxruntime (export it with \`perceptual export\`, or use the engine)`);
    if (smoothing === 'stats') {
      const t = temporalOnnx(await fs.readFile(files.onnx), files.onnx);
      return new OnnxTemporalFrames(await OrtGraph.load(t.bytes, `${files.onnx} (smoothed statistics)`), new TemporalStats(t.statsLength, momentum));
    }
    return new OnnxFrames(await OrtModel.load(files.onnx, o.device?.startsWith('cuda') ? { executionProviders: ['cuda'] } : {}), batch);
  }
  if (!files.weights) throw new Error(`${style}: no weights.safetensors for the engine`);
  if (!engineAvailable()) throw new Error(`${style}: the libtorch engine is not installed (see \`perceptual doctor\`)`);
  const device = resolveDevice(o.device);
  const net = await loadNetwork(files.weights);
  try {
    return new EngineFrames(net, precision ?? defaultPrecision(device), device, smoothing, momentum, batch);
  } catch (e) {
    net.dispose();
    throw e;
  }
}
