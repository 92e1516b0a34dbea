/**
 * Collectives across processes and machines on libtorch's own c10d: a TCPStore hosted by rank 0
 * and a gloo process group, laid out exactly as python's `torch.distributed.init_process_group`
 * lays them out, so a python3-torch process can be a rank of the same group.
 *
 * Every call that waits on peers returns a Promise and runs off the main thread (the event loop,
 * and so Ctrl-C, stay live); a dead peer, a port in use or a timeout rejects it with a
 * {@link DistributedError} that names the operation, the rank and the tensors.
 */
import { native, type NativeAddon, type NativeTensor } from './native.js';
import type { Tensor } from './tensor.js';

/** torch.distributed's default (`default_pg_timeout`): 30 minutes. */
export const DEFAULT_DISTRIBUTED_TIMEOUT_MS = 30 * 60 * 1000;
/** Gradient bucket size, as torch's DistributedDataParallel (`bucket_cap_mb=25`). */
export const DEFAULT_BUCKET_BYTES = 25 * 2 ** 20;

export type ReduceOp = 'sum' | 'avg' | 'max' | 'min';

export interface ProcessGroupOptions {
  /** Address of rank 0's TCPStore (MASTER_ADDR). */
  masterAddr: string;
  /** Its port (MASTER_PORT). */
  masterPort: number;
  rank: number;
  worldSize: number;
  /** Limit for joining, each collective and each store read (default 30 min, torch's). */
  timeoutMs?: number;
  /** Host the TCPStore here (default: rank 0 does). */
  isServer?: boolean;
  /** Network interfaces for gloo (GLOO_SOCKET_IFNAME); default: the address the hostname resolves to. */
  interfaces?: string[];
  /** 'gloo' (CPU tensors; the default) — 'nccl' needs a CUDA libtorch built with it (see distributedInfo().backends). */
  backend?: 'gloo' | 'nccl';
}

interface NativeGroup {
  readonly rank: number;
  readonly size: number;
  readonly backend: string;
  allreduce(tensors: NativeTensor[], op: ReduceOp, bucketBytes: number, timeoutMs?: number): Promise<void>;
  broadcast(tensors: NativeTensor[], root: number, bucketBytes: number, timeoutMs?: number): Promise<void>;
  barrier(timeoutMs?: number): Promise<void>;
  storeSet(key: string, value: string): Promise<void>;
  storeGet(key: string, timeoutMs?: number): Promise<string>;
  storeAdd(key: string, delta: number): Promise<number>;
  destroy(): Promise<void>;
}

interface NativeDistributed {
  distInit(options: { host: string; port: number; rank: number; worldSize: number; timeoutMs: number; isServer?: boolean; interfaces?: string[] }): Promise<NativeGroup>;
  distInfo(): { available: boolean; reason?: string; backends: string[] };
}

function dist(): NativeAddon & NativeDistributed {
  return native() as NativeAddon & NativeDistributed;
}

/** What this engine build can do (never throws when the engine itself loads). */
export function distributedInfo(): { available: boolean; reason?: string; backends: string[] } {
  return dist().distInfo();
}

/** A collective or store operation failed: a peer ended, a port was in use, or a peer did not answer in time. */
export class DistributedError extends Error {
  constructor(message: string, readonly rank: number) {
    super(message);
    this.name = 'DistributedError';
  }
}

/** Adds what the raw c10d/gloo message means to the user. */
function explain(e: unknown, rank: number, extra: { port?: number; timeoutMs?: number } = {}): DistributedError {
  const msg = e instanceof Error ? e.message : String(e);
  let hint = '';
  if (/address already in use|errno: 98/i.test(msg)) hint = ` — port ${extra.port ?? ''} is in use on this machine: choose another --master-port (MASTER_PORT)`;
  else if (/connection closed by peer|connection reset|broken pipe|connection refused|ECONNRESET|EPIPE/i.test(msg)) {
    hint = ' — a peer process ended (crashed, was killed, or stopped): its own output says why';
  } else if (/timed? ?out|timeout/i.test(msg)) hint = ` — a peer did not take part within ${extra.timeoutMs ?? '?'} ms (stuck, much slower, or never started)`;
  return new DistributedError(msg + hint, rank);
}

