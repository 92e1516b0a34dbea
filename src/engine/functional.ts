/**
 * Neural-network ops in PyTorch's torch.nn.functional shape. Every function here is
 * differentiable through libtorch's autograd.
 */
import { Tensor, runOp, type TensorOrScalar } from './tensor.js';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, o: Conv2dOptions = {}): Tensor {
  return runOp('conv2d', [x, weight, bias ?? null, pair(o.stride ?? 1), pair(o.padding ?? 0), pair(o.dilation ?? 1), o.groups ?? 1]);
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: Pair;
}

/** Weight layout [in, out/groups, kh, kw], as in PyTorch. */
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor | null, o: ConvTranspose2dOptions = {}): Tensor {
  return runOp('conv_transpose2d', [
    x,
    weight,
    bias ?? null,
    pair(o.stride ?? 1),
    pair(o.padding ?? 0),
    pair(o.outputPadding ?? 0),
    o.groups ?? 1,
    pair(o.dilation ?? 1),
  ]);
}

export function maxPool2d(x: Tensor, kernel: Pair, o: { stride?: Pair; padding?: Pair; dilation?: Pair; ceilMode?: boolean } = {}): Tensor {
  return runOp('max_pool2d', [x, pair(kernel), pair(o.stride ?? kernel), pair(o.padding ?? 0), pair(o.dilation ?? 1), o.ceilMode ?? false]);
}

export function avgPool2d(x: Tensor, kernel: Pair, o: { stride?: Pair; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean } = {}): Tensor {
  return runOp('avg_pool2d', [x, pair(kernel), pair(o.stride ?? kernel), pair(o.padding ?? 0), o.ceilMode ?? false, o.countIncludePad ?? true]);
}

export type InterpolationMode = 'nearest' | 'bilinear' | 'bicubic';

export interface InterpolateOptions {
  /** Output [H, W]; or give scaleFactor. */
  size?: [number, number];
  scaleFactor?: number;
  mode?: InterpolationMode;
  alignCorners?: boolean;
  /** Antialiased down-sampling (bilinear/bicubic), like torch's antialias=True. */
  antialias?: boolean;
}

export function interpolate(x: Tensor, o: InterpolateOptions): Tensor {
  const [h, w] = x.shape.slice(-2) as [number, number];
  let size = o.size;
  if (!size) {
    if (!o.scaleFactor) throw new TypeError('interpolate: give size or scaleFactor');
    size = [Math.floor(h * o.scaleFactor), Math.floor(w * o.scaleFactor)];
  }
  return runOp('interpolate', [x, size, o.mode ?? 'nearest', o.alignCorners ?? false, o.antialias ?? false]);
}

export type PadMode = 'constant' | 'reflect' | 'replicate';

/** pads as in torch.nn.functional.pad: [left, right, top, bottom] for the last two dims. */
export function pad(x: Tensor, pads: number[], mode: PadMode = 'constant', value = 0): Tensor {
  return runOp('pad', [x, pads, mode, value]);
}

export interface NormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  momentum?: number;
  eps?: number;
}

/** training=true normalises with batch statistics and updates the running ones in place. */
export function batchNorm(x: Tensor, training: boolean, o: NormOptions = {}): Tensor {
  return runOp('batch_norm', [x, o.weight ?? null, o.bias ?? null, o.runningMean ?? null, o.runningVar ?? null, training, o.momentum ?? 0.1, o.eps ?? 1e-5]);
}

/** Per-sample, per-channel normalisation over H×W (useInputStats=false uses running stats). */
export function instanceNorm(x: Tensor, o: NormOptions & { useInputStats?: boolean } = {}): Tensor {
  return runOp('instance_norm', [x, o.weight ?? null, o.bias ?? null, o.runningMean ?? null, o.runningVar ?? null, o.useInputStats ?? true, o.momentum ?? 0.1, o.eps ?? 1e-5]);
}

export function mseLoss(a: Tensor, b: Tensor, reduction: 'mean' | 'sum' | 'none' = 'mean'): Tensor {
  return runOp('mse_loss', [a, b, reduction]);
}

export function cat(tensors: Tensor[], dim = 0): Tensor {
  return runOp('cat', [tensors, dim]);
}

export function stack(tensors: Tensor[], dim = 0): Tensor {
  return runOp('stack', [tensors, dim]);
}

export function where(condition: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return runOp('where', [condition, a as Tensor, b as Tensor]);
}

export function relu(x: Tensor): Tensor {
  return x.relu();
}
export function tanh(x: Tensor): Tensor {
  return x.tanh();
}
