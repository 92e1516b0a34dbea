/** The layers of the image networks and the loss network, with PyTorch's names. */
export { Conv2d, type Conv2dOptions } from './conv2d.js';
export { ConvTranspose2d, type ConvTranspose2dOptions } from './conv-transpose2d.js';
export { BatchNorm2d, type BatchNorm2dOptions } from './batch-norm2d.js';
export { InstanceNorm2d, InstanceNormStats, withInstanceNormStats, type InstanceNorm2dOptions } from './instance-norm2d.js';
export { createNorm, NORM_KINDS, type NormKind } from './normalization.js';
export { ReflectionPad2d, ReplicationPad2d, reflectPad, type Padding2d } from './padding.js';
export { Upsample } from './upsample.js';
export { ReLU, Tanh, ScaledTanh } from './activations.js';
export { Sequential } from './sequential.js';
export { ResidualBlock, RESIDUAL_PADDINGS, type ResidualBlockOptions, type ResidualPadding } from './residual-block.js';
export { Identity } from './identity.js';
export { Scale } from './scale.js';
export { PixelShuffle, pixelShuffle } from './pixel-shuffle.js';
export { BicubicUpsample, bicubicPhaseWeights } from './bicubic-upsample.js';
