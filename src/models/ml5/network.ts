/**
 * The ml5.js / deeplearn.js style-transfer network (Engstrom's fast-style-transfer transform
 * net) as named, canonical tensors, and its translation into ONNX.
 *
 * Confirmed from ml5-library `src/StyleTransfer/index.js` (and the identical
 * reiinakano/fast-style-transfer-deeplearnjs `src/net.ts` it was ported from):
 *  - layers use variables `Variable_k` (k = 0 → `Variable`): conv weight at k, instance-norm
 *    **shift** at k+1, **scale** at k+2 (`instanceNorm(y, id + 1)` reads shift = id+1, scale = id+2);
 *  - conv1 k=0 (s1, ReLU), conv2 k=3 (s2, ReLU), conv3 k=6 (s2, ReLU), residual blocks at
 *    k = 9, 15, 21, 27, 33 (conv+IN+ReLU at k, conv+IN at k+3, then `add(conv2, input)`,
 *    no ReLU after the sum), conv-transpose at 39 (64 filters) and 42 (32 filters), both s2
 *    with IN + ReLU, final conv k=45 (s1, IN, no ReLU);
 *  - convolutions have no bias, `'same'` padding; conv weights are HWIO, conv-transpose
 *    weights are `[h, w, out, in]` (TensorFlow's `conv2d_transpose` filter layout) with the
 *    output shape fixed to `[2·h, 2·w, filters]`;
 *  - instance norm: `tf.moments(x, [0, 1])` (mean and biased variance over H×W), then
 *    `scale · (x − μ) / √(σ² + 1e-3) + shift` (`epsilonScalar = tf.scalar(1e-3)`);
 *  - output `150 · tanh(x) + 255/2`, then `clipByValue(0, 255)` (and ÷255 for display).
 * Input is `tf.browser.fromPixels`: RGB, 0–255.
 */
import { OnnxGraphBuilder, type Value } from '../../onnx/graph-builder.js';
import * as L from '../../onnx/layers.js';
import type { CheckpointVariable } from './checkpoint.js';

/** ml5's `epsilonScalar`. */
export const ML5_INSTANCE_NORM_EPSILON = 1e-3;

/** A tensor in this project's canonical layout: conv weights OIHW, transposed-conv weights `[in, out, kh, kw]`. */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export type LayerKind = 'conv' | 'convTranspose';

export interface Ml5Layer {
  /** Canonical prefix: `<name>.weight`, `<name>.norm.weight` (γ, scale), `<name>.norm.bias` (β, shift). */
  name: string;
  /** Index k of the conv weight `Variable_k`. */
  variable: number;
  kind: LayerKind;
  stride: 1 | 2;
  relu: boolean;
}

const RESIDUAL_BLOCKS = 5;

/** The layers in forward order, each followed by its instance norm. */
export const ML5_LAYERS: readonly Ml5Layer[] = [
  { name: 'conv1', variable: 0, kind: 'conv', stride: 1, relu: true },
  { name: 'conv2', variable: 3, kind: 'conv', stride: 2, relu: true },
  { name: 'conv3', variable: 6, kind: 'conv', stride: 2, relu: true },
  ...Array.from({ length: RESIDUAL_BLOCKS }, (_, b): Ml5Layer[] => [
    { name: `res${b + 1}.conv1`, variable: 9 + 6 * b, kind: 'conv', stride: 1, relu: true },
    { name: `res${b + 1}.conv2`, variable: 12 + 6 * b, kind: 'conv', stride: 1, relu: false },
  ]).flat(),
  { name: 'deconv1', variable: 39, kind: 'convTranspose', stride: 2, relu: true },
  { name: 'deconv2', variable: 42, kind: 'convTranspose', stride: 2, relu: true },
  { name: 'conv4', variable: 45, kind: 'conv', stride: 1, relu: false },
];

/** deeplearn.js names the first variable `Variable` and the rest `Variable_k`. */
export const variableName = (k: number): string => (k === 0 ? 'Variable' : `Variable_${k}`);

