/**
 * Upsampling by an integer factor, PyTorch's `nn.Upsample(scale_factor=s, mode=…)`:
 * - 'nearest': output pixel i copies input ⌊i/s⌋;
 * - 'bilinear': output pixel i samples the input at (i + ½)/s − ½ (half-pixel centres, PyTorch's
 *   `align_corners=False`, ONNX Resize's `half_pixel`), positions outside clamped to the edge.
 * Followed by a convolution it is the resize-convolution of Odena et al. (2016), which avoids the
 * checkerboard artifacts of transposed convolutions (models/architecture.ts: `rcN`, `rbN`).
 */
import { F, type Tensor } from '../../engine/index.js';
import { Module } from '../module.js';

export type UpsampleMode = 'nearest' | 'bilinear';

export class Upsample extends Module {
  constructor(
    readonly scaleFactor: number,
    readonly mode: UpsampleMode = 'nearest',
  ) {
    super();
    if (!Number.isInteger(scaleFactor) || scaleFactor < 1) throw new Error(`Upsample: scale factor must be a positive integer, got ${scaleFactor}`);
    if (mode !== 'nearest' && mode !== 'bilinear') throw new Error(`Upsample: mode must be 'nearest' or 'bilinear', got ${String(mode)}`);
  }
  forward(x: Tensor): Tensor {
    const [h, w] = x.shape.slice(-2) as [number, number];
    return F.interpolate(x, { size: [h * this.scaleFactor, w * this.scaleFactor], mode: this.mode, alignCorners: false });
  }
}
