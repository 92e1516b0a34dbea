/**
 * Builds the loss network and the PerceptualLoss for a profile and task, finding the VGG
 * weights when none are given — shared by the style trainer, the SR trainer and the Gatys
 * baseline, so they measure exactly the same loss.
 */
import { Vgg } from '../models/vgg/vgg.js';
import { findVggWeights } from '../models/vgg/sources.js';
import { createPerceptualLoss, lossProfile, type LossTask } from './profiles.js';
import type { PerceptualLoss, PerceptualLossConfig } from './perceptual-loss.js';

export interface LossSetupOptions {
  profile: string;
  task: LossTask;
  /** VGG weights file/folder (default: the first found for the profile's architecture), or a loss network already built (the caller keeps owning it). */
  vgg?: string | Vgg;
  overrides?: Partial<PerceptualLossConfig>;
}

export async function chooseVggWeights(requested: string | undefined, arch: string): Promise<string> {
  if (requested) return requested;
  const found = await findVggWeights();
  const pick = found.find((f) => f.info && f.info.arch === arch) ?? found.find((f) => f.info);
  if (!pick) {
    throw new Error('no VGG loss-network weights found. Run `perceptual weights` to see where to get them, or pass --vgg PATH (TF.js model.json folder, .pth, .h5 or .safetensors)');
  }
  return pick.path;
}

export async function setupLoss(o: LossSetupOptions): Promise<{ vgg: Vgg; loss: PerceptualLoss; vggPath: string }> {
  const profile = lossProfile(o.profile);
  const cfg = { ...profile[o.task], ...o.overrides };
  if (o.vgg instanceof Vgg) return { vgg: o.vgg, loss: createPerceptualLoss(o.vgg, profile, o.task, o.overrides), vggPath: o.vgg.file };
  const vggPath = await chooseVggWeights(o.vgg, profile.arch);
  const vgg = await Vgg.fromWeights(vggPath, { upTo: [...cfg.contentLayers, ...cfg.styleLayers] });
  const loss = createPerceptualLoss(vgg, profile, o.task, o.overrides);
  return { vgg, loss, vggPath };
}
