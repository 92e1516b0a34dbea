/**
 * Bad-argument cases for every entry point of the native addon (issue 11, item 1), used by
 * native-entry-points.test.ts. Run directly (`node --import tsx native-cases.ts <first> [<end>]`), it
 * runs the cases from index <first> up to <end> (exclusive), writing one JSON line before (`start`) and after
 * (`result`) each, synchronously — so that when a case kills the process (SIGABRT from an
 * uncaught C++ exception, SIGSEGV), the parent knows which one it was and restarts after it.
 *
 * The cases talk to the raw addon (not the TypeScript wrapper): the point is that the addon
 * itself turns every C++ exception into a JavaScript Error, whatever a caller passes.
 */
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { native, type NativeAddon, type NativeTensor } from '../../src/engine/native.js';

export interface Fixtures {
  a: NativeAddon;
  /** A float32 tensor of standard normals, of this shape (or another dtype). */
  t(shape: number[], dtype?: string): NativeTensor;
  /** A tensor that was disposed. */
  disposed(): NativeTensor;
  /** A float32 leaf that requires grad. */
  param(shape: number[]): NativeTensor;
}

export interface Case {
  label: string;
  run(f: Fixtures): unknown;
  /** Text the Error's message must contain; `false`: the call must return normally instead. */
  throws: string[] | false;
}

/** Entry point → its cases. Keys: `op:<name>`, `<export>`, `Tensor#<member>`, `Adam#<method>`, `LBFGS#<method>`. */
export type CaseTable = Record<string, Case[]>;

const c = (label: string, run: (f: Fixtures) => unknown, ...throws: string[]): Case => ({ label, run, throws });
const returns = (label: string, run: (f: Fixtures) => unknown): Case => ({ label, run, throws: false });

/**
 * One op-specific bad call per op (wrong shapes, out-of-range dims, bad modes, NaN where a
 * size is expected), beyond the generic ones every op gets (no arguments, a string for every
 * argument, disposed tensors). `null`: the op has no shape or option constraint to violate —
 * the generic cases cover it. A new op without an entry here fails the test.
 */
