/**
 * Exporting a module tree to ONNX by walking it: a registry maps each layer class to its
 * `toOnnx` (the nodes for that layer), and an {@link ExportContext} walks the tree, reading
 * every weight by its state-dict name (`model.3.weight`, `model.7.conv1.bias`, …).
 *
 * Why a registry here and not a `toOnnx` method on each layer: the nn layers are training code
 * on libtorch and must not depend on the ONNX writer (the browser build and the ONNX runtime
 * must not depend on them either); the runtime folder owns everything ONNX. Lookup follows the
 * prototype chain, so a subclass exports as its base unless it registers its own.
 *
 * Semantics are eval mode's, whatever `module.training` says, as `torch.onnx.export` does by
 * default: batch norm uses its running statistics (and is folded into the conv before it; see
 * the nn exporters), instance norm the statistics of each input.
 */
import { noGrad, tidy, type Tensor } from '../engine/index.js';
import type { Module } from '../nn/module.js';
import { OnnxGraphBuilder, type Dim, type Value } from '../onnx/graph-builder.js';

/** The nodes of one layer: `x` in, the layer's output value out. `path` is the layer's state-dict prefix. */
export type OnnxExporter<M> = (ctx: ExportContext, module: M, path: string, x: Value) => Value;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyClass<M> = abstract new (...args: any[]) => M;

const registry = new Map<object, OnnxExporter<never>>();

/** Register (or replace) the exporter of a layer class. */
export function registerOnnxExporter<M extends Module<unknown>>(cls: AnyClass<M>, exporter: OnnxExporter<M>): void {
  registry.set(cls.prototype as object, exporter as OnnxExporter<never>);
}

/** The exporter for a module: its class's, or the nearest registered base class's. */
export function findOnnxExporter<M extends Module<unknown>>(module: M): OnnxExporter<M> | undefined {
  for (let p = Object.getPrototypeOf(module) as object | null; p; p = Object.getPrototypeOf(p) as object | null) {
    const e = registry.get(p);
    if (e) return e as OnnxExporter<M>;
  }
  return undefined;
}

export const joinPath = (prefix: string, name: string): string => (prefix ? `${prefix}.${name}` : name);

/** Choices between equivalent graphs, read by the layer exporters. */
export interface ExportFlags {
  /**
   * Rewrite stride-1 convs with ≤ 4 output channels as SpaceToDepth → conv → DepthToSpace
   * (same numbers, ~2.5× faster on onnxruntime's CPU provider; see space-to-depth-conv.ts).
   * Default true.
   */
  spaceToDepth?: boolean;
}

/** Walks one module tree into one graph. */
export class ExportContext {
  readonly #state: Map<string, Tensor>;
  readonly #cache = new Map<string, Float32Array>();

  constructor(
    readonly g: OnnxGraphBuilder,
    root: Module<unknown>,
    readonly flags: ExportFlags = {},
  ) {
    this.#state = root.stateDict();
  }

  /** Whether the state dict has `name` (optional biases, affine parameters). */
  has(name: string): boolean {
    return this.#state.has(name);
  }

  /** Logical (NCHW) shape of a state-dict entry. */
  shape(name: string): number[] {
    return [...this.#tensor(name).shape];
  }

  /**
   * Float32 values of a state-dict entry in logical order, whatever the tensor's dtype
   * (bf16 weights are widened), memory format (channels_last is read back as NCHW) or device.
   */
  weight(name: string): Float32Array {
    let v = this.#cache.get(name);
    if (!v) {
      const t = this.#tensor(name);
      v = noGrad(() =>
        tidy(() => {
          let c = t;
          if (c.device !== 'cpu') c = c.toDevice('cpu');
          if (c.dtype !== 'float32') c = c.to('float32');
          return Float32Array.from(c.toArray() as Float32Array);
        }),
      );
      this.#cache.set(name, v);
    }
    return v;
  }

  /** Emit `module` (at state-dict prefix `path`) on input `x`. */
  visit(module: Module<unknown>, path: string, x: Value): Value {
    const exporter = findOnnxExporter(module);
    if (!exporter) {
      throw new Error(`ONNX export: no exporter for ${module.constructor.name} at '${path || '<root>'}'; register one with registerOnnxExporter (src/export/module-export.ts)`);
    }
    return exporter(this, module as never, path, x);
  }

  #tensor(name: string): Tensor {
    const t = this.#state.get(name);
    if (!t) throw new Error(`ONNX export: the model has no state-dict entry '${name}'`);
    return t;
  }
}

export interface ModuleToOnnxOptions extends ExportFlags {
  /** Graph name written into the model. */
  name?: string;
  docString?: string;
  /** Input dims (default `['N', 3, 'H', 'W']`). */
  inputDims?: readonly Dim[];
  /** Output dims (default: the input's). */
  outputDims?: readonly Dim[];
}

/** The ONNX bytes of a module tree, with one input `input` and one output `output`. */
export function moduleToOnnx(root: Module<unknown>, options: ModuleToOnnxOptions = {}): Uint8Array {
  const g = new OnnxGraphBuilder(options.name ?? root.constructor.name, options.docString ?? '');
  const inputDims = options.inputDims ?? ['N', 3, 'H', 'W'];
  const x = g.input('input', inputDims);
  const ctx = new ExportContext(g, root, { spaceToDepth: options.spaceToDepth });
  const y = ctx.visit(root, '', x);
  g.output(y, 'output', options.outputDims ?? inputDims);
  return g.toBytes();
}
