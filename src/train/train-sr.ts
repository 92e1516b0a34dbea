/**
 * Training a super-resolution network (Johnson et al. §4.2): the SR task's part of the one
 * training driver (driver.ts) — its options (options.ts, `SR_TRAIN_OPTIONS`), the ×f network,
 * the objective (ℓfeat at relu2_2 or ℓpixel, optional TV), the training pairs, the validation
 * crops and the card. The CLI (`perceptual train-sr`) is generated from the same option table.
 *
 * A completed run writes a model folder — `weights.safetensors` (with the network config in
 * its metadata, as train-style does), `card.json` and side-by-side samples — that `upscale`,
 * `eval-sr` and `loadModel` read. The card records whether the paper's post-processing
 * (histogram matching to the LR input) applies: on for ℓfeat models, off for ℓpixel ones.
 */
import path from 'node:path';
import type { Precision } from '../engine/index.js';
import { buildSrNet, srArch, type SrNetName } from '../models/sr-net.js';
import { Vgg } from '../models/vgg/vgg.js';
import { setupLoss } from '../losses/setup.js';
import { createPerceptualLoss, lossProfile, type LossProfileName } from '../losses/profiles.js';
import type { PerceptualLossConfig } from '../losses/perceptual-loss.js';
import { SrDataset, decodeRgb } from '../data/sr-dataset.js';
import { SkipSample } from '../data/batch-loader.js';
import { listImages } from '../data/image-folder.js';
import { crop, degrade, type DegradeMode } from '../data/degrade.js';
import type { SrCard } from '../models/model-folder.js';
import { SrTask, type SrValidationPair } from './sr-task.js';
import { trainModel, type DriverHooks, type DriverOptions, type TaskSpec, type TrainModelResult } from './driver.js';
import { SR_TRAIN_OPTIONS } from './options.js';

export type SrLoss = 'feat' | 'pixel';
export const SR_LOSSES = SR_TRAIN_OPTIONS.loss.choices satisfies readonly SrLoss[];

export interface TrainSrOptions extends DriverHooks {
  /** Upscaling factor: 4 or 8 in the paper (2 works too). */
  factor: number;
  /** 'feat': ℓfeat at relu2_2 (the paper's perceptual models); 'pixel': ℓpixel (its baseline). */
  loss: SrLoss;
  /** Training photos (any size ≥ the patch; smaller ones are skipped). */
  dataDir: string;
  /** Validation photos: their centre crops are the fixed validation pairs. */
  valDir?: string;
  /** Validation crops (default 8). */
  valCount?: number;
  /** Side of the validation centre crops (default max(patch, 256): PSNR on small patches is mostly border). */
  valCrop?: number;
  /** LR inputs: 'paper' (Gaussian blur σ = 1, then bicubic; default) or 'bicubic' (as the benchmarks' LR images). */
  degradation?: DegradeMode;
  /** Run folder: checkpoint, log.jsonl, losses.svg, samples/. */
  outDir: string;
  /** Model folder written when the run completes (default `<outDir>/model`). */
  modelDir?: string;
  /** Card name (default: the model folder's name when given, else the run folder's). */
  name?: string;
  /** Card title (default e.g. "Super-resolution ×4, ℓfeat"). */
  title?: string;
  /** 'paper' (default) or 'fast' (residual to bicubic, sub-pixel output; see sr-net.ts). */
  net?: SrNetName;
  /** Architecture string overriding the preset's layers (must upsample ×factor). */
  arch?: string;
  profile?: LossProfileName;
  /** VGG weights file/folder for ℓfeat; default: the first found. */
  vgg?: string;
  /** An already built loss network (instead of `vgg`), e.g. `Vgg.random` in tests; the caller keeps ownership. */
  lossNetwork?: Vgg;
  /** λ_TV (default: the profile's SR value, 0). */
  tvWeight?: number;
  /** HR patch side (default 288, the paper's); a multiple of the factor. */
  patch?: number;
  batchSize?: number;
  /** Default 200000 (the paper: 200k iterations). */
  iterations?: number;
  lr?: number;
  seed?: number;
  precision?: Precision;
  device?: string;
  /** Worker threads making LR/HR pairs (default: SrDataset's). */
  workers?: number;
  checkpointEvery?: number;
  validateEvery?: number;
  /** Continue a run exactly: a checkpoint path, or 'auto' (`<outDir>/checkpoint.safetensors` if present). */
  resume?: string;
}

