/**
 * The model folder: the one typed contract between what writes a model (the training driver,
 * `import-ml5`, `export`) and what reads one (the Node catalogue, `loadModel`, the engine
 * runtime, runtime choice, the web catalogue through `models/index.json`).
 *
 *   <folder>/card.json             the {@link ModelCard}: what the model is and how it was made
 *   <folder>/weights.safetensors   the weights; the network config (`TransformerNetConfig`) in
 *                                  its metadata — the one place it is stored (the engine
 *                                  rebuilds the network from the weights file alone)
 *   <folder>/model.onnx            the ONNX graph onnxruntime runs (src/runtime/README.md)
 *   <folder>/*.jpg|png|webp        samples shown next to the model
 *
 * Folders written before this module (today's `models/*`) keep loading: their cards have no
 * `kind` (it is derived from `task` and the fields present) and may carry the network config
 * as `network` too; where the weights' metadata has it, that one is used.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readSafetensors, readSafetensorsHeader, writeSafetensors, type NamedTensors } from '../nn/safetensors.js';
import { toNamedTensor } from '../nn/module.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { FileFieldError, expectInteger, expectObject, parseJsonFile } from '../util/errors.js';
import { TransformerNet, validateConfig, type TransformerNetConfig } from './transformer-net.js';

/** The file names of a model folder, declared once. */
export const MODEL_FILES = {
  card: 'card.json',
  onnx: 'model.onnx',
  weights: 'weights.safetensors',
  licence: 'LICENSE',
} as const;

/** Sample images in a model folder. */
export const SAMPLE_IMAGE = /\.(jpe?g|png|webp)$/i;

export type ModelTask = 'style' | 'sr';
export type ModelKind = 'style' | 'sr' | 'imported';

/** What every card has. Fields a card carries beyond its type are kept as they are. */
interface CardBase {
  name: string;
  title: string;
  [key: string]: unknown;
}

/** How a model was trained (both trained kinds). */
export interface TrainingRecord {
  parameters?: number;
  lossProfile?: string;
  lossNetwork?: { arch: string; preprocessing: string; deepest?: string; layers?: readonly string[] };
  iterations?: number;
  lr?: number;
  precision?: string;
  trainedAt?: string;
  trainingSeconds?: number;
  imagesPerSecond?: number;
  finalTrainLoss?: Record<string, number>;
  finalValLoss?: Record<string, number>;
}

/** A style network trained by this project. */
export interface StyleCard extends CardBase, TrainingRecord {
  kind: 'style';
  task: 'style';
  styleImage?: string;
  styleSize?: number;
  lambda?: { content: number | readonly number[]; style: number | readonly number[]; tv: number };
  data?: { dir: string; imageSize: number; batchSize: number; seed: number };
}

/** A super-resolution network trained by this project. */
export interface SrCard extends CardBase, TrainingRecord {
  kind: 'sr';
  task: 'sr';
  /** Upscaling factor. */
  scale: number;
  loss?: 'feat' | 'pixel';
  degradation?: 'paper' | 'bicubic';
  /** The paper's post-processing (§4.2): match the output's histogram to the LR input's. */
  histogramMatch?: boolean;
  lambda?: { feat: number; pixel: number; tv: number };
  data?: { dir: string; patch: number; lrSize: number; batchSize: number; seed: number };
  samples?: string[];
  samplesLayout?: string;
}

/** A peer model imported as ONNX (e.g. an ml5.js checkpoint): no weights file, no network config. */
export interface ImportedCard extends CardBase {
  kind: 'imported';
  task: 'style';
  /** Where the checkpoint came from (URL or absolute path). */
  source: string;
  origin: string;
  licence: string;
  /** A description of the network (not a TransformerNetConfig). */
  architecture: string;
}

export type ModelCard = StyleCard | SrCard | ImportedCard;

/** The files of a model folder that exist. */
export interface ModelFiles {
  folder?: string;
  card?: string;
  onnx?: string;
  weights?: string;
}

export interface ModelFolder {
  dir: string;
  files: ModelFiles;
  card: ModelCard;
  /** The network config: from the weights' metadata, else (older folders) the card's `network`. */
  network?: TransformerNetConfig;
  /** Sample image file names in the folder, sorted. */
  samples: string[];
}

