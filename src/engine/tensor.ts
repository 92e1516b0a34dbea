/**
 * The Tensor: a TypeScript handle on one libtorch tensor, with PyTorch's method names.
 * Values are never copied to JS unless asked (`toArray`, `item`). Every tensor registers in
 * the current `tidy` scope; outside any scope it lives until `dispose()` (or GC).
 */
import { native, type NativeTensor } from './native.js';
import { track, type Trackable } from './scope.js';

export type DType = 'float32' | 'float64' | 'bfloat16' | 'float16' | 'int64' | 'int32' | 'uint8' | 'bool';
/** 'cpu', 'cuda' or 'cuda:N'. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
export type Scalar = number | boolean;
export type TensorOrScalar = Tensor | Scalar;
export type MemoryFormat = 'contiguous' | 'channels_last' | 'preserve';

/** Arguments of a native op: tensors are unwrapped to their handles. */
type OpArg = Tensor | Tensor[] | number | number[] | string | boolean | null | undefined;

function unwrap(a: OpArg): unknown {
  if (a instanceof Tensor) return a.handle;
  if (Array.isArray(a) && a.length > 0 && a[0] instanceof Tensor) return (a as Tensor[]).map((t) => t.handle);
  return a;
}

/** Run a native op by name; wraps the result(s) in tracked Tensors. */
export function runOp(name: string, args: OpArg[]): Tensor {
  const r = native().op(name, args.map(unwrap));
  if (Array.isArray(r)) throw new Error(`${name}: returned ${r.length} tensors; use runOpMulti`);
  return new Tensor(r);
}

export function runOpMulti(name: string, args: OpArg[]): Tensor[] {
  const r = native().op(name, args.map(unwrap));
  return (Array.isArray(r) ? r : [r]).map((h) => new Tensor(h));
}

export class Tensor implements Trackable {
  /** @internal */
  readonly handle: NativeTensor;

  /** @internal Use the creation functions (tensor, zeros, randn, …) instead. */
  constructor(handle: NativeTensor) {
    this.handle = handle;
    track(this);
  }

  get shape(): number[] {
    return this.handle.shape;
  }
  get dtype(): DType {
    return this.handle.dtype as DType;
  }
  get device(): string {
    return this.handle.device;
  }
  get ndim(): number {
    return this.handle.shape.length;
  }
  get numel(): number {
    return this.handle.numel;
  }
  get isDisposed(): boolean {
    return this.handle.disposed;
  }
  get isChannelsLast(): boolean {
    return this.handle.isChannelsLast;
  }
  get requiresGrad(): boolean {
    return this.handle.requiresGrad;
  }
  set requiresGrad(v: boolean) {
    this.handle.requiresGrad = v;
  }
  /** The accumulated gradient, or null. A new handle on the same storage each call. */
  get grad(): Tensor | null {
    const g = this.handle.grad;
    return g ? new Tensor(g) : null;
  }

  requiresGrad_(v = true): this {
    this.handle.requiresGrad = v;
    return this;
  }
  /** Free the tensor's memory now. Idempotent. */
  dispose(): void {
    if (!this.handle.disposed) this.handle.dispose();
  }
  zeroGrad(): void {
    this.handle.zeroGrad();
  }
  backward(gradient?: Tensor, options: { retainGraph?: boolean } = {}): void {
    this.handle.backward(gradient?.handle ?? null, options.retainGraph ?? false);
  }
  /** Copy the values out (float32 for float32/bf16/f16, natural typed array otherwise). */
  toArray(): Float32Array | Float64Array | Uint8Array | Int32Array | BigInt64Array {
    return this.handle.toArray();
  }
  /** Values as float32, whatever the dtype. */
  toFloat32Array(): Float32Array {
    const a = this.handle.toArray();
    return a instanceof Float32Array ? a : Float32Array.from(a as ArrayLike<number>, Number);
  }
  item(): number {
    return this.handle.item();
  }
  toString(): string {
    return this.isDisposed ? 'Tensor(<disposed>)' : `Tensor([${this.shape.join(',')}] ${this.dtype}${this.device === 'cpu' ? '' : ' ' + this.device})`;
  }

