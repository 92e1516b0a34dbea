/**
 * Instance normalisation (Ulyanov et al. 2016): each sample's channel normalised over its own
 * H×W with the biased variance. Affine by default here (PyTorch's default is not), because the
 * style networks that use it (fast-neural-style's `-use_instance_norm 1`) learn γ and β.
 * No running statistics by default: the network normalises the same way at test time.
 */
import { F, ones, zeros, type Tensor } from '../../engine/index.js';
import { Module } from '../module.js';

export interface InstanceNorm2dOptions {
  eps?: number;
  momentum?: number;
  /** Learn γ (`weight`, init 1) and β (`bias`, init 0). Default true. */
  affine?: boolean;
  /** Keep running statistics and use them in eval mode (PyTorch's track_running_stats). Default false. */
  trackRunningStats?: boolean;
}

export class InstanceNorm2d extends Module {
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  constructor(
    readonly numFeatures: number,
    options: InstanceNorm2dOptions = {},
  ) {
    super();
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? false;
    if (this.affine) {
      this.registerParameter('weight', ones([numFeatures]));
      this.registerParameter('bias', zeros([numFeatures]));
    }
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures]));
      this.registerBuffer('running_var', ones([numFeatures]));
    }
  }

  forward(x: Tensor): Tensor {
    const track = this.trackRunningStats;
    return F.instanceNorm(x, {
      weight: this.affine ? this.param('weight') : null,
      bias: this.affine ? this.param('bias') : null,
      runningMean: track ? this.buffer('running_mean') : null,
      runningVar: track ? this.buffer('running_var') : null,
      useInputStats: this.training || !track,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}
