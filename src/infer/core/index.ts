/**
 * The platform-free inference core, shared by the Node entry (`../node/`) and the browser app
 * (`web/src/`). Nothing here imports `node:*`, a native package or the DOM
 * (`platform-free.test.ts` checks the import graph).
 */
export type { RunNetwork, TensorData, ProgressCallback } from './types.js';
export { StyleModelCore, DEFAULT_AUTO_TILE, DEFAULT_MAX_UNTILED_PIXELS, DEFAULT_OUTPUT_TYPE } from './style-model-core.js';
export type { StyleModelCoreOptions, RunOptions, StylizeOptions, UpscaleOptions, OutputType } from './style-model-core.js';
export { runImage, checkTiling, defaultOverlap, yieldToEventLoop, MIN_TILE_SIZE } from './run-image.js';
export type { RunImageOptions, RunImageResult, TilingOptions, ImageSink } from './run-image.js';
export { blendStrength, checkStrength } from './strength.js';
export { shiftAveraged, checkShifts, SHIFT_SETS, SHIFT_COUNTS, DEFAULT_SHIFTS } from './shift-average.js';
export { edgePadded, checkEdgePad, reflectIndex, DEFAULT_EDGE_PAD } from './edge-pad.js';
export { rgbaToRgb, rgbToRgba } from './rgba.js';
export type { RgbImage } from '../../data/image.js';
