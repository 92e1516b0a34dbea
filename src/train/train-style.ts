/**
 * Training a style network (Johnson et al. §4.1): the style task's part of the one training
 * driver (driver.ts) — its options (options.ts, `STYLE_TRAIN_OPTIONS`), the transformation
 * network, the perceptual loss with the style image's Gram targets, the data, and the card.
 * The CLI (`perceptual train-style`) is generated from the same option table.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { GRID_PERIOD, gridWindowFor } from '../losses/grid-loss.js';
import { MAX_EDGE_PAD } from '../models/edge-pad.js';
import type { Precision } from '../engine/index.js';
import { buildStyleNet } from '../models/transformer-net.js';
import { Vgg } from '../models/vgg/vgg.js';
import { setupLoss } from '../losses/setup.js';
import { lossProfile, type LossProfile, type LossProfileName } from '../losses/profiles.js';
import type { PerceptualLossConfig } from '../losses/perceptual-loss.js';
import { StyleDataset, ValidationSet } from '../data/style-dataset.js';
import { loadImageResized, imageToTensor } from '../data/tensor-image.js';
import { MODEL_FILES, type StyleCard } from '../models/model-folder.js';
import { StyleTask, type StyleTaskOptions } from './style-task.js';
import { trainModel, type DriverHooks, type DriverOptions, type TaskSpec, type TrainModelResult } from './driver.js';
import { STYLE_TRAIN_OPTIONS } from './options.js';

/**
 * `--init` takes any weights whose tensors fit the run's network by name and shape — on purpose: an `rcN`
 * network starts an `rbN` fine-tune as it is (the interpolation has no weights). So that such a switch
 * is never silent, the note (for the run's log) when the init file's own architecture string differs;
 * undefined when it is the same or the file does not say.
 */
export function initArchNote(file: string, metadata: Record<string, string>, arch: string): string | undefined {
  let own: string | undefined;
  try {
    own = (JSON.parse(metadata.config ?? 'null') as { arch?: string } | null)?.arch;
  } catch {
    return undefined;
  }
  if (!own || own === arch) return undefined;
  return `--init ${file}: its network is ${own}, this run trains ${arch}; the tensors fit by name and shape, so its weights start this network as they are`;
}

export interface TrainStyleOptions extends DriverHooks {
  styleImage: string;
  dataDir: string;
  valDir?: string;
  /** Run folder: checkpoint, log.jsonl, losses.svg, samples/ (and model/ unless modelDir). */
  outDir: string;
  /** Model folder written when the run completes (default `<outDir>/model`). */
  modelDir?: string;
  /** Card name (default: the model folder's name when given, else the run folder's). */
  name?: string;
  /** Card title (default: the name). */
  title?: string;
  /** Architecture preset ('paper', 'half-instance') or string. */
  arch?: string;
  norm?: 'batch' | 'instance';
  profile?: LossProfileName;
  /** VGG weights file/folder (default: the first found by findVggWeights()), or a built loss network (tests; the caller owns it). */
  vgg?: string | Vgg;
  /** A built loss network (the caller keeps owning it); the same as passing a Vgg as `vgg`. */
  lossNetwork?: Vgg;
  contentWeight?: number;
  /**
   * λ_style: one number for every style layer, or one per layer. A profile whose weights are
   * per layer (e.g. 'paper', λ_j = 5/C_j²) takes only a list: one number would silently drop
   * its per-layer scaling.
   */
  styleWeight?: number | readonly number[];
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
  /** Continue a run exactly: a checkpoint path, or 'auto' (`<outDir>/checkpoint.safetensors` if present). */
  resume?: string;
  /** λ of the video stability term (src/losses/stability-loss.ts); 0 (default) is off. */
  stabilityWeight?: number;
  /** σ of the stability term's noise, 0–255 scale. */
  stabilityNoise?: number;
  /** Largest shift of the stability term's input, pixels. */
  stabilityShift?: number;
  /** λ of the grid penalty (src/losses/grid-loss.ts); 0 (default) is off. */
  gridWeight?: number;
  /** Side of the grid penalty's windows, px (a multiple of 4). */
  gridWindow?: number;
  /** Mirror each input outward by this many px for the network, the output cropped back (default `DEFAULT_EDGE_PAD`; 0: off). */
  edgePad?: number;
  /** Start from these weights (model folder or weights.safetensors of the same architecture). */
  init?: string;
}

