/**
 * Library entry for training a super-resolution network (Johnson et al. §4.2): assembles the
 * ×f network, the objective (ℓfeat at relu2_2 or ℓpixel, optional TV), the training pairs and
 * the validation crops, and runs the shared trainer. The CLI (`perceptual train-sr`) is a thin
 * wrapper around {@link trainSr}.
 *
 * A completed run writes a model folder — `weights.safetensors` (with the network config in
 * its metadata, as train-style does), `card.json` and side-by-side samples — that `upscale`,
 * `eval-sr` and `loadModel` read. The card records whether the paper's post-processing
 * (histogram matching to the LR input) applies: on for ℓfeat models, off for ℓpixel ones.
 */
import { promises as fs, existsSync } from 'node:fs';
import path from 'node:path';
import { resolveDevice, defaultPrecision, manualSeed, type Precision } from '../engine/index.js';
import { buildSrNet, srArch, SR_NETS, SR_PATCH, type SrNetName } from '../models/sr-net.js';
import { Vgg } from '../models/vgg/vgg.js';
import { setupLoss } from '../losses/setup.js';
import { createPerceptualLoss, lossProfile, type LossProfileName } from '../losses/profiles.js';
import type { PerceptualLoss, PerceptualLossConfig } from '../losses/perceptual-loss.js';
import { SrDataset, decodeRgb } from '../data/sr-dataset.js';
import { SkipSample } from '../data/batch-loader.js';
import { listImages } from '../data/image-folder.js';
import { crop, degrade, type DegradeMode } from '../data/degrade.js';
import { loadCheckpoint } from './checkpoint.js';
import { SrTask, type SrValidationPair } from './sr-task.js';
import { writeModelFolder } from './model-folder.js';
import { train, type TrainResult } from './trainer.js';
import type { ProgressReporter } from './progress.js';

export type SrLoss = 'feat' | 'pixel';
export const SR_LOSSES: readonly SrLoss[] = ['feat', 'pixel'];

export interface TrainSrOptions {
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
  signal?: AbortSignal;
  progress?: ProgressReporter;
  quiet?: boolean;
  onSkip?: (file: string, reason: string) => void;
  log?: (message: string) => void;
}

export interface TrainSrResult extends TrainResult {
  /** Folder with weights.safetensors, card.json and samples (written when the run completed). */
  modelDir?: string;
  config: Record<string, unknown>;
}

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

