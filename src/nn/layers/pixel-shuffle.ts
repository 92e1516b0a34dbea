/**
 * Sub-pixel convolution's rearrangement (Shi et al., CVPR 2016; PyTorch's `nn.PixelShuffle(r)`):
 * `[N, C·r², H, W] → [N, C, H·r, W·r]`, output pixel (r·i + a, r·j + b) of channel c taking
 * input channel c·r² + a·r + b at (i, j) — ONNX DepthToSpace in 'CRD' mode.
 *
 * Why it is here: an SR network that computes everything at the low resolution and only
 * rearranges at the end costs ~f² less than one that convolves at the high resolution (the
 * paper's stride-½ layers), which is what makes the fast SR preset fast.
 */
import type { Tensor } from '../../engine/index.js';
import { Module } from '../module.js';

export function pixelShuffle(x: Tensor, r: number): Tensor {
  if (x.ndim !== 4) throw new Error(`pixelShuffle: expected [N, C·r², H, W], got [${x.shape.join(', ')}]`);
  const [n, cr2, h, w] = x.shape as [number, number, number, number];
  if (cr2 % (r * r) !== 0) throw new Error(`pixelShuffle ×${r}: ${cr2} channels are not a multiple of ${r * r}`);
  const c = cr2 / (r * r);
  return x.reshape([n, c, r, r, h, w]).permute([0, 1, 4, 2, 5, 3]).reshape([n, c, h * r, w * r]);
}

export class PixelShuffle extends Module {
  constructor(readonly upscaleFactor: number) {
    super();
    if (!Number.isInteger(upscaleFactor) || upscaleFactor < 1) throw new Error(`PixelShuffle: factor must be a positive integer, got ${upscaleFactor}`);
  }
  forward(x: Tensor): Tensor {
    return pixelShuffle(x, this.upscaleFactor);
  }
}
