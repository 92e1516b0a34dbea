/**
 * Data-parallel training (torch's DistributedDataParallel, on c10d gloo through the engine):
 * one process per rank, each with a full copy of the network and its own share of the data.
 *
 * - Launched with torchrun's environment (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK;
 *   `perceptual launch` sets it). WORLD_SIZE absent or 1: an ordinary single-process run.
 * - `--batch-size` is the GLOBAL batch: each rank takes batch/world of it. The ranks read the one
 *   seeded stream of the single-process run interleaved (rank r takes elements r, r+W, …:
 *   DistributedSampler's rule), so the union of a step's local batches is exactly the batch a
 *   single process would take, whatever the world size.
 * - At start every rank publishes a fingerprint (configuration, iteration, sha256 of the weights
 *   and of the optimizer state) and all refuse to start unless they match rank 0's; then
 *   parameters, buffers and Adam moments are broadcast from rank 0 (torch DDP's rule).
 * - Once per step, between backward and the optimizer step, the gradients are averaged with one
 *   bucketed all-reduce; the same all-reduce carries the loss values (so rank 0 logs the global
 *   mean) and two flags: "stop" (Ctrl-C on any rank: no rank applies that step, all stop
 *   together, the checkpoint names the batch before it) and "not finite" (all stop as diverged).
 * - Rank 0 alone writes checkpoints, logs, samples and the model folder. Checkpoints keep every
 *   rank's data position, so a resume with the same world size continues exactly.
 *
 * BatchNorm: like torch DDP without SyncBatchNorm, each rank normalises with its local batch's
 * statistics (a different computation from one process with the global batch); instance norm —
 * the default architecture's — has no such difference.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import { ProcessGroup, tensor, tidy, zerosLike, DEFAULT_DISTRIBUTED_TIMEOUT_MS, type Tensor, type Adam } from '../engine/index.js';
import type { LoaderPosition } from '../data/batch-loader.js';
import type { StatefulModel } from './checkpoint.js';

/** Slots of the per-step numbers all-reduced with the gradients: the loss values, then the stop and not-finite flags. */
const META_SLOTS = 16;

/** torchrun's environment, parsed. */
export interface DistributedEnv {
  masterAddr: string;
  masterPort: number;
  worldSize: number;
  rank: number;
  localRank: number;
  /** PERCEPTUAL_DIST_TIMEOUT_MS (default torch's 30 min): joining, each collective and store read. */
  timeoutMs: number;
  /** GLOO_SOCKET_IFNAME, split on commas. */
  interfaces?: string[];
}

/** torchrun's default MASTER_PORT. */
export const DEFAULT_MASTER_PORT = 29500;

/** The distributed environment, or undefined for a single-process run (WORLD_SIZE unset or 1). */
export function distributedEnv(env: NodeJS.ProcessEnv = process.env): DistributedEnv | undefined {
  if (env.WORLD_SIZE === undefined || env.WORLD_SIZE === '' || env.WORLD_SIZE === '1') return undefined;
  const int = (name: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (value === undefined || value === '' || !Number.isInteger(n) || n < min) {
      throw new Error(`distributed training: ${name}=${value ?? '(unset)'} must be an integer ≥ ${min} (torchrun's environment: MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK; \`perceptual launch\` sets it)`);
    }
    return n;
  };
  const worldSize = int('WORLD_SIZE', env.WORLD_SIZE, 2);
  const rank = int('RANK', env.RANK, 0);
  if (rank >= worldSize) throw new Error(`distributed training: RANK=${rank} is not below WORLD_SIZE=${worldSize}`);
  if (!env.MASTER_ADDR) throw new Error('distributed training: MASTER_ADDR is not set (the address of the rank-0 machine)');
  const masterPort = int('MASTER_PORT', env.MASTER_PORT ?? String(DEFAULT_MASTER_PORT), 1);
  if (masterPort > 65535) throw new Error(`distributed training: MASTER_PORT=${masterPort} is not a port`);
  const timeoutMs = env.PERCEPTUAL_DIST_TIMEOUT_MS ? int('PERCEPTUAL_DIST_TIMEOUT_MS', env.PERCEPTUAL_DIST_TIMEOUT_MS, 1) : DEFAULT_DISTRIBUTED_TIMEOUT_MS;
  return {
    masterAddr: env.MASTER_ADDR,
    masterPort,
    worldSize,
    rank,
    localRank: env.LOCAL_RANK ? int('LOCAL_RANK', env.LOCAL_RANK, 0) : rank,
    timeoutMs,
    interfaces: env.GLOO_SOCKET_IFNAME ? env.GLOO_SOCKET_IFNAME.split(',').filter(Boolean) : undefined,
  };
}