export type TrainStyleResult = TrainModelResult;

/** The options with the table's defaults filled in. */
type StyleRun = TrainStyleOptions & DriverOptions & { profile: LossProfileName; arch: string; imageSize: number; valCount: number; stabilityWeight: number; stabilityNoise: number; stabilityShift: number; gridWeight: number; edgePad: number };

/**
 * The style weights of a run: the profile's unless `styleWeight` is given. One number applies
 * to every layer — refused for a profile with per-layer weights (it would silently drop their
 * scaling); a list gives one weight per layer.
 */
export function resolveStyleWeights(profile: LossProfile, styleWeight: number | readonly number[] | undefined, operation = 'train-style'): number[] {
  const layers = profile.style.styleLayers;
  const base = profile.style.styleWeights;
  if (styleWeight === undefined) return typeof base === 'number' ? layers.map(() => base) : [...base];
  if (typeof styleWeight === 'number') {
    if (typeof base !== 'number') {
      throw new Error(
        `${operation}: option 'styleWeight': profile '${profile.name}' has per-layer style weights ` +
          `(${layers.map((l, i) => `${l} ${base[i]!.toExponential(2)}`).join(', ')}); give ${layers.length} values, one per layer, not one number`,
      );
    }
    return layers.map(() => styleWeight);
  }
  if (styleWeight.length !== layers.length) {
    throw new Error(`${operation}: option 'styleWeight': ${styleWeight.length} values for the ${layers.length} style layers of profile '${profile.name}' (${layers.join(', ')})`);
  }
  return [...styleWeight];
}

function lossConfigOf(o: StyleRun): PerceptualLossConfig {
  const profile = lossProfile(o.profile);
  return {
    ...profile.style,
    contentWeight: o.contentWeight ?? profile.style.contentWeight,
    styleWeights: resolveStyleWeights(profile, o.styleWeight),
    tvWeight: o.tvWeight ?? profile.style.tvWeight,
  };
}

