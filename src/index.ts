/**
 * perceptual — the public library API. Inference needs only onnxruntime-node; everything that
 * trains (engine, nn, losses, train, optimize) needs the libtorch addon and says so when absent.
 */
export { loadModel, loadStyleModel, resolveModel, defaultModelsDir, type LoadModelOptions, type LoadedModel, type RuntimeName } from './infer/load-model.js';
export { EngineStyleModel, type EngineModelOptions } from './infer/engine-model.js';
export { NodeStyleModel, listModels, stylizeFile, upscaleFile } from './infer/node/index.js';
export { StyleModelCore, type StylizeOptions, type UpscaleOptions, type RunNetwork } from './infer/core/index.js';
export { loadImage, saveImage, encodeImage, toBytes, ImageReadError, type RgbImage } from './data/image.js';
export { preserveColor } from './data/color.js';
export { matchHistogram } from './infer/histogram-match.js';
export { psnr, ssim } from './eval/metrics.js';
export { trainStyle, type TrainStyleOptions } from './train/train-style.js';
export { train, TrainingDivergedError, type TrainingTask, type TrainerOptions, type TrainResult } from './train/trainer.js';
export { optimizeImage, type GatysOptions, type GatysResult } from './optimize/gatys.js';
export { doctor } from './cli/doctor.js';
