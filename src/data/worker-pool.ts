/**
 * A small pool of worker threads for CPU-bound data preparation written in JS.
 *
 * Why: the training step is synchronous on the main thread, so JS work left on the main
 * thread (e.g. the super-resolution degradation, ~10 ms per 288² crop) is time the engine
 * cannot run. sharp's own work already runs on libuv's pool; this moves the JS part off too.
 * Requests and replies are structured-cloned; large typed arrays should be listed in
 * `transfer` so they move instead of being copied.
 *
 * Both sides live here: the main thread uses {@link WorkerPool}, a worker module calls
 * {@link serveRequests} with its handler.
 */
import { Worker, parentPort, type Transferable } from 'node:worker_threads';

interface Request<Q> {
  id: number;
  request: Q;
}
type Reply<R> = { id: number; ok: true; result: R } | { id: number; ok: false; error: { name: string; message: string; stack?: string } };

/** An error thrown by the handler inside a worker, rebuilt on the main thread (same `name` and message). */
export class WorkerTaskError extends Error {
  constructor(name: string, message: string, readonly workerStack?: string) {
    super(message);
    this.name = name;
  }
}

interface Pending<R> {
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

interface Slot<R> {
  worker: Worker;
  pending: Map<number, Pending<R>>;
}

export class WorkerPool<Q, R> {
  private readonly slots: Slot<R>[] = [];
  private nextId = 0;
  private failure: Error | undefined;
  private closed = false;

  /** `module`: the worker's entry file (`.js`, or `.ts` when running from source under tsx). */
  constructor(module: URL, readonly size: number, private readonly name = 'worker') {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`worker pool size must be a positive integer, got ${size}`);
    for (let i = 0; i < size; i++) this.slots.push(this.spawn(module));
  }

  private spawn(module: URL): Slot<R> {
    const worker = module.pathname.endsWith('.ts') ? tsWorker(module) : new Worker(module);
    const slot: Slot<R> = { worker, pending: new Map() };
    worker.unref(); // an idle pool must not keep the process alive; ref'd while it has work
    worker.on('message', (reply: Reply<R>) => {
      const p = slot.pending.get(reply.id);
      if (!p) return;
      slot.pending.delete(reply.id);
      if (slot.pending.size === 0) worker.unref();
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new WorkerTaskError(reply.error.name, reply.error.message, reply.error.stack));
    });
    const fail = (e: Error) => {
      if (this.closed) return;
      this.failure ??= new Error(`${this.name} thread failed: ${e.message}`, { cause: e });
      for (const p of slot.pending.values()) p.reject(this.failure);
      slot.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    return slot;
  }

  /** Run one request on the least busy worker. */
  run(request: Q, transfer: readonly Transferable[] = []): Promise<R> {
    if (this.closed) return Promise.reject(new Error(`${this.name} pool is closed`));
    if (this.failure) return Promise.reject(this.failure);
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.ref();
      slot.worker.postMessage({ id, request } satisfies Request<Q>, transfer as Transferable[]);
    });
  }

  /** Terminate the workers; pending requests reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new Error(`${this.name} pool was closed`);
    for (const s of this.slots) {
      for (const p of s.pending.values()) p.reject(error);
      s.pending.clear();
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

/**
 * A worker running a TypeScript module from source. tsx's loader hooks (registered by
 * `node --import tsx`) do not reach worker threads in Node 20, and passing `--import tsx` in
 * the worker's execArgv does not either, so the worker registers tsx itself before importing.
 */
function tsWorker(module: URL): Worker {
  const api = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(api)}).then(async (tsx) => { tsx.register(); await import(${JSON.stringify(module.href)}); })`;
  return new Worker(boot, { eval: true });
}

/**
 * Worker side: answer requests with `handler`. It returns the result and the buffers to
 * transfer back; anything it throws is sent back as a {@link WorkerTaskError} of the same name.
 */
export function serveRequests<Q, R>(handler: (request: Q) => Promise<{ result: R; transfer?: Transferable[] }>): void {
  if (!parentPort) throw new Error('serveRequests must be called inside a worker thread');
  const port = parentPort;
  port.on('message', async ({ id, request }: Request<Q>) => {
    try {
      const { result, transfer } = await handler(request);
      port.postMessage({ id, ok: true, result } satisfies Reply<R>, transfer ?? []);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      port.postMessage({ id, ok: false, error: { name: err.name, message: err.message, stack: err.stack } } satisfies Reply<R>);
    }
  });
}
