/**
 * perceptual — the public library API. Inference needs only onnxruntime-node; everything that
 * trains (engine, nn, losses, train, optimize) needs the libtorch addon and says so when absent.
 */
export { loadModel, loadStyleModel, resolveModel, defaultModelsDir, type LoadModelOptions, type LoadedModel, type RuntimeName } from './infer/load-model.js';
export { EngineStyleModel, type EngineModelOptions } from './infer/engine-model.js';
export { NodeStyleModel, listModels, stylizeFile, upscaleFile } from './infer/node/index.js';
export { StyleModelCore, type StylizeOptions, type UpscaleOptions, type RunNetwork } from './infer/core/index.js';
export { loadImage, saveImage, encodeImage, toBytes, type RgbImage } from './data/image.js';
export { preserveColor } from './data/color.js';
export { matchHistogram } from './infer/histogram-match.js';
export { psnr, ssim } from './metrics/metrics.js';
export { trainStyle, STYLE_TASK, type TrainStyleOptions } from './train/train-style.js';
export { trainSr, SR_TASK, type TrainSrOptions } from './train/train-sr.js';
export { trainModel, type TaskSpec, type TrainModelResult } from './train/driver.js';
export { STYLE_TRAIN_OPTIONS, SR_TRAIN_OPTIONS, COMMON_TRAIN_OPTIONS, type OptionDef, type OptionTable } from './train/options.js';
export {
  MODEL_FILES,
  readModelFolder,
  writeModelFolder,
  loadNetwork,
  type ModelCard,
  type StyleCard,
  type SrCard,
  type ImportedCard,
  type ModelFolder,
  type ModelFiles,
} from './models/model-folder.js';
export { writeFileAtomic } from './util/atomic-write.js';
export * from './errors.js';
export { train, type TrainingTask, type TrainerOptions, type TrainResult } from './train/trainer.js';
export { optimizeImage, type GatysOptions, type GatysResult } from './optimize/gatys.js';
export * from './video/index.js';
export { doctor } from './doctor/doctor.js';
