/**
 * ONNX export of the transformation networks this project builds (any architecture string,
 * either norm, every padding mode, the SR nets ×2/×4/×8) with the contract of
 * src/runtime/README.md: `input` [N, 3, H, W] RGB 0–255 → `output` [N, 3, f·H, f·W] RGB 0–255,
 * N/H/W dynamic, opset 17.
 *
 * The graph is made by walking the module tree (`module-export.ts`, layers in
 * `nn-exporters.ts`); this file adds what TransformerNet.forward adds around its layers: the
 * crop of outputs that come out larger than f·H × f·W (sizes not multiples of the stride).
 * Numbers are eval mode's (see module-export.ts); parity with the engine is pinned by
 * test/runtime/export-parity.test.ts.
 */
import { writeFileAtomic } from '../util/atomic-write.js';
import type { Module } from '../nn/module.js';
import { TransformerNet } from '../models/transformer-net.js';
import type { Dim, OnnxGraphBuilder, Value } from '../onnx/graph-builder.js';
import { joinPath, moduleToOnnx, registerOnnxExporter, type ExportFlags } from './module-export.js';
import './nn-exporters.js';

/** Keep the top-left `scale·H × scale·W` of `y`, where H×W is the run-time size of `input`. */
function cropToScaledSize(g: OnnxGraphBuilder, y: Value, input: Value, scale: number): Value {
  let hw = g.node('Shape', [input], { start: 2, end: 4 });
  if (scale !== 1) hw = g.node('Mul', [hw, g.int64Constant([scale, scale], [2], 'scale')]);
  return g.node('Slice', [y, g.int64Constant([0, 0], [2], 'starts'), hw, g.int64Constant([2, 3], [2], 'axes')]);
}

registerOnnxExporter(TransformerNet, (ctx, net, p, x) => {
  const y = ctx.visit(net.model, joinPath(p, 'model'), x);
  // With stride 1 the output is always exactly scale·H × scale·W: no crop needed.
  const out = net.stride > 1 ? cropToScaledSize(ctx.g, y, x, net.scale) : y;
  return net.skip ? ctx.g.node('Add', [ctx.visit(net.skip, joinPath(p, 'skip'), x), out]) : out;
});

export interface ExportOnnxOptions extends ExportFlags {
  /** Graph name (default: from the network's config). */
  name?: string;
  /** Free text stored in the model (provenance, licence). */
  docString?: string;
}

function outputDims(model: Module<unknown>): Dim[] {
  const scale = model instanceof TransformerNet ? model.scale : 1;
  return scale === 1 ? ['N', 3, 'H', 'W'] : ['N', 3, `H*${scale}`, `W*${scale}`];
}

/** The ONNX bytes of a network (a TransformerNet, or any module tree whose layers have exporters). */
export function exportOnnxBytes(model: Module<unknown>, options: ExportOnnxOptions = {}): Uint8Array {
  const config = model instanceof TransformerNet ? model.config : undefined;
  const describe = config
    ? `${config.kind === 'sr' ? `×${config.factor} super-resolution` : 'style'} network ${config.arch} (norm ${config.norm}, padding ${config.padding}${config.residual ? `, residual to ${config.residual}` : ''})`
    : model.constructor.name;
  return moduleToOnnx(model, {
    name: options.name ?? (config ? `perceptual-${config.kind}` : model.constructor.name),
    docString: options.docString ?? `Exported by perceptual: ${describe}. Input/output: [N, 3, H, W] float32 RGB 0–255.`,
    inputDims: ['N', 3, 'H', 'W'],
    outputDims: outputDims(model),
    spaceToDepth: options.spaceToDepth,
  });
}

/**
 * Export to `file`, atomically: the bytes go to a temporary file in the same folder, then are
 * renamed over `file`, so an interrupted export never leaves a truncated model that a later
 * load would trip over.
 */
export async function exportOnnx(model: Module<unknown>, file: string, options: ExportOnnxOptions = {}): Promise<void> {
  const bytes = exportOnnxBytes(model, options);
  await writeFileAtomic(file, bytes);
}

