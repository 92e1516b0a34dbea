/**
 * `loadModel(nameOrPath)`: the library's way to get a ready-to-run style or SR model. A name
 * resolves to a shipped model (`models/<name>/`); a path may be a model folder (card.json +
 * model.onnx and/or weights.safetensors), an .onnx file or a .safetensors file. The runtime —
 * onnxruntime or the libtorch engine — is chosen per model file and machine, or forced.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { engineAvailable } from '../engine/native.js';
import { shippedModelsDir } from '../util/paths.js';
import { defaultPrecision, type Precision } from '../engine/runtime.js';
import { show } from '../engine/check.js';
import { listModels } from './node/catalogue.js';
import { readModelFolder, readNetworkConfig, parseCard, MODEL_FILES, type ModelCard, type ModelFiles } from '../models/model-folder.js';
import type { TransformerNetConfig } from '../models/transformer-net.js';
import { NodeStyleModel } from './node/node-style-model.js';
import { EngineStyleModel } from './engine-model.js';
import { DEFAULT_MAX_UNTILED_PIXELS, type StyleModelCore, type StylizeOptions, type UpscaleOptions } from './core/index.js';
import { chooseRuntime } from './runtime-choice.js';
import type { RgbImage } from '../data/image.js';

export type RuntimeName = 'onnx' | 'engine';

export interface LoadModelOptions {
  /** 'auto' (default): per file and machine; or force one. */
  runtime?: (typeof RUNTIMES)[number];
  device?: string;
  precision?: Precision;
  /** Folder of shipped models (default: the package's models/). */
  modelsDir?: string;
}

/** A loaded model: stylize/upscale (with the core's options), the runtime in use, and its card. */
export interface LoadedModel {
  readonly runtime: RuntimeName;
  readonly precision: Precision;
  /** Why the current runtime was chosen. */
  readonly reason: string;
  readonly card: ModelCard;
  readonly files: ModelFiles;
  readonly scale: number | undefined;
  stylize(image: RgbImage, options?: StylizeOptions): Promise<RgbImage>;
  upscale(image: RgbImage, options?: UpscaleOptions): Promise<RgbImage>;
  dispose(): Promise<void>;
}

export type { ModelFiles };

export const defaultModelsDir = shippedModelsDir;

/** Find the files of a model given by name or path; errors say what is available. */
export async function resolveModel(nameOrPath: string, modelsDir = defaultModelsDir()): Promise<{ files: ModelFiles; card: ModelCard; network?: TransformerNetConfig }> {
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
  if (statSync(target).isDirectory()) {
    const folder = await readModelFolder(target);
    if (!folder.files.onnx && !folder.files.weights) throw new Error(`${target}: no ${MODEL_FILES.onnx} or ${MODEL_FILES.weights} in this folder`);
    return { files: folder.files, card: folder.card, network: folder.network };
  }
  const files: ModelFiles = {};
  if (target.endsWith('.onnx')) files.onnx = target;
  else if (target.endsWith('.safetensors')) files.weights = target;
  else throw new Error(`${target}: not a model (expected a model folder, an .onnx or a .safetensors file)`);
  const network = files.weights ? await readNetworkConfig(files.weights) : undefined;
  const name = path.basename(target).replace(/\.(onnx|safetensors)$/, '');
  return { files, card: parseCard({ task: network?.kind ?? 'style', scale: network?.factor }, target, name, network), network };
}

async function onnxruntimeAvailable(): Promise<boolean> {
  try {
    await import('onnxruntime-node');
    return true;
  } catch {
    return false;
  }
}

type Runner = StyleModelCore & { dispose(): void | Promise<void> };

interface Choice {
  runtime: RuntimeName;
  precision: Precision;
  reason: string;
}

/**
 * A model that picks its runtime per image: onnxruntime or the libtorch engine (float32 or
 * bf16 + channels_last), whichever `chooseRuntime` measured fastest on this machine for that
 * image size (cached), unless forced. One exception, for correctness: an instance-norm network
 * on an image that will be tiled runs on the engine when it is installed, because only the
 * engine shares the normalisation statistics across tiles (onnxruntime would normalise each
 * tile by itself and the tiles would not match). Each runtime is loaded on first use.
 */
class AdaptiveModel {
  private readonly runners = new Map<string, Promise<Runner>>();
  private disposed = false;
  private last: Choice;

  constructor(
    readonly card: ModelCard,
    readonly files: ModelFiles,
    private readonly o: LoadModelOptions,
    first: Choice,
    private readonly network?: TransformerNetConfig,
  ) {
    this.last = first;
  }

  /** The runtime that ran (or will run) the last image. */
  get runtime(): RuntimeName {
    return this.last.runtime;
  }
  get precision(): Precision {
    return this.last.precision;
  }
  /** Why that runtime was chosen. */
  get reason(): string {
    return this.last.reason;
  }
  get scale(): number | undefined {
    return this.card.kind === 'sr' ? this.card.scale : undefined;
  }

  async stylize(image: RgbImage, options: StylizeOptions = {}): Promise<RgbImage> {
    this.checkLive('stylize');
    return (await this.runnerFor(image, options.tileSize)).stylize(image, options);
  }

  async upscale(image: RgbImage, options: UpscaleOptions = {}): Promise<RgbImage> {
    this.checkLive('upscale');
    return (await this.runnerFor(image, options.tileSize)).upscale(image, options);
  }

  /** Use after dispose() is an error, not a silent reload of the model. */
  private checkLive(what: string): void {
    if (this.disposed) throw new Error(`${what}: model '${this.card.name}' was disposed`);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const all = [...this.runners.values()];
    this.runners.clear();
    for (const r of all) await (await r.catch(() => undefined))?.dispose();
  }

