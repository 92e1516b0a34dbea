/**
 * The `toOnnx` of every layer in src/nn/layers, registered with the module exporter
 * (importing this file registers them). Each reads its weights by state-dict name and emits
 * the ONNX nodes that compute what its `forward` computes in eval mode.
 *
 * Stride-1 convs with few output channels (the last layer) are phase-split for onnxruntime's
 * CPU kernels (space-to-depth-conv.ts) unless the export flags say otherwise.
 *
 * Batch norm is folded into the convolution (or transposed convolution) right before it
 * ({@link exportChain}), as `fold-batch-norm.ts` explains; a batch norm with no conv before it
 * (after `U` upsampling, say) is exported as a BatchNormalization node. An instance norm with
 * running statistics (`trackRunningStats`) normalises with them in eval mode, exactly like a
 * batch norm, and is folded the same way.
 */
import type { Module } from '../nn/module.js';
import {
  BatchNorm2d,
  BicubicUpsample,
  Identity,
  PixelShuffle,
  Scale,
  Conv2d,
  ConvTranspose2d,
  InstanceNorm2d,
  ReflectionPad2d,
  ReLU,
  ReplicationPad2d,
  ResidualBlock,
  ScaledTanh,
  Sequential,
  Tanh,
  Upsample,
} from '../nn/layers/index.js';
import { foldBatchNorm } from '../onnx/fold-batch-norm.js';
import type { Value } from '../onnx/graph-builder.js';
import * as L from '../onnx/layers.js';
import { joinPath, registerOnnxExporter, type ExportContext } from './module-export.js';
import { reflectPadExact } from '../onnx/reflect-pad.js';
import { convSpaceToDepth, worthSpaceToDepth } from '../onnx/space-to-depth-conv.js';

/** A norm that, in eval mode, is a fixed per-channel affine map (so it folds into a conv). */
interface StoredStats {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  eps: number;
}

function storedStats(ctx: ExportContext, norm: Module<unknown>, path: string): StoredStats | undefined {
  const isBn = norm instanceof BatchNorm2d;
  const isTrackedIn = norm instanceof InstanceNorm2d && norm.trackRunningStats;
  if (!isBn && !isTrackedIn) return undefined;
  const mean = ctx.weight(joinPath(path, 'running_mean'));
  const c = mean.length;
  const affine = norm.affine;
  return {
    gamma: affine ? ctx.weight(joinPath(path, 'weight')) : new Float32Array(c).fill(1),
    beta: affine ? ctx.weight(joinPath(path, 'bias')) : new Float32Array(c),
    mean,
    variance: ctx.weight(joinPath(path, 'running_var')),
    eps: norm.eps,
  };
}

function optionalBias(ctx: ExportContext, path: string): Float32Array | undefined {
  const name = joinPath(path, 'bias');
  return ctx.has(name) ? ctx.weight(name) : undefined;
}

function exportConv2d(ctx: ExportContext, conv: Conv2d, path: string, x: Value, fold?: StoredStats): Value {
  const shape = ctx.shape(joinPath(path, 'weight')) as [number, number, number, number];
  let weight = ctx.weight(joinPath(path, 'weight'));
  let bias = optionalBias(ctx, path);
  if (fold) ({ weight, bias } = foldBatchNorm(weight, bias ?? null, fold.gamma, fold.beta, fold.mean, fold.variance, fold.eps));
  const p = conv.padding;
  const [outChannels, inPerGroup, kernel] = shape;
  const small = { outChannels, inChannels: inPerGroup * conv.groups, kernel, stride: conv.stride, groups: conv.groups, dilation: conv.dilation };
  if ((ctx.flags.spaceToDepth ?? true) && worthSpaceToDepth(small)) return convSpaceToDepth(ctx.g, x, { name: path, weight, shape, bias, pads: [p, p, p, p] });
  return L.conv(ctx.g, x, { name: path, weight, shape, bias, stride: conv.stride, pads: [p, p, p, p], dilation: conv.dilation, group: conv.groups });
}

function exportConvTranspose2d(ctx: ExportContext, conv: ConvTranspose2d, path: string, x: Value, fold?: StoredStats): Value {
  const shape = ctx.shape(joinPath(path, 'weight')) as [number, number, number, number];
  let weight = ctx.weight(joinPath(path, 'weight'));
  let bias = optionalBias(ctx, path);
  if (fold) ({ weight, bias } = foldBatchNorm(weight, bias ?? null, fold.gamma, fold.beta, fold.mean, fold.variance, fold.eps, { outChannelAxis: 1, shape }));
  const p = conv.padding;
  const op = conv.outputPadding;
  return L.convTranspose(ctx.g, x, { name: path, weight, shape, bias, stride: conv.stride, pads: [p, p, p, p], outputPadding: [op, op] });
}

/**
 * Emit layers in order, folding each conv + stored-statistics norm pair into one conv.
 * Used by Sequential and by the residual block (conv1 → norm1, conv2 → norm2).
 */