export type TrainSrResult = TrainModelResult;

/**
 * The fixed validation pairs: the centre crop of the first `count` readable photos of `dir`
 * (sorted), of side min(crop, shorter side) rounded down to a multiple of the factor, and its
 * LR input made with the training degradation. Centre crops, not random ones: the pairs must be
 * the same at every validation and after a resume.
 */
export async function loadSrValidation(o: { dir: string; count: number; crop: number; factor: number; mode: DegradeMode; onSkip?: (file: string, reason: string) => void; signal?: AbortSignal }): Promise<SrValidationPair[]> {
  if (!Number.isInteger(o.count) || o.count < 1) throw new RangeError(`validation count must be a positive integer, got ${o.count}`);
  const files = await listImages(o.dir, { signal: o.signal });
  const pairs: SrValidationPair[] = [];
  for (const file of files) {
    if (pairs.length >= o.count) break;
    o.signal?.throwIfAborted();
    try {
      const photo = await decodeRgb(file);
      const side = Math.min(o.crop, photo.width, photo.height);
      const s = side - (side % o.factor);
      if (s < 4 * o.factor) throw new SkipSample(`${photo.width}×${photo.height} is too small for a ×${o.factor} validation crop`);
      const hr = crop(photo, (photo.width - s) >> 1, (photo.height - s) >> 1, s, s);
      const lr = degrade(hr, { factor: o.factor, mode: o.mode });
      pairs.push({ name: path.basename(file), hr, lr: { ...lr, channels: 3 } });
    } catch (e) {
      if (!(e instanceof SkipSample)) throw e;
      o.onSkip?.(file, e.message);
    }
  }
  if (pairs.length === 0) throw new Error(`validation images in ${o.dir}: none of the ${files.length} images could be used`);
  return pairs;
}

/** The objective's weights: ℓfeat (content at the profile's SR layer) or ℓpixel, plus TV. */
function srLossConfig(loss: SrLoss, base: PerceptualLossConfig, tvWeight: number | undefined): PerceptualLossConfig {
  return {
    ...base,
    contentWeight: loss === 'feat' ? 1 : 0,
    pixelWeight: loss === 'pixel' ? 1 : 0,
    styleWeights: [],
    styleLayers: [],
    tvWeight: tvWeight ?? base.tvWeight,
  };
}

/** The options with the table's defaults filled in. */
type SrRun = TrainSrOptions & DriverOptions & { profile: LossProfileName; net: SrNetName; patch: number; degradation: DegradeMode; valCount: number };