/** Every checkpoint variable the network reads (48 of them). */
export const ML5_VARIABLES: readonly string[] = ML5_LAYERS.flatMap((l) => [variableName(l.variable), variableName(l.variable + 1), variableName(l.variable + 2)]);

/**
 * Convert checkpoint variables to canonical named tensors, checking that the shapes chain
 * (each layer's input channels are the previous layer's output channels, 3 in and 3 out).
 */
export function ml5Tensors(variables: ReadonlyMap<string, CheckpointVariable>, source: string): Map<string, NamedTensor> {
  const get = (k: number): CheckpointVariable => {
    const v = variables.get(variableName(k));
    if (!v) throw new Error(`${source}: variable ${variableName(k)} is missing`);
    return v;
  };
  const tensors = new Map<string, NamedTensor>();
  let channels = 3;
  for (const layer of ML5_LAYERS) {
    const w = get(layer.variable);
    const where = `${source}: ${variableName(layer.variable)} (${layer.name})`;
    if (w.shape.length !== 4 || w.shape[0] !== w.shape[1] || w.shape[0]! % 2 !== 1) {
      throw new Error(`${where} should be a square, odd-sized 4-D kernel, got shape [${w.shape.join(', ')}]`);
    }
    const [k, , a, b] = w.shape as [number, number, number, number];
    // conv: [kh, kw, in, out]; conv2d_transpose: [kh, kw, out, in].
    const [inC, outC] = layer.kind === 'conv' ? [a, b] : [b, a];
    if (inC !== channels) throw new Error(`${where} takes ${inC} channels but the previous layer gives ${channels}`);
    if (layer.kind === 'convTranspose' && k !== 3) throw new Error(`${where}: only 3×3 transposed convolutions are supported (TF 'SAME' padding is derived for k = 3), got ${k}×${k}`);
    tensors.set(`${layer.name}.weight`, {
      shape: layer.kind === 'conv' ? [outC, inC, k, k] : [inC, outC, k, k],
      // HWIO → OIHW moves axes (0,1,2,3) to (3,2,0,1); HW-out-in → in-out-HW is (3,2,0,1) too.
      data: permuteHwxyToYxhw(w.data, k, k, a, b),
    });
    const shift = get(layer.variable + 1);
    const scale = get(layer.variable + 2);
    for (const [label, v] of [['shift', shift], ['scale', scale]] as const) {
      if (v.shape.length !== 1 || v.shape[0] !== outC) throw new Error(`${source}: instance-norm ${label} of ${layer.name} has shape [${v.shape.join(', ')}], expected [${outC}]`);
    }
    tensors.set(`${layer.name}.norm.weight`, { shape: [outC], data: Float32Array.from(scale.data) });
    tensors.set(`${layer.name}.norm.bias`, { shape: [outC], data: Float32Array.from(shift.data) });
    channels = outC;
  }
  if (channels !== 3) throw new Error(`${source}: the last layer gives ${channels} channels, expected 3 (RGB)`);
  return tensors;
}

/** `[h, w, x, y]` → `[y, x, h, w]` (both kernel layouts above need exactly this). */
function permuteHwxyToYxhw(src: Float32Array, h: number, w: number, x: number, y: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let p = 0; p < x; p++) for (let q = 0; q < y; q++) {
    out[((q * x + p) * h + i) * w + j] = src[((i * w + j) * x + p) * y + q]!;
  }
  return out;
}

export interface Ml5OnnxOptions {
  /** Clamp the output to 0–255 as ml5 does before display (default true). */
  clip?: boolean;
  /**
   * How TF `'SAME'` padding is expressed (same numbers either way):
   *  - `'explicit'` (default): Pad nodes computed from the run-time size before the strided
   *    convs, and a Slice after each transposed conv, so every Conv/ConvTranspose has
   *    symmetric pads, which all execution providers accept;
   *  - `'auto_pad'`: `auto_pad = SAME_UPPER` on the convs and asymmetric pads `[0, 0, 1, 1]`
   *    on the transposed convs: a smaller graph, for the CPU/wasm providers.
   */
  padding?: 'explicit' | 'auto_pad';
  /** Graph name / doc string written into the model. */
  name?: string;
  docString?: string;
}

