/**
 * The Node entry to the inference core: an ONNX model file run by onnxruntime-node
 * (`src/runtime/ort-session.ts`) behind {@link StyleModelCore}, so Node produces the same
 * pixels as the browser app for the same model and options.
 */
import { OrtModel, type OrtModelOptions } from '../../runtime/ort-session.js';
import { StyleModelCore, type StyleModelCoreOptions } from '../core/index.js';

export interface NodeStyleModelOptions extends OrtModelOptions, StyleModelCoreOptions {}

export class NodeStyleModel extends StyleModelCore {
  private constructor(readonly session: OrtModel, options: StyleModelCoreOptions) {
    super((input, dims) => session.run(input, dims), options);
  }

  /** Load an `.onnx` file (or its bytes). */
  static async load(pathOrBytes: string | Uint8Array, options: NodeStyleModelOptions = {}): Promise<NodeStyleModel> {
    const { scale, maxUntiledPixels, autoTileSize, ...ort } = options;
    return new NodeStyleModel(await OrtModel.load(pathOrBytes, ort), { scale, maxUntiledPixels, autoTileSize });
  }

  /** Free the onnxruntime session; calling twice is harmless. */
  dispose(): Promise<void> {
    return this.session.dispose();
  }
}