export async function trainSr(o: TrainSrOptions): Promise<TrainSrResult> {
  const log = o.log ?? (() => {});
  if (!SR_LOSSES.includes(o.loss)) throw new Error(`train-sr: loss must be ${SR_LOSSES.join(' or ')}, got '${String(o.loss)}'`);
  const device = resolveDevice(o.device);
  if (device !== 'cpu') throw new Error('train-sr: CUDA training is not wired through the data path yet; use --device cpu');
  const profileName = o.profile ?? 'vgg19-conv3';
  const profile = lossProfile(profileName);
  const factor = o.factor;
  if (!o.arch) srArch(factor); // refuses factors the paper's network does not have, before anything is loaded
  const net = o.net ?? 'paper';
  if (!SR_NETS.includes(net)) throw new Error(`train-sr: net must be ${SR_NETS.join(' or ')}, got '${String(net)}'`);
  const patch = o.patch ?? SR_PATCH;
  if (!Number.isInteger(patch) || patch < factor || patch % factor !== 0) throw new Error(`train-sr: the patch (${patch}) must be a positive multiple of the factor (${factor})`);
  const degradation = o.degradation ?? 'paper';
  if (degradation !== 'paper' && degradation !== 'bicubic') throw new Error(`train-sr: degradation must be 'paper' or 'bicubic', got '${String(degradation)}'`);
  const precision = o.precision ?? defaultPrecision(device);
  const resumeFile = o.resume === 'auto' ? path.join(o.outDir, 'checkpoint.safetensors') : o.resume;
  const resumed = resumeFile && existsSync(resumeFile) ? await loadCheckpoint(resumeFile) : undefined;
  if (o.resume && o.resume !== 'auto' && !resumed) throw new Error(`--resume: no checkpoint at ${o.resume}`);

  const seed = o.seed ?? 0;
  manualSeed(seed); // reproducible initial weights
  const model = buildSrNet(factor, { net, ...(o.arch ? { arch: o.arch } : {}) });
  const lossConfig = srLossConfig(o.loss, profile.sr, o.tvWeight);
  const config = {
    task: 'sr',
    factor,
    loss: o.loss,
    degradation,
    dataDir: path.resolve(o.dataDir),
    net,
    arch: model.config.arch,
    profile: profileName,
    lossConfig,
    patch,
    batchSize: o.batchSize ?? 4,
    iterations: o.iterations ?? 200000,
    lr: o.lr ?? 1e-3,
    seed,
    precision,
  };
  if (resumed) {
    // The run's identity must not change under a resume; iterations may be extended.
    const old = resumed.config as Partial<typeof config>;
    for (const k of ['factor', 'loss', 'degradation', 'net', 'arch', 'patch', 'batchSize', 'seed'] as const) {
      if (old[k] !== undefined && JSON.stringify(old[k]) !== JSON.stringify(config[k])) {
        model.dispose();
        throw new Error(`--resume: the checkpoint was trained with ${k}=${JSON.stringify(old[k])}, this run asks for ${JSON.stringify(config[k])}`);
      }
    }
    // Only its configuration and data position are needed here; the trainer reloads the tensors.
    for (const t of resumed.model.values()) t.dispose();
    for (const s of resumed.optimizer.state) {
      s?.expAvg.dispose();
      s?.expAvgSq.dispose();
    }
  }

  let vgg: Vgg, vggPath: string, loss: PerceptualLoss | undefined;
  const ownsVgg = !o.lossNetwork;
  try {
    if (o.lossNetwork) {
      vgg = o.lossNetwork;
      vggPath = vgg.file;
    } else if (o.loss === 'pixel' && !o.vgg) {
      // ℓpixel never runs the loss network (no content layer has a weight), but PerceptualLoss
      // is built around one: a random stand-in up to the SR layer, so that training ℓpixel
      // needs no VGG weights on disk.
      vgg = Vgg.random(profile.arch, lossConfig.contentLayers);
      vggPath = '(not used by ℓpixel)';
    } else {
      ({ vgg, loss, vggPath } = await setupLoss({ profile: profileName, task: 'sr', vgg: o.vgg, overrides: lossConfig }));
    }
    loss ??= createPerceptualLoss(vgg, profile, 'sr', lossConfig);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const memoryFormat = precision === 'bf16' ? 'channels_last' : 'contiguous';
  if (memoryFormat === 'channels_last') {
    model.toMemoryFormat('channels_last');
    if (ownsVgg) vgg.toMemoryFormat('channels_last');
  }
  log(`×${factor} super-resolution, ${o.loss === 'feat' ? `ℓfeat at ${lossConfig.contentLayers.join(', ')} of ${vgg.arch} (${vggPath})` : 'ℓpixel'}` +
    `${lossConfig.tvWeight > 0 ? ` + ${lossConfig.tvWeight}·ℓTV` : ''}; ${degradation} degradation; ${patch}px patches, batch ${config.batchSize}; ` +
    `network ${model.config.arch} (${model.numParameters()} parameters); ${precision}${memoryFormat === 'channels_last' ? ' + channels_last' : ''}`);

  let task: SrTask | undefined;
  let result: TrainResult;
  try {
    const dataset = new SrDataset({ dir: o.dataDir, factor, mode: degradation, crop: patch, batchSize: config.batchSize, seed: config.seed, position: resumed?.position, onSkip: o.onSkip, signal: o.signal, workers: o.workers });
    await dataset.init();
    try {
      const validation = o.valDir
        ? await loadSrValidation({ dir: o.valDir, count: o.valCount ?? 8, crop: o.valCrop ?? Math.max(patch, 256), factor, mode: degradation, onSkip: o.onSkip, signal: o.signal })
        : undefined;
      task = new SrTask({ model, loss, dataset, validation, memoryFormat });
    } catch (e) {
      dataset.close();
      throw e;
    }
    try {
      result = await train(task, {
        outDir: o.outDir,
        iterations: config.iterations,
        lr: config.lr,
        precision,
        checkpointEvery: o.checkpointEvery,
        validateEvery: o.validateEvery,
        resume: resumed ? resumeFile : undefined,
        config,
        signal: o.signal,
        progress: o.progress,
        quiet: o.quiet,
      });
    } finally {
      task.close();
    }

    let modelDir: string | undefined;
    if (result.completed) {
      modelDir = o.modelDir ?? path.join(o.outDir, 'model');
      await fs.mkdir(modelDir, { recursive: true });
      model.eval();
      // Samples of the final network, shown next to the model (the catalogue lists them).
      const samples = (await task.writeSamples(modelDir, 'sample-')).map((f) => path.basename(f));
      const name = o.name ?? path.basename(o.modelDir ?? o.outDir);
      const lossName = o.loss === 'feat' ? 'ℓfeat' : 'ℓpixel';
      const card = {
        name,
        title: o.title ?? `Super-resolution ×${factor}, ${lossName}${degradation === 'bicubic' ? ' (bicubic LR)' : ''}`,
        task: 'sr',
        scale: factor,
        loss: o.loss,
        degradation,
        // The paper's post-processing (§4.2): ℓfeat outputs drift in colour; matching their
        // histogram to the LR input's fixes it. ℓpixel outputs do not need it.
        histogramMatch: o.loss === 'feat',
        network: model.config,
        parameters: model.numParameters(),
        lossProfile: profileName,
        ...(o.loss === 'feat' ? { lossNetwork: { arch: vgg.arch, preprocessing: vgg.preprocessing, layers: lossConfig.contentLayers } } : {}),
        lambda: { feat: lossConfig.contentWeight, pixel: lossConfig.pixelWeight, tv: lossConfig.tvWeight },
        data: { dir: path.basename(o.dataDir), patch, lrSize: patch / factor, batchSize: config.batchSize, seed: config.seed },
        iterations: result.iteration,
        lr: config.lr,
        precision,
        trainedAt: new Date().toISOString(),
        trainingSeconds: Math.round(result.elapsed),
        imagesPerSecond: Number(result.imagesPerSecond.toFixed(3)),
        finalTrainLoss: result.lastTrain,
        finalValLoss: result.lastVal,
        samples,
        samplesLayout: 'bicubic | network | HR (validation centre crops)',
      };
      await writeModelFolder(modelDir, model, card);
    }
    return { ...result, modelDir, config };
  } finally {
    model.dispose();
    loss.dispose();
    if (ownsVgg) vgg.dispose();
  }
}