/** What a checkpoint records about the data-parallel run that wrote it. */
export interface DistributedCheckpointInfo {
  worldSize: number;
  /** Each rank's own next position in the stream (rank 0's is also the checkpoint's `position`). */
  positions: LoaderPosition[];
}

export interface StepReduction {
  /** The loss values averaged over the ranks (= the global batch's mean). */
  values: Record<string, number>;
  /** Some rank asked to stop: nobody applies this step. */
  stop: boolean;
  /** Some rank's loss was NaN/Inf. */
  nonFinite: boolean;
}

export class DataParallel {
  private constructor(readonly group: ProcessGroup, readonly env: DistributedEnv, private readonly log: (message: string) => void) {}

  /**
   * Join the process group described by the environment; undefined when the process was not
   * launched data-parallel. Resolves once every rank has joined.
   */
  static async fromEnv(options: { env?: NodeJS.ProcessEnv; log?: (message: string) => void; signal?: AbortSignal } = {}): Promise<DataParallel | undefined> {
    const env = distributedEnv(options.env);
    if (!env) return undefined;
    const joining = ProcessGroup.init({ masterAddr: env.masterAddr, masterPort: env.masterPort, rank: env.rank, worldSize: env.worldSize, timeoutMs: env.timeoutMs, interfaces: env.interfaces });
    joining.catch(() => {}); // when the wait was interrupted, its later failure is nobody's concern
    // Ctrl-C while waiting for the other ranks stops the wait (the join itself ends with the process).
    const { signal } = options;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new Error(`interrupted while rank ${env.rank} of ${env.worldSize} waited for the others at ${env.masterAddr}:${env.masterPort}`));
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const group = await Promise.race([joining, aborted]);
      return new DataParallel(group, env, options.log ?? (() => {}));
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  get rank(): number {
    return this.env.rank;
  }
  get worldSize(): number {
    return this.env.worldSize;
  }
  /** Rank 0 writes checkpoints, logs, samples and the model folder; the others write nothing. */
  get isWriter(): boolean {
    return this.env.rank === 0;
  }
  get shard(): { rank: number; worldSize: number } {
    return { rank: this.rank, worldSize: this.worldSize };
  }

  /** This rank's batch: the global `--batch-size` split evenly over the ranks. */
  localBatchSize(globalBatch: number): number {
    if (globalBatch % this.worldSize !== 0) {
      throw new Error(`--batch-size ${globalBatch} is the global batch and must be divisible by the number of processes (${this.worldSize}); try ${Math.max(1, Math.round(globalBatch / this.worldSize)) * this.worldSize}`);
    }
    return globalBatch / this.worldSize;
  }

  /**
   * Where this rank's data loader starts. Fresh run: undefined (the loader starts at element
   * `rank`). Resume with the checkpoint's world size: this rank's saved position (exact). With
   * another world size: the checkpoint's global position plus `rank` — the same global stream,
   * so the data continue exactly unless the first run skipped unreadable files (their
   * replacements shift the ranks apart); the summation order of the gradient average changes
   * in the last bits, and BatchNorm statistics follow the new local batch.
   */
  startPosition(checkpoint?: { position: LoaderPosition; extra?: Record<string, unknown> }): LoaderPosition | undefined {
    if (!checkpoint) return undefined;
    const own = this.resumePosition(checkpoint);
    if (own) return own;
    if (this.isWriter) this.log(worldSizeChangeNote(checkpointWorldSize(checkpoint.extra), this.worldSize));
    // may point past the epoch's end by up to rank elements: the loader rolls it over
    return { epoch: checkpoint.position.epoch, index: checkpoint.position.index + this.rank };
  }

