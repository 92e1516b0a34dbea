/** Peer import of ml5.js / deeplearn.js style-transfer checkpoints; see the modules for details. */
export { importMl5, type Ml5Import } from './import.js';
export { importMl5FromUrl, type Ml5DownloadOptions } from './download.js';
export { ML5_INSTANCE_NORM_EPSILON, ML5_LAYERS, ML5_VARIABLES, buildMl5Onnx, type Ml5OnnxOptions, type NamedTensor } from './network.js';
export { readCheckpoint, parseManifest, type Manifest, type CheckpointVariable } from './checkpoint.js';
export { Ml5Net, tfSamePad } from './ml5-net.js';
