/**
 * The machinery shared by every training dataset: seeded, resumable ordering plus an async
 * prefetch queue. A dataset only supplies `decode(file, context) → sample` (style transfer:
 * a resized square; super-resolution: an HR crop and its LR version) and packs samples.
 *
 * Why a prefetch queue: the consumer is a synchronous libtorch training step on the main
 * thread. Decoding runs on libuv's thread pool (sharp's async API), so it can proceed while
 * that step blocks the main thread — as long as the work was *queued* before the step began.
 * The loader therefore keeps `prefetch` batches' worth of decodes queued at all times, and
 * queues a replacement the moment a sample is taken.
 *
 * Why exact resume works: the order is a pure function of (seed, epoch) and anything random
 * inside a sample (e.g. a crop position) must come from `context.seed`, a pure function of
 * (seed, epoch, index). Nothing depends on timing, on how far ahead the queue ran, or on how
 * many batches this process has produced, so `{epoch, index}` is the whole state.
 */
import { SampleOrder, type LoaderPosition } from './sample-order.js';

export type { LoaderPosition } from './sample-order.js';

/** What `decode` throws for a sample that must be skipped (unreadable, too small, …); any other error is a bug and stops the loader. */
export class SkipSample extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SkipSample';
  }
}

export interface SampleContext {
  file: string;
  /** Where this sample is in the order. */
  position: LoaderPosition;
  /** A 32-bit seed for this sample's own randomness (crop positions…), a pure function of (seed, epoch, index). */
  seed: number;
}

export interface BatchLoaderOptions<S> {
  files: readonly string[];
  batchSize: number;
  seed: number;
  /** Continue from here (the `position` of the last batch consumed); default the start. */
  position?: LoaderPosition;
  /** Batches decoded ahead of the consumer (default 3). */
  prefetch?: number;
  decode: (context: SampleContext) => Promise<S>;
  /** Called once per file that is skipped (first time it is seen). */
  onSkip?: (file: string, reason: string) => void;
  /** Used in error messages (e.g. the folder). */
  name?: string;
  /** Aborting stops the loader: pending and later `next()` calls reject. */
  signal?: AbortSignal;
  /**
   * Data-parallel training (DistributedSampler semantics over the endless stream): this process
   * takes every `worldSize`-th element starting at `rank`, so the ranks' batches together are
   * the global batch a single process would take. `position` is then this rank's own next
   * element (default: element `rank` of epoch 0) and `batchSize` the per-rank batch.
   */
  shard?: { rank: number; worldSize: number };
}

export interface LoaderBatch<S> {
  samples: S[];
  files: string[];
  /** The position *after* this batch: save it, and a loader created with it continues with the next batch. */
  position: LoaderPosition;
}

export interface LoaderStats {
  /** Total time the consumer spent inside `next()` (waiting for decodes, and packing). */
  waitMs: number;
  /** Wall time during which at least one decode was in flight (the pipeline's busy time; decodes overlap). */
  decodeMs: number;
  batches: number;
  samples: number;
  /** Distinct files skipped so far. */
  skipped: number;
}

type Outcome<S> = { kind: 'ok'; sample: S } | { kind: 'skip'; reason: string } | { kind: 'error'; error: unknown };

interface Slot<S> {
  file: string;
  position: LoaderPosition;
  outcome?: Outcome<S>;
  /** Resolves (never rejects) once `outcome` is set. */
  settled: Promise<void>;
}

export class BatchLoader<S> {
  readonly batchSize: number;
  readonly order: SampleOrder;
  private readonly files: readonly string[];
  private readonly capacity: number;
  private readonly queue: Slot<S>[] = [];
  /** Next position to queue a decode for. */
  private cursor: LoaderPosition;
  /** Position after the last batch handed out. */
  private consumed: LoaderPosition;
  /** Files found unreadable: not decoded again, reported once. */
  private readonly bad = new Map<string, string>();
  /** Aborted by `close()` (and so by the caller's signal): wakes a `next()` that is waiting. */
  private readonly stop = new AbortController();
  private tail: Promise<unknown> = Promise.resolve();
  private inFlight = 0;
  private busySince = 0;
  private readonly counters = { waitMs: 0, decodeMs: 0, batches: 0, samples: 0 };
  private readonly onAbort?: () => void;
  /** Elements of the stream between two of this loader's samples (the world size when sharded). */
  private readonly stride: number;

  constructor(private readonly options: BatchLoaderOptions<S>) {
    const { files, batchSize, seed } = options;
    const prefetch = options.prefetch ?? 3;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    if (!Number.isInteger(prefetch) || prefetch < 1) throw new RangeError(`prefetch must be a positive integer, got ${prefetch}`);
    if (files.length === 0) throw new Error(`${options.name ?? 'dataset'}: no files`);
    this.files = files;
    this.batchSize = batchSize;
    this.order = new SampleOrder(files.length, seed);
    const shard = options.shard ?? { rank: 0, worldSize: 1 };
    if (!Number.isInteger(shard.worldSize) || shard.worldSize < 1 || !Number.isInteger(shard.rank) || shard.rank < 0 || shard.rank >= shard.worldSize) {
      throw new RangeError(`shard: rank ${shard.rank} is not in 0..${shard.worldSize - 1}`);
    }
    this.stride = shard.worldSize;
    // A sharded position may point up to worldSize − 1 elements past the epoch's end (a global
    // position shifted by the rank): roll it over.
    const start = options.position;
    const over = start && this.stride > 1 && Number.isSafeInteger(start.index) ? Math.max(0, Math.min(start.index - files.length, this.stride - 1)) : 0;
    this.cursor = start ? this.order.advance(this.order.normalize({ epoch: start.epoch, index: start.index - over }), over) : this.order.advance({ epoch: 0, index: 0 }, shard.rank);
    this.consumed = { ...this.cursor };
    this.capacity = prefetch * batchSize;
    const { signal } = options;
    if (signal) {
      this.onAbort = () => this.close(signal.reason);
      if (signal.aborted) this.onAbort();
      else signal.addEventListener('abort', this.onAbort, { once: true });
    }
    this.pump();
  }

