/**
 * Every Error class the library throws, in one module, for callers that want to tell them
 * apart (`err instanceof SafetensorsError`). Each class lives with the code that throws it —
 * the lowest layer that can (the shared file/field errors in `util/errors.ts`) — and every one
 * names what failed: the operation, the file, the field or the option.
 */
export { FileFieldError } from './util/errors.js';
export { AtomicWriteError } from './util/atomic-write.js';
export { EngineNotInstalledError } from './engine/native.js';
export { DistributedError } from './engine/distributed.js';
export { StateDictError } from './nn/module.js';
export { SafetensorsError } from './nn/safetensors.js';
export { ArchitectureError } from './models/architecture.js';
export { VggLayerError } from './models/vgg/vgg.js';
export { VggWeightsError } from './models/vgg/canonical.js';
export { TorchCheckpointError } from './models/vgg/formats/torch-checkpoint.js';
export { PickleError } from './models/vgg/formats/pickle.js';
export { ImageReadError } from './data/image.js';
export { ImageFolderError } from './data/image-folder.js';
export { WorkerTaskError } from './data/worker-pool.js';
export { OrtModelError } from './runtime/ort-session.js';
export { TrainingDivergedError } from './train/trainer.js';
export { FfmpegMissingError } from './video/ffmpeg.js';
export { WebAppMissingError } from './serve/server.js';
export { BadPathError } from './serve/safe-path.js';
