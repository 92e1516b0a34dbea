/**
 * Library entry for training a style network: assembles the transformation network, the loss
 * network and profile, the data, and runs the shared trainer. The CLI (`perceptual
 * train-style`) is a thin wrapper around {@link trainStyle}.
 */
import { promises as fs, existsSync } from 'node:fs';
import path from 'node:path';
import { resolveDevice, defaultPrecision, manualSeed, type Precision } from '../engine/index.js';
import { buildStyleNet } from '../models/transformer-net.js';
import { setupLoss } from '../losses/setup.js';
import { Vgg } from '../models/vgg/vgg.js';
import { writeModelFolder } from './model-folder.js';
import { LOSS_PROFILES, type LossProfileName } from '../losses/profiles.js';
import { StyleDataset, ValidationSet } from '../data/style-dataset.js';
import { loadImageResized, imageToTensor } from '../data/tensor-image.js';
import { loadCheckpoint } from './checkpoint.js';
import { StyleTask } from './style-task.js';
import { train, type TrainResult } from './trainer.js';
import type { ProgressReporter } from './progress.js';

export interface TrainStyleOptions {
  styleImage: string;
  dataDir: string;
  valDir?: string;
  outDir: string;
  /** Architecture preset ('paper', 'half-instance') or string. */
  arch?: string;
  norm?: 'batch' | 'instance';
  profile?: LossProfileName;
  /** VGG weights file/folder (default: the first found by findVggWeights()), or a built loss network (tests; the caller owns it). */
  vgg?: string | Vgg;
  contentWeight?: number;
  styleWeight?: number;
  tvWeight?: number;
  imageSize?: number;
  /** Longer side of the style image (default: imageSize). */
  styleSize?: number;
  batchSize?: number;
  iterations?: number;
  lr?: number;
  seed?: number;
  precision?: Precision;
  device?: string;
  checkpointEvery?: number;
  validateEvery?: number;
  valCount?: number;
  resume?: string;
  signal?: AbortSignal;
  progress?: ProgressReporter;
  quiet?: boolean;
  onSkip?: (file: string, reason: string) => void;
  log?: (message: string) => void;
}

export interface TrainStyleResult extends TrainResult {
  /** Folder with weights.safetensors and card.json (written when the run completed). */
  modelDir?: string;
  config: Record<string, unknown>;
}

export async function trainStyle(o: TrainStyleOptions): Promise<TrainStyleResult> {
  const log = o.log ?? (() => {});
  const device = resolveDevice(o.device);
  if (device !== 'cpu') throw new Error('train-style: CUDA training is not wired through the data path yet; use --device cpu');
  const profileName = o.profile ?? 'vgg19-conv3';
  const profile = LOSS_PROFILES[profileName];
  if (!profile) throw new Error(`unknown loss profile '${o.profile}' (${Object.keys(LOSS_PROFILES).join(', ')})`);
  const imageSize = o.imageSize ?? 256;
  const precision = o.precision ?? defaultPrecision(device);
  const resumeFile = o.resume === 'auto' ? path.join(o.outDir, 'checkpoint.safetensors') : o.resume;
  const resumed = resumeFile && existsSync(resumeFile) ? await loadCheckpoint(resumeFile) : undefined;
  if (o.resume && o.resume !== 'auto' && !resumed) throw new Error(`--resume: no checkpoint at ${o.resume}`);

  const styleLayers = profile.style.styleLayers;
  const lossConfig = {
    ...profile.style,
    contentWeight: o.contentWeight ?? profile.style.contentWeight,
    styleWeights: o.styleWeight !== undefined ? styleLayers.map(() => o.styleWeight!) : profile.style.styleWeights,
    tvWeight: o.tvWeight ?? profile.style.tvWeight,
  };
  const config = {
    task: 'style',
    styleImage: path.resolve(o.styleImage),
    dataDir: path.resolve(o.dataDir),
    arch: o.arch ?? 'half-instance',
    norm: o.norm,
    profile: profileName,
    loss: lossConfig,
    imageSize,
    styleSize: o.styleSize ?? imageSize,
    batchSize: o.batchSize ?? 4,
    iterations: o.iterations ?? 40000,
    lr: o.lr ?? 1e-3,
    seed: o.seed ?? 0,
    precision,
  };
  if (resumed) {
    // The run's identity must not change under a resume; iterations may be extended.
    const old = resumed.config as typeof config;
    for (const k of ['arch', 'profile', 'imageSize', 'batchSize', 'seed'] as const) {
      if (old[k] !== undefined && JSON.stringify(old[k]) !== JSON.stringify(config[k])) {
        throw new Error(`--resume: the checkpoint was trained with ${k}=${JSON.stringify(old[k])}, this run asks for ${JSON.stringify(config[k])}`);
      }
    }
  }

  const { vgg, loss, vggPath } = await setupLoss({ profile: profileName, task: 'style', vgg: o.vgg, overrides: lossConfig });
  manualSeed(config.seed); // reproducible initial weights: the same seed gives the same run
  const model = buildStyleNet(config.arch, o.norm ? { norm: o.norm } : {});
  const memoryFormat = precision === 'bf16' ? 'channels_last' : 'contiguous';
  if (memoryFormat === 'channels_last') {
    model.toMemoryFormat('channels_last');
    vgg.toMemoryFormat('channels_last');
  }
  const style = imageToTensor(await loadImageResized(o.styleImage, config.styleSize));
  loss.setStyle(style);
  style.dispose();
  log(`style ${o.styleImage} at ${config.styleSize}px; loss network ${vgg.arch} (${vggPath}) up to ${vgg.deepest}; profile ${profileName}; ` +
    `network ${config.arch} (${model.numParameters()} parameters); ${precision}${memoryFormat === 'channels_last' ? ' + channels_last' : ''}`);

  const dataset = new StyleDataset({ dir: o.dataDir, size: imageSize, batchSize: config.batchSize, seed: config.seed, position: resumed?.position, onSkip: o.onSkip, signal: o.signal });
  await dataset.init();
  const validation = o.valDir ? await ValidationSet.load({ dir: o.valDir, count: o.valCount ?? 8, size: imageSize, onSkip: o.onSkip }) : undefined;
  const task = new StyleTask({ model, loss, dataset, validation, memoryFormat });
  let result: TrainResult;
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
    modelDir = path.join(o.outDir, 'model');
    await writeModelFolder(modelDir, model, {
      name: path.basename(o.outDir),
      title: path.basename(o.outDir),
      task: 'style',
      network: model.config,
      parameters: model.numParameters(),
      styleImage: path.basename(o.styleImage),
      lossProfile: profileName,
      lossNetwork: { arch: vgg.arch, preprocessing: vgg.preprocessing, deepest: vgg.deepest },
      lambda: { content: lossConfig.contentWeight, style: lossConfig.styleWeights, tv: lossConfig.tvWeight },
      data: { dir: path.basename(o.dataDir), imageSize, batchSize: config.batchSize, seed: config.seed },
      styleSize: config.styleSize,
      iterations: result.iteration,
      lr: config.lr,
      precision,
      trainingSeconds: Math.round(result.elapsed),
      imagesPerSecond: Number(result.imagesPerSecond.toFixed(3)),
      finalTrainLoss: result.lastTrain,
      finalValLoss: result.lastVal,
    });
  }
  model.dispose();
  if (!(o.vgg instanceof Vgg)) vgg.dispose();
  loss.dispose();
  return { ...result, modelDir, config };
}
