/**
 * Builds the loss network and the PerceptualLoss for a profile and task, finding the VGG
 * weights when none are given — shared by the style trainer, the SR trainer and the Gatys
 * baseline, so they measure exactly the same loss.
 */
import { Vgg } from '../models/vgg/vgg.js';
import { defaultVggWeights } from '../models/vgg/sources.js';
import { inspectVggWeights } from '../models/vgg/weights.js';
import { convsUpTo } from '../models/vgg/layers.js';
import { createPerceptualLoss, lossProfile, type LossProfileName, type LossTask } from './profiles.js';
import type { PerceptualLoss, PerceptualLossConfig } from './perceptual-loss.js';

export interface LossSetupOptions {
  profile: string;
  task: LossTask;
  /** VGG weights file/folder (default: the first found for the profile's architecture), or a loss network already built (the caller keeps owning it). */
  vgg?: string | Vgg;
  overrides?: Partial<PerceptualLossConfig>;
}

/**
 * The weights to use: the requested path, else every file found for the profile's network,
 * combined layer by layer (float32 where a file has a layer, else a quantised copy; see
 * models/vgg/combined.ts).
 */
export async function chooseVggWeights(requested: string | undefined, arch: string): Promise<string> {
  if (requested) return requested;
  const pick = (await defaultVggWeights(arch === 'vgg16' || arch === 'vgg19' ? arch : undefined)) ?? (await defaultVggWeights());
  if (!pick) {
    throw new Error('no VGG loss-network weights found. Run `perceptual weights` to see where to get them, or pass the option vgg: a path (CLI: --vgg) to a TF.js model.json folder, .pth, .h5 or .safetensors; several joined by ":" combine layer by layer)');
  }
  return pick.path;
}

/**
 * The profile used when none is named, decided by the weights (the given path, else what
 * {@link chooseVggWeights} would pick): `paper-vgg19` wherever VGG-19 up to conv4_3 is found,
 * `paper` with complete VGG-16, else `vgg19-conv3` (conv1–conv3 only).
 */
export async function defaultLossProfile(requestedVgg?: string): Promise<LossProfileName> {
  let info;
  try {
    info = requestedVgg ? await inspectVggWeights(requestedVgg) : (await defaultVggWeights('vgg19'))?.info ?? (await defaultVggWeights())?.info;
  } catch {
    info = undefined; // unreadable weights: the loss setup reports why, with the profile's needs
  }
  const hasUpTo = (layer: string) => !!info && convsUpTo(info.arch, layer).every((l) => info.layers.includes(l));
  if (info?.arch === 'vgg16' && hasUpTo('conv4_3')) return 'paper';
  if (info?.arch === 'vgg19' && hasUpTo('conv4_3')) return 'paper-vgg19';
  return FALLBACK_PROFILE;
}

/** The profile when only VGG-19 conv1–conv3 exist (the weights this project first had). */
export const FALLBACK_PROFILE: LossProfileName = 'vgg19-conv3';

export async function setupLoss(o: LossSetupOptions): Promise<{ vgg: Vgg; loss: PerceptualLoss; vggPath: string }> {
  const profile = lossProfile(o.profile);
  const cfg = { ...profile[o.task], ...o.overrides };
  if (o.vgg instanceof Vgg) return { vgg: o.vgg, loss: createPerceptualLoss(o.vgg, profile, o.task, o.overrides), vggPath: o.vgg.file };
  const vggPath = await chooseVggWeights(o.vgg, profile.arch);
  const vgg = await Vgg.fromWeights(vggPath, { upTo: [...cfg.contentLayers, ...cfg.styleLayers] });
  const loss = createPerceptualLoss(vgg, profile, o.task, o.overrides);
  return { vgg, loss, vggPath };
}
