/** Modules, layers and their persistence. */
export { Module, StateDictError, toNamedTensor, type Layer, type StateDict, type LoadStateDictOptions, type LoadStateDictResult } from './module.js';
export * from './layers/index.js';
export { uniform, fanIn, kaimingUniformBound } from './init.js';