export const SR_TASK: TaskSpec<SrRun, SrTask> = {
  operation: 'train-sr',
  options: SR_TRAIN_OPTIONS,
  identityKeys: ['factor', 'loss', 'degradation', 'net', 'arch', 'patch', 'batchSize', 'seed'],

  configure(o, precision) {
    const { factor, patch } = o;
    if (!o.arch) srArch(factor); // refuses factors the paper's network does not have, before anything is loaded
    if (patch % factor !== 0) throw new Error(`train-sr: option 'patch' (${patch}) must be a multiple of option 'factor' (${factor})`);
    // The canonical architecture string (the identity a resume compares), without keeping the network.
    const probe = buildSrNet(factor, { net: o.net, ...(o.arch ? { arch: o.arch } : {}) });
    const arch = probe.config.arch;
    probe.dispose();
    return {
      task: 'sr',
      factor,
      loss: o.loss,
      degradation: o.degradation,
      dataDir: path.resolve(o.dataDir),
      net: o.net,
      arch,
      profile: o.profile,
      lossConfig: srLossConfig(o.loss, lossProfile(o.profile).sr, o.tvWeight),
      patch,
      batchSize: o.batchSize,
      iterations: o.iterations,
      lr: o.lr,
      ...(o.warmup > 0 ? { warmup: o.warmup } : {}),
      seed: o.seed,
      precision,
    };
  },

  buildModel({ o }) {
    return buildSrNet(o.factor, { net: o.net, ...(o.arch ? { arch: o.arch } : {}) });
  },

  async buildLoss({ o, config }) {
    const profile = lossProfile(o.profile);
    const lossConfig = config.lossConfig as PerceptualLossConfig;
    if (o.lossNetwork) return { vgg: o.lossNetwork, vggPath: o.lossNetwork.file, loss: createPerceptualLoss(o.lossNetwork, profile, 'sr', lossConfig), ownsVgg: false };
    if (o.loss === 'pixel' && !o.vgg) {
      // ℓpixel never runs the loss network (no content layer has a weight), but PerceptualLoss
      // is built around one: a random stand-in up to the SR layer, so that training ℓpixel
      // needs no VGG weights on disk.
      const vgg = Vgg.random(profile.arch, lossConfig.contentLayers);
      return { vgg, vggPath: '(not used by ℓpixel)', loss: createPerceptualLoss(vgg, profile, 'sr', lossConfig), ownsVgg: true };
    }
    const { vgg, loss, vggPath } = await setupLoss({ profile: o.profile, task: 'sr', vgg: o.vgg, overrides: lossConfig });
    return { vgg, loss, vggPath, ownsVgg: true };
  },

  async buildTask({ o, data, memoryFormat, device }, { model, loss }) {
    const dataset = new SrDataset({ dir: o.dataDir, factor: o.factor, mode: o.degradation, crop: o.patch, ...data, seed: o.seed, onSkip: o.onSkip, signal: o.signal, workers: o.workers });
    try {
      await dataset.init();
      const validation = o.valDir
        ? await loadSrValidation({ dir: o.valDir, count: o.valCount, crop: o.valCrop ?? Math.max(o.patch, 256), factor: o.factor, mode: o.degradation, onSkip: o.onSkip, signal: o.signal })
        : undefined;
      return new SrTask({ model, loss, dataset, validation, memoryFormat, device });
    } catch (e) {
      dataset.close();
      throw e;
    }
  },

  describe({ o, config }, { model, vgg, vggPath }) {
    const lossConfig = config.lossConfig as PerceptualLossConfig;
    return `×${o.factor} super-resolution, ${o.loss === 'feat' ? `ℓfeat at ${lossConfig.contentLayers.join(', ')} of ${vgg.arch} (${vggPath})` : 'ℓpixel'}` +
      `${lossConfig.tvWeight > 0 ? ` + ${lossConfig.tvWeight}·ℓTV` : ''}; ${o.degradation} degradation; ${o.patch}px patches, batch ${o.batchSize}; ` +
      `network ${model.config.arch} (${model.numParameters()} parameters)`;
  },

  async card({ o, config }, { model, vgg, task, record, modelDir, name }) {
    const lossConfig = config.lossConfig as PerceptualLossConfig;
    // Samples of the final network, shown next to the model (the catalogue lists them).
    const samples = (await task.writeSamples(modelDir, 'sample-')).map((f) => path.basename(f));
    const lossName = o.loss === 'feat' ? 'ℓfeat' : 'ℓpixel';
    const card: SrCard = {
      kind: 'sr',
      name,
      title: o.title ?? `Super-resolution ×${o.factor}, ${lossName}${o.degradation === 'bicubic' ? ' (bicubic LR)' : ''}`,
      task: 'sr',
      scale: o.factor,
      loss: o.loss,
      degradation: o.degradation,
      // The paper's post-processing (§4.2): ℓfeat outputs drift in colour; matching their
      // histogram to the LR input's fixes it. ℓpixel outputs do not need it.
      histogramMatch: o.loss === 'feat',
      parameters: model.numParameters(),
      lossProfile: o.profile,
      ...(o.loss === 'feat' ? { lossNetwork: { arch: vgg.arch, preprocessing: vgg.preprocessing, layers: lossConfig.contentLayers } } : {}),
      lambda: { feat: lossConfig.contentWeight as number, pixel: lossConfig.pixelWeight, tv: lossConfig.tvWeight },
      data: { dir: path.basename(o.dataDir), patch: o.patch, lrSize: o.patch / o.factor, batchSize: o.batchSize, seed: o.seed },
      ...record,
      samples,
      samplesLayout: 'bicubic | network | HR (validation centre crops)',
    };
    return card;
  },
};

/** Train a super-resolution network; see the module comment. */
export function trainSr(o: TrainSrOptions): Promise<TrainSrResult> {
  return trainModel(SR_TASK, o as Partial<SrRun>);
}
