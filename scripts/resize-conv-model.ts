/**
 * A model folder whose transposed-convolution upsampling (uN) is replaced by resize-convolutions
 * (rcN), the other weights kept (src/models/resize-conv.ts says how the kernels map): the start of
 * a grid-free fine-tune of a network trained with `uN` (`train-style --arch <its rc arch> --init OUT`).
 * The card is the source's, with `arch` rewritten and `convertedFrom` saying where it came from.
 *
 *   node --import tsx scripts/resize-conv-model.ts models/the-scream runs/rc/the-scream
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { loadNetwork, writeNetworkWeights } from '../src/models/model-folder.js';
import { toResizeConvolution } from '../src/models/resize-conv.js';
import { exportOnnx } from '../src/export/export.js';

const [from, out] = process.argv.slice(2);
if (!from || !out) throw new Error('usage: resize-conv-model.ts MODEL_DIR OUT_DIR');
const src = await loadNetwork(path.join(from, 'weights.safetensors'));
const dst = toResizeConvolution(src);
await fs.mkdir(out, { recursive: true });
await writeNetworkWeights(path.join(out, 'weights.safetensors'), dst);
await exportOnnx(dst, path.join(out, 'model.onnx'));
const card = JSON.parse(await fs.readFile(path.join(from, 'card.json'), 'utf8')) as Record<string, unknown>;
card.convertedFrom = { model: path.relative(process.cwd(), from) || from, arch: src.config.arch, iterations: card.iterations, how: 'uN → rcN (src/models/resize-conv.ts)' };
card.arch = dst.config.arch;
await fs.writeFile(path.join(out, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
console.log(`${from} (${src.config.arch}) → ${out} (${dst.config.arch})`);
src.dispose();
dst.dispose();