  // --- elementwise
  add(o: TensorOrScalar): Tensor {
    return runOp('add', [this, o as OpArg]);
  }
  sub(o: TensorOrScalar): Tensor {
    return runOp('sub', [this, o as OpArg]);
  }
  mul(o: TensorOrScalar): Tensor {
    return runOp('mul', [this, o as OpArg]);
  }
  div(o: TensorOrScalar): Tensor {
    return runOp('div', [this, o as OpArg]);
  }
  pow(o: TensorOrScalar): Tensor {
    return runOp('pow', [this, o as OpArg]);
  }
  maximum(o: TensorOrScalar): Tensor {
    return runOp('maximum', [this, o as OpArg]);
  }
  minimum(o: TensorOrScalar): Tensor {
    return runOp('minimum', [this, o as OpArg]);
  }
  gt(o: TensorOrScalar): Tensor {
    return runOp('gt', [this, o as OpArg]);
  }
  lt(o: TensorOrScalar): Tensor {
    return runOp('lt', [this, o as OpArg]);
  }
  ge(o: TensorOrScalar): Tensor {
    return runOp('ge', [this, o as OpArg]);
  }
  le(o: TensorOrScalar): Tensor {
    return runOp('le', [this, o as OpArg]);
  }
  eq(o: TensorOrScalar): Tensor {
    return runOp('eq', [this, o as OpArg]);
  }
  ne(o: TensorOrScalar): Tensor {
    return runOp('ne', [this, o as OpArg]);
  }
  neg(): Tensor {
    return runOp('neg', [this]);
  }
  sqrt(): Tensor {
    return runOp('sqrt', [this]);
  }
  rsqrt(): Tensor {
    return runOp('rsqrt', [this]);
  }
  exp(): Tensor {
    return runOp('exp', [this]);
  }
  log(): Tensor {
    return runOp('log', [this]);
  }
  abs(): Tensor {
    return runOp('abs', [this]);
  }
  square(): Tensor {
    return runOp('square', [this]);
  }
  tanh(): Tensor {
    return runOp('tanh', [this]);
  }
  relu(): Tensor {
    return runOp('relu', [this]);
  }
  sigmoid(): Tensor {
    return runOp('sigmoid', [this]);
  }
  round(): Tensor {
    return runOp('round', [this]);
  }
  floor(): Tensor {
    return runOp('floor', [this]);
  }
  isfinite(): Tensor {
    return runOp('isfinite', [this]);
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return runOp('clamp', [this, min ?? null, max ?? null]);
  }

  // --- reductions (dims omitted: over all elements)
  sum(dims?: number | number[], keepdim = false): Tensor {
    return dims === undefined ? runOp('sum', [this]) : runOp('sum', [this, dims, keepdim]);
  }
  mean(dims?: number | number[], keepdim = false): Tensor {
    return dims === undefined ? runOp('mean', [this]) : runOp('mean', [this, dims, keepdim]);
  }
  /** Variance; unbiased (Bessel) by default like torch.var. */
  var(dims?: number | number[], options: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return runOp('var', [this, dims ?? null, options.unbiased ?? true, options.keepdim ?? false]);
  }
  min(): Tensor {
    return runOp('min', [this]);
  }
  max(): Tensor {
    return runOp('max', [this]);
  }
  /** [values, indices] along dim. */
  minDim(dim: number, keepdim = false): [Tensor, Tensor] {
    return runOpMulti('min_dim', [this, dim, keepdim]) as [Tensor, Tensor];
  }
  maxDim(dim: number, keepdim = false): [Tensor, Tensor] {
    return runOpMulti('max_dim', [this, dim, keepdim]) as [Tensor, Tensor];
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return runOp('argmax', [this, dim ?? null, keepdim]);
  }
  all(): Tensor {
    return runOp('all', [this]);
  }

  // --- shape
  reshape(shape: number[]): Tensor {
    return runOp('reshape', [this, shape]);
  }
  permute(dims: number[]): Tensor {
    return runOp('permute', [this, dims]);
  }
  transpose(d0: number, d1: number): Tensor {
    return runOp('transpose', [this, d0, d1]);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return runOp('narrow', [this, dim, start, length]);
  }
  /** Python's x[..., start:end:step] along dim (negative indices allowed). */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
    return runOp('slice', [this, dim, start ?? null, end ?? null, step]);
  }
  select(dim: number, index: number): Tensor {
    return runOp('select', [this, dim, index]);
  }
  flip(dims: number[]): Tensor {
    return runOp('flip', [this, dims]);
  }
  squeeze(dim?: number): Tensor {
    return runOp('squeeze', [this, dim ?? null]);
  }
  unsqueeze(dim: number): Tensor {
    return runOp('unsqueeze', [this, dim]);
  }
  expand(shape: number[]): Tensor {
    return runOp('expand', [this, shape]);
  }
  contiguous(format: MemoryFormat = 'contiguous'): Tensor {
    return runOp('contiguous', [this, format]);
  }
  matmul(o: Tensor): Tensor {
    return runOp('matmul', [this, o]);
  }
  bmm(o: Tensor): Tensor {
    return runOp('bmm', [this, o]);
  }

  // --- type, device, graph
  to(dtype: DType): Tensor {
    return runOp('to_dtype', [this, dtype]);
  }
  toDevice(device: Device | string): Tensor {
    return runOp('to_device', [this, device]);
  }
  clone(): Tensor {
    return runOp('clone', [this]);
  }
  /** Same storage, cut from the autograd graph. */
  detach(): Tensor {
    return runOp('detach', [this]);
  }
  /** In-place copy of src's values (outside autograd); returns this. */
  copy_(src: Tensor): this {
    runOp('copy_', [this, src]).dispose(); // the returned handle only aliases this tensor
    return this;
  }
}