  /** Load the starting runtime. */
  async preload(): Promise<void> {
    const key = `${this.last.runtime}/${this.last.precision}`;
    if (!this.runners.has(key)) this.runners.set(key, this.load(this.last));
    await this.runners.get(key);
  }

  private willTile(image: RgbImage, tileSize: number | undefined): boolean {
    if (tileSize === 0) return false;
    if (tileSize !== undefined) return image.width > tileSize || image.height > tileSize;
    const s = this.scale ?? 1;
    return image.width * image.height * s * s > DEFAULT_MAX_UNTILED_PIXELS;
  }

  private async runnerFor(image: RgbImage, tileSize: number | undefined): Promise<Runner> {
    let choice = await this.choose(image);
    const instanceNorm = this.network?.norm === 'instance';
    if (choice.runtime === 'onnx' && instanceNorm && this.files.weights && this.o.runtime !== 'onnx' && engineAvailable() && this.willTile(image, tileSize)) {
      choice = { runtime: 'engine', precision: this.o.precision ?? defaultPrecision(this.o.device), reason: 'tiled instance-norm network: the engine shares normalisation statistics across tiles' };
    }
    this.last = choice;
    const key = `${choice.runtime}/${choice.precision}`;
    let r = this.runners.get(key);
    if (!r) {
      r = this.load(choice);
      this.runners.set(key, r);
    }
    return r;
  }

  private async choose(image: RgbImage): Promise<Choice> {
    const forced = this.o.runtime ?? 'auto';
    if (forced !== 'auto' || !this.files.folder || !this.files.onnx || !this.files.weights) return this.last;
    const c = await chooseRuntime({ card: this.card, folder: this.files.folder, size: { width: image.width, height: image.height } });
    return { runtime: c.runtime, precision: this.o.precision ?? c.precision, reason: c.reason };
  }

  private async load(c: Choice): Promise<Runner> {
    if (c.runtime === 'onnx') {
      return NodeStyleModel.load(this.files.onnx!, { scale: this.scale, executionProviders: this.o.device?.startsWith('cuda') ? ['cuda'] : undefined });
    }
    return EngineStyleModel.load(this.files.weights!, { scale: this.scale, precision: c.precision, device: this.o.device });
  }
}

/**
 * The runtime a model starts with: a forced one must be possible; otherwise onnxruntime for
 * an .onnx file (no libtorch needed), the engine when only weights exist. With both, each
 * image's runtime is then chosen by measurement (AdaptiveModel).
 */
async function initialChoice(files: ModelFiles, o: LoadModelOptions): Promise<Choice> {
  const want = o.runtime ?? 'auto';
  const enginePrecision = o.precision ?? defaultPrecision(o.device);
  if (want === 'onnx') {
    if (!files.onnx) throw new Error("runtime 'onnx': this model has no .onnx file (export it with `perceptual export`)");
    return { runtime: 'onnx', precision: 'float32', reason: 'forced' };
  }
  if (want === 'engine') {
    if (!files.weights) throw new Error("runtime 'engine': this model has no weights.safetensors");
    if (!engineAvailable()) throw new Error("runtime 'engine': the libtorch engine is not installed (see `perceptual doctor`)");
    return { runtime: 'engine', precision: enginePrecision, reason: 'forced' };
  }
  if (files.onnx && (await onnxruntimeAvailable())) return { runtime: 'onnx', precision: 'float32', reason: 'default' };
  if (files.weights && engineAvailable()) return { runtime: 'engine', precision: enginePrecision, reason: 'only the engine can run this model here' };
  if (files.onnx) throw new Error('this model needs onnxruntime-node, which failed to load (reinstall with ONNXRUNTIME_NODE_INSTALL=skip npm install)');
  throw new Error('this model has only weights.safetensors, which need the libtorch engine (see `perceptual doctor`)');
}

/** The runtimes `runtime` accepts and the precisions `precision` accepts, declared once. */
export const RUNTIMES = ['auto', 'onnx', 'engine'] as const;
export const PRECISIONS = ['float32', 'bf16'] as const;

/** Options of loadModel: wrong values throw (naming the option) instead of falling back to a default. */
export function checkLoadModelOptions(o: unknown): LoadModelOptions {
  if (o === undefined) return {};
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new TypeError(`loadModel: options must be an object, got ${show(o)}`);
  const v = o as Record<string, unknown>;
  const oneOf = (key: string, allowed: readonly string[]) => {
    if (v[key] !== undefined && !allowed.includes(v[key] as string)) throw new RangeError(`loadModel: option ${key} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${show(v[key])}`);
  };
  oneOf('runtime', RUNTIMES);
  oneOf('precision', PRECISIONS);
  for (const key of ['device', 'modelsDir']) {
    if (v[key] !== undefined && (typeof v[key] !== 'string' || v[key] === '')) throw new TypeError(`loadModel: option ${key} must be a non-empty string, got ${show(v[key])}`);
  }
  return o as LoadModelOptions;
}

export async function loadModel(nameOrPath: string, o: LoadModelOptions = {}): Promise<LoadedModel> {
  if (typeof nameOrPath !== 'string' || nameOrPath === '') throw new TypeError(`loadModel: the model must be a name or a path, got ${show(nameOrPath)}`);
  checkLoadModelOptions(o);
  const { files, card, network } = await resolveModel(nameOrPath, o.modelsDir);
  const model = new AdaptiveModel(card, files, o, await initialChoice(files, o), network);
  // Load the starting runtime now, so a broken model file fails here and not on the first image.
  await model.preload().catch(async (e) => {
    await model.dispose();
    throw e;
  });
  return model as unknown as LoadedModel;
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
