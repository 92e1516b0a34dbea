/**
 * Non-finite weights in an ONNX model: an initializer holding NaN or ±Inf makes every output
 * NaN, which an image writer turns into a black picture with no error. Loaders refuse such a
 * file up front (see runtime/ort-session.ts).
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export interface NonFiniteWeight {
  /** The initializer's name. */
  name: string;
  /** Index of the first non-finite value in it. */
  index: number;
  value: number;
}

/** The first NaN/±Inf value among the float initializers, or undefined. Throws if the bytes are not an ONNX model. */
export function findNonFiniteInitializer(bytes: Uint8Array): NonFiniteWeight | undefined {
  const model = onnx.ModelProto.decode(bytes);
  for (const t of model.graph?.initializer ?? []) {
    const name = t.name ?? '';
    if (t.dataType === onnx.TensorProto.DataType.FLOAT) {
      if (t.rawData && t.rawData.length > 0) {
        const raw = t.rawData;
        const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
        for (let i = 0; i + 4 <= raw.byteLength; i += 4) {
          const v = view.getFloat32(i, true);
          if (!Number.isFinite(v)) return { name, index: i / 4, value: v };
        }
      }
      const values = t.floatData ?? [];
      for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return { name, index: i, value: values[i]! };
    } else if (t.dataType === onnx.TensorProto.DataType.DOUBLE) {
      if (t.rawData && t.rawData.length > 0) {
        const raw = t.rawData;
        const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
        for (let i = 0; i + 8 <= raw.byteLength; i += 8) {
          const v = view.getFloat64(i, true);
          if (!Number.isFinite(v)) return { name, index: i / 8, value: v };
        }
      }
      const values = t.doubleData ?? [];
      for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return { name, index: i, value: values[i]! };
    }
  }
  return undefined;
}
