/**
 * Style networks with seeded random weights, written with the project's ONNX graph builder:
 * test fixtures and benchmark stand-ins until trained models ship. Both follow the export
 * contract (input `[N, 3, H, W]` RGB 0–255 → output the same size, RGB 0–255, `tanh·127.5 + 127.5`).
 *
 * - {@link tinyStyleOnnx}: conv 9×9 (3→8) → instance norm → ReLU → conv 3×3 (8→3) → tanh:
 *   milliseconds per image, but the same kinds of operators as a real network.
 * - {@link paperStyleOnnx}: Johnson et al.'s transformation network (supplementary Table 1,
 *   with the padded residual blocks of the PyTorch reimplementation): 32×9×9, 64 and 128
 *   stride-2 convs, 5 residual blocks of 128, two stride-2 transposed convs, 3×9×9, instance
 *   norm after every conv but the last, tanh. ~1.7 M parameters; its cost is what matters.
 */
import { Rng } from '../../src/data/rng.js';
import { OnnxGraphBuilder, type Value } from '../../src/onnx/graph-builder.js';
import * as L from '../../src/onnx/layers.js';

/** Uniform ±1/√fan_in (PyTorch's default conv init): keeps activations in range before the norms. */
function weights(rng: Rng, count: number, fanIn: number): Float32Array {
  const bound = 1 / Math.sqrt(fanIn);
  return Float32Array.from({ length: count }, () => (2 * rng.next() - 1) * bound);
}

function convLayer(g: OnnxGraphBuilder, rng: Rng, x: Value, name: string, inC: number, outC: number, k: number, stride = 1): Value {
  // Reflection padding as the paper's networks use (zero padding darkens the borders).
  const p = Math.floor(k / 2);
  const padded = L.pad(g, x, { mode: 'reflect', pads: [p, p, p, p] });
  return L.conv(g, padded, { name, weight: weights(rng, outC * inC * k * k, inC * k * k), bias: weights(rng, outC, inC * k * k), shape: [outC, inC, k, k], stride });
}

function norm(g: OnnxGraphBuilder, rng: Rng, x: Value, name: string, c: number): Value {
  const scale = Float32Array.from({ length: c }, () => 0.8 + 0.4 * rng.next());
  const bias = Float32Array.from({ length: c }, () => 0.2 * (rng.next() - 0.5));
  return L.instanceNorm(g, x, { name, scale, bias, epsilon: 1e-5 });
}

/** `tanh(x)·127.5 + 127.5`: the output range of the contract. */
function toPixels(g: OnnxGraphBuilder, x: Value): Value {
  return L.addConst(g, L.mulConst(g, L.tanh(g, x), 127.5), 127.5);
}

export function tinyStyleOnnx(seed = 1): Uint8Array {
  const rng = new Rng(seed);
  const g = new OnnxGraphBuilder('tiny-random-style');
  const x = g.input('input', ['N', 3, 'H', 'W']);
  let h = L.mulConst(g, x, 1 / 255);
  h = L.relu(g, norm(g, rng, convLayer(g, rng, h, 'conv1', 3, 8, 9), 'in1', 8));
  h = L.conv(g, h, { name: 'conv2', weight: weights(rng, 3 * 8 * 9, 8 * 9), bias: weights(rng, 3, 72), shape: [3, 8, 3, 3], pads: [1, 1, 1, 1] });
  // ×3 so tanh is not stuck near 0: the output then spans most of 0–255 (a visible "style").
  g.output(toPixels(g, L.mulConst(g, h, 3)), 'output', ['N', 3, 'H', 'W']);
  return g.toBytes();
}

export function paperStyleOnnx(seed = 1): Uint8Array {
  const rng = new Rng(seed);
  const g = new OnnxGraphBuilder('johnson-random-style');
  const x = g.input('input', ['N', 3, 'H', 'W']);
  let h = L.mulConst(g, x, 1 / 255);
  h = L.relu(g, norm(g, rng, convLayer(g, rng, h, 'conv1', 3, 32, 9), 'in1', 32));
  h = L.relu(g, norm(g, rng, convLayer(g, rng, h, 'conv2', 32, 64, 3, 2), 'in2', 64));
  h = L.relu(g, norm(g, rng, convLayer(g, rng, h, 'conv3', 64, 128, 3, 2), 'in3', 128));
  for (let r = 1; r <= 5; r++) {
    let y = L.relu(g, norm(g, rng, convLayer(g, rng, h, `res${r}.conv1`, 128, 128, 3), `res${r}.in1`, 128));
    y = norm(g, rng, convLayer(g, rng, y, `res${r}.conv2`, 128, 128, 3), `res${r}.in2`, 128);
    h = L.add(g, h, y);
  }
  // Fractionally strided convs: 3×3, stride 2, pad 1, output padding 1 → exactly 2× the size.
  for (const [i, inC, outC] of [[1, 128, 64], [2, 64, 32]] as const) {
    h = L.convTranspose(g, h, { name: `deconv${i}`, weight: weights(rng, inC * outC * 9, inC * 9), bias: weights(rng, outC, inC * 9), shape: [inC, outC, 3, 3], stride: 2, pads: [1, 1, 1, 1], outputPadding: [1, 1] });
    h = L.relu(g, norm(g, rng, h, `dein${i}`, outC));
  }
  h = convLayer(g, rng, h, 'conv_out', 32, 3, 9);
  // Sizes that are not multiples of 4 come out rounded up: crop in the graph, as exports do.
  g.output(toPixels(g, L.cropToSizeOf(g, h, x)), 'output', ['N', 3, 'H', 'W']);
  return g.toBytes();
}

/**
 * A tiny ×`factor` super-resolution stand-in with the operators of the shipped SR models
 * (`buildSrNet(f, { net: 'fast' })`: a residual computed at the LR size and rearranged by a
 * CRD DepthToSpace, added to an upsampling): `up + 30·tanh(DepthToSpace(conv(x/255)))` with
 * nearest-neighbour `up` — the SR task's shapes (output `factor`× the input).
 */
export function tinySrOnnx(seed = 1, factor = 4): Uint8Array {
  const rng = new Rng(seed);
  const g = new OnnxGraphBuilder('tiny-random-sr');
  const x = g.input('input', ['N', 3, 'H', 'W']);
  const up = L.upsampleNearest(g, x, factor);
  const c = 3 * factor * factor;
  const r = L.conv(g, L.mulConst(g, x, 1 / 255), { name: 'conv', weight: weights(rng, c * 3 * 9, 27), bias: weights(rng, c, 27), shape: [c, 3, 3, 3], pads: [1, 1, 1, 1] });
  const residual = g.node('DepthToSpace', [r], { blocksize: factor, mode: 'CRD' });
  g.output(L.add(g, up, L.mulConst(g, L.tanh(g, L.mulConst(g, residual, 3)), 30)), 'output', ['N', 3, 'H4', 'W4']);
  return g.toBytes();
}
