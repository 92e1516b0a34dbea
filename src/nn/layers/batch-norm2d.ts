/**
 * Batch normalisation over (N, H, W) per channel, PyTorch's `nn.BatchNorm2d`: affine γ/β
 * (`weight` = 1, `bias` = 0), running statistics updated in training with momentum 0.1
 * (`running = (1−m)·running + m·batch`, the variance unbiased), used in eval mode.
 * `num_batches_tracked` is kept (int64) only so that PyTorch state dicts load strictly.
 */
import { F, ones, tensor, tidy, zeros, type Tensor } from '../../engine/index.js';
import { Module } from '../module.js';

export interface BatchNorm2dOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
}

export class BatchNorm2d extends Module {
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;

  constructor(
    readonly numFeatures: number,
    options: BatchNorm2dOptions = {},
  ) {
    super();
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.affine = options.affine ?? true;
    if (this.affine) {
      this.registerParameter('weight', ones([numFeatures]));
      this.registerParameter('bias', zeros([numFeatures]));
    }
    this.registerBuffer('running_mean', zeros([numFeatures]));
    this.registerBuffer('running_var', ones([numFeatures]));
    this.registerBuffer('num_batches_tracked', tensor(new BigInt64Array([0n]), [], { dtype: 'int64' }));
  }

  get weight(): Tensor | null {
    return this.affine ? this.param('weight') : null;
  }
  get bias(): Tensor | null {
    return this.affine ? this.param('bias') : null;
  }
  get runningMean(): Tensor {
    return this.buffer('running_mean');
  }
  get runningVar(): Tensor {
    return this.buffer('running_var');
  }

  forward(x: Tensor): Tensor {
    if (this.training) {
      const n = this.buffer('num_batches_tracked');
      tidy(() => void n.copy_(n.add(1)));
    }
    // In training libtorch updates running_mean/running_var in place.
    return F.batchNorm(x, this.training, {
      weight: this.weight,
      bias: this.bias,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}
