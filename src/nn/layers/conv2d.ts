/** 2-D convolution, PyTorch's `nn.Conv2d` (weight `[out, in/groups, kh, kw]`, bias `[out]`). */
import { F, type Tensor } from '../../engine/index.js';
import { Module } from '../module.js';
import { kaimingUniformBound, uniform } from '../init.js';

export interface Conv2dOptions {
  stride?: number;
  /** Zero padding on every side (padding of other kinds is a separate Pad layer, as in PyTorch). */
  padding?: number;
  dilation?: number;
  groups?: number;
  /** Default true. */
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    options: Conv2dOptions = {},
  ) {
    super();
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.groups = options.groups ?? 1;
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new Error(`Conv2d: channels ${inChannels}→${outChannels} are not divisible by groups=${this.groups}`);
    }
    const shape = [outChannels, inChannels / this.groups, kernelSize, kernelSize];
    // PyTorch's default init (see init.ts): U(±1/√fan_in) for weight and bias.
    const bound = kaimingUniformBound(shape);
    this.registerParameter('weight', uniform(shape, bound));
    if (options.bias ?? true) this.registerParameter('bias', uniform([outChannels], bound));
  }

  get weight(): Tensor {
    return this.param('weight');
  }
  get bias(): Tensor | null {
    return this.hasParam('bias') ? this.param('bias') : null;
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}
