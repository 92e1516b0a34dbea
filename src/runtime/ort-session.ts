/**
 * Running an exported image network with onnxruntime-node.
 *
 * This is the only module that imports onnxruntime, and it does so lazily (`await import`)
 * in {@link OrtModel.load}: the native library is ~20 MB and starts threads, and most code
 * paths (training, export, the browser build) never need it.
 *
 * Contract of the models (see `src/runtime/README.md`): one float32 input `[N, 3, H, W]`,
 * RGB 0–255, one float32 output `[N, 3, H', W']`, RGB 0–255.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { readFile } from 'node:fs/promises';
import { findNonFiniteInitializer, type NonFiniteWeight } from '../onnx/finite.js';

export type ExecutionProvider = 'cpu' | 'cuda';

export interface OrtModelOptions {
  /** In order of preference; default `['cpu']`. `'cuda'` fails clearly if its binaries are not installed. */
  executionProviders?: readonly ExecutionProvider[];
  /** Threads for one operator (intra-op); default: the cores this process may use. */
  threads?: number;
}

export interface OrtOutput {
  data: Float32Array;
  dims: number[];
}

/** An error that says which model and which input shape it concerns. */
export class OrtModelError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OrtModelError';
  }
}

type OrtModule = typeof Ort;
let ortModule: Promise<OrtModule> | undefined;

function loadOrt(): Promise<OrtModule> {
  // Cached: one native module per process, whatever the number of models.
  // onnxruntime-node is CommonJS: Node's ESM loader exposes it as `default` (named exports are best effort).
  ortModule ??= import('onnxruntime-node').then((m) => (m as unknown as { default?: OrtModule }).default ?? (m as OrtModule));
  return ortModule;
}

export class OrtModel {
  private disposed = false;

  private constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    /** The file the model came from, or `<bytes>`: used in every error message. */
    readonly source: string,
    readonly inputName: string,
    readonly outputName: string,
    readonly executionProviders: readonly ExecutionProvider[],
  ) {}

  /** Load a model from an `.onnx` file or from its bytes. */
  static async load(pathOrBytes: string | Uint8Array, options: OrtModelOptions = {}): Promise<OrtModel> {
    const source = typeof pathOrBytes === 'string' ? pathOrBytes : '<bytes>';
    const providers = [...(options.executionProviders ?? ['cpu'])];
    if (providers.length === 0) throw new OrtModelError(`model ${source}: executionProviders is empty (use ['cpu'])`);
    for (const p of providers) {
      if (p !== 'cpu' && p !== 'cuda') throw new OrtModelError(`model ${source}: unknown execution provider "${String(p)}" (use 'cpu' or 'cuda')`);
    }
    const threads = options.threads ?? os.availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new OrtModelError(`model ${source}: threads must be a positive integer, got ${threads}`);

    // NaN/Inf weights would give NaN outputs, i.e. black images and no error: refuse them here.
    let bad: NonFiniteWeight | undefined;
    try {
      bad = findNonFiniteInitializer(typeof pathOrBytes === 'string' ? await readFile(pathOrBytes) : pathOrBytes);
    } catch {
      bad = undefined; // not readable as ONNX here: onnxruntime says why below
    }
    if (bad) throw new OrtModelError(`model ${source}: initializer "${bad.name}" holds ${bad.value} (value ${bad.index}): the file has non-finite weights (damaged, or exported from a diverged run); refusing to load it`);

    const ort = await loadOrt();
    if (providers.includes('cuda')) checkCudaInstalled(ort, source);

    let session: Ort.InferenceSession;
    try {
      const sessionOptions: Ort.InferenceSession.SessionOptions = {
        executionProviders: providers,
        intraOpNumThreads: threads,
        // One image network is a chain: no parallel branches to schedule across threads.
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      };
      session =
        typeof pathOrBytes === 'string'
          ? await ort.InferenceSession.create(pathOrBytes, sessionOptions)
          : await ort.InferenceSession.create(pathOrBytes, sessionOptions);
    } catch (e) {
      throw new OrtModelError(`cannot load ONNX model ${source} (providers ${providers.join(', ')}): ${(e as Error).message}`, { cause: e });
    }
    if (session.inputNames.length !== 1 || session.outputNames.length !== 1) {
      const names = `inputs [${session.inputNames.join(', ')}], outputs [${session.outputNames.join(', ')}]`;
      await session.release();
      throw new OrtModelError(`model ${source} is not an image network with one input and one output: ${names}`);
    }
    return new OrtModel(ort, session, source, session.inputNames[0]!, session.outputNames[0]!, providers);
  }

  /** Run on an `[N, 3, H, W]` float32 batch (RGB, 0–255). The input is not modified. */
  async run(input: Float32Array, dims: readonly number[]): Promise<OrtOutput> {
    const shape = `[${dims.join(', ')}]`;
    if (this.disposed) throw new OrtModelError(`model ${this.source} was disposed; cannot run input ${shape}`);
    if (dims.length !== 4 || dims[1] !== 3 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new OrtModelError(`model ${this.source}: input shape ${shape} is not [N, 3, H, W] with positive sizes`);
    }
    const expected = dims.reduce((a, b) => a * b, 1);
    if (input.length !== expected) {
      throw new OrtModelError(`model ${this.source}: input shape ${shape} needs ${expected} values, got ${input.length}`);
    }
    let result: Ort.InferenceSession.OnnxValueMapType;
    try {
      const tensor = new this.ort.Tensor('float32', input, [...dims]);
      result = await this.session.run({ [this.inputName]: tensor });
    } catch (e) {
      throw new OrtModelError(`model ${this.source} failed on input ${shape}: ${(e as Error).message}`, { cause: e });
    }
    const out = result[this.outputName] as Ort.Tensor | undefined;
    if (!out || out.type !== 'float32') {
      throw new OrtModelError(`model ${this.source}: output "${this.outputName}" for input ${shape} is ${out ? out.type : 'missing'}, expected float32`);
    }
    return { data: out.data as Float32Array, dims: [...out.dims] };
  }

  /** Free the native session. Further `run` calls fail; calling twice is harmless. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}

/**
 * onnxruntime-node ships the CUDA provider as separate binaries that its installer fetches only
 * on request; without them session creation fails with a bare "failed to load shared library"
 * and a native log line. Check first and say what to do.
 */
