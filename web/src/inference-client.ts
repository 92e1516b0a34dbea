/**
 * The page's side of the inference worker: promise-returning calls, progress callbacks and
 * cancellation over `postMessage`.
 */
import type { FromWorker, InitResult, LoadRequest, LoadResult, Pixels, Request, RunRequest, RunResult, ToWorker } from './protocol.js';

export interface RunHandle {
  result: Promise<RunResult>;
  /** Stop between tiles (a single network run cannot be interrupted); the result then rejects. */
  cancel(): void;
}

export class InferenceClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void; onProgress?: (done: number, total: number) => void }>();

  constructor() {
    // Vite bundles the worker (and the core it imports) as its own module chunk.
    this.worker = new Worker(new URL('./inference-worker.ts', import.meta.url), { type: 'module', name: 'perceptual-inference' });
    this.worker.addEventListener('message', (e: MessageEvent<FromWorker>) => this.receive(e.data));
    this.worker.addEventListener('error', (e) => {
      const error = new Error(`the inference worker failed: ${e.message || 'could not start'}`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    });
  }

  init(ortBase: string, backend: 'auto' | 'wasm' | 'webgpu', threads?: number): Promise<InitResult> {
    return this.call({ type: 'init', ortBase, backend, threads }) as Promise<InitResult>;
  }

  load(request: Omit<LoadRequest, 'type'>): Promise<LoadResult> {
    return this.call({ type: 'load', ...request }) as Promise<LoadResult>;
  }

  /** Run a model on `image`; its pixel buffer is transferred to the worker (unusable here afterwards). */
  run(request: Omit<RunRequest, 'image'> & { image: Pixels }, onProgress?: (done: number, total: number) => void): RunHandle {
    const id = this.nextId;
    const result = this.call(request, onProgress, [request.image.data.buffer]) as Promise<RunResult>;
    return { result, cancel: () => this.worker.postMessage({ id, cancel: true } satisfies ToWorker) };
  }

  private call(request: Request, onProgress?: (done: number, total: number) => void, transfer: Transferable[] = []): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, request } satisfies ToWorker, transfer);
    });
  }

  private receive(msg: FromWorker): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if ('progress' in msg) {
      p.onProgress?.(msg.progress.done, msg.progress.total);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(msg.error));
  }
}
