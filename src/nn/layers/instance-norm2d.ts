/**
 * Instance normalisation (Ulyanov et al. 2016): each sample's channel normalised over its own
 * H×W with the biased variance. Affine by default here (PyTorch's default is not), because the
 * style networks that use it (fast-neural-style's `-use_instance_norm 1`) learn γ and β.
 * No running statistics by default: the network normalises the same way at test time.
 */
import { F, keep, ones, zeros, type Tensor } from '../../engine/index.js';
import { Module } from '../module.js';

export interface InstanceNorm2dOptions {
  eps?: number;
  momentum?: number;
  /** Learn γ (`weight`, init 1) and β (`bias`, init 0). Default true. */
  affine?: boolean;
  /** Keep running statistics and use them in eval mode (PyTorch's track_running_stats). Default false. */
  trackRunningStats?: boolean;
}

/**
 * Statistics shared across tiles: when a large image is stylised tile by tile, each tile's own
 * mean/variance would differ from the whole image's and the tiles would not match (seams,
 * tone shifts). 'record' stores the statistics of the next forward pass (run on the whole
 * image, downscaled if need be); 'shared' normalises every later input with them.
 */
export type InstanceNormStatsMode = 'input' | 'record' | 'shared';

export class InstanceNorm2d extends Module {
  statsMode: InstanceNormStatsMode = 'input';
  #shared: { mean: Tensor; var: Tensor } | undefined;
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

  /** Forget recorded statistics and normalise each input by its own again. */
  clearSharedStats(): void {
    this.#shared?.mean.dispose();
    this.#shared?.var.dispose();
    this.#shared = undefined;
    this.statsMode = 'input';
  }

  forward(x: Tensor): Tensor {
    if (this.statsMode === 'record') {
      if (x.shape[0] !== 1) throw new Error(`InstanceNorm2d: record statistics from one image, got a batch of ${x.shape[0]}`);
      const xf = x.to('float32');
      const mean = keep(xf.mean([0, 2, 3]).detach());
      const v = keep(xf.var([0, 2, 3], { unbiased: false }).detach());
      this.#shared?.mean.dispose();
      this.#shared?.var.dispose();
      this.#shared = { mean, var: v };
    }
    if (this.statsMode === 'shared') {
      if (!this.#shared) throw new Error("InstanceNorm2d: statsMode 'shared' needs statistics recorded first (statsMode 'record')");
      return F.instanceNorm(x, {
        weight: this.affine ? this.param('weight') : null,
        bias: this.affine ? this.param('bias') : null,
        runningMean: this.#shared.mean,
        runningVar: this.#shared.var,
        useInputStats: false,
        momentum: 0,
        eps: this.eps,
      });
    }
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
