/**
 * Style reconstruction loss (Johnson et al. eq. 5): the squared Frobenius norm
 * ‖G_j(ŷ) − G_j(y_s)‖²_F of the difference of Gram matrices, averaged over the batch, and
 * summed over the style layers j with per-layer weights. The target is the Gram of the single
 * style image, shape [1, C, C], broadcast over the batch.
 */
import type { Tensor } from '../engine/index.js';
import { gram } from './gram.js';

/** One layer: mean over the batch of ‖G − target‖²_F (both [·, C, C], float32). */
export function gramLoss(g: Tensor, target: Tensor): Tensor {
  if (g.ndim !== 3 || target.ndim !== 3 || g.shape[1] !== target.shape[1] || g.shape[2] !== target.shape[2]) {
    throw new Error(`gramLoss: Gram shapes [${g.shape.join(', ')}] and [${target.shape.join(', ')}] do not match`);
  }
  return g.sub(target).square().sum([1, 2]).mean();
}

/**
 * Σ_j w_j · mean_n ‖G(features_j) − targets_j‖²_F. `weights` is one number for every layer or
 * one per layer (default 1).
 */
export function styleLoss(features: readonly Tensor[], targetGrams: readonly Tensor[], weights: number | readonly number[] = 1): Tensor {
  if (features.length !== targetGrams.length || features.length === 0) {
    throw new Error(`styleLoss: ${features.length} feature maps for ${targetGrams.length} target Grams`);
  }
  const w = typeof weights === 'number' ? features.map(() => weights) : weights;
  if (w.length !== features.length) throw new Error(`styleLoss: ${w.length} weights for ${features.length} layers`);
  let total: Tensor | undefined;
  features.forEach((f, j) => {
    const term = gramLoss(gram(f), targetGrams[j]!).mul(w[j]!);
    total = total ? total.add(term) : term;
  });
  return total!;
}
