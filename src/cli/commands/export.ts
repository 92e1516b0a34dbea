/**
 * `perceptual export MODEL_DIR|weights.safetensors [-o model.onnx]`: a trained network as ONNX
 * for onnxruntime (Node, browser), with the contract of src/runtime/README.md. The network is
 * rebuilt from the config in the weights' metadata (or the folder's card.json), exported, then
 * checked once against the engine on a small input.
 */
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { manualSeed, noGrad, rand, tensor, tidy } from '../../engine/index.js';
import { MODEL_FILES, loadNetwork, readModelFolder, readNetworkConfig } from '../../models/model-folder.js';
import type { TransformerNet } from '../../models/transformer-net.js';
import { exportOnnxBytes } from '../../export/export.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { OrtModel } from '../../runtime/ort-session.js';

/** The weights file and the folder it lives in, for a model folder or a .safetensors path. */
function locate(input: string): { weights: string; folder: string } {
  if (!existsSync(input)) throw new Error(`${input}: no such file or folder`);
  if (statSync(input).isDirectory()) {
    const weights = path.join(input, MODEL_FILES.weights);
    if (!existsSync(weights)) throw new Error(`${input}: no ${MODEL_FILES.weights} in this folder (train one with \`perceptual train-style\`)`);
    return { weights, folder: input };
  }
  if (!input.endsWith('.safetensors')) throw new Error(`${input}: expected a model folder or a .safetensors file`);
  return { weights: input, folder: path.dirname(input) };
}

/** Rebuild the network: config from the safetensors metadata, else (older folders) from card.json's `network`; non-finite weights are refused. */
async function loadForExport(weights: string, folder: string): Promise<TransformerNet> {
  let config = await readNetworkConfig(weights);
  if (!config && existsSync(path.join(folder, MODEL_FILES.card))) config = (await readModelFolder(folder)).network;
  if (!config) throw new Error(`${weights}: no network config in its metadata, and no ${MODEL_FILES.card} with a "network" next to it`);
  return (await loadNetwork(weights, config)).eval();
}

/** Max |onnx − engine| on one small random input (0–255 scale). */
async function verify(net: TransformerNet, bytes: Uint8Array): Promise<number> {
  manualSeed(0);
  const dims = [1, 3, 67, 61]; // odd sizes: the crop to the input size is exercised too
  const data = noGrad(() => tidy(() => rand(dims).mul(255).toArray() as Float32Array));
  const expected = noGrad(() => tidy(() => net.forward(tensor(data, dims)).toArray() as Float32Array));
  const model = await OrtModel.load(bytes);
  try {
    const got = await model.run(data, dims);
    if (got.data.length !== expected.length) throw new Error(`verification: onnxruntime gave [${got.dims.join(', ')}], the engine ${expected.length} values`);
    let d = 0;
    for (let i = 0; i < expected.length; i++) d = Math.max(d, Math.abs(got.data[i]! - expected[i]!));
    return d;
  } finally {
    await model.dispose();
  }
}

export function register(program: Command): void {
  program
    .command('export')
    .description('export a trained network (model folder or weights.safetensors) to ONNX for onnxruntime')
    .argument('<model>', 'model folder (with weights.safetensors) or a .safetensors file')
    .option('-o, --out <file>', 'output .onnx file (default: model.onnx next to the weights)')
    .option('--no-verify', 'skip the check of onnxruntime against the engine on a small input')
    .option('--no-space-to-depth', 'keep the last conv as one Conv node (the default phase-split one is ~2.5× faster on CPU; WebGPU runs its SpaceToDepth on the CPU fallback)')
    .action(async (input: string, o: { out?: string; verify: boolean; spaceToDepth: boolean }) => {
      const { weights, folder } = locate(input);
      const out = o.out ?? path.join(folder, MODEL_FILES.onnx);
      const net = await loadForExport(weights, folder);
      try {
        const bytes = exportOnnxBytes(net, { spaceToDepth: o.spaceToDepth });
        let check = '';
        if (o.verify) {
          const d = await verify(net, bytes);
          // Two float32 implementations of the same network: 1e-3 is ~2× their rounding noise.
          if (d > 1e-2) throw new Error(`the exported model differs from the engine by ${d.toExponential(2)} (0–255 scale) on a test input; not writing ${out}`);
          check = `, max |onnxruntime − engine| ${d.toExponential(1)} on a 61×67 test input`;
        }
        await writeFileAtomic(out, bytes);
        const c = net.config;
        const what = c.kind === 'sr' ? `×${c.factor} super-resolution` : 'style';
        console.log(`${weights} → ${out} (${(bytes.length / 1e6).toFixed(1)} MB, ONNX opset 17, ${what} ${c.arch}, dynamic N/H/W${check})`);
      } finally {
        net.dispose();
      }
    });
}
