/**
 * Loads the libtorch addon (native/) once, lazily, so that code paths which never touch
 * the engine (ONNX inference, image tools) work on machines without libtorch.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../util/paths.js';
import { cpuFeatures, type CpuFeatures } from './cpu.js';

/** The raw addon surface; only src/engine/ talks to it. */
export interface NativeTensor {
  readonly shape: number[];
  readonly strides: number[];
  readonly dtype: string;
  readonly device: string;
  readonly numel: number;
  readonly nbytes: number;
  readonly disposed: boolean;
  requiresGrad: boolean;
  readonly grad: NativeTensor | null;
  readonly isChannelsLast: boolean;
  dispose(): void;
  zeroGrad(): void;
  backward(gradient?: NativeTensor | null, retainGraph?: boolean): void;
  toArray(): Float32Array | Float64Array | Uint8Array | Int32Array | BigInt64Array;
  item(): number;
}

export interface NativeAdam {
  step(): void;
  zeroGrad(): void;
  setLr(lr: number): void;
  getState(): Array<{ step: number; expAvg: NativeTensor; expAvgSq: NativeTensor } | null>;
  setState(state: Array<{ step: number; expAvg: NativeTensor; expAvgSq: NativeTensor } | null>): void;
}

export interface NativeLBFGS {
  step(closure: () => NativeTensor): NativeTensor;
}

export interface NativeEngineInfo {
  libtorch: string;
  threads: number;
  interopThreads: number;
  cudaAvailable: boolean;
  cudaDevices: number;
  mkldnn: boolean;
  openmp: boolean;
  parallelInfo: string;
  /** False where the engine switches oneDNN off around bf16 work and backward passes (setOneDnnBf16; cpu.ts oneDnnBf16Guard). */
  oneDnnBf16: boolean;
}

export interface NativeAddon {
  op(name: string, args: unknown[]): NativeTensor | NativeTensor[];
  opNames(): string[];
  fromArray(data: ArrayBufferView, shape: number[], dtype?: string, device?: string): NativeTensor;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number): void;
  setGradEnabled(enabled: boolean): boolean;
  isGradEnabled(): boolean;
  setAutocast(device: 'cpu' | 'cuda', enabled: boolean, dtype?: string): boolean;
  /** Whether libtorch may run bf16 work through oneDNN (see cpu.ts); → the previous value. */
  setOneDnnBf16(allowed: boolean): boolean;
  info(): NativeEngineInfo;
  Tensor: new () => NativeTensor;
  Adam: new (params: NativeTensor[], options: object) => NativeAdam;
  LBFGS: new (params: NativeTensor[], options: object) => NativeLBFGS;
}

/** Thrown by anything that needs libtorch on a machine where the addon is not built. */
export class EngineNotInstalledError extends Error {
  constructor(reason: string) {
    super(
      `the libtorch engine is not available (${reason}).\n` +
        'Training, the Gatys optimisation and libtorch inference need it; ONNX inference (stylize/upscale with a model.onnx) does not.\n' +
        'To install it on Debian/Ubuntu:  sudo apt-get install -y libtorch-dev libopenblas0-pthread g++ make python3 && npm rebuild perceptual\n' +
        'With another libtorch (e.g. a CUDA build unpacked to /opt/libtorch):  LIBTORCH=/opt/libtorch npm rebuild perceptual\n' +
        'Run `perceptual doctor` to see what is found.',
    );
    this.name = 'EngineNotInstalledError';
  }
}

/** The package root (computed once, in util/paths). */
export { packageRoot };
/** The built addon; PERCEPTUAL_ADDON points elsewhere (another build, or a missing file to test the fallback). */
export const addonPath = process.env.PERCEPTUAL_ADDON ?? path.join(packageRoot, 'native', 'build', 'Release', 'perceptual_native.node');

let addon: NativeAddon | undefined;
let loadError: Error | undefined;

/**
 * OpenBLAS 0.3.21 (Debian 12) misdetects some AVX-512 CPUs as "Prescott" and runs sgemm ~4×
 * slow (libtorch uses it for bmm/matmul, i.e. Gram matrices). Before the library is loaded,
 * point it at the best kernel family the CPU really has — as capped by libtorch's and oneDNN's
 * switches (cpu.ts), so that they emulate an AVX2-only CPU throughout — but never override a
 * value the environment already sets, and fall back to nothing on CPUs we don't recognise.
 */
function chooseOpenBlasCoreType(cpu: CpuFeatures): void {
  if (process.env.OPENBLAS_CORETYPE !== undefined || process.platform !== 'linux') return;
  if (cpu.avx512 && cpu.flags.has('avx512cd')) process.env.OPENBLAS_CORETYPE = 'SKYLAKEX';
  else if (cpu.avx2) process.env.OPENBLAS_CORETYPE = 'HASWELL';
}

/** Default intra-op threads: PERCEPTUAL_THREADS, else the cores this process may use. */
export function defaultThreads(): number {
  const env = Number(process.env.PERCEPTUAL_THREADS);
  if (Number.isInteger(env) && env > 0) return env;
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** The addon, loading it on first use. Throws EngineNotInstalledError when it is absent. */
export function native(): NativeAddon {
  if (addon) return addon;
  if (loadError) throw loadError;
  if (!existsSync(addonPath)) {
    loadError = new EngineNotInstalledError(`${path.relative(process.cwd(), addonPath) || addonPath} was not built`);
    throw loadError;
  }
  const cpu = cpuFeatures();
  chooseOpenBlasCoreType(cpu);
  try {
    const require = createRequire(import.meta.url);
    addon = require(addonPath) as NativeAddon;
  } catch (e) {
    loadError = new EngineNotInstalledError(`loading ${addonPath} failed: ${(e as Error).message}`);
    throw loadError;
  }
  // Debian's libtorch starts with one thread; use the machine (measured 1.36× faster on 2 cores).
  addon.setNumThreads(defaultThreads());
  addon.setOneDnnBf16(!cpu.oneDnnBf16Guard);
  return addon;
}

/** True when the engine can be loaded (never throws). */
export function engineAvailable(): boolean {
  try {
    native();
    return true;
  } catch {
    return false;
  }
}