  /** Where a resumed loader would continue: the position after the last batch returned by `next()`. */
  get position(): LoaderPosition {
    return { ...this.consumed };
  }

  get skipped(): number {
    return this.bad.size;
  }

  stats(): LoaderStats {
    const busy = this.inFlight > 0 ? performance.now() - this.busySince : 0;
    return { ...this.counters, decodeMs: this.counters.decodeMs + busy, skipped: this.bad.size };
  }

  /**
   * The next batch. Calls are served in order (a second call waits for the first). Aborting
   * `signal` rejects this call and closes the loader; `position` then still names the last
   * batch handed out, so the run can be resumed exactly.
   */
  next(options: { signal?: AbortSignal } = {}): Promise<LoaderBatch<S>> {
    const run = this.tail.then(() => this.take(options.signal));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Stop queueing work. Decodes already running finish in the background and are dropped. */
  close(reason: unknown = new Error('the data loader was closed')): void {
    if (this.closed) return;
    this.queue.length = 0;
    if (this.onAbort) this.options.signal?.removeEventListener('abort', this.onAbort);
    this.stop.abort(reason);
  }

  private get closed(): boolean {
    return this.stop.signal.aborted;
  }

  private async take(callerSignal: AbortSignal | undefined): Promise<LoaderBatch<S>> {
    this.stop.signal.throwIfAborted();
    callerSignal?.throwIfAborted();
    const signal = callerSignal ? AbortSignal.any([this.stop.signal, callerSignal]) : this.stop.signal;
    const t0 = performance.now();
    try {
      // Let the event loop deliver decodes that completed while the caller's training step
      // blocked the main thread: if every slot we need looks settled we would otherwise never
      // yield, and their replacements would not be queued until the queue ran dry.
      await new Promise((resolve) => setImmediate(resolve));
      const samples: S[] = [];
      const files: string[] = [];
      let pos = this.consumed;
      while (samples.length < this.batchSize) {
        signal.throwIfAborted(); // closed or aborted meanwhile (the queue is then empty)
        const slot = this.queue[0]!;
        if (!slot.outcome) await abortable(slot.settled, signal);
        this.queue.shift();
        this.pump();
        const outcome = slot.outcome!;
        pos = this.order.advance(slot.position, this.stride);
        if (outcome.kind === 'ok') {
          samples.push(outcome.sample);
          files.push(slot.file);
        } else if (outcome.kind === 'error') {
          throw outcome.error;
        } else if (this.bad.size >= this.files.length) {
          const [file, reason] = [...this.bad].at(-1)!;
          throw new Error(
            `${this.options.name ?? 'dataset'}: cannot fill a batch: all ${this.files.length} images were skipped as unreadable or unusable (last: ${file}: ${reason})`,
          );
        }
      }
      this.consumed = pos;
      this.counters.batches++;
      this.counters.samples += samples.length;
      return { samples, files, position: { ...pos } };
    } catch (e) {
      this.close(e);
      throw e;
    } finally {
      this.counters.waitMs += performance.now() - t0;
    }
  }

  /** Keep `capacity` decodes queued or done ahead of the consumer. */
  private pump(): void {
    while (!this.closed && this.queue.length < this.capacity) {
      const position = this.cursor;
      this.cursor = this.order.advance(position, this.stride);
      const file = this.files[this.order.fileIndex(position)]!;
      this.queue.push(this.launch(file, position));
    }
  }

  private launch(file: string, position: LoaderPosition): Slot<S> {
    const slot: Slot<S> = { file, position, settled: Promise.resolve() };
    const known = this.bad.get(file);
    if (known !== undefined) {
      slot.outcome = { kind: 'skip', reason: known };
      return slot;
    }
    if (this.inFlight++ === 0) this.busySince = performance.now();
    slot.settled = this.options
      .decode({ file, position, seed: this.order.sampleSeed(position) })
      .then(
        (sample): Outcome<S> => ({ kind: 'ok', sample }),
        (e): Outcome<S> => (e instanceof SkipSample ? { kind: 'skip', reason: e.message } : { kind: 'error', error: e }),
      )
      .then((outcome) => {
        if (--this.inFlight === 0) this.counters.decodeMs += performance.now() - this.busySince;
        slot.outcome = outcome;
        if (outcome.kind === 'skip' && !this.bad.has(file)) {
          this.bad.set(file, outcome.reason);
          if (!this.closed) this.options.onSkip?.(file, outcome.reason);
        }
      });
    return slot;
  }
}

/** `promise`, unless `signal` aborts first (then rejects with its reason). */
async function abortable(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
