/**
 * A trained model's folder: `weights.safetensors` (contiguous layout, the network config in
 * its metadata so it can be rebuilt without the card) and `card.json`. Both trainers write
 * their result through this one function.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { TransformerNet } from '../models/transformer-net.js';

export async function writeModelFolder(dir: string, model: TransformerNet, card: Record<string, unknown>): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  model.toMemoryFormat('contiguous');
  await model.saveSafetensors(path.join(dir, 'weights.safetensors'), { config: JSON.stringify(model.config) });
  const tmp = path.join(dir, `card.json.tmp-${process.pid}`);
  await fs.writeFile(tmp, JSON.stringify(card, null, 2) + '\n');
  await fs.rename(tmp, path.join(dir, 'card.json'));
}
