/**
 * `Module`: the container for a network's parameters, buffers and sub-modules, with
 * PyTorch's naming (`res1.conv1.weight`, `model.3.running_mean`) so that state dicts move
 * between this project, PyTorch and the safetensors files on disk by name alone.
 *
 * Ownership: every parameter and buffer is `keep()`-ed, so `tidy` scopes never free it; the
 * module frees them in `dispose()`. Layers read their tensors by name (`this.param('weight')`)
 * on every call instead of caching them in fields, because `toMemoryFormat`/`toDevice`
 * replace the tensors and a cached field would keep pointing at a freed one.
 */
import { Tensor, keep, noGrad, tidy, tensor, type DType, type MemoryFormat } from '../engine/index.js';
import { readSafetensors, writeSafetensors, type NamedTensor, type NamedTensors } from './safetensors.js';

/** Parameters and buffers by dotted name; the tensors are the module's own (do not dispose). */
export type StateDict = Map<string, Tensor>;

/** A state dict that does not fit the module; the message names the keys concerned. */
export class StateDictError extends Error {
  constructor(
    message: string,
    readonly missing: string[] = [],
    readonly unexpected: string[] = [],
  ) {
    super(message);
    this.name = 'StateDictError';
  }
}

export interface LoadStateDictOptions {
  /** Refuse missing and unexpected keys (default true, as in PyTorch). Shape mismatches are always refused. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missing: string[];
  unexpected: string[];
}

// safetensors dtype ↔ engine dtype. 16-bit floats arrive widened to Float32Array.
const FROM_SAFETENSORS: Record<string, DType> = {
  F32: 'float32',
  F64: 'float64',
  F16: 'float32',
  BF16: 'float32',
  I64: 'int64',
  I32: 'int32',
  U8: 'uint8',
  BOOL: 'bool',
};
const TO_SAFETENSORS: Record<DType, string> = {
  float32: 'F32',
  float64: 'F64',
  bfloat16: 'BF16',
  float16: 'F16',
  int64: 'I64',
  int32: 'I32',
  uint8: 'U8',
  bool: 'BOOL',
};

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** A tensor copy of one safetensors entry (the caller disposes it). */
function fromNamed(name: string, t: NamedTensor): Tensor {
  const dtype = FROM_SAFETENSORS[t.dtype];
  if (!dtype) throw new StateDictError(`${name}: unsupported safetensors dtype ${t.dtype}`);
  return tensor(t.data, t.shape, { dtype });
}

/** The values of a tensor in the form safetensors stores them. */
export function toNamedTensor(t: Tensor): NamedTensor {
  const dtype = TO_SAFETENSORS[t.dtype];
  // toArray() returns the logical (NCHW) order whatever the memory format.
  return { dtype, shape: [...t.shape], data: t.toArray() };
}

export abstract class Module<Out = Tensor> {
  /** Training mode (batch statistics in batch norm); switched by train()/eval(). */
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, Tensor>();
  readonly #modules = new Map<string, Module<unknown>>();

  abstract forward(x: Tensor): Out;

  // ------------------------------------------------------------------------------ registration

  /** Adopt `t` as a trainable parameter (requiresGrad on, kept out of tidy scopes). */
  registerParameter(name: string, t: Tensor): Tensor {
    this.#checkName(name);
    keep(t);
    t.requiresGrad = true;
    this.#params.set(name, t);
    return t;
  }

  /** Adopt `t` as a buffer: state that is saved and loaded but not trained (running stats). */
  registerBuffer(name: string, t: Tensor): Tensor {
    this.#checkName(name);
    keep(t);
    this.#buffers.set(name, t);
    return t;
  }

  registerModule<M extends Module<unknown>>(name: string, m: M): M {
    this.#checkName(name);
    this.#modules.set(name, m);
    return m;
  }

  #checkName(name: string): void {
    if (!name || name.includes('.')) throw new Error(`${this.constructor.name}: invalid name '${name}' (non-empty, no dots)`);
    if (this.#params.has(name) || this.#buffers.has(name) || this.#modules.has(name)) {
      throw new Error(`${this.constructor.name}: '${name}' is already registered`);
    }
  }

  /** This module's own parameter (throws when absent, naming the module). */
  protected param(name: string): Tensor {
    const t = this.#params.get(name);
    if (!t) throw new Error(`${this.constructor.name}: no parameter '${name}'`);
    return t;
  }
  protected hasParam(name: string): boolean {
    return this.#params.has(name);
  }
  protected buffer(name: string): Tensor {
    const t = this.#buffers.get(name);
    if (!t) throw new Error(`${this.constructor.name}: no buffer '${name}'`);
    return t;
  }
  protected hasBuffer(name: string): boolean {
    return this.#buffers.has(name);
  }

  // ------------------------------------------------------------------------------- traversal