export const OP_BAD: Record<string, ((f: Fixtures) => unknown[]) | null> = {
  zeros: () => [[2, -3]],
  ones: () => [[NaN, 2]],
  full: () => [[2, 3], 1, 'float33'],
  rand: () => [[2, 3], 'int64'],
  randn: () => [[1e12, 1e12, 1e12]],
  arange: () => [0, 10, 0],
  zeros_like: null,
  ones_like: null,
  randn_like: (f) => [f.t([2, 3], 'int64')],
  add: (f) => [f.t([2, 3]), f.t([4, 5])],
  sub: (f) => [f.t([2, 3]), f.t([4, 5])],
  mul: (f) => [f.t([2, 3]), f.t([4, 5])],
  div: (f) => [f.t([2, 3]), f.t([4, 5])],
  pow: (f) => [f.t([2, 3]), f.t([4, 5])],
  maximum: (f) => [f.t([2, 3]), f.t([4, 5])],
  minimum: (f) => [f.t([2, 3]), f.t([4, 5])],
  gt: (f) => [f.t([2, 3]), f.t([4, 5])],
  lt: (f) => [f.t([2, 3]), f.t([4, 5])],
  ge: (f) => [f.t([2, 3]), f.t([4, 5])],
  le: (f) => [f.t([2, 3]), f.t([4, 5])],
  eq: (f) => [f.t([2, 3]), f.t([4, 5])],
  ne: (f) => [f.t([2, 3]), f.t([4, 5])],
  where: (f) => [f.t([2, 3]), f.t([2, 3]), f.t([2, 3])],
  neg: (f) => [f.t([2, 3], 'bool')],
  sqrt: null,
  rsqrt: null,
  exp: null,
  log: null,
  abs: null,
  square: null,
  tanh: null,
  relu: null,
  sigmoid: null,
  round: null,
  floor: null,
  isfinite: null,
  clamp: (f) => [f.t([2, 3]), null, null],
  sum: (f) => [f.t([2, 3]), [5]],
  mean: (f) => [f.t([2, 3], 'int64'), [0]],
  var: (f) => [f.t([2, 3]), [7], true, false],
  min: (f) => [f.t([0, 3])],
  max: (f) => [f.t([0, 3])],
  min_dim: (f) => [f.t([2, 3]), 5, false],
  max_dim: (f) => [f.t([2, 3]), 5, false],
  argmax: (f) => [f.t([2, 3]), 9, false],
  all: null,
  reshape: (f) => [f.t([2, 3]), [4, 5]],
  permute: (f) => [f.t([2, 3]), [0, 0]],
  transpose: (f) => [f.t([2, 3]), 0, 5],
  narrow: (f) => [f.t([2, 3]), 1, 2, 5],
  slice: (f) => [f.t([2, 3]), 1, 0, 2, 0],
  select: (f) => [f.t([2, 3]), 0, 7],
  cat: (f) => [[f.t([2, 3]), f.t([4, 5])], 0],
  stack: (f) => [[f.t([2, 3]), f.t([4, 5])], 0],
  flip: (f) => [f.t([2, 3]), [4]],
  squeeze: (f) => [f.t([2, 3]), 7],
  unsqueeze: (f) => [f.t([2, 3]), 9],
  expand: (f) => [f.t([2, 3]), [4, 5]],
  contiguous: (f) => [f.t([2, 3]), 'channels_last'],
  pad: (f) => [f.t([1, 1, 2, 2]), [5, 5, 5, 5], 'reflect'],
  to_dtype: (f) => [f.t([2, 3]), 'float33'],
  to_device: (f) => [f.t([2, 3]), 'gpu:x'],
  clone: null,
  detach: null,
  copy_: (f) => [f.t([2, 3]), f.t([4, 5])],
  conv2d: (f) => [f.t([1, 3, 8, 8]), f.t([4, 5, 3, 3]), null, [1, 1], [0, 0], [1, 1], 1],
  conv_transpose2d: (f) => [f.t([1, 3, 8, 8]), f.t([4, 5, 3, 3]), null, [1, 1], [0, 0], [0, 0], 1, [1, 1]],
  max_pool2d: (f) => [f.t([1, 1, 2, 2]), [5, 5], [1, 1], [0, 0], [1, 1], false],
  avg_pool2d: (f) => [f.t([1, 1, 2, 2]), [5, 5], [0, 0], [0, 0], false, true],
  interpolate: (f) => [f.t([1, 1, 4, 4]), [0, 0], 'bilinear', false, false],
  batch_norm: (f) => [f.t([2, 3, 4, 4]), f.t([5]), f.t([5]), f.t([5]), f.t([5]), false, 0.1, 1e-5],
  instance_norm: (f) => [f.t([2, 3, 4, 4]), f.t([5]), f.t([5]), null, null, true, 0.1, 1e-5],
  matmul: (f) => [f.t([2, 3]), f.t([4, 5])],
  bmm: (f) => [f.t([2, 3, 4]), f.t([2, 5, 6])],
  mse_loss: (f) => [f.t([2, 3]), f.t([2, 3]), 'avg'],
};