const TASKS: readonly ModelTask[] = ['style', 'sr'];
const KINDS: readonly ModelKind[] = ['style', 'sr', 'imported'];

/**
 * Check a card read from `file` (errors name the file and the field) and give it its `kind`:
 * older cards have none; 'sr' for task sr, 'imported' for a style card with a `source` and no
 * network, else 'style'. `fallbackName` is used when the card has no name (the folder's name).
 */
export function parseCard(raw: unknown, file: string, fallbackName: string, network?: TransformerNetConfig): ModelCard {
  const card = expectObject(file, undefined, raw);
  const task = card.task ?? 'style';
  if (!TASKS.includes(task as ModelTask)) throw new FileFieldError(file, 'task', `must be "style" or "sr", got ${JSON.stringify(task)}`);
  for (const f of ['name', 'title'] as const) {
    if (card[f] !== undefined && typeof card[f] !== 'string') throw new FileFieldError(file, f, `expected a string, got ${JSON.stringify(card[f])}`);
  }
  const name = (card.name as string | undefined) || fallbackName;
  const title = (card.title as string | undefined) || name;
  let kind = card.kind as ModelKind | undefined;
  if (kind !== undefined && !KINDS.includes(kind)) throw new FileFieldError(file, 'kind', `must be one of ${KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  const derived: ModelKind = task === 'sr' ? 'sr' : typeof card.source === 'string' && card.network === undefined && !network ? 'imported' : 'style';
  kind ??= derived;
  if ((kind === 'sr') !== (task === 'sr')) throw new FileFieldError(file, 'kind', `"${kind}" does not go with task "${String(task)}"`);
  if (card.scale !== undefined) expectInteger(file, 'scale', card.scale, 1);
  if (card.histogramMatch !== undefined && typeof card.histogramMatch !== 'boolean') {
    throw new FileFieldError(file, 'histogramMatch', `expected true or false, got ${JSON.stringify(card.histogramMatch)}`);
  }
  const out = { ...card, kind, task, name, title } as ModelCard;
  if (out.kind === 'sr' && out.scale === undefined) {
    const factor = network?.factor;
    if (factor === undefined) throw new FileFieldError(file, 'scale', 'a super-resolution card needs its upscaling factor');
    out.scale = factor;
  }
  return out;
}

/** The network config stored in a weights file's metadata (undefined when it has none). */
export async function readNetworkConfig(weightsFile: string): Promise<TransformerNetConfig | undefined> {
  const meta = (await readSafetensorsHeader(weightsFile)).metadata;
  if (meta.config === undefined) return undefined;
  try {
    return validateConfig(JSON.parse(meta.config));
  } catch (e) {
    throw new FileFieldError(weightsFile, 'metadata.config', (e as Error).message);
  }
}

export interface ReadModelFolderOptions {
  /**
   * Read the network config from the weights' header (default true). The catalogue of ONNX
   * models does not need it, and must not refuse a folder whose weights file it never serves.
   */
  network?: boolean;
}

/**
 * Read a model folder: which files it has, its card (checked; a folder without card.json gets
 * a default style card named after the folder), the network config and the samples.
 */
export async function readModelFolder(dir: string, options: ReadModelFolderOptions = {}): Promise<ModelFolder> {
  let entries: string[];
  try {
    entries = (await fs.readdir(dir)).sort();
  } catch (e) {
    throw new FileFieldError(dir, undefined, `cannot read the model folder: ${(e as Error).message}`);
  }
  const pick = (exact: string, ext: string): string | undefined =>
    entries.includes(exact) ? path.join(dir, exact) : ((f) => (f ? path.join(dir, f) : undefined))(entries.find((e) => e.endsWith(ext) && !e.startsWith('.')));
  const files: ModelFiles = { folder: dir, onnx: pick(MODEL_FILES.onnx, '.onnx'), weights: pick(MODEL_FILES.weights, '.safetensors') };
  if (entries.includes(MODEL_FILES.card)) files.card = path.join(dir, MODEL_FILES.card);
  let raw: unknown;
  if (files.card) raw = parseJsonFile(files.card, await fs.readFile(files.card, 'utf8'), 'a model card (a JSON object)');
  let network = files.weights && (options.network ?? true) ? await readNetworkConfig(files.weights) : undefined;
  if (!network && raw && typeof raw === 'object' && (raw as Record<string, unknown>).network !== undefined) {
    try {
      network = validateConfig((raw as Record<string, unknown>).network);
    } catch (e) {
      throw new FileFieldError(files.card!, 'network', (e as Error).message);
    }
  }
  const folderName = path.basename(path.resolve(dir));
  const card = files.card ? parseCard(raw, files.card, folderName, network) : parseCard({ task: network?.kind ?? 'style', scale: network?.factor }, path.join(dir, MODEL_FILES.card), folderName, network);
  return { dir, files, card, network, samples: entries.filter((f) => SAMPLE_IMAGE.test(f) && !f.startsWith('.')) };
}

export interface WriteModelFolderOptions {
  /** The card; a `network` field is not written (the config is stored once, in the weights). */
  card: ModelCard;
  /** The trained network: written as weights.safetensors, its config in the metadata. */
  model?: TransformerNet;
  /** ONNX bytes, written as model.onnx. */
  onnx?: Uint8Array;
  /** Files to copy in (e.g. a LICENSE): [source, name in the folder]. */
  copy?: ReadonlyArray<readonly [string, string]>;
}

/** The weights of a network as written into a model folder (contiguous layout, config in the metadata). */
export async function writeNetworkWeights(file: string, model: TransformerNet): Promise<void> {
  model.toMemoryFormat('contiguous');
  const named: NamedTensors = new Map();
  for (const [k, t] of model.stateDict()) named.set(k, toNamedTensor(t));
  await writeSafetensors(file, named, { config: JSON.stringify(model.config) });
}

/**
 * Write a model folder; every file atomically (the card last, so a folder with a card is
 * complete). Returns the folder's files.
 */
export async function writeModelFolder(dir: string, o: WriteModelFolderOptions): Promise<ModelFiles> {
  await fs.mkdir(dir, { recursive: true });
  const files: ModelFiles = { folder: dir, card: path.join(dir, MODEL_FILES.card) };
  if (o.model) {
    files.weights = path.join(dir, MODEL_FILES.weights);
    await writeNetworkWeights(files.weights, o.model);
  }
  if (o.onnx) {
    files.onnx = path.join(dir, MODEL_FILES.onnx);
    await writeFileAtomic(files.onnx, o.onnx);
  }
  for (const [from, name] of o.copy ?? []) await writeFileAtomic(path.join(dir, name), await fs.readFile(from));
  const { network: _stored, ...card } = o.card as ModelCard & { network?: unknown };
  await writeFileAtomic(files.card!, `${JSON.stringify(card, null, 2)}\n`);
  return files;
}

/** Refuse weights with NaN or ±Inf: they would give an all-black image, not an error. */
export function checkFiniteWeights(file: string, tensors: NamedTensors): void {
  for (const [name, t] of tensors) {
    if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) continue;
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i]!)) {
        throw new FileFieldError(file, name, `weight ${i} is ${d[i]}: the file holds non-finite weights (damaged, or saved from a diverged run); refusing to load it`);
      }
    }
  }
}

/**
 * Build the network of a weights file from the config in its metadata (or `config`) and load
 * the weights, refusing non-finite ones. The caller disposes the network.
 */
export async function loadNetwork(weightsFile: string, config?: TransformerNetConfig): Promise<TransformerNet> {
  const { tensors, metadata } = await readSafetensors(weightsFile);
  let cfg = config;
  if (!cfg) {
    if (metadata.config === undefined) {
      throw new FileFieldError(weightsFile, 'metadata.config', 'no network config; it is not a model written by perceptual (export the network with its config)');
    }
    try {
      cfg = validateConfig(JSON.parse(metadata.config));
    } catch (e) {
      throw new FileFieldError(weightsFile, 'metadata.config', (e as Error).message);
    }
  }
  checkFiniteWeights(weightsFile, tensors);
  const net = TransformerNet.fromConfig(cfg);
  try {
    net.loadStateDict(tensors, { strict: true });
  } catch (e) {
    net.dispose();
    throw new FileFieldError(weightsFile, undefined, (e as Error).message);
  }
  return net;
}