  /** Direct sub-modules in registration order. */
  namedChildren(): Array<[string, Module<unknown>]> {
    return [...this.#modules];
  }

  /** This module and all below it, depth first, with dotted names ('' for this one). */
  namedModules(prefix = ''): Array<[string, Module<unknown>]> {
    const out: Array<[string, Module<unknown>]> = [[prefix, this]];
    for (const [n, m] of this.#modules) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** Parameters in PyTorch's order: own ones first, then each child's, recursively. */
  namedParameters(prefix = ''): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    for (const [path, m] of this.namedModules(prefix)) for (const [n, t] of m.#params) out.push([path ? `${path}.${n}` : n, t]);
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(prefix = ''): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    for (const [path, m] of this.namedModules(prefix)) for (const [n, t] of m.#buffers) out.push([path ? `${path}.${n}` : n, t]);
    return out;
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }

  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.numel, 0);
  }

  // ---------------------------------------------------------------------------------- modes

  /** Set training mode here and below (batch norm uses batch statistics when training). */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Turn gradient recording on/off for every parameter (off: a frozen network). */
  requiresGrad_(flag: boolean): this {
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  // ----------------------------------------------------------------------------- state dicts

  /**
   * Parameters then buffers of each module, depth first, as PyTorch orders `state_dict()`.
   * The tensors are the live ones: read or copy them, never dispose them.
   */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    for (const [path, m] of this.namedModules()) {
      for (const [n, t] of m.#params) out.set(path ? `${path}.${n}` : n, t);
      for (const [n, t] of m.#buffers) out.set(path ? `${path}.${n}` : n, t);
    }
    return out;
  }

  /**
   * Copy values into the module's existing tensors (`copy_`, so an optimizer built on the
   * parameters keeps working). Everything is checked before anything is copied, so a failed
   * load leaves the module unchanged. Values may be tensors or safetensors entries; dtypes
   * are converted to the module's.
   */
  loadStateDict(source: Map<string, Tensor | NamedTensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !source.has(k));
    const unexpected = [...source.keys()].filter((k) => !own.has(k));
    const mismatched: string[] = [];
    for (const [k, t] of own) {
      const s = source.get(k);
      if (s && !sameShape(s.shape, t.shape)) mismatched.push(`${k}: checkpoint has shape ${fmt(s.shape)}, the model ${fmt(t.shape)}`);
    }
    if (mismatched.length > 0) {
      throw new StateDictError(`${this.constructor.name}.loadStateDict: shape mismatch for ${mismatched.join('; ')}`, missing, unexpected);
    }
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      const parts = [];
      if (missing.length) parts.push(`missing keys: ${missing.join(', ')}`);
      if (unexpected.length) parts.push(`unexpected keys: ${unexpected.join(', ')}`);
      throw new StateDictError(`${this.constructor.name}.loadStateDict (strict): ${parts.join('; ')}`, missing, unexpected);
    }
    tidy(() =>
      noGrad(() => {
        for (const [k, t] of own) {
          const s = source.get(k);
          if (!s) continue;
          t.copy_(s instanceof Tensor ? s : fromNamed(k, s));
        }
      }),
    );
    return { missing, unexpected };
  }

  /** Write the state dict (float32 parameters, running stats, …) as a safetensors file, atomically. */
  async saveSafetensors(file: string, metadata: Record<string, string> = {}): Promise<void> {
    const named: NamedTensors = new Map();
    for (const [k, t] of this.stateDict()) named.set(k, toNamedTensor(t));
    await writeSafetensors(file, named, metadata);
  }

  /** Load a safetensors state dict (strict by default); returns the file's metadata. */
  async loadSafetensors(file: string, options: LoadStateDictOptions = {}): Promise<Record<string, string>> {
    const { tensors, metadata } = await readSafetensors(file);
    try {
      this.loadStateDict(tensors, options);
    } catch (e) {
      if (e instanceof StateDictError) throw new StateDictError(`${file}: ${e.message}`, e.missing, e.unexpected);
      throw e;
    }
    return metadata;
  }

  // --------------------------------------------------------------------- layout and lifetime

  /**
   * Store every 4-D parameter and buffer in `format` ('channels_last' lets oneDNN/cuDNN pick
   * their fast NHWC kernels). This replaces the tensors: call it before building an optimizer,
   * which holds the old ones.
   */
  toMemoryFormat(format: MemoryFormat): this {
    return this.#replaceAll((t) => (t.ndim === 4 ? t.contiguous(format) : null));
  }

  /** Move every parameter and buffer to `device`; like toMemoryFormat, before building an optimizer. */
  toDevice(device: string): this {
    return this.#replaceAll((t) => (t.device === device ? null : t.toDevice(device)));
  }

  #replaceAll(convert: (t: Tensor) => Tensor | null): this {
    for (const [, m] of this.namedModules()) {
      for (const map of [m.#params, m.#buffers]) {
        for (const [n, t] of map) {
          const next = noGrad(() => tidy(() => {
            const c = convert(t);
            // detach: a fresh leaf, not a view into the graph of the old one.
            return c ? c.detach() : null;
          }));
          if (!next) continue;
          keep(next);
          if (map === m.#params) next.requiresGrad = t.requiresGrad;
          map.set(n, next);
          t.dispose();
        }
      }
    }
    return this;
  }

  /** Free every parameter and buffer here and below. The module is unusable afterwards. */
  dispose(): void {
    for (const [, m] of this.namedModules()) {
      for (const t of m.#params.values()) t.dispose();
      for (const t of m.#buffers.values()) t.dispose();
    }
  }
}

/** A module mapping one tensor to one tensor: what Sequential and the networks are made of. */
export type Layer = Module<Tensor>;
