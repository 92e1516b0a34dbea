/**
 * The resize-convolutions (`rcN`: nearest ×2 → ONNX Resize, then Conv; `rbN`: the same with
 * Resize linear / half_pixel) run in onnxruntime-web, the runtime of the browser app, and give
 * onnxruntime-node's and the engine's output: the WASM build supports both Resize modes as exported
 * by src/onnx/layers.ts. Runs in Node
 * (onnxruntime-web's WASM backend, single-threaded), so no browser is needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineAvailable, manualSeed, noGrad, rand, tidy } from '../../src/engine/index.js';
import { buildStyleNet } from '../../src/models/index.js';
import { exportOnnxBytes } from '../../src/export/export.js';

const skip = engineAvailable() ? false : 'the libtorch engine is not built (see `perceptual doctor`)';

for (const r of ['rc', 'rb'] as const)
test(`a ${r} network exported to ONNX: onnxruntime-web (WASM) equals onnxruntime-node and the engine`, { skip }, async () => {
  manualSeed(5);
  const net = buildStyleNet(`c9s1-8,d16,d32,R32,${r}16,${r}8,c9s1-3`, { norm: 'instance' });
  net.eval();
  const bytes = exportOnnxBytes(net);
  const dims = [1, 3, 36, 44];
  const { data, expected } = noGrad(() =>
    tidy(() => {
      const x = rand(dims).mul(255);
      return { data: x.toArray() as Float32Array, expected: net.forward(x).toArray() as Float32Array };
    }),
  );
  net.dispose();
  const graph = new TextDecoder('latin1').decode(bytes);
  assert.ok(graph.includes('Resize') && !graph.includes('ConvTranspose'), 'the graph upsamples with Resize, not ConvTranspose');

  const web = await import('onnxruntime-web');
  web.env.wasm.numThreads = 1;
  const node = await import('onnxruntime-node');
  const outputs: Float32Array[] = [];
  for (const ort of [web, node] as const) {
    const session = await (ort.InferenceSession as typeof web.InferenceSession).create(bytes);
    const feeds = { [session.inputNames[0]!]: new (ort.Tensor as typeof web.Tensor)('float32', data, dims) };
    const out = (await session.run(feeds))[session.outputNames[0]!]!;
    assert.deepEqual(out.dims, dims);
    outputs.push(out.data as Float32Array);
    await session.release();
  }
  const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
  assert.ok(maxDiff(outputs[0]!, outputs[1]!) < 1e-3, `web vs node: ${maxDiff(outputs[0]!, outputs[1]!)}`);
  assert.ok(maxDiff(outputs[0]!, expected) < 1e-3, `web vs engine: ${maxDiff(outputs[0]!, expected)}`);
});
