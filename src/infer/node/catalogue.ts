/**
 * The shipped models on disk: `models/<name>/{card.json, model.onnx, …}`. Whatever folders
 * are there are listed (nothing is hard-coded), so adding a model is adding a folder.
 * `perceptual serve` publishes this list as `models/index.json` for the web app.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readModelFolder, MODEL_FILES, SAMPLE_IMAGE, type ModelCard, type ModelTask } from '../../models/model-folder.js';

export { SAMPLE_IMAGE, type ModelCard, type ModelTask };

export type CatalogueEntry = ModelCard & {
  /** Path of the ONNX file relative to the models folder (`<name>/model.onnx`): a URL path too. */
  model: string;
  /** Sample images in the model's folder, relative to the models folder. */
  samples: string[];
};

export interface Catalogue {
  models: CatalogueEntry[];
  /** Folders that were skipped, and why (no card, no model, bad card). */
  skipped: { name: string; reason: string }[];
}

/** List the models under `modelsDir` (a missing folder is an empty list). Sorted by task, then title. */
export async function listModels(modelsDir: string): Promise<Catalogue> {
  const models: CatalogueEntry[] = [];
  const skipped: Catalogue['skipped'] = [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(modelsDir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { models, skipped };
    throw e;
  }
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dir = path.join(modelsDir, entry.name);
    let folder;
    try {
      folder = await readModelFolder(dir, { network: false });
    } catch (e) {
      skipped.push({ name: entry.name, reason: (e as Error).message.replace(`${path.join(dir, MODEL_FILES.card)}: `, `${MODEL_FILES.card}: `) });
      continue;
    }
    if (!folder.files.card) {
      skipped.push({ name: entry.name, reason: `no ${MODEL_FILES.card}` });
      continue;
    }
    if (!folder.files.onnx) {
      skipped.push({ name: entry.name, reason: 'no .onnx file' });
      continue;
    }
    const onnx = path.basename(folder.files.onnx);
    models.push({ ...folder.card, model: `${entry.name}/${onnx}`, samples: folder.samples.map((f) => `${entry.name}/${f}`) });
  }
  models.sort((a, b) => (a.task === b.task ? a.title.localeCompare(b.title) : a.task === 'style' ? -1 : 1));
  return { models, skipped };
}
