/**
 * Transposed ("fractionally strided") 2-D convolution, PyTorch's `nn.ConvTranspose2d`:
 * weight `[in, out, kh, kw]`, output size `stride·(in−1) − 2·padding + k + outputPadding`.
 * With k = 3, stride 2, padding 1, outputPadding 1 it doubles the size exactly — the paper's
 * "stride ½" convolution (Torch's SpatialFullConvolution with adj = 1).
 */
import { F, type Tensor } from '../../engine/index.js';
import { Module } from '../module.js';
import { kaimingUniformBound, uniform } from '../init.js';

export interface ConvTranspose2dOptions {
  stride?: number;
  padding?: number;
  outputPadding?: number;
  /** Default true. */
  bias?: boolean;
}

export class ConvTranspose2d extends Module {
  readonly stride: number;
  readonly padding: number;
  readonly outputPadding: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    options: ConvTranspose2dOptions = {},
  ) {
    super();
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    this.outputPadding = options.outputPadding ?? 0;
    if (this.outputPadding >= this.stride) {
      throw new Error(`ConvTranspose2d: outputPadding (${this.outputPadding}) must be smaller than stride (${this.stride})`);
    }
    const shape = [inChannels, outChannels, kernelSize, kernelSize];
    // PyTorch computes fan_in from size(1) here too, i.e. out·k·k (see init.ts).
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
    return F.convTranspose2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, outputPadding: this.outputPadding });
  }
}
