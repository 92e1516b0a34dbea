/**
 * Webcam frames with temporally smoothed instance-norm statistics: the page's counterpart of the
 * video path's ONNX runner (`src/video/frame-runner.ts`). The style model's ONNX bytes are
 * rewritten in the worker by the same platform-free function (`src/video/temporal-onnx.ts`), and
 * the running statistics live here, one state per camera session (reset when the camera starts).
 */
import * as ort from 'onnxruntime-web';
import type { RunNetwork } from '../../src/infer/core/index.js';
import { temporalOnnx, TemporalStats, TEMPORAL_INPUTS, TEMPORAL_OUTPUT } from '../../src/video/temporal-onnx.js';
import type { OrtEnvironment } from './ort-web-session.js';

export interface TemporalSession {
  /** Runs one frame with the running statistics and updates them. */
  run: RunNetwork;
  reset(): void;
  setMomentum(momentum: number): void;
  backend: string;
  release(): Promise<void>;
}

export async function createTemporalSession(url: string, env: OrtEnvironment, momentum: number): Promise<TemporalSession> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot fetch model ${url}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  let t: ReturnType<typeof temporalOnnx> | undefined;
  try {
    t = temporalOnnx(bytes, url);
  } catch (e) {
    // A network without instance norm (batch norm folded into its convs) has nothing to smooth.
    if (!/no InstanceNormalization/.test((e as Error).message)) throw e;
  }
  if (!t) return plainSession(bytes, env);
  const options = (ep: 'webgpu' | 'wasm'): ort.InferenceSession.SessionOptions => ({ executionProviders: [ep], graphOptimizationLevel: 'all' });
  let session: ort.InferenceSession;
  let backend = env.label;
  try {
    session = await ort.InferenceSession.create(t.bytes, options(env.provider));
  } catch (e) {
    if (env.provider !== 'webgpu') throw new Error(`cannot load model ${url} (smoothed statistics): ${(e as Error).message}`);
    session = await ort.InferenceSession.create(t.bytes, options('wasm'));
    backend = `${env.label} → WASM (WebGPU failed)`;
  }
  const statsLength = t.statsLength;
  let stats = new TemporalStats(statsLength, momentum);
  const run: RunNetwork = async (input, dims) => {
    if (dims[0] !== 1) throw new Error(`model ${url}: smoothed statistics run one frame at a time, got a batch of ${dims[0]}`);
    const f = stats.feeds();
    const result = await session.run({
      [session.inputNames[0]!]: new ort.Tensor('float32', input, [...dims]),
      [TEMPORAL_INPUTS.stats]: new ort.Tensor('float32', f.stats, [f.stats.length]),
      [TEMPORAL_INPUTS.momentum]: new ort.Tensor('float32', f.momentum, [1]),
    });
    const out = result[session.outputNames[0]!]!;
    const next = result[TEMPORAL_OUTPUT]!;
    stats.update((await next.getData()) as Float32Array);
    const data = (await out.getData()) as Float32Array;
    const outDims = [...out.dims];
    out.dispose();
    next.dispose();
    return { data, dims: outDims };
  };
  return {
    run,
    reset: () => stats.reset(),
    setMomentum: (m: number) => {
      if (m !== stats.momentum) stats = new TemporalStats(statsLength, m);
    },
    backend,
    release: () => session.release(),
  };
}

/** The model as it is, for a network with nothing to smooth. */
async function plainSession(bytes: Uint8Array, env: OrtEnvironment): Promise<TemporalSession> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: [env.provider], graphOptimizationLevel: 'all' }).catch(() =>
    ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' }),
  );
  const run: RunNetwork = async (input, dims) => {
    const result = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, [...dims]) });
    const out = result[session.outputNames[0]!]!;
    const data = (await out.getData()) as Float32Array;
    const outDims = [...out.dims];
    out.dispose();
    return { data, dims: outDims };
  };
  return { run, reset: () => {}, setMomentum: () => {}, backend: env.label, release: () => session.release() };
}
