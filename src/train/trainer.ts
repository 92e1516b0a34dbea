/**
 * The one training loop, shared by style transfer and super-resolution (each plugs in a
 * {@link TrainingTask}). It owns what every serious trainer needs: Adam, mixed precision,
 * progress with images/s and ETA, atomic checkpoints with exact resume, validation with
 * sample images, a JSONL log and an SVG plot, clean stop on Ctrl-C (AbortSignal), and a
 * NaN/Inf guard that stops before a bad update reaches the weights.
 *
 * A step is kept in three parts — forward+loss, backward, optimizer step — so that a gradient
 * all-reduce can later go between backward and step for multi-process training.
 */
import { promises as fs, existsSync } from 'node:fs';
import path from 'node:path';
import { Adam, autocast, tidy, type Tensor, type Precision } from '../engine/index.js';
import type { LoaderPosition } from '../data/batch-loader.js';
import { saveCheckpoint, loadCheckpoint, type StatefulModel } from './checkpoint.js';
import { JsonlLog } from './log.js';
import { COMMON_TRAIN_OPTIONS } from './options.js';
import { lossSeries, plotSvg } from './plot.js';
import { createProgress, type ProgressReporter } from './progress.js';
import type { DataParallel } from './distributed.js';

/** What a task (style, SR) provides to the loop. */
export interface TrainingTask<Batch> {
  readonly name: string;
  /** The network being trained. */
  readonly model: StatefulModel & { parameters(): Tensor[]; train(on?: boolean): unknown; eval(): unknown };
  /** Images per batch (for images/s). */
  readonly batchSize: number;
  /** Next training batch; resolves from a prefetch queue. */
  nextBatch(signal?: AbortSignal): Promise<Batch>;
  /** Position after the last batch returned (saved in checkpoints). */
  dataPosition(): LoaderPosition;
  /** Forward pass and losses for one batch. `total` is what is minimised; parts are logged. */
  losses(batch: Batch): { total: Tensor; parts: Record<string, Tensor> };
  /** Release the batch's tensors/buffers, if it holds any. */
  releaseBatch?(batch: Batch): void;
  /** Mean validation losses (no grad). */
  validate(signal?: AbortSignal): Promise<Record<string, number>>;
  /** Write a few validation outputs as images into dir. */
  saveSamples(dir: string, iteration: number): Promise<void>;
  /** Total milliseconds the loop spent waiting for batches, if known. */
  dataWaitMs?(): number;
  close(): void;
}

export interface TrainerOptions {
  /** Folder for checkpoint, log, plot, samples. */
  outDir: string;
  iterations: number;
  lr?: number;
  /**
   * Linear learning-rate warmup over the run's first `warmup` iterations: step i (1-based) uses
   * lr·min(1, i/warmup). Adam's first step from fresh moments moves every weight by about lr
   * (m̂/√v̂ = g/|g|); on a trained network (fine-tuning, a run continued without its optimizer
   * state) that jolt costs more than it gains. A function of the iteration, so a resume continues it exactly.
   */
  warmup?: number;
  precision?: Precision;
  checkpointEvery?: number;
  validateEvery?: number;
  logEvery?: number;
  /** Continue from this checkpoint (or 'auto': outDir/checkpoint.safetensors if present). */
  resume?: string;
  /** Extra configuration stored in checkpoints (and compared on resume). */
  config?: Record<string, unknown>;
  signal?: AbortSignal;
  onProgress?: (fraction: number, info: { iteration: number; loss: number; imagesPerSecond: number }) => void;
  progress?: ProgressReporter;
  quiet?: boolean;
  /**
   * Data-parallel training (src/train/distributed.ts): the task's batches are this rank's share;
   * gradients are averaged between backward and step; only rank 0 writes anything.
   */
  distributed?: DataParallel;
}

export interface TrainResult {
  iteration: number;
  completed: boolean;
  interrupted: boolean;
  elapsed: number;
  lastTrain: Record<string, number>;
  lastVal?: Record<string, number>;
  checkpoint: string;
  imagesPerSecond: number;
  dataWaitFraction?: number;
}

/** The loss became NaN or infinite: the run stops; the last checkpoint is untouched. */
export class TrainingDivergedError extends Error {
  constructor(readonly iteration: number, readonly parts: Record<string, number>, checkpoint: string, readonly precision: Precision = 'float32') {
    super(
      `training diverged at iteration ${iteration}: loss is ${Object.entries(parts).map(([k, v]) => `${k}=${v}`).join(', ')}. ` +
        `The weights were not updated with it; the last good checkpoint is ${existsSync(checkpoint) ? checkpoint : '(none yet)'}. ` +
        `Lower the learning rate (option lr) or the loss weights${precision === 'float32' ? '' : `, or train in float32 (precision: 'float32'; this run was ${precision})`}.`,
    );
    this.name = 'TrainingDivergedError';
  }
}