function checkCudaInstalled(ort: OrtModule, source: string): void {
  const listed = ort.listSupportedBackends?.().some((b) => b.name === 'cuda') ?? false;
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  let binDir: string | undefined;
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    binDir = path.resolve(path.dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    binDir = undefined;
  }
  if (!listed || !binDir || !existsSync(path.join(binDir, lib))) {
    throw new OrtModelError(
      `model ${source}: the CUDA execution provider was requested but is not available in this onnxruntime-node install ` +
        `(${lib} not found${binDir ? ` in ${binDir}` : ''}; CUDA is supported on linux/x64 and win32/x64 only). ` +
        `Reinstall with ONNXRUNTIME_NODE_INSTALL=cuda12 (needs CUDA 12 and cuDNN 9), or use the 'cpu' provider.`,
    );
  }
}

/**
 * A session for graphs beyond the one-input/one-output image contract (float32 tensors in and
 * out by name), e.g. the temporally smoothed style networks of `src/video/temporal-onnx.ts`,
 * which take and return normalisation statistics next to the image.
 */
export class OrtGraph {
  private disposed = false;

  private constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    readonly source: string,
  ) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  static async load(pathOrBytes: string | Uint8Array, source: string, options: { threads?: number } = {}): Promise<OrtGraph> {
    const ort = await loadOrt();
    const threads = options.threads ?? os.availableParallelism();
    try {
      const sessionOptions: Ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
      const session = typeof pathOrBytes === 'string' ? await ort.InferenceSession.create(pathOrBytes, sessionOptions) : await ort.InferenceSession.create(pathOrBytes, sessionOptions);
      return new OrtGraph(ort, session, source);
    } catch (e) {
      throw new OrtModelError(`cannot load ONNX model ${source}: ${(e as Error).message}`, { cause: e });
    }
  }

  async run(feeds: Record<string, { data: Float32Array; dims: readonly number[] }>): Promise<Record<string, OrtOutput>> {
    if (this.disposed) throw new OrtModelError(`model ${this.source} was disposed`);
    const shapes = Object.entries(feeds).map(([k, v]) => `${k} [${v.dims.join(', ')}]`).join(', ');
    let result: Ort.InferenceSession.OnnxValueMapType;
    try {
      result = await this.session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new this.ort.Tensor('float32', v.data, [...v.dims])])));
    } catch (e) {
      throw new OrtModelError(`model ${this.source} failed on ${shapes}: ${(e as Error).message}`, { cause: e });
    }
    const out: Record<string, OrtOutput> = {};
    for (const name of this.session.outputNames) {
      const t = result[name] as Ort.Tensor | undefined;
      if (!t || t.type !== 'float32') throw new OrtModelError(`model ${this.source}: output "${name}" is ${t ? t.type : 'missing'}, expected float32`);
      out[name] = { data: t.data as Float32Array, dims: [...t.dims] };
    }
    return out;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}
