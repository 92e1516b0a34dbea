/**
 * The one training driver, `trainModel(spec, options)`, as fast-neural-style's single
 * train.lua is with `-task`: everything a run needs that does not depend on the task — option
 * defaults and checks, device and precision, the resume identity check, seeding, the memory
 * format, the trainer, the model folder, and the release of every resource in `finally` — is
 * here once. A {@link TaskSpec} supplies what differs: its option table (defaults), the
 * run-identity keys a resume must keep, and builders for the network, the loss, the data and
 * the card.
 *
 * `trainStyle` (train-style.ts) and `trainSr` (train-sr.ts) are `trainModel` with their spec.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { defaultPrecision, manualSeed, resolveDevice, type MemoryFormat, type Precision } from '../engine/index.js';
import type { TransformerNet } from '../models/transformer-net.js';
import type { Vgg } from '../models/vgg/vgg.js';
import type { PerceptualLoss } from '../losses/perceptual-loss.js';
import { writeModelFolder, type ModelCard, type TrainingRecord } from '../models/model-folder.js';
import { removeStaleTempFiles } from '../util/stale-temp.js';
import { defaultLossProfile, FALLBACK_PROFILE } from '../losses/setup.js';
import { readCheckpointState, type CheckpointStateWithOptimizer } from './checkpoint.js';
import { checkOptions, withDefaults, type OptionTable } from './options.js';
import { train, type TrainResult, type TrainingTask } from './trainer.js';
import { DataParallel, checkpointWorldSize, worldSizeChangeNote } from './distributed.js';
import type { LoaderPosition } from '../data/batch-loader.js';
import type { ProgressReporter } from './progress.js';

/** Options every task takes beside its table's (callbacks and signals; never on the CLI). */
export interface DriverHooks {
  signal?: AbortSignal;
  progress?: ProgressReporter;
  quiet?: boolean;
  /** An unreadable (or too small) training or validation image that was skipped. */
  onSkip?: (file: string, reason: string) => void;
  /** One-line messages (what is being trained, with what). */
  log?: (message: string) => void;
}

/** What the driver itself reads of a task's (defaulted) options. */
export interface DriverOptions extends DriverHooks {
  outDir: string;
  modelDir?: string;
  name?: string;
  title?: string;
  iterations: number;
  lr: number;
  /** Iterations of linear learning-rate warmup (0: none). */
  warmup: number;
  seed: number;
  batchSize: number;
  precision?: Precision;
  device: string;
  checkpointEvery: number;
  validateEvery: number;
  resume?: string;
  /** A loss network built by the caller (tests: `Vgg.random`); the caller keeps owning it. */
  lossNetwork?: Vgg;
  /** Loss profile (default: see {@link defaultProfile}). */
  profile?: string;
  /** VGG weights path (default: those found). */
  vgg?: string;
}

/** What the driver gives a task's builders. */
export interface RunContext<O> {
  /** The options with defaults filled in. */
  o: O;
  device: string;
  precision: Precision;
  memoryFormat: MemoryFormat;
  /** The run configuration (stored in checkpoints, compared on resume). */
  config: Record<string, unknown>;
  /** The checkpoint being resumed (its state only; the trainer loads the tensors). */
  resumed?: CheckpointStateWithOptimizer;
  /**
   * This process's part of the data: the batch size (the global `batchSize`, divided by the
   * number of processes when data-parallel), where to start, and the rank's share of the stream.
   * A task gives these to its dataset.
   */
  data: { batchSize: number; position?: LoaderPosition; shard?: { rank: number; worldSize: number } };
  log: (message: string) => void;
}

export interface BuiltLoss {
  vgg: Vgg;
  loss: PerceptualLoss;
  /** Where the loss network's weights came from (for the log). */
  vggPath: string;
  /** Whether the driver disposes the loss network (false when the caller passed it in). */
  ownsVgg: boolean;
}

