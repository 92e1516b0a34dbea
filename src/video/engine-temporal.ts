/**
 * Temporally smoothed instance normalisation on the libtorch engine: the same running average
 * of the statistics over the frames as the ONNX rewrite (`temporal-onnx.ts`), for a network this
 * module's caller owns (one per video: the state is the video's).
 *
 * For each InstanceNorm2d layer, frame t: μ̄_t = α·μ̄_{t−1} + (1 − α)·μ_t and the same for σ²,
 * where μ_t, σ²_t are the layer input's own statistics in this pass; the layer normalises with
 * (μ̄_t, σ̄²_t) through `F.instanceNorm`'s explicit-statistics path (the one the tiled path uses).
 *
 * How it hooks in: each layer's `forward` is replaced *on that instance* for the lifetime of the
 * smoother, so nothing changes for any other network and no layer code is touched; `dispose()`
 * restores them. One frame per forward (a batch would need the frames' order inside the layer).
 */
import { F, keep, type Tensor } from '../engine/index.js';
import { InstanceNorm2d } from '../nn/layers/instance-norm2d.js';
import type { Module } from '../nn/module.js';
import { DEFAULT_STATS_MOMENTUM } from './temporal-onnx.js';

interface LayerState {
  layer: InstanceNorm2d;
  mean: Tensor | undefined;
  var: Tensor | undefined;
}

export class EngineStatsSmoother {
  private readonly layers: LayerState[];

  constructor(net: Module<unknown>, readonly momentum: number = DEFAULT_STATS_MOMENTUM) {
    if (!(momentum >= 0 && momentum < 1)) throw new RangeError(`momentum must be in [0, 1), got ${momentum}`);
    this.layers = net
      .namedModules()
      .map(([, m]) => m)
      .filter((m): m is InstanceNorm2d => m instanceof InstanceNorm2d)
      .map((layer) => ({ layer, mean: undefined, var: undefined }));
    if (this.layers.length === 0) throw new Error('this network has no instance normalisation: there are no statistics to smooth');
    for (const s of this.layers) {
      if (Object.prototype.hasOwnProperty.call(s.layer, 'forward')) throw new Error('an InstanceNorm2d of this network is already smoothed');
      s.layer.forward = (x: Tensor) => this.forwardLayer(s, x);
    }
  }

  /** Instance-norm layers smoothed. */
  get layerCount(): number {
    return this.layers.length;
  }

  private forwardLayer(s: LayerState, x: Tensor): Tensor {
    if (x.shape[0] !== 1) throw new Error(`temporal instance norm runs one frame at a time, got a batch of ${x.shape[0]}`);
    const xf = x.to('float32');
    let mean = xf.mean([0, 2, 3]).detach();
    let v = xf.var([0, 2, 3], { unbiased: false }).detach();
    if (s.mean && s.var) {
      const a = this.momentum;
      mean = s.mean.mul(a).add(mean.mul(1 - a));
      v = s.var.mul(a).add(v.mul(1 - a));
    }
    s.mean?.dispose();
    s.var?.dispose();
    s.mean = keep(mean);
    s.var = keep(v);
    const l = s.layer;
    const own = new Map(l.namedParameters());
    return F.instanceNorm(x, {
      weight: l.affine ? own.get('weight')! : null,
      bias: l.affine ? own.get('bias')! : null,
      runningMean: mean,
      runningVar: v,
      useInputStats: false,
      momentum: 0,
      eps: l.eps,
    });
  }

  /** Forget the running statistics (a new clip, or a scene cut). */
  reset(): void {
    for (const s of this.layers) {
      s.mean?.dispose();
      s.var?.dispose();
      s.mean = s.var = undefined;
    }
  }

  /** Reset and give the layers their own forward back. */
  dispose(): void {
    this.reset();
    for (const s of this.layers) delete (s.layer as { forward?: unknown }).forward;
  }
}
