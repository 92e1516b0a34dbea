/** Engine-wide settings: threads, gradient mode, autocast (mixed precision), devices. */
import { cpuFeatures } from './cpu.js';
import { native, type NativeEngineInfo } from './native.js';
import type { DType } from './tensor.js';

export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: need a positive integer, got ${n}`);
  native().setNumThreads(n);
}
export function getNumThreads(): number {
  return native().getNumThreads();
}

/** Run fn without recording autograd history (evaluation, target features). Sync only. */
export function noGrad<T>(fn: () => T): T {
  const prev = native().setGradEnabled(false);
  try {
    return fn();
  } finally {
    native().setGradEnabled(prev);
  }
}
export function isGradEnabled(): boolean {
  return native().isGradEnabled();
}

export type Precision = 'float32' | 'bf16';

/**
 * Run fn under autocast: convolutions and matmuls in bfloat16 (or float16 on CUDA), everything
 * else, parameters and gradients in float32 — torch.autocast's rules, applied by libtorch.
 * With precision 'float32', autocast is switched *off* inside fn (torch.autocast(enabled=False)),
 * so code that must stay in float32 (Gram matrices) can opt out of an enclosing bf16 region.
 */
export function autocast<T>(precision: Precision, fn: () => T, device: 'cpu' | 'cuda' = 'cpu', dtype: DType = 'bfloat16'): T {
  const n = native();
  const enable = precision !== 'float32';
  const prev = n.setAutocast(device, enable, dtype);
  try {
    return fn();
  } finally {
    n.setAutocast(device, prev, dtype);
  }
}

export function engineInfo(): NativeEngineInfo {
  return native().info();
}

export function cudaAvailable(): boolean {
  return native().info().cudaAvailable;
}

/** Validate a device name; a clear error when CUDA is asked for but absent. */
export function resolveDevice(device: string | undefined): 'cpu' | 'cuda' | `cuda:${number}` {
  const d = device ?? 'cpu';
  if (d === 'cpu') return 'cpu';
  const m = /^cuda(?::(\d+))?$/.exec(d);
  if (!m) throw new Error(`unknown device '${d}': use 'cpu' or 'cuda' (or 'cuda:N')`);
  const info = native().info();
  if (!info.cudaAvailable) {
    throw new Error(
      `device '${d}' requested but CUDA is not available in this libtorch build (${info.libtorch}, CPU only). ` +
        'Build the addon against a CUDA libtorch: LIBTORCH=/path/to/libtorch-cuda npm rebuild perceptual',
    );
  }
  const idx = m[1] ? Number(m[1]) : 0;
  if (idx >= info.cudaDevices) throw new Error(`device '${d}' requested but only ${info.cudaDevices} CUDA device(s) exist`);
  return d as 'cuda';
}

/**
 * Whether this CPU runs bfloat16 convolutions natively (AVX512-BF16 or AMX-BF16), honouring
 * libtorch's and oneDNN's switches (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA: see cpu.ts).
 * Without it, bf16 is emulated: slower than float32 and less accurate.
 * PERCEPTUAL_PRECISION=float32 also answers false (nothing should choose bf16 then).
 */
export function cpuHasFastBf16(): boolean {
  if (process.env.PERCEPTUAL_PRECISION === 'float32') return false;
  return cpuFeatures().nativeBf16;
}

/** The precision to use when the user did not choose: bf16 where the CPU supports it well. */
export function defaultPrecision(device: string = 'cpu'): Precision {
  if (process.env.PERCEPTUAL_PRECISION === 'float32' || process.env.PERCEPTUAL_PRECISION === 'bf16') return process.env.PERCEPTUAL_PRECISION;
  if (device.startsWith('cuda')) return 'bf16';
  return cpuHasFastBf16() ? 'bf16' : 'float32';
}