/** A few more bad calls for ops where one is not enough (NaN sizes, zero strides, unknown modes). */
const OP_EXTRA: Record<string, Array<(f: Fixtures) => unknown[]>> = {
  conv2d: [(f) => [f.t([1, 3, 8, 8]), f.t([4, 3, 3, 3]), null, [0, 0], [0, 0], [1, 1], 1], (f) => [f.t([1, 3, 8, 8]), f.t([4, 3, 3, 3]), null, [NaN, 1], [0, 0], [1, 1], 1], (f) => [f.t([1, 3, 8, 8]), f.t([4, 3, 3, 3]), null, [1, 1], [0, 0], [1, 1], 0]],
  interpolate: [(f) => [f.t([1, 1, 4, 4]), [8, 8], 'cubic', false, false], (f) => [f.t([1, 1, 4, 4]), [8, 8], 'nearest', false, true]],
  pad: [(f) => [f.t([1, 1, 2, 2]), [1, 1, 1], 'reflect'], (f) => [f.t([1, 1, 2, 2]), [1, 1, 1, 1], 'wrap']],
  contiguous: [(f) => [f.t([1, 3, 2, 2]), 'sideways']],
  zeros: [(f) => [[2], 'float32', 'cuda:7']],
  arange: [() => [0, NaN, 1]],
  reshape: [(f) => [f.t([2, 3]), [1.5, 4]]],
  cat: [() => [[], 0]],
  max_pool2d: [(f) => [f.t([1, 1, 4, 4]), [2, 2], [0, 0], [0, 0], [1, 1], false]],
  batch_norm: [(f) => [f.t([2, 3, 4, 4]), null, null, null, null, false, 0.1, 1e-5]],
};

function opCases(name: string, bad: ((f: Fixtures) => unknown[]) | null): Case[] {
  const call = (args: (f: Fixtures) => unknown[]) => (f: Fixtures) => f.a.op(name, args(f));
  const cases: Case[] = [
    c('no arguments', call(() => []), `${name}(`),
    c('a string for every argument', call(() => ['x', 'y', 'z', 'w', 'v', 'u', 's', 'r']), `${name}`),
    c('disposed tensors', call((f) => [f.disposed(), f.disposed(), f.disposed()]), `${name}`),
  ];
  if (bad) cases.push(c('wrong shapes or options', call(bad), `${name}(`));
  for (const [i, extra] of (OP_EXTRA[name] ?? []).entries()) cases.push(c(`more bad options ${i + 1}`, call(extra), `${name}(`));
  return cases;
}

