/**
 * The input convention a set of VGG weights was trained with. It travels with the weights
 * (safetensors metadata) because feeding a network the wrong convention does not fail — it
 * silently produces worse features, which would quietly degrade every loss computed with it.
 */

export type VggPreprocessing = 'caffe' | 'torchvision';
export const VGG_PREPROCESSINGS: readonly VggPreprocessing[] = ['caffe', 'torchvision'];

export interface PreprocessingSpec {
  /** Channel order of the first convolution's input channels. */
  channelOrder: 'BGR' | 'RGB';
  /** Pixel range before normalisation: 255 for 0–255, 1 for 0–1. */
  range: 255 | 1;
  /** Per-channel mean subtracted, in `channelOrder`, on the `range` scale. */
  mean: [number, number, number];
  /** Per-channel divisor applied after the mean, in `channelOrder`. */
  std: [number, number, number];
}

export const PREPROCESSING: Record<VggPreprocessing, PreprocessingSpec> = {
  // The original Caffe VGG models (and Keras' conversion of them, keras.applications `caffe`
  // mode): BGR, 0–255, ImageNet mean subtracted, no scaling. The kernels stay in BGR order as
  // published; the input is flipped instead, so the weights remain byte-identical to the source.
  caffe: { channelOrder: 'BGR', range: 255, mean: [103.939, 116.779, 123.68], std: [1, 1, 1] },
  // torchvision's retrained models: RGB scaled to 0–1, then normalised by ImageNet mean/std.
  torchvision: { channelOrder: 'RGB', range: 1, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
};
