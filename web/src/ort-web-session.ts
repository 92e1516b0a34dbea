/**
 * onnxruntime-web behind the core's {@link RunNetwork}: the browser's counterpart of
 * `src/runtime/ort-session.ts`.
 *
 * Backend: WebGPU when the browser exposes `navigator.gpu` *and* hands out an adapter (a
 * headless or GPU-blocklisted browser has the API but no adapter), else WebAssembly. ORT's
 * WebAssembly builds are all SIMD; threads need SharedArrayBuffer, which browsers only give
 * cross-origin isolated pages (the server's COOP/COEP headers) — without it ORT runs on one thread.
 * The `.wasm`/`.mjs` files come from this server (`ortBase`), never from a CDN.
 */
import * as ort from 'onnxruntime-web';
import type { RunNetwork } from '../../src/infer/core/index.js';
import type { BackendPreference } from './protocol.js';

export interface OrtEnvironment {
  /** Which execution provider sessions try first. */
  provider: 'webgpu' | 'wasm';
  threads: number;
  label: string;
}

let configured: OrtEnvironment | undefined;

/** Configure onnxruntime-web once (it reads `ort.env` when the first session is created). */
export async function configureOrt(ortBase: string, preference: BackendPreference, threads?: number): Promise<OrtEnvironment> {
  if (configured) return configured;
  const isolated = globalThis.crossOriginIsolated === true;
  // Default: half the cores, at most 4 (onnxruntime-web's own choice). The page, the browser
  // and the pool's spinning threads share the machine: on 2 cores, 1 thread ran the paper's
  // network at 256² in 0.69 s and 2 threads in 1.03 s (bench/web.ts). `?threads=N` overrides.
  const wanted = threads ?? Math.min(4, Math.ceil((navigator.hardwareConcurrency || 1) / 2));
  const n = isolated ? Math.max(1, wanted) : 1;
  ort.env.wasm.wasmPaths = ortBase;
  ort.env.wasm.numThreads = n;
  ort.env.logLevel = 'error';
  let provider: OrtEnvironment['provider'] = 'wasm';
  if (preference !== 'wasm') {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
    if (adapter) provider = 'webgpu';
    else if (preference === 'webgpu') throw new Error('WebGPU was requested but this browser offers no WebGPU adapter');
  }
  configured = { provider, threads: n, label: provider === 'webgpu' ? 'WebGPU' : wasmLabel(n, isolated) };
  return configured;
}

function wasmLabel(threads: number, isolated: boolean): string {
  return `WASM · SIMD · ${threads} thread${threads === 1 ? '' : 's'}${isolated ? '' : ' (page not cross-origin isolated)'}`;
}

export interface WebSession {
  run: RunNetwork;
  /** The backend that took this model. */
  backend: string;
  release(): Promise<void>;
}

/** Create a session for the model at `url`; WebGPU failures fall back to WebAssembly. */
export async function createSession(url: string, env: OrtEnvironment): Promise<WebSession> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot fetch model ${url}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const options = (ep: 'webgpu' | 'wasm'): ort.InferenceSession.SessionOptions => ({ executionProviders: [ep], graphOptimizationLevel: 'all' });
  let session: ort.InferenceSession;
  let backend = env.label;
  try {
    session = await ort.InferenceSession.create(bytes, options(env.provider));
  } catch (e) {
    if (env.provider !== 'webgpu') throw new Error(`cannot load model ${url}: ${(e as Error).message}`);
    console.warn(`WebGPU could not take ${url}, falling back to WebAssembly:`, e);
    session = await ort.InferenceSession.create(bytes, options('wasm'));
    backend = `${wasmLabel(env.threads, globalThis.crossOriginIsolated === true)} (WebGPU failed)`;
  }
  if (session.inputNames.length !== 1 || session.outputNames.length !== 1) {
    await session.release();
    throw new Error(`model ${url} is not an image network with one input and one output`);
  }
  const [inputName] = session.inputNames as [string];
  const [outputName] = session.outputNames as [string];
  const run: RunNetwork = async (input, dims) => {
    const feeds = { [inputName]: new ort.Tensor('float32', input, [...dims]) };
    const result = await session.run(feeds);
    const out = result[outputName]!;
    if (out.type !== 'float32') throw new Error(`model ${url}: output is ${out.type}, expected float32`);
    // getData() also brings GPU-resident outputs back to the CPU.
    const data = (await out.getData()) as Float32Array;
    const outDims = [...out.dims];
    out.dispose();
    return { data, dims: outDims };
  };
  return { run, backend, release: () => session.release() };
}
