/**
 * Feature reconstruction loss (Johnson et al. eq. 2): ‖φ_j(ŷ) − φ_j(y)‖²₂ / (C_j·H_j·W_j),
 * averaged over the batch — which is simply the mean of the squared differences over all
 * N·C·H·W elements. `b` may have batch size 1 (broadcast). Computed in float32.
 */
import type { Tensor } from '../engine/index.js';

export function featureLoss(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== b.ndim || a.shape.slice(1).some((d, i) => d !== b.shape[i + 1])) {
    throw new Error(`featureLoss: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
  }
  return a.to('float32').sub(b.to('float32')).square().mean();
}