/**
 * Build the ONNX model: input `[N, 3, H, W]` float32 RGB 0–255 → output `[N, 3, H, W]` RGB
 * 0–255, dynamic N/H/W.
 *
 * TF `'SAME'` is reproduced exactly, including where it pads asymmetrically:
 *  - strided convs pad per run from the actual H/W, whose parity decides the padding
 *    (stride 2, k 3: 0 before/1 after on even sizes, 1/1 on odd): see `padding`;
 *  - `conv2d_transpose(…, [2h, 2w], 2, 'same')` is the gradient of a stride-2 `'same'` conv
 *    on a 2h input, whose padding is always 0 before/1 after (k = 3): the full transposed
 *    output `2·(h−1) + 3 = 2h + 1` minus its last row/column, with the same alignment.
 * The network maps H to 4·⌈⌈H/2⌉/2⌉; for H, W not multiples of 4 ml5 returns that larger
 * image, and this graph crops it back to the input's H×W (top-left, where the data align).
 */
export function buildMl5Onnx(tensors: ReadonlyMap<string, NamedTensor>, options: Ml5OnnxOptions = {}): Uint8Array {
  const g = new OnnxGraphBuilder(options.name ?? 'ml5-style-transfer', options.docString ?? '');
  const t = (name: string): NamedTensor => {
    const v = tensors.get(name);
    if (!v) throw new Error(`ml5 network: tensor ${name} is missing`);
    return v;
  };
  const input = g.input('input', ['N', 3, 'H', 'W']);

  const explicit = (options.padding ?? 'explicit') === 'explicit';
  const layer = (x: Value, l: Ml5Layer): Value => {
    const w = t(`${l.name}.weight`);
    const [a, b, k] = w.shape as [number, number, number, number];
    let y: Value;
    if (l.kind === 'conv') {
      const shape = [a, b, k, k] as const;
      y = explicit
        ? L.conv(g, L.padSame(g, x, k, l.stride), { name: l.name, weight: w.data, shape, stride: l.stride })
        : L.conv(g, x, { name: l.name, weight: w.data, shape, stride: l.stride, autoPad: 'SAME_UPPER' });
    } else {
      const shape = [a, b, k, k] as const;
      // Full transposed output is 2h + 1; TF 'SAME' drops the last row and column.
      y = explicit
        ? L.crop(g, L.convTranspose(g, x, { name: l.name, weight: w.data, shape, stride: l.stride }), [0, 0, 1, 1])
        : L.convTranspose(g, x, { name: l.name, weight: w.data, shape, stride: l.stride, pads: [0, 0, 1, 1] });
    }
    const n = L.instanceNorm(g, y, { name: `${l.name}.norm`, scale: t(`${l.name}.norm.weight`).data, bias: t(`${l.name}.norm.bias`).data, epsilon: ML5_INSTANCE_NORM_EPSILON });
    return l.relu ? L.relu(g, n) : n;
  };
  const byName = new Map(ML5_LAYERS.map((l) => [l.name, l]));
  const run = (x: Value, name: string) => layer(x, byName.get(name)!);

  let x = run(run(run(input, 'conv1'), 'conv2'), 'conv3');
  for (let b = 1; b <= RESIDUAL_BLOCKS; b++) x = L.add(g, run(run(x, `res${b}.conv1`), `res${b}.conv2`), x);
  x = run(run(x, 'deconv1'), 'deconv2');
  x = run(x, 'conv4');
  x = L.addConst(g, L.mulConst(g, L.tanh(g, x), 150), 255 / 2);
  if (options.clip ?? true) x = L.clip(g, x, 0, 255);
  x = L.cropToSizeOf(g, x, input);
  g.output(x, 'output', ['N', 3, 'H', 'W']);
  return g.toBytes();
}
