/**
 * The residual block of the paper's transformation networks (Johnson et al., supplementary
 * material, after Gross & Wilber): conv3×3 → norm → ReLU → conv3×3 → norm, plus the input.
 * There is no ReLU after the sum.
 *
 * With `padding: 'none'` (the paper's style network) the two 3×3 convolutions are unpadded, so
 * the block's output is 4 px smaller in each dimension and the shortcut is centre-cropped by
 * 2 px per side to match (fast-neural-style's ShaveImage(2)); the network makes up for it with
 * reflection padding at its input, which avoids zero-padding artifacts at the image border.
 * 'zero', 'reflect' and 'replicate' pad each convolution by 1 px instead (size preserved).
 *
 * Children: `conv1`, `norm1`, `conv2`, `norm2`.
 */
import { F, type Tensor } from '../../engine/index.js';
import { Module, type Layer } from '../module.js';
import { Conv2d } from './conv2d.js';
import { createNorm, type NormKind } from './normalization.js';
import { reflectPad } from './padding.js';

export type ResidualPadding = 'none' | 'zero' | 'reflect' | 'replicate';
export const RESIDUAL_PADDINGS: readonly ResidualPadding[] = ['none', 'zero', 'reflect', 'replicate'];

export interface ResidualBlockOptions {
  norm?: NormKind;
  padding?: ResidualPadding;
}

export class ResidualBlock extends Module {
  readonly norm: NormKind;
  readonly padding: ResidualPadding;
  /** Pixels cropped from each side of the shortcut (2 for unpadded convolutions, else 0). */
  readonly crop: number;
  readonly conv1: Conv2d;
  readonly norm1: Layer;
  readonly conv2: Conv2d;
  readonly norm2: Layer;

  constructor(
    readonly channels: number,
    options: ResidualBlockOptions = {},
  ) {
    super();
    this.norm = options.norm ?? 'batch';
    this.padding = options.padding ?? 'none';
    if (!RESIDUAL_PADDINGS.includes(this.padding)) {
      throw new Error(`ResidualBlock: unknown padding '${this.padding}' (use ${RESIDUAL_PADDINGS.join(', ')})`);
    }
    this.crop = this.padding === 'none' ? 2 : 0;
    const convPadding = this.padding === 'zero' ? 1 : 0;
    this.conv1 = this.registerModule('conv1', new Conv2d(channels, channels, 3, { padding: convPadding }));
    this.norm1 = this.registerModule('norm1', createNorm(this.norm, channels));
    this.conv2 = this.registerModule('conv2', new Conv2d(channels, channels, 3, { padding: convPadding }));
    this.norm2 = this.registerModule('norm2', createNorm(this.norm, channels));
  }

  #pad(x: Tensor): Tensor {
    if (this.padding === 'reflect') return reflectPad(x, 1);
    if (this.padding === 'replicate') return F.pad(x, [1, 1, 1, 1], 'replicate');
    return x;
  }

  forward(x: Tensor): Tensor {
    const [h, w] = x.shape.slice(-2) as [number, number];
    if (this.crop > 0 && (h <= 2 * this.crop || w <= 2 * this.crop)) {
      throw new Error(`ResidualBlock: a ${h}×${w} input is too small for two unpadded 3×3 convolutions (need more than ${2 * this.crop} px)`);
    }
    let y = this.norm1.forward(this.conv1.forward(this.#pad(x))).relu();
    y = this.norm2.forward(this.conv2.forward(this.#pad(y)));
    const c = this.crop;
    const shortcut = c > 0 ? x.narrow(2, c, h - 2 * c).narrow(3, c, w - 2 * c) : x;
    return y.add(shortcut);
  }
}