  /** This rank's saved position when the checkpoint was written with this world size (else undefined: see startPosition). */
  resumePosition(checkpoint: { extra?: Record<string, unknown> }): LoaderPosition | undefined {
    const info = checkpoint.extra?.distributed as DistributedCheckpointInfo | undefined;
    return info && info.worldSize === this.worldSize && info.positions.length === this.worldSize ? info.positions[this.rank] : undefined;
  }

  /**
   * Refuse to train unless every rank runs the same configuration from the same state, then make
   * the state bit-identical by broadcasting rank 0's parameters, buffers and Adam moments.
   */
  async setup(model: StatefulModel, optimizer: Adam, state: { config: Record<string, unknown>; iteration: number }): Promise<void> {
    const weights = createHash('sha256');
    for (const [k, t] of model.stateDict()) weights.update(k).update(tensorBytes(t));
    const adam = createHash('sha256');
    const moments = optimizer.getState();
    for (const s of moments) {
      adam.update(JSON.stringify(s?.step ?? null));
      if (s) adam.update(tensorBytes(s.expAvg)).update(tensorBytes(s.expAvgSq));
    }
    const mine: Fingerprint = {
      config: JSON.parse(JSON.stringify(state.config)) as Record<string, unknown>,
      iteration: state.iteration,
      weights: weights.digest('hex').slice(0, 16),
      optimizer: adam.digest('hex').slice(0, 16),
      host: os.hostname(),
    };
    await this.group.store.set(`setup/${this.rank}`, JSON.stringify(mine));
    const all: Fingerprint[] = [];
    for (let r = 0; r < this.worldSize; r++) all.push(r === this.rank ? mine : (JSON.parse(await this.group.store.get(`setup/${r}`)) as Fingerprint));
    const problems: string[] = [];
    for (let r = 1; r < this.worldSize; r++) {
      const d = fingerprintDiff(all[0]!, all[r]!);
      if (d.length) problems.push(`rank ${r} (${all[r]!.host}) differs from rank 0 (${all[0]!.host}) in ${d.join('; ')}`);
    }
    await this.group.store.add('setup/read', 1);
    if (problems.length) {
      for (const s of moments) s?.expAvg.dispose(), s?.expAvgSq.dispose();
      // rank 0 hosts the store: it leaves only once every rank has read what it needs to say why
      if (this.isWriter) {
        const until = Date.now() + Math.min(this.env.timeoutMs, 30_000);
        while ((await this.group.store.add('setup/read', 0)) < this.worldSize && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(
        `distributed training: the ranks do not run the same configuration and state, refusing to start (rank ${this.rank} of ${this.worldSize}): ${problems.join('. ')}. ` +
          'Every rank needs the same command line, data and — to resume — the same checkpoint (on every machine).',
      );
    }
    const stateTensors = [...model.stateDict().values()];
    await this.group.broadcast(stateTensors, { root: 0 });
    const present = moments.filter((s) => s !== null);
    if (present.length) {
      await this.group.broadcast(present.flatMap((s) => [s!.expAvg, s!.expAvgSq]), { root: 0 });
      optimizer.setState(moments);
    }
    for (const s of present) s!.expAvg.dispose(), s!.expAvgSq.dispose();
    this.log(`data-parallel: rank ${this.rank} of ${this.worldSize} (${this.group.backend}, store ${this.group.masterAddr}:${this.group.masterPort}); configuration and weights checked (${mine.weights}), state broadcast from rank 0`);
  }

  /**
   * Average the gradients of `params` over the ranks (one bucketed all-reduce) together with the
   * loss values and the stop/not-finite flags. `values` undefined: this rank has no batch (it
   * was stopped before getting one) and contributes zeros with the stop flag set.
   */
  async reduceStep(params: Tensor[], values: Record<string, number> | undefined, stop: boolean): Promise<StepReduction> {
    const trainable = params.filter((p) => p.requiresGrad);
    const keys = values ? Object.keys(values).sort() : [];
    if (keys.length > META_SLOTS - 2) throw new Error(`distributed training: ${keys.length} loss values to average, at most ${META_SLOTS - 2} (${keys.join(', ')})`);
    const nonFinite = values ? !Object.values(values).every(Number.isFinite) : false;
    // A fixed length whatever this rank has: a rank stopped before its batch knows no loss names,
    // and every rank's all-reduce must have the same size (a shorter one aborted the peer in gloo:
    // "op.preamble.length <= op.nbytes"). Its zeros in the value slots do not matter: with the stop
    // flag set nobody uses the step's values.
    const meta = new Float32Array(META_SLOTS);
    keys.forEach((k, i) => (meta[i] = values![k]!));
    meta[META_SLOTS - 2] = stop || !values ? 1 : 0;
    meta[META_SLOTS - 1] = nonFinite ? 1 : 0;
    // Handles on the gradients (same storage as the parameters' .grad: reduced in place), or zeros.
    const bucket = tidy(() => {
      const grads = trainable.map((p, i) => {
        if (!values) return zerosLike(p);
        const g = p.grad;
        if (!g) throw new Error(`distributed training: parameter ${i} (${p.shape.join('×')}) has no gradient after backward on rank ${this.rank}; every parameter must take part in the loss`);
        return g;
      });
      return [...grads, tensor(meta, [meta.length])];
    });
    try {
      await this.group.allReduce(bucket, { op: 'avg' });
      const reduced = bucket[bucket.length - 1]!.toFloat32Array();
      const avg: Record<string, number> = {};
      keys.forEach((k, i) => (avg[k] = reduced[i]!));
      return { values: avg, stop: reduced[META_SLOTS - 2]! > 0, nonFinite: reduced[META_SLOTS - 1]! > 0 };
    } finally {
      for (const t of bucket) t.dispose();
    }
  }

  /** Rank 0 gets every rank's data position (the others get an empty list); all ranks must call it. */
  async gatherPositions(own: LoaderPosition, iteration: number): Promise<LoaderPosition[]> {
    await this.group.store.set(`position/${iteration}/${this.rank}`, JSON.stringify(own));
    if (!this.isWriter) return [];
    const out: LoaderPosition[] = [];
    for (let r = 0; r < this.worldSize; r++) out.push(r === 0 ? own : (JSON.parse(await this.group.store.get(`position/${iteration}/${r}`)) as LoaderPosition));
    return out;
  }

  /** Wait for every rank, then leave the group (rank 0 closes the store last). */
  async close(options: { barrier?: boolean } = {}): Promise<void> {
    try {
      if (options.barrier !== false) await this.group.barrier();
    } finally {
      await this.group.destroy();
    }
  }
}

/**
 * What resuming a checkpoint written by `from` processes with `to` processes does.
 */
export function worldSizeChangeNote(from: number, to: number): string {
  const n = (k: number) => (k === 1 ? 'a single process' : `${k} processes`);
  return (
    `resume: the checkpoint was written by ${n(from)}, this run has ${n(to)}: weights, optimizer state and iteration continue exactly; ` +
    'the data continue the same global sequence from the checkpoint (exact unless files were skipped as unreadable); ' +
    'the gradient average sums in another order (last-bit differences) and BatchNorm, if any, sees the new per-process batch.'
  );
}

/** The data-parallel record of a checkpoint's `extra`, if it has one. */
export function checkpointWorldSize(extra: Record<string, unknown> | undefined): number {
  const info = extra?.distributed as DistributedCheckpointInfo | undefined;
  return info?.worldSize ?? 1;
}

interface Fingerprint {
  config: Record<string, unknown>;
  iteration: number;
  weights: string;
  optimizer: string;
  host: string;
}

function fingerprintDiff(a: Fingerprint, b: Fingerprint): string[] {
  const out: string[] = [];
  const keys = [...new Set([...Object.keys(a.config), ...Object.keys(b.config)])].sort();
  for (const k of keys) {
    const x = JSON.stringify(a.config[k]), y = JSON.stringify(b.config[k]);
    if (x !== y) out.push(`${k} (${y ?? 'unset'} vs ${x ?? 'unset'})`);
  }
  if (a.iteration !== b.iteration) out.push(`iteration (${b.iteration} vs ${a.iteration}: a resume needs the checkpoint on every machine)`);
  if (!out.length && a.weights !== b.weights) out.push(`initial weights (hash ${b.weights} vs ${a.weights})`);
  if (!out.length && a.optimizer !== b.optimizer) out.push(`optimizer state (hash ${b.optimizer} vs ${a.optimizer})`);
  return out;
}

function tensorBytes(t: Tensor): Uint8Array {
  const a = t.toArray();
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
