/**
 * The inference worker: owns the onnxruntime-web sessions and the shared
 * {@link StyleModelCore}, so a multi-second 1024² stylisation never freezes the page (with
 * WebAssembly threads the calling thread blocks while the pool works).
 */
import { StyleModelCore, rgbaToRgb, rgbToRgba } from '../../src/infer/core/index.js';
import { configureOrt, createSession, type OrtEnvironment, type WebSession } from './ort-web-session.js';
import type { FromWorker, InitResult, LoadResult, Request, RunRequest, RunResult, ToWorker } from './protocol.js';
import { createTemporalSession, type TemporalSession } from './temporal-session.js';

/** The webcam's model with smoothed statistics (one at a time; replaced when the style changes). */
let temporal: { url: string; entry: Promise<{ session: TemporalSession; core: StyleModelCore }> } | undefined;

async function temporalModel(url: string, momentum: number): Promise<{ session: TemporalSession; core: StyleModelCore }> {
  if (temporal?.url !== url) {
    if (!env) throw new Error('the worker was not initialised');
    const old = temporal?.entry;
    const entry = createTemporalSession(url, env, momentum).then((session) => ({ session, core: new StyleModelCore(session.run) }));
    temporal = { url, entry };
    entry.catch(() => (temporal = undefined));
    void old?.then((o) => o.session.release()).catch(() => undefined);
  }
  const m = await temporal.entry;
  m.session.setMomentum(momentum);
  return m;
}

let env: OrtEnvironment | undefined;

interface LoadedModel {
  session: WebSession;
  core: StyleModelCore;
  task: 'style' | 'sr';
  /** Runs in progress: a session is released only when idle (ORT cannot free a running session). */
  busy: number;
  evicted: boolean;
}

/** Sessions by model URL. One style and one SR model are kept: switching styles frees the old one. */
const models = new Map<string, Promise<LoadedModel>>();
const running = new Map<number, AbortController>();

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, { transfer });
}

function releaseIfIdle(m: LoadedModel): void {
  if (m.evicted && m.busy === 0) void m.session.release().catch(() => undefined);
}

async function model(url: string, task: 'style' | 'sr', scale: number | undefined): Promise<LoadedModel> {
  let entry = models.get(url);
  if (!entry) {
    if (!env) throw new Error('the worker was not initialised');
    for (const [other, pending] of models) {
      const old = await pending.catch(() => undefined);
      if (old && old.task !== task) continue;
      models.delete(other);
      if (old) {
        old.evicted = true;
        releaseIfIdle(old);
      }
    }
    const e = env;
    entry = createSession(url, e).then((session) => ({ session, core: new StyleModelCore(session.run, { scale }), task, busy: 0, evicted: false }));
    models.set(url, entry);
    entry.catch(() => models.delete(url));
  }
  return entry;
}

async function handle(id: number, request: Request): Promise<{ result: InitResult | LoadResult | RunResult; transfer?: Transferable[] }> {
  switch (request.type) {
    case 'init': {
      env = await configureOrt(request.ortBase, request.backend, request.threads);
      return { result: { backend: env.label, crossOriginIsolated: globalThis.crossOriginIsolated === true } };
    }
    case 'load': {
      const t0 = performance.now();
      const m = await model(request.model, request.task, request.scale);
      return { result: { ms: performance.now() - t0, backend: m.session.backend } };
    }
    case 'stylize':
    case 'upscale':
      return run(id, request);
  }
}

async function run(id: number, request: RunRequest): Promise<{ result: RunResult; transfer: Transferable[] }> {
  const m = await model(request.model, request.type === 'upscale' ? 'sr' : 'style', request.scale);
  const controller = new AbortController();
  running.set(id, controller);
  m.busy++;
  try {
    const { data, width, height } = request.image;
    const image = rgbaToRgb(data, width, height);
    const common = { tileSize: request.tileSize, signal: controller.signal, onProgress: (done: number, total: number) => post({ id, progress: { done, total } }) };
    const t0 = performance.now();
    let core = m.core;
    if (request.type === 'stylize' && request.temporal) {
      const t = await temporalModel(request.model, request.temporal.momentum);
      if (request.temporal.reset) t.session.reset();
      core = t.core;
      common.tileSize = 0; // one network run per frame: the statistics advance once
    }
    const out =
      request.type === 'upscale'
        ? await m.core.upscale(image, common)
        : await core.stylize(image, { ...common, strength: request.strength, preserveColor: request.preserveColor });
    const ms = performance.now() - t0;
    const rgba = rgbToRgba(out);
    return { result: { image: { data: rgba, width: out.width, height: out.height }, ms }, transfer: [rgba.buffer] };
  } finally {
    running.delete(id);
    m.busy--;
    releaseIfIdle(m);
  }
}

self.addEventListener('message', (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  if ('cancel' in msg) {
    running.get(msg.id)?.abort(new Error('cancelled'));
    return;
  }
  handle(msg.id, msg.request).then(
    ({ result, transfer }) => post({ id: msg.id, ok: true, result }, transfer),
    (e: unknown) => post({ id: msg.id, ok: false, error: e instanceof Error ? e.message : String(e) }),
  );
});
