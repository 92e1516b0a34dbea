// The imported ONNX model against ml5's own forward pass, re-implemented here with
// @tensorflow/tfjs (pure-JS cpu backend) line by line after ml5-library
// src/StyleTransfer/index.js: tf.conv2d / tf.conv2dTranspose with 'same', moments-based
// instance norm with epsilon 1e-3, 150·tanh + 255/2, clipByValue(0, 255).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { importMl5 } from '../../../src/models/ml5/index.js';
import { OrtModel } from '../../../src/runtime/ort-session.js';
import { sharedDataDir } from '../../../src/util/paths.js';

const dataRoot = sharedDataDir();
const fixture = path.join(dataRoot, 'peer/ml5-wave');
const photo = path.join(dataRoot, 'content/chicago.jpg');
const missing = !existsSync(path.join(fixture, 'manifest.json')) || !existsSync(photo);
const skip = missing ? `fixtures not found (${fixture}, ${photo}); set PERCEPTUAL_DATA to the data folder` : false;

/** ml5's StyleTransfer, as in its source (variables read straight from the files, not through the importer). */
class Ml5Reference {
  private readonly variables: Record<string, tf.Tensor> = {};
  private readonly timesScalar = tf.scalar(150);
  private readonly plusScalar = tf.scalar(255.0 / 2);
  private readonly epsilonScalar = tf.scalar(1e-3);

  constructor(folder: string) {
    const manifest = JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')) as Record<string, { filename: string; shape: number[] }>;
    for (const [name, { filename, shape }] of Object.entries(manifest)) {
      const buf = readFileSync(path.join(folder, filename));
      // deeplearn.js CheckpointLoader: new Float32Array(arraybuffer) (little-endian hosts).
      const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      this.variables[name] = tf.tensor(data, shape);
    }
  }

  private getVariable(id: number): tf.Tensor {
    return this.variables[id === 0 ? 'Variable' : `Variable_${id}`]!;
  }

  private instanceNorm(input: tf.Tensor3D, id: number): tf.Tensor3D {
    return tf.tidy(() => {
      const [height, width, inDepth] = input.shape;
      const moments = tf.moments(input, [0, 1]);
      const mu = moments.mean;
      const sigmaSq = moments.variance;
      const shift = this.getVariable(id);
      const scale = this.getVariable(id + 1);
      const epsilon = this.epsilonScalar;
      const normalized = tf.div(tf.sub(input.asType('float32'), mu), tf.sqrt(tf.add(sigmaSq, epsilon)));
      const shifted = tf.add(tf.mul(scale, normalized), shift);
      return shifted.as3D(height, width, inDepth);
    });
  }

  private convLayer(input: tf.Tensor3D, strides: number, relu: boolean, id: number): tf.Tensor3D {
    return tf.tidy(() => {
      const y = tf.conv2d(input, this.getVariable(id) as tf.Tensor4D, [strides, strides], 'same');
      const y2 = this.instanceNorm(y, id + 1);
      return relu ? tf.relu(y2) : y2;
    });
  }

  private residualBlock(input: tf.Tensor3D, id: number): tf.Tensor3D {
    return tf.tidy(() => {
      const conv1 = this.convLayer(input, 1, true, id);
      const conv2 = this.convLayer(conv1, 1, false, id + 3);
      return tf.add(conv2, input);
    });
  }

  private convTransposeLayer(input: tf.Tensor3D, numFilters: number, strides: number, id: number): tf.Tensor3D {
    return tf.tidy(() => {
      const [height, width] = input.shape;
      const newRows = height * strides;
      const newCols = width * strides;
      const newShape: [number, number, number] = [newRows, newCols, numFilters];
      const y = tf.conv2dTranspose(input, this.getVariable(id) as tf.Tensor4D, newShape, [strides, strides], 'same');
      const y2 = this.instanceNorm(y, id + 1);
      return tf.relu(y2);
    });
  }

