/**
 * Importing an ml5.js / deeplearn.js style-transfer checkpoint folder as canonical tensors
 * plus an ONNX model with this project's style-model contract (NCHW float32 RGB 0–255 in and
 * out), so peer models run through the same `OrtModel` path as our own.
 */
import path from 'node:path';
import { readCheckpoint } from './checkpoint.js';
import { buildMl5Onnx, ml5Tensors, ML5_VARIABLES, type Ml5OnnxOptions, type NamedTensor } from './network.js';

export interface Ml5Import {
  /** Canonical named tensors (`conv1.weight` OIHW, `deconv1.weight` `[in, out, kh, kw]`, `*.norm.weight|bias`). */
  tensors: Map<string, NamedTensor>;
  /** The folder the checkpoint was read from. */
  folder: string;
  /** Serialise as an ONNX model (opset 17). */
  toOnnx(options?: Ml5OnnxOptions): Uint8Array;
}

/** Read `manifest.json` and the 48 `Variable*` files of an ml5 style-transfer checkpoint. */
export async function importMl5(folder: string): Promise<Ml5Import> {
  const variables = await readCheckpoint(folder, ML5_VARIABLES);
  const tensors = ml5Tensors(variables, folder);
  return {
    tensors,
    folder,
    toOnnx: (options: Ml5OnnxOptions = {}) => {
      const base = path.basename(path.resolve(folder));
      return buildMl5Onnx(tensors, {
        ...options,
        name: options.name ?? `ml5-${base}`,
        docString: options.docString ?? `Converted by perceptual from the ml5.js / deeplearn.js style-transfer checkpoint "${base}". Check the checkpoint's licence before redistributing.`,
      });
    },
  };
}
