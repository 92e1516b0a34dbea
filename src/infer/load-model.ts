/**
 * `loadModel(nameOrPath)`: the library's way to get a ready-to-run style or SR model. A name
 * resolves to a shipped model (`models/<name>/`); a path may be a model folder (card.json +
 * model.onnx and/or weights.safetensors), an .onnx file or a .safetensors file. The runtime —
 * onnxruntime or the libtorch engine — is chosen per model file and machine, or forced.
 */
import { existsSync, promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import { packageRoot, engineAvailable } from '../engine/native.js';
import type { Precision } from '../engine/runtime.js';
import { listModels, type ModelCard } from './node/catalogue.js';
import { NodeStyleModel } from './node/node-style-model.js';
import { EngineStyleModel } from './engine-model.js';
import type { StyleModelCore } from './core/index.js';

export type RuntimeName = 'onnx' | 'engine';

export interface LoadModelOptions {
  /** 'auto' (default): per file and machine; or force one. */
  runtime?: 'auto' | RuntimeName;
  device?: string;
  precision?: Precision;
  /** Folder of shipped models (default: the package's models/). */
  modelsDir?: string;
}

export type LoadedModel = StyleModelCore & {
  readonly runtime: RuntimeName;
  readonly card: ModelCard;
  readonly files: ModelFiles;
  dispose(): void | Promise<void>;
};

export interface ModelFiles {
  folder?: string;
  onnx?: string;
  weights?: string;
}

export const defaultModelsDir = (): string => path.join(packageRoot, 'models');

/** Find the files of a model given by name or path; errors say what is available. */
export async function resolveModel(nameOrPath: string, modelsDir = defaultModelsDir()): Promise<{ files: ModelFiles; card: ModelCard }> {
  let target = nameOrPath;
  if (!existsSync(target)) {
    const shipped = path.join(modelsDir, nameOrPath);
    if (!/[\\/]/.test(nameOrPath) && existsSync(shipped)) target = shipped;
    else {
      const { models } = await listModels(modelsDir);
      const names = models.map((m) => m.name).join(', ') || '(none installed)';
      throw new Error(`no model '${nameOrPath}': not a file or folder, and not a shipped model (available: ${names})`);
    }
  }
  const files: ModelFiles = {};
  let card: Partial<ModelCard> = {};
  if (statSync(target).isDirectory()) {
    files.folder = target;
    const entries = await fs.readdir(target);
    if (entries.includes('card.json')) card = JSON.parse(await fs.readFile(path.join(target, 'card.json'), 'utf8')) as ModelCard;
    const onnx = entries.includes('model.onnx') ? 'model.onnx' : entries.find((e) => e.endsWith('.onnx'));
    if (onnx) files.onnx = path.join(target, onnx);
    const weights = entries.includes('weights.safetensors') ? 'weights.safetensors' : entries.find((e) => e.endsWith('.safetensors'));
    if (weights) files.weights = path.join(target, weights);
    if (!files.onnx && !files.weights) throw new Error(`${target}: no model.onnx or weights.safetensors in this folder`);
  } else if (target.endsWith('.onnx')) files.onnx = target;
  else if (target.endsWith('.safetensors')) files.weights = target;
  else throw new Error(`${target}: not a model (expected a model folder, an .onnx or a .safetensors file)`);
  const name = card.name ?? path.basename(files.folder ?? target).replace(/\.(onnx|safetensors)$/, '');
  return { files, card: { task: 'style', title: name, ...card, name } as ModelCard };
}

async function onnxruntimeAvailable(): Promise<boolean> {
  try {
    await import('onnxruntime-node');
    return true;
  } catch {
    return false;
  }
}

/**
 * Pick the runtime: a forced one must be possible; 'auto' takes onnxruntime for an .onnx file
 * (no libtorch needed, and the measured default on this class of machine), the engine when
 * only weights exist.
 */
async function pickRuntime(files: ModelFiles, o: LoadModelOptions): Promise<RuntimeName> {
  const want = o.runtime ?? 'auto';
  if (want === 'onnx') {
    if (!files.onnx) throw new Error('--runtime onnx: this model has no .onnx file (export it with `perceptual export`)');
    return 'onnx';
  }
  if (want === 'engine') {
    if (!files.weights) throw new Error('--runtime engine: this model has no weights.safetensors');
    return 'engine';
  }
  if (files.onnx && (await onnxruntimeAvailable()) && !(o.device && o.device !== 'cpu' && engineAvailable() && files.weights)) return 'onnx';
  if (files.weights && engineAvailable()) return 'engine';
  if (files.onnx) throw new Error('this model needs onnxruntime-node, which failed to load (reinstall with ONNXRUNTIME_NODE_INSTALL=skip npm install)');
  throw new Error('this model has only weights.safetensors, which need the libtorch engine (see `perceptual doctor`)');
}

export async function loadModel(nameOrPath: string, o: LoadModelOptions = {}): Promise<LoadedModel> {
  const { files, card } = await resolveModel(nameOrPath, o.modelsDir);
  const runtime = await pickRuntime(files, o);
  const scale = typeof card.scale === 'number' ? card.scale : undefined;
  const model =
    runtime === 'onnx'
      ? await NodeStyleModel.load(files.onnx!, { scale, executionProviders: o.device?.startsWith('cuda') ? ['cuda'] : undefined })
      : await EngineStyleModel.load(files.weights!, { scale, precision: o.precision, device: o.device });
  return Object.assign(model, { runtime, card, files }) as unknown as LoadedModel;
}

/** The style-transfer API of the issue: `loadStyleModel(name)` → `model.stylize(image, {signal, onProgress})` → `model.dispose()`. */
export async function loadStyleModel(nameOrPath: string, o: LoadModelOptions = {}): Promise<LoadedModel> {
  const m = await loadModel(nameOrPath, o);
  if (m.card.task !== 'style') {
    await m.dispose();
    throw new Error(`'${nameOrPath}' is a ${m.card.task} model, not a style model`);
  }
  return m;
}