function handles(tensors: Tensor | Tensor[]): NativeTensor[] {
  return (Array.isArray(tensors) ? tensors : [tensors]).map((t) => t.handle);
}

export class ProcessGroup {
  private destroyed = false;

  private constructor(private readonly g: NativeGroup, readonly timeoutMs: number, readonly masterAddr: string, readonly masterPort: number) {}

  /**
   * Join (rank 0: host) the TCPStore at masterAddr:masterPort and form the gloo group; resolves
   * once every rank has joined, rejects on a port in use or after `timeoutMs`.
   */
  static async init(o: ProcessGroupOptions): Promise<ProcessGroup> {
    const timeoutMs = o.timeoutMs ?? DEFAULT_DISTRIBUTED_TIMEOUT_MS;
    const info = distributedInfo();
    if (!info.available) throw new DistributedError(info.reason ?? 'distributed training is not available in this engine build', o.rank);
    const backend = o.backend ?? 'gloo';
    if (!info.backends.includes(backend)) {
      throw new DistributedError(`rank ${o.rank}: the ${backend} backend is not in this engine build (it has: ${info.backends.join(', ') || 'none'}); NCCL needs a CUDA libtorch built with it (LIBTORCH=… npm rebuild)`, o.rank);
    }
    try {
      const g = await dist().distInit({ host: o.masterAddr, port: o.masterPort, rank: o.rank, worldSize: o.worldSize, timeoutMs, isServer: o.isServer, interfaces: o.interfaces });
      return new ProcessGroup(g, timeoutMs, o.masterAddr, o.masterPort);
    } catch (e) {
      if (e instanceof RangeError || e instanceof TypeError) throw e;
      throw explain(e, o.rank, { port: o.masterPort, timeoutMs });
    }
  }

  get rank(): number {
    return this.g.rank;
  }
  get worldSize(): number {
    return this.g.size;
  }
  get backend(): string {
    return this.g.backend;
  }

  /**
   * Calls run one after another: every rank must issue the same collectives in the same order,
   * so two overlapping calls from one process must not race to the gloo queue.
   */
  private tail: Promise<unknown> = Promise.resolve();

  private call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.destroyed) return Promise.reject(new DistributedError(`rank ${this.rank}: the process group was destroyed`, this.rank));
    const run = this.tail.then(async () => {
      try {
        return await fn();
      } catch (e) {
        if (e instanceof RangeError || e instanceof TypeError) throw e;
        throw explain(e, this.rank, { timeoutMs: this.timeoutMs });
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Reduce `tensors` in place across all ranks ('avg' = sum ÷ world size). A list is bucketed:
   * flattened into buffers of at most `bucketBytes`, one collective per buffer.
   */
  allReduce(tensors: Tensor | Tensor[], options: { op?: ReduceOp; bucketBytes?: number; timeoutMs?: number } = {}): Promise<void> {
    return this.call(() => this.g.allreduce(handles(tensors), options.op ?? 'sum', options.bucketBytes ?? DEFAULT_BUCKET_BYTES, options.timeoutMs));
  }

  /** Overwrite `tensors` on every rank with root's, in place (bucketed like allReduce). */
  broadcast(tensors: Tensor | Tensor[], options: { root?: number; bucketBytes?: number; timeoutMs?: number } = {}): Promise<void> {
    return this.call(() => this.g.broadcast(handles(tensors), options.root ?? 0, options.bucketBytes ?? DEFAULT_BUCKET_BYTES, options.timeoutMs));
  }

  barrier(options: { timeoutMs?: number } = {}): Promise<void> {
    return this.call(() => this.g.barrier(options.timeoutMs));
  }

  /** Key/value pairs on the group's TCPStore (a namespace of their own). `get` waits for the key. */
  readonly store = {
    set: (key: string, value: string): Promise<void> => this.call(() => this.g.storeSet(key, value)),
    get: (key: string, timeoutMs?: number): Promise<string> => this.call(() => this.g.storeGet(key, timeoutMs)),
    add: (key: string, delta: number): Promise<number> => this.call(() => this.g.storeAdd(key, delta)),
  };

  /** Leave the group and close the store (rank 0's ends the rendezvous for everyone). Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await this.tail;
    await this.g.destroy();
  }
}