export function buildCases(opNames: string[]): CaseTable {
  const table: CaseTable = {};
  for (const name of opNames) {
    if (!(name in OP_BAD)) continue; // reported by the test as an op without cases
    table[`op:${name}`] = opCases(name, OP_BAD[name]!);
  }
  Object.assign(table, {
    op: [
      c('unknown op', (f) => f.a.op('no_such_op', []), "unknown op 'no_such_op'"),
      c('name not a string', (f) => (f.a.op as (...x: unknown[]) => unknown)(42, []), 'op(name, args[])'),
      c('args not an array', (f) => (f.a.op as (...x: unknown[]) => unknown)('add', 'x'), 'op(name, args[])'),
    ],
    opNames: [returns('junk arguments are ignored', (f) => (f.a.opNames as (...x: unknown[]) => unknown)('x', 1))],
    fromArray: [
      c('a plain array', (f) => (f.a.fromArray as (...x: unknown[]) => unknown)([1, 2], [2]), 'fromArray'),
      c('length ≠ shape', (f) => f.a.fromArray(new Float32Array(4), [2, 3]), 'fromArray: the array has 4 elements but shape [2,3] needs 6'),
      c('NaN in shape', (f) => f.a.fromArray(new Float32Array(4), [NaN, 4]), 'fromArray: shape element 0'),
      c('negative shape', (f) => f.a.fromArray(new Float32Array(4), [-4]), 'fromArray: shape element 0'),
      c('huge shape', (f) => f.a.fromArray(new Float32Array(4), [2 ** 40, 2 ** 40]), 'fromArray'),
      c('unsupported typed array', (f) => f.a.fromArray(new Int16Array(4), [4]), 'fromArray: use Float32Array'),
      c('unknown dtype', (f) => f.a.fromArray(new Float32Array(4), [4], 'float33'), "fromArray(4 elements, [4]): unknown dtype 'float33'"),
      c('dtype not a string', (f) => (f.a.fromArray as (...x: unknown[]) => unknown)(new Float32Array(4), [4], 7), 'fromArray: dtype must be a string'),
      c('unknown device', (f) => f.a.fromArray(new Float32Array(4), [4], 'float32', 'tpu'), 'fromArray(4 elements, [4])'),
    ],
    setNumThreads: [0, -1, 1.5, NaN, '2', 1e9, undefined].map((v) => c(`setNumThreads(${String(v)})`, (f) => (f.a.setNumThreads as (x: unknown) => void)(v), 'setNumThreads: the thread count must be an integer')),
    getNumThreads: [returns('junk arguments are ignored', (f) => (f.a.getNumThreads as (...x: unknown[]) => unknown)('x'))],
    manualSeed: [NaN, Infinity, 1.5, 'x', 2 ** 60].map((v) => c(`manualSeed(${String(v)})`, (f) => (f.a.manualSeed as (x: unknown) => void)(v), 'manualSeed: the seed must be an integer')),
    setGradEnabled: ['yes', undefined, 1].map((v) => c(`setGradEnabled(${String(v)})`, (f) => (f.a.setGradEnabled as (x: unknown) => void)(v), 'setGradEnabled: enabled must be a boolean')),
    isGradEnabled: [returns('junk arguments are ignored', (f) => (f.a.isGradEnabled as (...x: unknown[]) => unknown)('x'))],
    setAutocast: [
      c('unknown device', (f) => f.a.setAutocast('tpu' as 'cpu', true), "setAutocast('tpu', true, 'bfloat16'): unknown device 'tpu'"),
      c('device not a string', (f) => (f.a.setAutocast as (...x: unknown[]) => unknown)(42, true), 'setAutocast: device must be a string'),
      c('enabled not a boolean', (f) => (f.a.setAutocast as (...x: unknown[]) => unknown)('cpu', 'yes'), "setAutocast('cpu'): enabled must be a boolean"),
      c('unknown dtype', (f) => f.a.setAutocast('cpu', true, 'float33'), "setAutocast('cpu', true, 'float33'): unknown dtype 'float33'"),
      c('integer dtype', (f) => f.a.setAutocast('cpu', true, 'int64'), 'autocast dtype must be bfloat16 or float16'),
    ],
    setOneDnnBf16: [c('not a boolean', (f) => (f.a.setOneDnnBf16 as (x: unknown) => unknown)('x'), 'setOneDnnBf16: allowed must be a boolean')],
    info: [returns('junk arguments are ignored', (f) => (f.a.info as (...x: unknown[]) => unknown)('x'))],
    Tensor: [
      returns('new Tensor() from JS is an empty handle', (f) => new f.a.Tensor()),
      c('… whose shape then throws', (f) => new f.a.Tensor().shape, 'shape: the tensor has been disposed'),
    ],
    Adam: [
      c('parameters not an array', (f) => new f.a.Adam('x' as unknown as NativeTensor[], {}), 'Adam: parameters must be an array of Tensors'),
      c('a parameter that is not a Tensor', (f) => new f.a.Adam([{} as NativeTensor], {}), 'Adam: parameter 0 is not a Tensor'),
      c('a parameter without grad', (f) => new f.a.Adam([f.t([2])], {}), 'Adam: parameter 0 [2] float32 does not require grad'),
      c('a disposed parameter', (f) => new f.a.Adam([f.disposed()], {}), 'Adam: parameter 0 is disposed'),
      c('lr −1 (libtorch aborted here before)', (f) => new f.a.Adam([f.param([2, 3])], { lr: -1 }), 'new Adam(1 parameter (first [2,3] float32), {lr: -1', 'Invalid learning rate: -1'),
      c('beta1 2', (f) => new f.a.Adam([f.param([2, 3])], { beta1: 2 }), 'new Adam(1 parameter (first [2,3] float32), {lr: 0.001, betas: [2, 0.999]', 'Invalid beta parameter at index 0: 2'),
      c('eps −1', (f) => new f.a.Adam([f.param([2, 3])], { eps: -1 }), 'Invalid epsilon value: -1'),
      c('weightDecay −1', (f) => new f.a.Adam([f.param([2, 3])], { weightDecay: -1 }), 'Invalid weight_decay value: -1'),
      c('lr NaN', (f) => new f.a.Adam([f.param([2, 3])], { lr: NaN }), 'Adam: option lr must be a finite number, got NaN'),
      c("lr 'abc'", (f) => new f.a.Adam([f.param([2, 3])], { lr: 'abc' }), 'Adam: option lr must be a finite number, got abc'),
      c('options not an object', (f) => new (f.a.Adam as unknown as new (...x: unknown[]) => unknown)([f.param([2])], 42), 'Adam: options must be an object'),
    ],
    'Adam#step': [returns('no gradients yet: a no-op', (f) => new f.a.Adam([f.param([2])], {}).step())],
    'Adam#zeroGrad': [returns('junk arguments are ignored', (f) => (new f.a.Adam([f.param([2])], {}).zeroGrad as (...x: unknown[]) => unknown)('x'))],
    'Adam#setLr': [NaN, -1, Infinity, 'x', undefined].map((v) => c(`setLr(${String(v)})`, (f) => (new f.a.Adam([f.param([2])], {}).setLr as (x: unknown) => void)(v), 'Adam.setLr')),
    'Adam#getState': [returns('before any step: nulls', (f) => new f.a.Adam([f.param([2])], {}).getState())],
    'Adam#setState': [
      c('not an array', (f) => (new f.a.Adam([f.param([2])], {}).setState as (x: unknown) => void)('x'), 'Adam.setState: expected an array with one entry per parameter (1)'),
      c('wrong length', (f) => new f.a.Adam([f.param([2])], {}).setState([]), 'Adam.setState'),
      c('an entry that is a number', (f) => (new f.a.Adam([f.param([2])], {}).setState as (x: unknown) => void)([42]), 'Adam.setState: entry 0 must be null or {step, expAvg, expAvgSq}'),
      c('step −1', (f) => new f.a.Adam([f.param([2])], {}).setState([{ step: -1, expAvg: f.t([2]), expAvgSq: f.t([2]) }]), 'Adam.setState: entry 0 step must be a non-negative integer, got -1'),
      c('step NaN', (f) => new f.a.Adam([f.param([2])], {}).setState([{ step: NaN, expAvg: f.t([2]), expAvgSq: f.t([2]) }]), 'Adam.setState: entry 0 step must be a non-negative integer, got NaN'),
      c('state of the wrong shape', (f) => new f.a.Adam([f.param([2])], {}).setState([{ step: 1, expAvg: f.t([3]), expAvgSq: f.t([3]) }]), 'Adam.setState: entry 0 has shapes [3] float32, [3] float32 but the parameter is [2] float32'),
      c('disposed state tensors', (f) => new f.a.Adam([f.param([2])], {}).setState([{ step: 1, expAvg: f.disposed(), expAvgSq: f.disposed() }]), 'Adam.setState: entry 0 has shapes <disposed>'),
      c('state that is not tensors', (f) => (new f.a.Adam([f.param([2])], {}).setState as (x: unknown) => void)([{ step: 1, expAvg: 'x', expAvgSq: [1, 2] }]), 'Adam.setState: entry 0 needs expAvg and expAvgSq tensors'),
    ],
    LBFGS: [
      c('lr −1', (f) => new f.a.LBFGS([f.param([2])], { lr: -1 }), 'new LBFGS(1 parameter (first [2] float32), {lr: -1', 'lr must be > 0'),
      c('lr NaN', (f) => new f.a.LBFGS([f.param([2])], { lr: NaN }), 'LBFGS: option lr must be a finite number, got NaN'),
      c('maxIter 0', (f) => new f.a.LBFGS([f.param([2])], { maxIter: 0 }), 'LBFGS: option maxIter must be an integer in [1, 1e9], got 0'),
      c('historySize 1.5', (f) => new f.a.LBFGS([f.param([2])], { historySize: 1.5 }), 'LBFGS: option historySize must be an integer'),
      c('toleranceGrad −1', (f) => new f.a.LBFGS([f.param([2])], { toleranceGrad: -1 }), 'tolerances must be >= 0'),
      c("lineSearch 'backtracking'", (f) => new f.a.LBFGS([f.param([2])], { lineSearch: 'backtracking' }), "LBFGS: option lineSearch must be 'strong_wolfe' or absent, got backtracking"),
      c('no parameters array', (f) => new (f.a.LBFGS as unknown as new (...x: unknown[]) => unknown)(), 'LBFGS: parameters must be an array of Tensors'),
    ],
    'LBFGS#step': [
      c('no closure', (f) => (new f.a.LBFGS([f.param([2])], {}).step as (x: unknown) => unknown)('x'), 'LBFGS.step(closure) needs a function'),
      c('a closure returning a string', (f) => new f.a.LBFGS([f.param([2])], {}).step(() => 'x' as unknown as NativeTensor), 'LBFGS closure must return the loss Tensor'),
      c('a closure returning a disposed tensor', (f) => new f.a.LBFGS([f.param([2])], {}).step(() => f.disposed()), 'LBFGS closure returned a disposed tensor'),
      c('a closure returning a 2-element loss', (f) => new f.a.LBFGS([f.param([2])], {}).step(() => f.t([2])), 'LBFGS.step'),
      c('a closure that throws', (f) => new f.a.LBFGS([f.param([2])], {}).step(() => { throw new Error('closure failed on purpose'); }), 'closure failed on purpose'),
    ],
    distInit: [
      c('options not an object', (f) => (f.a as unknown as { distInit(x: unknown): unknown }).distInit('x'), 'distInit'),
      c('rank outside the world', (f) => (f.a as unknown as { distInit(x: unknown): unknown }).distInit({ rank: 5, worldSize: 2 }), 'distInit'),
      c('port 70000', (f) => (f.a as unknown as { distInit(x: unknown): unknown }).distInit({ rank: 0, worldSize: 1, port: 70000 }), 'distInit'),
    ],
    distInfo: [returns('junk arguments are ignored', (f) => (f.a as unknown as { distInfo(x: unknown): unknown }).distInfo('x'))],
  } satisfies CaseTable);

  // Tensor members: each on a disposed tensor (the accessors name themselves), plus the ones
  // with arguments or dtype rules of their own.
  const onDisposed = (member: string, use: (t: NativeTensor) => unknown): Case => c(`on a disposed tensor`, (f) => use(f.disposed()), `${member}`);
  Object.assign(table, {
    'Tensor#shape': [onDisposed('shape: the tensor has been disposed', (t) => t.shape)],
    'Tensor#strides': [onDisposed('strides: the tensor has been disposed', (t) => t.strides)],
    'Tensor#dtype': [onDisposed('dtype: the tensor has been disposed', (t) => t.dtype)],
    'Tensor#device': [onDisposed('device: the tensor has been disposed', (t) => t.device)],
    'Tensor#numel': [onDisposed('numel: the tensor has been disposed', (t) => t.numel)],
    'Tensor#nbytes': [onDisposed('nbytes: the tensor has been disposed', (t) => t.nbytes)],
    'Tensor#disposed': [returns('true on a disposed tensor', (f) => f.disposed().disposed)],
    'Tensor#requiresGrad': [
      onDisposed('requiresGrad: the tensor has been disposed', (t) => t.requiresGrad),
      c('set on an integer tensor', (f) => {
        f.t([2], 'int64').requiresGrad = true;
      }, 'requiresGrad([2] int64)', 'Only Tensors of floating point'),
    ],
    'Tensor#grad': [onDisposed('grad: the tensor has been disposed', (t) => t.grad)],
    'Tensor#isChannelsLast': [onDisposed('isChannelsLast: the tensor has been disposed', (t) => t.isChannelsLast)],
    'Tensor#dispose': [returns('twice', (f) => f.disposed().dispose())],
    'Tensor#zeroGrad': [onDisposed('zeroGrad: the tensor has been disposed', (t) => t.zeroGrad())],
    'Tensor#backward': [
      onDisposed('backward: the tensor has been disposed', (t) => t.backward()),
      c('without grad', (f) => f.t([1]).backward(), 'backward([1] float32): the tensor does not require grad'),
      c('implicit gradient of a 3-element tensor', (f) => (f.a.op('mul', [f.param([3]), 2]) as NativeTensor).backward(), 'backward([3] float32): gradient can be implicit only'),
      c('gradient of the wrong shape', (f) => (f.a.op('mul', [f.param([3]), 2]) as NativeTensor).backward(f.t([4])), 'backward([3] float32, gradient [4] float32)'),
      c('gradient not a Tensor', (f) => (f.a.op('mul', [f.param([3]), 2]) as NativeTensor).backward('x' as unknown as NativeTensor), 'backward: gradient must be a Tensor'),
      c('a disposed gradient', (f) => (f.a.op('mul', [f.param([3]), 2]) as NativeTensor).backward(f.disposed()), 'backward(gradient): the tensor has been disposed'),
      c('backward twice through a freed graph', (f) => {
        const y = f.a.op('sum', [f.a.op('exp', [f.param([3])])]) as NativeTensor;
        y.backward();
        y.backward();
      }, 'backward([] float32)', 'second time'),
    ],
    'Tensor#toArray': [onDisposed('toArray: the tensor has been disposed', (t) => t.toArray())],
    'Tensor#item': [onDisposed('item: the tensor has been disposed', (t) => t.item()), c('of 6 elements', (f) => f.t([2, 3]).item(), 'item([2,3] float32): item() needs a tensor of exactly one element')],
  } satisfies CaseTable);
  return table;
}