/** A task's part of a run: its options, its identity, and how to build it. */
export interface TaskSpec<O extends DriverOptions, Task extends TrainingTask<unknown>> {
  /** 'train-style', 'train-sr': the operation named in errors and the progress label. */
  readonly operation: string;
  /** The option table: defaults, types, help (the CLI is generated from it). */
  readonly options: OptionTable;
  /** Configuration keys a resumed run must keep (iterations may be extended). */
  readonly identityKeys: readonly string[];
  /** Task-specific checks and the run configuration, before anything is loaded. */
  configure(o: O, precision: Precision): Record<string, unknown>;
  /** The network to train (the driver has seeded the generator). */
  buildModel(ctx: RunContext<O>): TransformerNet;
  /** The loss network and the objective. */
  buildLoss(ctx: RunContext<O>): Promise<BuiltLoss>;
  /** The data and the training task (the driver closes it). */
  buildTask(ctx: RunContext<O>, parts: { model: TransformerNet; loss: PerceptualLoss; vgg: Vgg }): Promise<Task>;
  /** One line saying what is trained with what. */
  describe(ctx: RunContext<O>, parts: { model: TransformerNet; vgg: Vgg; vggPath: string }): string;
  /** The card of the finished model (spread `record`, the run's training record, into it); may write samples into `modelDir` first. */
  card(ctx: RunContext<O>, parts: { model: TransformerNet; vgg: Vgg; task: Task; result: TrainResult; record: TrainingRecord; modelDir: string; name: string }): Promise<ModelCard>;
}

export interface TrainModelResult extends TrainResult {
  /** The model folder (weights.safetensors, card.json), written when the run completed. */
  modelDir?: string;
  config: Record<string, unknown>;
}

/** What every trained model's card records about its run. */
export function trainingRecord(o: Pick<DriverOptions, 'lr'>, precision: Precision, result: TrainResult): Required<Pick<TrainingRecord, 'iterations' | 'lr' | 'precision' | 'trainedAt' | 'trainingSeconds' | 'imagesPerSecond' | 'finalTrainLoss'>> & Pick<TrainingRecord, 'finalValLoss'> {
  return {
    iterations: result.iteration,
    lr: o.lr,
    precision,
    trainedAt: new Date().toISOString(),
    trainingSeconds: Math.round(result.elapsed),
    imagesPerSecond: Number(result.imagesPerSecond.toFixed(3)),
    finalTrainLoss: result.lastTrain,
    ...(result.lastVal ? { finalValLoss: result.lastVal } : {}),
  };
}

/**
 * The loss profile when none is given: a resumed run's own; with a loss network passed in,
 * the best one its layers allow; else the one the VGG weights on disk allow
 * (losses/setup.ts `defaultLossProfile`).
 */
async function defaultProfile(o: DriverOptions, resumedConfig: Record<string, unknown> | undefined): Promise<string> {
  if (typeof resumedConfig?.profile === 'string') return resumedConfig.profile;
  const net = o.lossNetwork;
  if (net) {
    const has = (layer: string): boolean => {
      try {
        net.check(layer);
        return true;
      } catch {
        return false;
      }
    };
    if (has('relu4_3')) return net.arch === 'vgg16' ? 'paper' : 'paper-vgg19';
    return FALLBACK_PROFILE;
  }
  return defaultLossProfile(o.vgg);
}

/** Compare a resumed run's identity with the checkpoint's; the error names the option. */
export function checkResumeIdentity(operation: string, file: string, keys: readonly string[], old: Record<string, unknown>, now: Record<string, unknown>): void {
  for (const k of keys) {
    if (old[k] !== undefined && JSON.stringify(old[k]) !== JSON.stringify(now[k])) {
      throw new Error(`${operation}: resume: the checkpoint ${file} was trained with ${k}=${JSON.stringify(old[k])}, this run asks for ${JSON.stringify(now[k])}`);
    }
  }
}

