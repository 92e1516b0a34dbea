/**
 * The Gram matrix of a feature map (Johnson et al. eq. 3–4): reshape φ(x) [N, C, H, W] to
 * ψ [N, C, H·W]; G = ψψᵀ / (C·H·W), one C×C matrix per sample. The normalisation makes
 * Grams of different layers and image sizes comparable, and G(2x) = 4·G(x).
 *
 * Always float32, also under autocast: a Gram entry sums H·W products, and bfloat16's 8-bit
 * mantissa would lose the small differences between the output's and the style image's Grams
 * that the style loss measures. autocast('float32', …) switches an enclosing bf16 region off.
 */
import { autocast, type Tensor } from '../engine/index.js';

export function gram(x: Tensor): Tensor {
  if (x.ndim !== 4) throw new Error(`gram: expected [N, C, H, W] features, got [${x.shape.join(', ')}]`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const psi = x.to('float32').reshape([n, c, h * w]);
  return autocast('float32', () => psi.bmm(psi.transpose(1, 2))).div(c * h * w);
}