export function exportChain(ctx: ExportContext, layers: ReadonlyArray<readonly [path: string, module: Module<unknown>]>, x: Value): Value {
  let y = x;
  for (let i = 0; i < layers.length; i++) {
    const [path, m] = layers[i]!;
    const next = layers[i + 1];
    const fold = next && (m instanceof Conv2d || m instanceof ConvTranspose2d) ? storedStats(ctx, next[1], next[0]) : undefined;
    if (fold && m instanceof Conv2d) y = exportConv2d(ctx, m, path, y, fold);
    else if (fold && m instanceof ConvTranspose2d) y = exportConvTranspose2d(ctx, m, path, y, fold);
    else y = ctx.visit(m, path, y);
    if (fold) i++; // the norm is inside the conv now
  }
  return y;
}

registerOnnxExporter(Conv2d, (ctx, m, path, x) => exportConv2d(ctx, m, path, x));
registerOnnxExporter(ConvTranspose2d, (ctx, m, path, x) => exportConvTranspose2d(ctx, m, path, x));

registerOnnxExporter(BatchNorm2d, (ctx, m, path, x) => {
  const s = storedStats(ctx, m, path)!;
  return L.batchNorm(ctx.g, x, { name: path, scale: s.gamma, bias: s.beta, mean: s.mean, variance: s.variance, epsilon: s.eps });
});

registerOnnxExporter(InstanceNorm2d, (ctx, m, path, x) => {
  const s = storedStats(ctx, m, path);
  if (s) return L.batchNorm(ctx.g, x, { name: path, scale: s.gamma, bias: s.beta, mean: s.mean, variance: s.variance, epsilon: s.eps });
  const c = m.numFeatures;
  const scale = m.affine ? ctx.weight(joinPath(path, 'weight')) : new Float32Array(c).fill(1);
  const bias = m.affine ? ctx.weight(joinPath(path, 'bias')) : new Float32Array(c);
  return L.instanceNorm(ctx.g, x, { name: path, scale, bias, epsilon: m.eps });
});

// nn pads are [left, right, top, bottom] (torch.nn.functional.pad); ONNX helpers take [top, left, bottom, right].
registerOnnxExporter(ReflectionPad2d, (ctx, m, _path, x) => {
  const [l, r, t, b] = m.padding;
  return reflectPadExact(ctx.g, x, [t, l, b, r]);
});
registerOnnxExporter(ReplicationPad2d, (ctx, m, _path, x) => {
  const [l, r, t, b] = m.padding;
  return l + r + t + b === 0 ? x : L.pad(ctx.g, x, { mode: 'edge', pads: [t, l, b, r] });
});

registerOnnxExporter(Upsample, (ctx, m, _path, x) => (m.scaleFactor === 1 ? x : m.mode === 'bilinear' ? L.upsampleBilinear(ctx.g, x, m.scaleFactor) : L.upsampleNearest(ctx.g, x, m.scaleFactor)));
registerOnnxExporter(ReLU, (ctx, _m, _path, x) => L.relu(ctx.g, x));
registerOnnxExporter(Identity, (_ctx, _m, _path, x) => x);
registerOnnxExporter(Scale, (ctx, m, _path, x) => L.mulConst(ctx.g, x, m.factor));
// PyTorch's pixel_shuffle is DepthToSpace's 'CRD' order (channel c·r² + a·r + b → sub-pixel (a, b)).
registerOnnxExporter(PixelShuffle, (ctx, m, _path, x) => ctx.g.node('DepthToSpace', [x], { blocksize: m.upscaleFactor, mode: 'CRD' }));
registerOnnxExporter(BicubicUpsample, (ctx, m, path, x) => {
  const r = m.scaleFactor;
  const padded = L.pad(ctx.g, x, { mode: 'edge', pads: [2, 2, 2, 2] });
  const y = L.conv(ctx.g, padded, { name: path || 'bicubic', weight: m.kernel, shape: [m.channels * r * r, 1, 5, 5], group: m.channels });
  return ctx.g.node('DepthToSpace', [y], { blocksize: r, mode: 'CRD' });
});
registerOnnxExporter(Tanh, (ctx, _m, _path, x) => L.tanh(ctx.g, x));
registerOnnxExporter(ScaledTanh, (ctx, m, _path, x) => {
  const y = L.mulConst(ctx.g, L.tanh(ctx.g, x), m.scale);
  return m.offset === 0 ? y : L.addConst(ctx.g, y, m.offset);
});

registerOnnxExporter(Sequential, (ctx, m, path, x) =>
  exportChain(ctx, m.namedChildren().map(([name, child]) => [joinPath(path, name), child] as const), x),
);

registerOnnxExporter(ResidualBlock, (ctx, m, path, x) => {
  const g = ctx.g;
  const pad = (v: Value): Value => {
    if (m.padding === 'reflect') return reflectPadExact(g, v, [1, 1, 1, 1]);
    if (m.padding === 'replicate') return L.pad(g, v, { mode: 'edge', pads: [1, 1, 1, 1] });
    return v; // 'zero' pads inside the convs, 'none' does not pad
  };
  const at = (name: 'conv1' | 'norm1' | 'conv2' | 'norm2') => [joinPath(path, name), m[name]] as const;
  let y = L.relu(g, exportChain(ctx, [at('conv1'), at('norm1')], pad(x)));
  y = exportChain(ctx, [at('conv2'), at('norm2')], pad(y));
  // Unpadded convs shrink the map by `crop` px per side: centre-crop the shortcut to match.
  return L.add(g, y, m.crop > 0 ? L.centreCrop(g, x, m.crop) : x);
});
