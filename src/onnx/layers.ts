/**
 * Layer-level helpers over {@link OnnxGraphBuilder}: each adds its weights as named
 * initializers and the ONNX node(s) for one layer of a transformation network, and returns
 * the output value. Tensors are NCHW float32 throughout, H and W may be symbolic.
 *
 * Spatial padding arguments are `[top, left, bottom, right]`, which is exactly ONNX's
 * Conv/ConvTranspose `pads` order for 2-D (`[h_begin, w_begin, h_end, w_end]`).
 */
import type { OnnxGraphBuilder, Value } from './graph-builder.js';

export type Pads2d = readonly [top: number, left: number, bottom: number, right: number];

export interface ConvParams {
  /** Prefix of the initializers: `<name>.weight`, `<name>.bias`. */
  name: string;
  /** OIHW. */
  weight: Float32Array;
  shape: readonly [outC: number, inC: number, kh: number, kw: number];
  bias?: Float32Array;
  stride?: number;
  /** Explicit zero padding (default none). */
  pads?: Pads2d;
  /**
   * `SAME_UPPER` is TensorFlow's `'SAME'`: output ⌈in/stride⌉ with the odd pixel of padding
   * at the bottom/right. It is resolved at run time, so it stays right for dynamic H/W
   * whose parity decides the padding (a stride-2 3×3 conv pads 0/1 on even sizes, 1/1 on odd).
   */
  autoPad?: 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
  dilation?: number;
  group?: number;
}

export function conv(g: OnnxGraphBuilder, x: Value, p: ConvParams): Value {
  const [, , kh, kw] = p.shape;
  const w = g.initializer(`${p.name}.weight`, p.weight, p.shape);
  const inputs = [x, w];
  if (p.bias) inputs.push(g.initializer(`${p.name}.bias`, p.bias, [p.shape[0]]));
  if (p.pads && p.autoPad) throw new Error(`conv ${p.name}: give pads or autoPad, not both`);
  const s = p.stride ?? 1;
  const d = p.dilation ?? 1;
  return g.node('Conv', inputs, {
    kernel_shape: [kh, kw],
    strides: [s, s],
    dilations: [d, d],
    group: p.group ?? 1,
    ...(p.autoPad ? { auto_pad: p.autoPad } : { pads: [...(p.pads ?? [0, 0, 0, 0])] }),
  });
}

export interface ConvTransposeParams {
  name: string;
  /** `[in, out, kh, kw]`: ONNX ConvTranspose's (and PyTorch ConvTranspose2d's) layout. */
  weight: Float32Array;
  shape: readonly [inC: number, outC: number, kh: number, kw: number];
  bias?: Float32Array;
  stride?: number;
  /**
   * Pixels removed from the full transposed output (size `stride·(in−1) + k`) at each side;
   * asymmetric values are allowed (TensorFlow's `'SAME'` with stride 2 and k = 3 is `[0, 0, 1, 1]`).
   */
  pads?: Pads2d;
  /** Extra rows/cols added at the bottom/right (PyTorch's `output_padding`). */
  outputPadding?: readonly [h: number, w: number];
}

/** Output size: `stride·(in−1) + outputPadding + k − pad_begin − pad_end` (ONNX spec). */
export function convTranspose(g: OnnxGraphBuilder, x: Value, p: ConvTransposeParams): Value {
  const [, out, kh, kw] = p.shape;
  const w = g.initializer(`${p.name}.weight`, p.weight, p.shape);
  const inputs = [x, w];
  if (p.bias) inputs.push(g.initializer(`${p.name}.bias`, p.bias, [out]));
  const s = p.stride ?? 1;
  return g.node('ConvTranspose', inputs, {
    kernel_shape: [kh, kw],
    strides: [s, s],
    pads: [...(p.pads ?? [0, 0, 0, 0])],
    output_padding: [...(p.outputPadding ?? [0, 0])],
  });
}

export interface InstanceNormParams {
  /** Prefix: `<name>.weight` (γ, scale), `<name>.bias` (β, shift). */
  name: string;
  scale: Float32Array;
  bias: Float32Array;
  /** PyTorch's default is 1e-5; TensorFlow ports (ml5) use 1e-3. No default, on purpose. */
  epsilon: number;
}