/** Train a model of the spec's task; see the module comment. */
export async function trainModel<O extends DriverOptions, Task extends TrainingTask<unknown>>(spec: TaskSpec<O, Task>, options: Partial<O> & DriverHooks): Promise<TrainModelResult> {
  const o = withDefaults(spec.options, options) as unknown as O;
  const { lossNetwork: _ln, signal: _s, progress: _p, onSkip: _k, log: _l, ...checked } = o as O & Record<string, unknown>;
  checkOptions(spec.operation, spec.options, checked);
  const log = o.log ?? (() => {});
  const device = resolveDevice(o.device);
  const precision = o.precision ?? defaultPrecision(device);

  const resumeFile = o.resume === 'auto' ? path.join(o.outDir, 'checkpoint.safetensors') : o.resume;
  if (o.resume && o.resume !== 'auto' && !existsSync(o.resume)) throw new Error(`${spec.operation}: option 'resume': no checkpoint at ${o.resume}`);
  const resumed = resumeFile && existsSync(resumeFile) ? await readCheckpointState(resumeFile) : undefined;
  o.profile ??= await defaultProfile(o, resumed?.config);
  const config = spec.configure(o, precision);
  if (resumed) checkResumeIdentity(spec.operation, resumeFile!, spec.identityKeys, resumed.config, config);

  // Temporary files of killed runs (a checkpoint written when the process got SIGKILL) go first.
  for (const dir of [o.outDir, o.modelDir ?? path.join(o.outDir, 'model')]) {
    for (const f of await removeStaleTempFiles(dir)) log(`removed ${f}, left by a run that was killed`);
  }
  const memoryFormat: MemoryFormat = precision === 'bf16' ? 'channels_last' : 'contiguous';
  // Data-parallel when launched with torchrun's environment (`perceptual launch`); see distributed.ts.
  const dp = await DataParallel.fromEnv({ log, signal: o.signal });
  let data: RunContext<O>['data'] = { batchSize: o.batchSize, position: resumed?.position };
  if (!dp && resumed && checkpointWorldSize(resumed.extra) !== 1) log(worldSizeChangeNote(checkpointWorldSize(resumed.extra), 1));
  if (dp) {
    try {
      data = { batchSize: dp.localBatchSize(o.batchSize), position: dp.startPosition(resumed), shard: dp.shard };
    } catch (e) {
      await dp.close({ barrier: false });
      throw e;
    }
  }
  const ctx: RunContext<O> = { o, device, precision, memoryFormat, config, resumed, data, log };
  // Released in reverse order whatever happens (divergence, Ctrl-C, a bad image folder).
  const release: Array<() => void> = [];
  let finished = false;
  try {
    manualSeed(o.seed); // reproducible initial weights: the same seed gives the same run
    const model = spec.buildModel(ctx);
    release.push(() => model.dispose());
    const { vgg, loss, vggPath, ownsVgg } = await spec.buildLoss(ctx);
    if (ownsVgg) release.push(() => vgg.dispose());
    release.push(() => loss.dispose());
    if (device !== 'cpu') {
      model.toDevice(device);
      if (ownsVgg) vgg.toDevice(device);
    }
    if (memoryFormat === 'channels_last') {
      model.toMemoryFormat('channels_last');
      if (ownsVgg) vgg.toMemoryFormat('channels_last');
    }
    const task = await spec.buildTask(ctx, { model, loss, vgg });
    release.push(() => task.close());
    log(`${spec.describe(ctx, { model, vgg, vggPath })}; ${precision}${memoryFormat === 'channels_last' ? ' + channels_last' : ''}${device !== 'cpu' ? ` on ${device}` : ''}`);

    const result = await train(task, {
      outDir: o.outDir,
      iterations: o.iterations,
      lr: o.lr,
      warmup: o.warmup,
      precision,
      checkpointEvery: o.checkpointEvery,
      validateEvery: o.validateEvery,
      resume: resumed ? resumeFile : undefined,
      config,
      signal: o.signal,
      progress: o.progress,
      quiet: o.quiet,
      distributed: dp,
    });
    let modelDir: string | undefined;
    if (result.completed && (dp?.isWriter ?? true)) {
      modelDir = o.modelDir ?? path.join(o.outDir, 'model');
      model.eval();
      const name = o.name ?? path.basename(o.modelDir ?? o.outDir);
      const card = await spec.card(ctx, { model, vgg, task, result, record: trainingRecord(o, precision, result), modelDir, name });
      await writeModelFolder(modelDir, { card, model });
    }
    finished = true;
    return { ...result, modelDir, config };
  } finally {
    for (const r of release.reverse()) r();
    // After a failure the peers may be gone: no barrier, just leave.
    await dp?.close({ barrier: finished });
  }
}
