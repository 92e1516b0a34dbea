/**
 * ml5.js's style-transfer forward pass, written as ml5-library's `src/StyleTransfer/index.js`
 * writes it (tf.conv2d / tf.conv2dTranspose with 'same', moments-based instance norm with
 * epsilon 1e-3, 150·tanh + 255/2, clipByValue), on whichever TensorFlow.js backend the caller
 * has set — the bench runs it on @tensorflow/tfjs-backend-wasm, what a Node user of ml5's
 * network would run instead of our ONNX import.
 *
 * `tf` is passed in rather than imported: TensorFlow.js is a devDependency, loaded only by the
 * benchmark.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs';

type Tf = typeof TF;

export class Ml5TfjsStyleTransfer {
  private readonly variables: Record<string, TF.Tensor> = {};
  private readonly timesScalar: TF.Scalar;
  private readonly plusScalar: TF.Scalar;
  private readonly epsilonScalar: TF.Scalar;

  constructor(
    private readonly tf: Tf,
    folder: string,
  ) {
    const manifest = JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')) as Record<string, { filename: string; shape: number[] }>;
    for (const [name, { filename, shape }] of Object.entries(manifest)) {
      const buf = readFileSync(path.join(folder, filename));
      // deeplearn.js CheckpointLoader: new Float32Array(arraybuffer) (little-endian hosts).
      this.variables[name] = tf.tensor(new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)), shape);
    }
    this.timesScalar = tf.scalar(150);
    this.plusScalar = tf.scalar(255 / 2);
    this.epsilonScalar = tf.scalar(1e-3);
  }

  private v(id: number): TF.Tensor {
    const t = this.variables[id === 0 ? 'Variable' : `Variable_${id}`];
    if (!t) throw new Error(`ml5 checkpoint: variable ${id} is missing`);
    return t;
  }

  private instanceNorm(input: TF.Tensor3D, id: number): TF.Tensor3D {
    const tf = this.tf;
    return tf.tidy(() => {
      const [height, width, inDepth] = input.shape;
      const { mean, variance } = tf.moments(input, [0, 1]);
      const normalized = tf.div(tf.sub(input, mean), tf.sqrt(tf.add(variance, this.epsilonScalar)));
      return tf.add(tf.mul(this.v(id + 1), normalized), this.v(id)).as3D(height, width, inDepth);
    });
  }

  private convLayer(input: TF.Tensor3D, strides: number, relu: boolean, id: number): TF.Tensor3D {
    const tf = this.tf;
    return tf.tidy(() => {
      const y = this.instanceNorm(tf.conv2d(input, this.v(id) as TF.Tensor4D, [strides, strides], 'same'), id + 1);
      return relu ? tf.relu(y) : y;
    });
  }

  private residualBlock(input: TF.Tensor3D, id: number): TF.Tensor3D {
    return this.tf.tidy(() => this.tf.add(this.convLayer(this.convLayer(input, 1, true, id), 1, false, id + 3), input));
  }

  private convTransposeLayer(input: TF.Tensor3D, numFilters: number, strides: number, id: number): TF.Tensor3D {
    const tf = this.tf;
    return tf.tidy(() => {
      const [height, width] = input.shape;
      const y = tf.conv2dTranspose(input, this.v(id) as TF.Tensor4D, [height * strides, width * strides, numFilters], [strides, strides], 'same');
      return tf.relu(this.instanceNorm(y, id + 1));
    });
  }

  /** HWC RGB 0–255 in, HWC RGB 0–255 out (ml5's transferInternal without its final ÷255). */
  transfer(image: TF.Tensor3D): TF.Tensor3D {
    const tf = this.tf;
    return tf.tidy(() => {
      const conv1 = this.convLayer(image, 1, true, 0);
      const conv2 = this.convLayer(conv1, 2, true, 3);
      const conv3 = this.convLayer(conv2, 2, true, 6);
      let x = conv3;
      for (const id of [9, 15, 21, 27, 33]) x = this.residualBlock(x, id);
      const convT1 = this.convTransposeLayer(x, 64, 2, 39);
      const convT2 = this.convTransposeLayer(convT1, 32, 2, 42);
      const convT3 = this.convLayer(convT2, 1, false, 45);
      return tf.clipByValue(tf.add(this.plusScalar, tf.mul(this.timesScalar, tf.tanh(convT3))), 0, 255) as TF.Tensor3D;
    });
  }

  dispose(): void {
    for (const t of Object.values(this.variables)) t.dispose();
    this.timesScalar.dispose();
    this.plusScalar.dispose();
    this.epsilonScalar.dispose();
  }
}
