/**
 * Pixel loss (Johnson et al. §3.3): ‖ŷ − y‖²₂ / (C·H·W), averaged over the batch, on the
 * 0–255 scale of the images (so a uniform error of 1 grey level costs 1).
 */
import type { Tensor } from '../engine/index.js';
import { featureLoss } from './feature-loss.js';

export function pixelLoss(output: Tensor, target: Tensor): Tensor {
  // Same normalised squared distance as the feature loss, applied to the images themselves.
  return featureLoss(output, target);
}
