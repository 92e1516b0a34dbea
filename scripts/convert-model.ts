/**
 * A model folder converted by architecture surgery, the weights carried over, as the start of a
 * fine-tune (`train-style --arch <the new arch> --init OUT`):
 *   --to rc       transposed-convolution upsampling (uN) replaced by resize-convolutions (rcN),
 *                 the other weights kept (src/models/resize-conv.ts says how the kernels map);
 *   --to rb       nearest resize-convolutions (rcN) made bilinear (rbN), every weight kept as it is
 *                 (src/models/resize-conv.ts: the interpolation has no weights);
 *   --to wide     every hidden layer 2× wider (--factor k), computing exactly what the source
 *                 does (Net2WiderNet, src/models/widen.ts): e.g. half-instance-rc → paper-instance-rc.
 * The card is the source's, with `arch` rewritten and `convertedFrom` saying where it came from.
 *
 *   node --import tsx scripts/convert-model.ts models/the-scream runs/rc/the-scream            # --to rc
 *   node --import tsx scripts/convert-model.ts models/the-scream runs/rb/the-scream --to rb
 *   node --import tsx scripts/convert-model.ts models/the-scream runs/wide/the-scream --to wide
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadNetwork, writeNetworkWeights } from '../src/models/model-folder.js';
import { toBilinearResize, toResizeConvolution } from '../src/models/resize-conv.js';
import { widen } from '../src/models/widen.js';
import { exportOnnx } from '../src/export/export.js';

const { values: o, positionals } = parseArgs({ allowPositionals: true, options: { to: { type: 'string', default: 'rc' }, factor: { type: 'string', default: '2' }, seed: { type: 'string', default: '0' } } });
const [from, out] = positionals;
if (!from || !out || !['rc', 'rb', 'wide'].includes(o.to)) throw new Error('usage: convert-model.ts MODEL_DIR OUT_DIR [--to rc|rb|wide] [--factor 2] [--seed 0]');
const src = await loadNetwork(path.join(from, 'weights.safetensors'));
const dst = o.to === 'rc' ? toResizeConvolution(src) : o.to === 'rb' ? toBilinearResize(src) : widen(src, Number(o.factor), Number(o.seed));
const how = o.to === 'rc' ? 'uN → rcN (src/models/resize-conv.ts)' : o.to === 'rb' ? 'rcN → rbN, weights as they are (src/models/resize-conv.ts)' : `${o.factor}× wider, same function (src/models/widen.ts, seed ${o.seed})`;
await fs.mkdir(out, { recursive: true });
await writeNetworkWeights(path.join(out, 'weights.safetensors'), dst);
await exportOnnx(dst, path.join(out, 'model.onnx'));
const card = JSON.parse(await fs.readFile(path.join(from, 'card.json'), 'utf8')) as Record<string, unknown>;
card.convertedFrom = { model: path.relative(process.cwd(), from) || from, arch: src.config.arch, iterations: card.iterations, how };
card.arch = dst.config.arch;
await fs.writeFile(path.join(out, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
console.log(`${from} (${src.config.arch}) → ${out} (${dst.config.arch})`);
src.dispose();
dst.dispose();
