/**
 * Total variation regulariser (Johnson et al. §3.3, after Mahendran & Vedaldi and Aly & Dubois):
 *   ℓ_TV(y) = Σ_{c,h,w} (y[c,h,w+1] − y[c,h,w])² + (y[c,h+1,w] − y[c,h,w])²
 * as a plain sum over every horizontal and every vertical neighbour pair of one image (not
 * normalised by size), then averaged over the batch, so that its weight means the same for
 * any batch size (like the other terms, which are batch means too).
 *
 * fast-neural-style's TotalVariation differs: it uses the gradient of ½Σ over the
 * (H−1)×(W−1) grid only and sums over the batch.
 */
import type { Tensor } from '../engine/index.js';

export function tvLoss(y: Tensor): Tensor {
  if (y.ndim !== 4) throw new Error(`tvLoss: expected [N, C, H, W], got [${y.shape.join(', ')}]`);
  const [, , h, w] = y.shape as [number, number, number, number];
  const x = y.to('float32');
  let perImage: Tensor | undefined;
  if (w > 1) perImage = x.narrow(3, 1, w - 1).sub(x.narrow(3, 0, w - 1)).square().sum([1, 2, 3]);
  if (h > 1) {
    const dv = x.narrow(2, 1, h - 1).sub(x.narrow(2, 0, h - 1)).square().sum([1, 2, 3]);
    perImage = perImage ? perImage.add(dv) : dv;
  }
  return perImage ? perImage.mean() : x.sum().mul(0);
}