  /** transferInternal without the final ÷255 (our contract is 0–255). HWC in, HWC out. */
  transfer(image: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const conv1 = this.convLayer(image, 1, true, 0);
      const conv2 = this.convLayer(conv1, 2, true, 3);
      const conv3 = this.convLayer(conv2, 2, true, 6);
      const res1 = this.residualBlock(conv3, 9);
      const res2 = this.residualBlock(res1, 15);
      const res3 = this.residualBlock(res2, 21);
      const res4 = this.residualBlock(res3, 27);
      const res5 = this.residualBlock(res4, 33);
      const convT1 = this.convTransposeLayer(res5, 64, 2, 39);
      const convT2 = this.convTransposeLayer(convT1, 32, 2, 42);
      const convT3 = this.convLayer(convT2, 1, false, 45);
      const outTanh = tf.tanh(convT3);
      const scaled = tf.mul(this.timesScalar, outTanh);
      const shifted = tf.add(this.plusScalar, scaled);
      return tf.clipByValue(shifted, 0, 255) as tf.Tensor3D;
    });
  }
}

/** A deterministic crop of the photo (the sky/skyline area), resized to w×h: RGB bytes, HWC. */
async function photoCrop(width: number, height: number): Promise<Uint8Array> {
  const { data } = await sharp(photo)
    .extract({ left: 200, top: 120, width: 256, height: 256 })
    .resize(width, height, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data);
}

function hwcToNchw(hwc: Uint8Array, h: number, w: number): Float32Array {
  const out = new Float32Array(3 * h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) out[(c * h + y) * w + x] = hwc[(y * w + x) * 3 + c]!;
  return out;
}

test('ml5 "wave" as ONNX equals ml5\'s tfjs forward pass', { skip }, async (t) => {
  await tf.setBackend('cpu');
  await tf.ready();
  const reference = new Ml5Reference(fixture);
  const imported = await importMl5(fixture);
  // Both ways of writing TF 'SAME' padding (see Ml5OnnxOptions.padding) must give ml5's numbers.
  const models = {
    explicit: await OrtModel.load(imported.toOnnx({ padding: 'explicit' }), { threads: 2 }),
    auto_pad: await OrtModel.load(imported.toOnnx({ padding: 'auto_pad' }), { threads: 2 }),
  };
  t.after(async () => {
    for (const m of Object.values(models)) await m.dispose();
  });

  // 64×64 as the issue asks; 37×29 checks the parity-dependent SAME padding and the crop back
  // to the input size (ml5 itself returns 40×32 there; its top-left 37×29 is compared).
  for (const [h, w] of [[64, 64], [37, 29]] as const) {
    const pixels = await photoCrop(w, h);
    const expected = tf.tidy(() => {
      // fromPixels gives int32; current tfjs's conv2d insists on float32 (older ones cast): same integer values.
      const out = reference.transfer(tf.tensor3d(Float32Array.from(pixels), [h, w, 3], 'float32'));
      return out.slice([0, 0, 0], [h, w, 3]).transpose([2, 0, 1]).dataSync() as Float32Array;
    });
    let min = Infinity, max = -Infinity;
    for (const v of expected) (min = Math.min(min, v)), (max = Math.max(max, v));
    assert.ok(max - min > 50, 'the stylised image should not be flat');
    for (const [padding, model] of Object.entries(models)) {
      const actual = await model.run(hwcToNchw(pixels, h, w), [1, 3, h, w]);
      assert.deepEqual(actual.dims, [1, 3, h, w]);
      let maxDiff = 0;
      for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(actual.data[i]! - expected[i]!));
      console.log(`ml5 wave ${h}×${w} (${padding} padding): max |onnxruntime − tfjs(ml5)| = ${maxDiff.toExponential(3)} on the 0–255 scale (reference range ${min.toFixed(1)}–${max.toFixed(1)})`);
      assert.ok(maxDiff < 1e-2, `max abs diff ${maxDiff} ≥ 1e-2 at ${h}×${w} with ${padding} padding`);
    }
  }
});
