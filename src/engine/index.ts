/** The tensor engine: libtorch tensors, autograd, ops and optimizers for TypeScript. */
export { Tensor, runOp, runOpMulti } from './tensor.js';
export type { DType, Device, Scalar, TensorOrScalar, MemoryFormat } from './tensor.js';
export * from './creation.js';
export * as F from './functional.js';
export * from './runtime.js';
export { Adam, LBFGS } from './optim.js';
export type { AdamOptions, AdamParamState, LBFGSOptions } from './optim.js';
export { tidy, keep, dispose, scopeDepth } from './scope.js';
export { EngineNotInstalledError, engineAvailable, defaultThreads } from './native.js';
export { ProcessGroup, DistributedError, distributedInfo, DEFAULT_DISTRIBUTED_TIMEOUT_MS, DEFAULT_BUCKET_BYTES } from './distributed.js';
export type { ProcessGroupOptions, ReduceOp } from './distributed.js';
