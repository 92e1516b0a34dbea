/**
 * A model folder from a training checkpoint, without stopping the run: the network's weights
 * (`model.*` in checkpoint.safetensors), the card of a reference model folder (with `note`
 * saying where the weights came from), and model.onnx.
 *
 *   node --import tsx scripts/checkpoint-model.ts runs/x/checkpoint.safetensors out/model --card models/starry-night [--note "…"]
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readSafetensors } from '../src/nn/safetensors.js';
import { loadNetwork, writeNetworkWeights } from '../src/models/model-folder.js';
import { exportOnnx } from '../src/export/export.js';

const { values: a, positionals } = parseArgs({ allowPositionals: true, options: { card: { type: 'string' }, note: { type: 'string' } } });
const [checkpoint, out] = positionals;
if (!checkpoint || !out || !a.card) throw new Error('usage: checkpoint-model.ts CHECKPOINT OUT_DIR --card REFERENCE_MODEL_DIR');
const { tensors } = await readSafetensors(checkpoint);
const net = await loadNetwork(path.join(a.card, 'weights.safetensors'));
const own = new Map([...tensors].filter(([k]) => k.startsWith('model.')).map(([k, t]) => [k.slice('model.'.length), t]));
net.loadStateDict(own as never, { strict: true });
await fs.mkdir(out, { recursive: true });
await writeNetworkWeights(path.join(out, 'weights.safetensors'), net);
await exportOnnx(net, path.join(out, 'model.onnx'));
const card = JSON.parse(await fs.readFile(path.join(a.card, 'card.json'), 'utf8')) as Record<string, unknown>;
card.name = path.basename(out);
card.note = a.note ?? `weights from ${checkpoint}`;
await fs.writeFile(path.join(out, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
console.log(`wrote ${out}`);
net.dispose();
