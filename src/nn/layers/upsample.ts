/**
 * Nearest-neighbour upsampling by an integer factor, PyTorch's `nn.Upsample(scale_factor=s)`
 * (output pixel i copies input ⌊i/s⌋). Followed by a convolution it is the resize-convolution
 * of Odena et al. (2016), which avoids the checkerboard artifacts of transposed convolutions.
 */
import { F, type Tensor } from '../../engine/index.js';
import { Module } from '../module.js';

export class Upsample extends Module {
  readonly mode = 'nearest' as const;
  constructor(readonly scaleFactor: number) {
    super();
    if (!Number.isInteger(scaleFactor) || scaleFactor < 1) throw new Error(`Upsample: scale factor must be a positive integer, got ${scaleFactor}`);
  }
  forward(x: Tensor): Tensor {
    const [h, w] = x.shape.slice(-2) as [number, number];
    return F.interpolate(x, { size: [h * this.scaleFactor, w * this.scaleFactor], mode: 'nearest' });
  }
}