export const STYLE_TASK: TaskSpec<StyleRun, StyleTask> = {
  operation: 'train-style',
  options: STYLE_TRAIN_OPTIONS,
  identityKeys: ['arch', 'profile', 'imageSize', 'batchSize', 'seed'],

  configure(o, precision) {
    if (o.gridWeight > 0 && o.gridWindow !== undefined && (o.gridWindow % GRID_PERIOD !== 0 || o.gridWindow > o.imageSize)) {
      throw new RangeError(`train-style: option 'gridWindow' must be a multiple of ${GRID_PERIOD} no larger than imageSize ${o.imageSize}, got ${o.gridWindow}`);
    }
    if (o.edgePad > MAX_EDGE_PAD) throw new RangeError(`train-style: option 'edgePad' must be at most ${MAX_EDGE_PAD} px, got ${o.edgePad}`);
    return {
      task: 'style',
      styleImage: path.resolve(o.styleImage),
      dataDir: path.resolve(o.dataDir),
      arch: o.arch,
      norm: o.norm,
      profile: o.profile,
      lossConfig: lossConfigOf(o),
      imageSize: o.imageSize,
      styleSize: o.styleSize ?? o.imageSize,
      batchSize: o.batchSize,
      iterations: o.iterations,
      lr: o.lr,
      ...(o.warmup > 0 ? { warmup: o.warmup } : {}),
      seed: o.seed,
      precision,
      ...(o.stabilityWeight > 0 ? { stability: { weight: o.stabilityWeight, noise: o.stabilityNoise, shift: o.stabilityShift } } : {}),
      ...(o.gridWeight > 0 ? { grid: { weight: o.gridWeight, window: gridWindowFor(o.imageSize, o.gridWindow) } } : {}),
      ...(o.edgePad > 0 ? { edgePad: o.edgePad } : {}),
      ...(o.init ? { init: path.resolve(o.init) } : {}),
    };
  },

  buildModel({ o }) {
    return buildStyleNet(o.arch, o.norm ? { norm: o.norm } : {});
  },

  async buildLoss({ o, config, device }) {
    const lossNetwork = o.lossNetwork;
    const { vgg, loss, vggPath } = await setupLoss({ profile: o.profile, task: 'style', vgg: lossNetwork ?? (o.vgg as string | undefined), overrides: config.lossConfig as PerceptualLossConfig });
    try {
      if (device !== 'cpu' && !lossNetwork) vgg.toDevice(device);
      let style = imageToTensor(await loadImageResized(o.styleImage, config.styleSize as number));
      if (device !== 'cpu') {
        const moved = style.toDevice(device);
        style.dispose();
        style = moved;
      }
      try {
        loss.setStyle(style);
      } finally {
        style.dispose();
      }
    } catch (e) {
      loss.dispose();
      if (!lossNetwork) vgg.dispose();
      throw e;
    }
    return { vgg, loss, vggPath, ownsVgg: !lossNetwork };
  },

  async buildTask({ o, config, data, memoryFormat, device, log }, { model, loss }) {
    const dataset = new StyleDataset({ dir: o.dataDir, size: o.imageSize, ...data, seed: o.seed, onSkip: o.onSkip, signal: o.signal });
    try {
      await dataset.init();
      const validation = o.valDir ? await ValidationSet.load({ dir: o.valDir, count: o.valCount, size: o.imageSize, onSkip: o.onSkip }) : undefined;
      if (o.init) {
        const file = existsSync(path.join(o.init, MODEL_FILES.weights)) ? path.join(o.init, MODEL_FILES.weights) : o.init;
        const note = initArchNote(file, await model.loadSafetensors(file), model.config.arch);
        if (note) log(note);
      }
      // The extra terms exactly as configure() put them in the run config (absent when off).
      const { stability, grid, edgePad } = config as Pick<StyleTaskOptions, 'stability' | 'grid' | 'edgePad'>;
      return new StyleTask({ model, loss, dataset, validation, memoryFormat, device, stability, grid, edgePad });
    } catch (e) {
      dataset.close();
      throw e;
    }
  },

  describe({ o, config }, { model, vgg, vggPath }) {
    return `style ${o.styleImage} at ${String(config.styleSize)}px; loss network ${vgg.arch} (${vggPath}) up to ${vgg.deepest}; profile ${o.profile}; network ${o.arch} (${model.numParameters()} parameters)`;
  },

  async card({ o, config }, { model, vgg, record, name }) {
    const loss = config.lossConfig as PerceptualLossConfig;
    const card: StyleCard = {
      kind: 'style',
      task: 'style',
      name,
      title: o.title ?? name,
      parameters: model.numParameters(),
      styleImage: path.basename(o.styleImage),
      lossProfile: o.profile,
      lossNetwork: { arch: vgg.arch, preprocessing: vgg.preprocessing, deepest: vgg.deepest },
      lambda: { content: loss.contentWeight, style: loss.styleWeights, tv: loss.tvWeight },
      data: { dir: path.basename(o.dataDir), imageSize: o.imageSize, batchSize: o.batchSize, seed: o.seed },
      styleSize: config.styleSize as number,
      ...record,
    };
    return card;
  },
};

/** Train a style network; see the module comment. */
export function trainStyle(o: TrainStyleOptions): Promise<TrainStyleResult> {
  const { vgg, ...rest } = o;
  return trainModel(STYLE_TASK, (vgg instanceof Vgg ? { ...rest, lossNetwork: vgg } : o) as Partial<StyleRun>);
}