/** Per-sample, per-channel normalisation over H×W with the biased (population) variance. */
export function instanceNorm(g: OnnxGraphBuilder, x: Value, p: InstanceNormParams): Value {
  const c = p.scale.length;
  if (p.bias.length !== c) throw new Error(`instanceNorm ${p.name}: ${c} scales but ${p.bias.length} biases`);
  const scale = g.initializer(`${p.name}.weight`, p.scale, [c]);
  const bias = g.initializer(`${p.name}.bias`, p.bias, [c]);
  return g.node('InstanceNormalization', [x, scale, bias], { epsilon: p.epsilon });
}

export interface BatchNormParams {
  name: string;
  scale: Float32Array;
  bias: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

/** Inference-mode batch norm with stored statistics (prefer `foldBatchNorm` into the conv before it). */
export function batchNorm(g: OnnxGraphBuilder, x: Value, p: BatchNormParams): Value {
  const c = p.scale.length;
  const inputs = [
    x,
    g.initializer(`${p.name}.weight`, p.scale, [c]),
    g.initializer(`${p.name}.bias`, p.bias, [c]),
    g.initializer(`${p.name}.running_mean`, p.mean, [c]),
    g.initializer(`${p.name}.running_var`, p.variance, [c]),
  ];
  return g.node('BatchNormalization', inputs, { epsilon: p.epsilon });
}

export const relu = (g: OnnxGraphBuilder, x: Value): Value => g.node('Relu', [x]);
export const tanh = (g: OnnxGraphBuilder, x: Value): Value => g.node('Tanh', [x]);
export const add = (g: OnnxGraphBuilder, a: Value, b: Value): Value => g.node('Add', [a, b]);
export const mulConst = (g: OnnxGraphBuilder, x: Value, c: number): Value => g.node('Mul', [x, g.scalar(c)]);
export const addConst = (g: OnnxGraphBuilder, x: Value, c: number): Value => g.node('Add', [x, g.scalar(c)]);
export const subConst = (g: OnnxGraphBuilder, x: Value, c: number): Value => g.node('Sub', [x, g.scalar(c)]);

/** Clamp to [min, max] (opset ≥ 11 takes the bounds as inputs). */
export function clip(g: OnnxGraphBuilder, x: Value, min: number, max: number): Value {
  return g.node('Clip', [x, g.scalar(min, 'clip_min'), g.scalar(max, 'clip_max')]);
}

export function transpose(g: OnnxGraphBuilder, x: Value, perm: readonly number[]): Value {
  return g.node('Transpose', [x], { perm: [...perm] });
}

export interface PadParams {
  mode: 'reflect' | 'edge' | 'constant';
  pads: Pads2d;
  /** For `constant` (default 0). */
  value?: number;
}

/**
 * Pad H and W of an NCHW tensor. `reflect` is PyTorch's ReflectionPad2d (the edge pixel is
 * not repeated) and needs each pad smaller than the padded dimension.
 */
export function pad(g: OnnxGraphBuilder, x: Value, p: PadParams): Value {
  const [top, left, bottom, right] = p.pads;
  // ONNX pads cover every axis: [x1_begin, x2_begin, …, x1_end, x2_end, …] for N, C, H, W.
  const pads = g.int64Constant([0, 0, top, left, 0, 0, bottom, right], [8], 'pads');
  const inputs = [x, pads];
  if (p.mode === 'constant' && p.value !== undefined && p.value !== 0) inputs.push(g.scalar(p.value, 'pad_value'));
  return g.node('Pad', inputs, { mode: p.mode });
}

/**
 * Nearest-neighbour upsampling by an integer factor: output pixel i copies input ⌊i/scale⌋,
 * as PyTorch's `Upsample(mode='nearest')` / `interpolate(scale_factor=…)`. The coordinate mode
 * is pinned (`asymmetric` + `floor`) because ONNX's defaults (half_pixel, round_prefer_floor)
 * pick different pixels.
 */
export function upsampleNearest(g: OnnxGraphBuilder, x: Value, scale = 2): Value {
  const scales = g.constant([1, 1, scale, scale], [4], 'scales');
  return g.node('Resize', [x, '', scales], {
    mode: 'nearest',
    coordinate_transformation_mode: 'asymmetric',
    nearest_mode: 'floor',
  });
}

/**
 * Bilinear upsampling by an integer factor, as PyTorch's `interpolate(mode='bilinear',
 * align_corners=False)`: ONNX Resize `linear` with `half_pixel` centres (sample at (i + ½)/s − ½;
 * ONNX clamps outside positions to the edge as PyTorch does). `pytorch_half_pixel` differs only
 * for an output of length 1, which an integer factor ≥ 2 never makes.
 */
export function upsampleBilinear(g: OnnxGraphBuilder, x: Value, scale = 2): Value {
  const scales = g.constant([1, 1, scale, scale], [4], 'scales');
  return g.node('Resize', [x, '', scales], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' });
}

/** Slice's "to the end" for an int64 `ends` entry. */
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Remove `[top, left, bottom, right]` pixels from H and W. Ends are given from the end
 * (negative), so this works for any (symbolic) size.
 */
export function crop(g: OnnxGraphBuilder, x: Value, [top, left, bottom, right]: Pads2d): Value {
  for (const c of [top, left, bottom, right]) if (!Number.isInteger(c) || c < 0) throw new Error(`crop: amounts must be non-negative integers, got [${[top, left, bottom, right].join(', ')}]`);
  if (top === 0 && left === 0 && bottom === 0 && right === 0) return x;
  const starts = g.int64Constant([top, left], [2], 'starts');
  const ends = g.int64Constant([bottom ? -bottom : INT64_MAX, right ? -right : INT64_MAX], [2], 'ends');
  const axes = g.int64Constant([2, 3], [2], 'axes');
  return g.node('Slice', [x, starts, ends, axes]);
}

/**
 * Remove `crop` pixels from every side of H and W (the shortcut of an unpadded residual
 * block, whose two 3×3 valid convolutions shrink the map by 2 per side).
 */
export function centreCrop(g: OnnxGraphBuilder, x: Value, amount: number): Value {
  return crop(g, x, [amount, amount, amount, amount]);
}

/**
 * TensorFlow `'SAME'` zero padding for a k×k, stride-s convolution, as an explicit Pad node
 * computed from the run-time H and W: output ⌈n/s⌉, total padding max((⌈n/s⌉−1)·s + k − n, 0),
 * ⌊total/2⌋ before and the rest after. Follow it with a conv without padding.
 *
 * Equivalent to the conv's `auto_pad = SAME_UPPER`, but leaves the conv itself with
 * symmetric (zero) pads, which every execution provider supports; some (onnxruntime-web's
 * WebGPU Conv, CUDA's ConvTranspose) reject asymmetric pads.
 */
export function padSame(g: OnnxGraphBuilder, x: Value, kernel: number, stride: number): Value {
  if (stride === 1) {
    const before = Math.floor((kernel - 1) / 2), after = kernel - 1 - before;
    return before === 0 && after === 0 ? x : pad(g, x, { mode: 'constant', pads: [before, before, after, after] });
  }
  const hw = g.node('Shape', [x], { start: 2, end: 4 });
  const c = (v: number) => g.int64Constant([v, v], [2], 'same');
  const out = g.node('Div', [g.node('Add', [hw, c(stride - 1)]), c(stride)]); // ⌈n/s⌉ (n > 0)
  const needed = g.node('Sub', [g.node('Add', [g.node('Mul', [g.node('Sub', [out, c(1)]), c(stride)]), c(kernel)]), hw]);
  const total = g.node('Max', [needed, c(0)]);
  const before = g.node('Div', [total, c(2)]);
  const after = g.node('Sub', [total, before]);
  const zeros = c(0);
  const pads = g.node('Concat', [zeros, before, zeros, after], { axis: 0 }); // [N, C, H, W] begins, then ends
  return g.node('Pad', [x, pads], { mode: 'constant' });
}

/**
 * Keep the top-left H×W of `x`, where H×W is the spatial size of `like` at run time (used
 * when a network's output can be larger than its input, e.g. stride-4 down/up on sizes that
 * are not multiples of 4).
 */
export function cropToSizeOf(g: OnnxGraphBuilder, x: Value, like: Value): Value {
  const hw = g.node('Shape', [like], { start: 2, end: 4 });
  const starts = g.int64Constant([0, 0], [2], 'starts');
  const axes = g.int64Constant([2, 3], [2], 'axes');
  return g.node('Slice', [x, starts, hw, axes]);
}
