/** The Node entry to inference: onnxruntime-node sessions and sharp images around the shared core. */
export { NodeStyleModel, type NodeStyleModelOptions } from './node-style-model.js';
export { stylizeFile, upscaleFile, type FileOptions, type FileResult } from './image-files.js';
export { listModels, type Catalogue, type CatalogueEntry, type ModelCard, type ModelTask } from './catalogue.js';
export * from '../core/index.js';