export function fixtures(a: NativeAddon): Fixtures {
  const t = (shape: number[], dtype = 'float32'): NativeTensor => {
    const x = a.op('randn', [shape]) as NativeTensor;
    return dtype === 'float32' ? x : (a.op('to_dtype', [x, dtype]) as NativeTensor);
  };
  return {
    a,
    t,
    disposed: () => {
      const x = t([2, 3]);
      x.dispose();
      return x;
    },
    param: (shape) => {
      const x = t(shape);
      x.requiresGrad = true;
      return x;
    },
  };
}

/** Flattened, in a fixed order: [entry point, case]. */
export function caseList(table: CaseTable): Array<[string, Case]> {
  return Object.keys(table)
    .sort()
    .flatMap((k) => table[k]!.map((cs) => [k, cs] as [string, Case]));
}

async function main(): Promise<void> {
  const first = Number(process.argv[2] ?? 0);
  const end = process.argv[3] === undefined ? Infinity : Number(process.argv[3]);
  const a = native();
  const f = fixtures(a);
  const list = caseList(buildCases(a.opNames()));
  // The test's check of this harness: a case that aborts the process, between two ordinary ones.
  if (process.env.PERCEPTUAL_HOSTILE_SELFTEST === 'abort') list.splice(1, 0, ['selftest', returns('process.abort()', () => process.abort())]);
  const say = (o: object) => writeSync(1, `${JSON.stringify(o)}\n`);
  for (let i = first; i < Math.min(end, list.length); i++) {
    const [entry, cs] = list[i]!;
    say({ start: i, entry, label: cs.label });
    let threw = false, isError = false, message = '';
    try {
      const r = cs.run(f);
      if (r instanceof Promise) await r;
    } catch (e) {
      threw = true;
      isError = e instanceof Error;
      message = isError ? (e as Error).message : String(e);
    }
    say({ result: i, threw, isError, message });
  }
  say({ done: Math.min(end, list.length) });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
