/**
 * The shipped models on disk: `models/<name>/{card.json, model.onnx, …}`. Whatever folders
 * are there are listed (nothing is hard-coded), so adding a model is adding a folder.
 * `perceptual serve` publishes this list as `models/index.json` for the web app.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export type ModelTask = 'style' | 'sr';

/** The fields of `card.json` the tools rely on; other fields are kept as they are. */
export interface ModelCard {
  name: string;
  task: ModelTask;
  title: string;
  /** Upscaling factor of an SR model. */
  scale?: number;
  [key: string]: unknown;
}

export interface CatalogueEntry extends ModelCard {
  /** Path of the ONNX file relative to the models folder (`<name>/model.onnx`): a URL path too. */
  model: string;
  /** Sample images in the model's folder, relative to the models folder. */
  samples: string[];
}

export interface Catalogue {
  models: CatalogueEntry[];
  /** Folders that were skipped, and why (no card, no model, bad card). */
  skipped: { name: string; reason: string }[];
}

export const SAMPLE_IMAGE = /\.(jpe?g|png|webp)$/i;

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
    const files = await fs.readdir(dir);
    if (!files.includes('card.json')) {
      skipped.push({ name: entry.name, reason: 'no card.json' });
      continue;
    }
    const onnx = files.includes('model.onnx') ? 'model.onnx' : files.find((f) => f.endsWith('.onnx'));
    if (!onnx) {
      skipped.push({ name: entry.name, reason: 'no .onnx file' });
      continue;
    }
    let card: ModelCard;
    try {
      card = parseCard(JSON.parse(await fs.readFile(path.join(dir, 'card.json'), 'utf8')), entry.name);
    } catch (e) {
      skipped.push({ name: entry.name, reason: `card.json: ${(e as Error).message}` });
      continue;
    }
    models.push({ ...card, model: `${entry.name}/${onnx}`, samples: files.filter((f) => SAMPLE_IMAGE.test(f)).sort().map((f) => `${entry.name}/${f}`) });
  }
  models.sort((a, b) => (a.task === b.task ? a.title.localeCompare(b.title) : a.task === 'style' ? -1 : 1));
  return { models, skipped };
}

function parseCard(raw: unknown, folder: string): ModelCard {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('not a JSON object');
  const card = raw as Record<string, unknown>;
  const task = card.task;
  if (task !== 'style' && task !== 'sr') throw new Error(`task must be "style" or "sr", got ${JSON.stringify(task)}`);
  const scale = card.scale;
  if (scale !== undefined && !(Number.isInteger(scale) && (scale as number) >= 1)) throw new Error(`scale must be a positive integer, got ${JSON.stringify(scale)}`);
  const name = typeof card.name === 'string' && card.name ? card.name : folder;
  const title = typeof card.title === 'string' && card.title ? card.title : name;
  return { ...card, name, title, task } as ModelCard;
}
