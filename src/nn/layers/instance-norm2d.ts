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

/** Statistics of every instance-norm layer of a network, recorded on one image; the caller owns (and disposes) them. */
export class InstanceNormStats {
  readonly #byLayer = new Map<InstanceNorm2d, { mean: Tensor; var: Tensor }>();
  get size(): number {
    return this.#byLayer.size;
  }
  get(layer: InstanceNorm2d): { mean: Tensor; var: Tensor } | undefined {
    return this.#byLayer.get(layer);
  }
  set(layer: InstanceNorm2d, s: { mean: Tensor; var: Tensor }): void {
    this.#release(layer);
    this.#byLayer.set(layer, s);
  }
  #release(layer: InstanceNorm2d): void {
    const old = this.#byLayer.get(layer);
    old?.mean.dispose();
    old?.var.dispose();
  }
  dispose(): void {
    for (const l of this.#byLayer.keys()) this.#release(l);
    this.#byLayer.clear();
  }
}

/** The statistics of the synchronous forward pass now running (see {@link withInstanceNormStats}). */
let active: { mode: 'record' | 'shared'; stats: InstanceNormStats } | undefined;

/**
 * Run `fn` — a synchronous forward pass — with every instance-norm layer recording its
 * statistics into `stats` ('record') or normalising with the ones in it ('shared'). The
 * statistics belong to the call, not to the layers: two stylisations of one network that
 * interleave across awaits each pass their own, and cannot see each other's.
 */
export function withInstanceNormStats<T>(mode: 'record' | 'shared', stats: InstanceNormStats, fn: () => T): T {
  const previous = active;
  active = { mode, stats };
  try {
    const out = fn();
    if (out && typeof (out as { then?: unknown }).then === 'function') throw new Error('withInstanceNormStats: the forward pass must be synchronous (statistics apply only while it runs)');
    return out;
  } finally {
    active = previous;
  }
}

export class InstanceNorm2d extends Module {
  /** Per-layer mode, for direct use of a single network; inference passes statistics per call instead ({@link withInstanceNormStats}). */
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
    if (active) return this.#forwardWith(x, active.mode, active.stats);
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

  #normaliseWith(x: Tensor, stats: { mean: Tensor; var: Tensor }): Tensor {
    return F.instanceNorm(x, {
      weight: this.affine ? this.param('weight') : null,
      bias: this.affine ? this.param('bias') : null,
      runningMean: stats.mean,
      runningVar: stats.var,
      useInputStats: false,
      momentum: 0,
      eps: this.eps,
    });
  }

  #forwardWith(x: Tensor, mode: 'record' | 'shared', stats: InstanceNormStats): Tensor {
    if (mode === 'record') {
      if (x.shape[0] !== 1) throw new Error(`InstanceNorm2d: record statistics from one image, got a batch of ${x.shape[0]}`);
      const xf = x.to('float32');
      stats.set(this, { mean: keep(xf.mean([0, 2, 3]).detach()), var: keep(xf.var([0, 2, 3], { unbiased: false }).detach()) });
    }
    const s = stats.get(this);
    if (!s) throw new Error('InstanceNorm2d: no recorded statistics for this layer in the statistics passed (record them on the same network first)');
    return this.#normaliseWith(x, s);
  }
}