export async function train<Batch>(task: TrainingTask<Batch>, options: TrainerOptions): Promise<TrainResult> {
  const outDir = options.outDir;
  const dp = options.distributed;
  const writer = !dp || dp.isWriter;
  if (writer) await fs.mkdir(path.join(outDir, 'samples'), { recursive: true });
  const ckptFile = path.join(outDir, 'checkpoint.safetensors');
  const logFile = path.join(outDir, 'log.jsonl');
  const precision: Precision = options.precision ?? 'float32';
  const checkpointEvery = options.checkpointEvery ?? COMMON_TRAIN_OPTIONS.checkpointEvery.default;
  const validateEvery = options.validateEvery ?? COMMON_TRAIN_OPTIONS.validateEvery.default;
  const logEvery = options.logEvery ?? 10;

  const params = task.model.parameters();
  const baseLr = options.lr ?? COMMON_TRAIN_OPTIONS.lr.default;
  const optimizer = new Adam(params, { lr: baseLr });
  const warmup = options.warmup ?? 0;
  let iteration = 0;
  let elapsedBefore = 0;
  /** Last losses; a resume starts from the checkpoint's (so a resume that runs no step still reports them). */
  let lastTrain: Record<string, number> = {};
  let lastVal: Record<string, number> | undefined;

  const resumeFrom = options.resume === 'auto' ? (existsSync(ckptFile) ? ckptFile : undefined) : options.resume;
  if (resumeFrom) {
    const ck = await loadCheckpoint(resumeFrom);
    task.model.loadStateDict(ck.model, { strict: true });
    for (const t of ck.model.values()) t.dispose();
    optimizer.setState(ck.optimizer.state);
    for (const s of ck.optimizer.state) {
      s?.expAvg.dispose();
      s?.expAvgSq.dispose();
    }
    iteration = ck.iteration;
    elapsedBefore = ck.elapsed;
    const extra = ck.extra as { lastTrain?: Record<string, number>; lastVal?: Record<string, number> } | undefined;
    lastTrain = extra?.lastTrain ?? {};
    lastVal = extra?.lastVal;
    const pos = task.dataPosition();
    // data-parallel: this rank's own position (checked when the world size is the checkpoint's)
    const expected = dp ? dp.resumePosition(ck) : ck.position;
    if (expected && (pos.epoch !== expected.epoch || pos.index !== expected.index)) {
      throw new Error(`resume: the task's data loader must be created at position ${JSON.stringify(expected)} (from the checkpoint), it is at ${JSON.stringify(pos)}`);
    }
    if (writer) await JsonlLog.truncateAfter(logFile, iteration);
  }
  // Same configuration and state on every rank (refuses otherwise), then rank 0's state everywhere.
  if (dp) await dp.setup(task.model, optimizer, { config: options.config ?? {}, iteration });
  /** Images per step over all ranks. */
  const stepImages = task.batchSize * (dp?.worldSize ?? 1);

  const log = writer ? new JsonlLog(logFile) : undefined;
  const progress = options.progress ?? createProgress({ label: task.name, quiet: options.quiet || !writer, lineEvery: logEvery });
  const started = Date.now();
  const startIteration = iteration;
  let interrupted = false;

  const elapsed = () => elapsedBefore + (Date.now() - started) / 1000;
  // Data-parallel: every rank reports its own data position, rank 0 writes them all.
  const checkpoint = async (position: LoaderPosition = task.dataPosition()) => {
    const positions = dp ? await dp.gatherPositions(position, iteration) : undefined;
    if (!writer) return;
    const distributed = dp ? { worldSize: dp.worldSize, positions: positions! } : undefined;
    await saveCheckpoint(ckptFile, task.model, optimizer, { iteration, position, elapsed: elapsed(), config: options.config ?? {}, extra: { lastTrain, lastVal, ...(distributed ? { distributed } : {}) } });
  };
  const writePlot = async () => {
    if (!writer) return;
    const svg = plotSvg(lossSeries(await JsonlLog.read(logFile)), { title: `${task.name}: loss` });
    await fs.writeFile(path.join(outDir, 'losses.svg'), svg);
  };
  const validate = async () => {
    if (!writer) return; // rank 0 validates; the others wait for it at the next all-reduce
    task.model.eval();
    lastVal = await task.validate(options.signal);
    await task.saveSamples(path.join(outDir, 'samples'), iteration);
    task.model.train();
    log?.append({ kind: 'val', iteration, time: elapsed(), ...lastVal });
    progress.log(`${task.name} validation @${iteration}: ${Object.entries(lastVal).map(([k, v]) => `${k} ${v.toPrecision(5)}`).join(', ')}`);
  };

  log?.append({ kind: 'event', iteration, time: elapsed(), event: resumeFrom ? 'resume' : 'start', precision, config: options.config ?? {}, ...(dp ? { worldSize: dp.worldSize } : {}) });
  task.model.train();
  progress.start(options.iterations, iteration);
  let windowStart = Date.now(), windowImages = 0, imagesPerSecond = 0;
  /** Data-parallel stop: the position before the batch of the step no rank applied. */
  let stopPosition: LoaderPosition | undefined;
  try {
    while (iteration < options.iterations) {
      // Data-parallel, a rank never leaves alone: one that is stopped still takes part in this
      // step's all-reduce with the stop flag, nobody applies the step, and all stop together.
      const before = task.dataPosition();
      let batch: Batch | undefined;
      if (!options.signal?.aborted) {
        try {
          batch = await task.nextBatch(options.signal);
        } catch (e) {
          if (!options.signal?.aborted) throw e;
        }
      }
      if (batch === undefined) {
        interrupted = true;
        if (dp) {
          await dp.reduceStep(params, undefined, true);
          stopPosition = before;
        }
        break;
      }
      // forward + loss, then backward; nothing of the step survives the scope but numbers
      optimizer.zeroGrad();
      let values = tidy(() => {
        const { total, parts } = autocast(precision, () => task.losses(batch));
        total.backward();
        const out: Record<string, number> = { total: total.item() };
        for (const [k, v] of Object.entries(parts)) out[k] = v.item();
        return out;
      });
      task.releaseBatch?.(batch);
      let finite = Object.values(values).every(Number.isFinite);
      if (dp) {
        // gradients (and the loss values, and the flags) averaged over the ranks
        const r = await dp.reduceStep(params, values, options.signal?.aborted ?? false);
        if (r.stop) {
          interrupted = true;
          stopPosition = before;
          break;
        }
        values = r.values;
        finite = !r.nonFinite;
      }
      if (!finite) {
        log?.append({ kind: 'event', iteration: iteration + 1, time: elapsed(), event: 'diverged', ...values });
        throw new TrainingDivergedError(iteration + 1, values, ckptFile, precision);
      }
      if (iteration < warmup) optimizer.lr = (baseLr * (iteration + 1)) / warmup;
      optimizer.step();
      iteration++;
      lastTrain = values;
      windowImages += stepImages;
      const now = Date.now();
      if (now - windowStart > 5000 || iteration === startIteration + 1) {
        imagesPerSecond = windowImages / ((now - windowStart) / 1000);
        windowStart = now;
        windowImages = 0;
      }
      if (iteration % logEvery === 0 || iteration === options.iterations) {
        log?.append({ kind: 'train', iteration, time: elapsed(), imagesPerSecond, ...values });
      }
      progress.update(iteration, { loss: values.total!, imagesPerSecond });
      options.onProgress?.(iteration / options.iterations, { iteration, loss: values.total!, imagesPerSecond });
      if (iteration % checkpointEvery === 0) {
        await checkpoint();
        await writePlot();
      }
      if (iteration % validateEvery === 0 || iteration === options.iterations) await validate();
    }
  } finally {
    progress.stop();
  }
  // Always leave a checkpoint of where we stopped (Ctrl-C, end of run). A divergence throws
  // above and leaves the last good one alone.
  await checkpoint(stopPosition);
  log?.append({ kind: 'event', iteration, time: elapsed(), event: interrupted ? 'interrupted' : 'finished' });
  await log?.close();
  await writePlot();
  // This session's speed; a resumed session that ran no step (asked for the iterations already
  // done, to write the model folder) reports the whole run's instead of 0.
  const rate = iteration > startIteration ? (iteration - startIteration) * stepImages / ((Date.now() - started) / 1000) : iteration * stepImages / Math.max(elapsed(), 1e-9);
  const wait = task.dataWaitMs?.();
  const dataWaitFraction = wait === undefined ? undefined : wait / (Date.now() - started);
  return { iteration, completed: iteration >= options.iterations, interrupted, elapsed: elapsed(), lastTrain, lastVal, checkpoint: ckptFile, imagesPerSecond: rate, dataWaitFraction };
}
