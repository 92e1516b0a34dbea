/** Creating tensors: from JS arrays, constants and seeded random numbers. */
import { native } from './native.js';
import { Tensor, runOp, type DType, type Device } from './tensor.js';

export interface CreationOptions {
  dtype?: DType;
  device?: Device | string;
  requiresGrad?: boolean;
}

function finish(t: Tensor, o: CreationOptions): Tensor {
  if (o.requiresGrad) t.requiresGrad = true;
  return t;
}

function checkShape(op: string, shape: number[]): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new TypeError(`${op}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
}

type Data = Float32Array | Float64Array | Uint8Array | Int32Array | BigInt64Array | number[];

/** A tensor holding a copy of `data` with the given shape (default: 1-D). */
export function tensor(data: Data, shape?: number[], options: CreationOptions = {}): Tensor {
  const arr = Array.isArray(data) ? Float32Array.from(data) : data;
  const s = shape ?? [arr.length];
  checkShape('tensor', s);
  return finish(new Tensor(native().fromArray(arr, s, options.dtype, options.device)), options);
}

export function scalar(value: number, options: CreationOptions = {}): Tensor {
  return full([], value, options);
}

export function zeros(shape: number[], o: CreationOptions = {}): Tensor {
  checkShape('zeros', shape);
  return finish(runOp('zeros', [shape, o.dtype ?? null, o.device ?? null]), o);
}
export function ones(shape: number[], o: CreationOptions = {}): Tensor {
  checkShape('ones', shape);
  return finish(runOp('ones', [shape, o.dtype ?? null, o.device ?? null]), o);
}
export function full(shape: number[], value: number, o: CreationOptions = {}): Tensor {
  checkShape('full', shape);
  return finish(runOp('full', [shape, value, o.dtype ?? null, o.device ?? null]), o);
}
/** Uniform [0, 1); seed with manualSeed() for reproducibility. */
export function rand(shape: number[], o: CreationOptions = {}): Tensor {
  checkShape('rand', shape);
  return finish(runOp('rand', [shape, o.dtype ?? null, o.device ?? null]), o);
}
/** Standard normal; seed with manualSeed() for reproducibility. */
export function randn(shape: number[], o: CreationOptions = {}): Tensor {
  checkShape('randn', shape);
  return finish(runOp('randn', [shape, o.dtype ?? null, o.device ?? null]), o);
}
export function arange(start: number, end: number, step = 1, o: CreationOptions = {}): Tensor {
  return finish(runOp('arange', [start, end, step, o.dtype ?? null, o.device ?? null]), o);
}
export function zerosLike(t: Tensor): Tensor {
  return runOp('zeros_like', [t]);
}
export function randnLike(t: Tensor): Tensor {
  return runOp('randn_like', [t]);
}

/** Seed libtorch's global generator (rand, randn, dropout-free init). */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`manualSeed: the seed must be an integer, got ${String(seed)}`);
  native().manualSeed(seed);
}
