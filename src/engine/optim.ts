/**
 * Optimizers: libtorch's Adam and L-BFGS (the same update code PyTorch runs). Adam's state
 * can be exported as tensors and restored, so a resumed run continues exactly.
 */
import { native, type NativeAdam, type NativeLBFGS } from './native.js';
import { Tensor } from './tensor.js';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export interface AdamParamState {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
}

export class Adam {
  private readonly impl: NativeAdam;
  private lrValue: number;

  constructor(readonly params: Tensor[], options: AdamOptions = {}) {
    if (params.length === 0) throw new Error('Adam: no parameters to optimise');
    this.lrValue = options.lr ?? 1e-3;
    const [beta1, beta2] = options.betas ?? [0.9, 0.999];
    this.impl = new (native().Adam)(params.map((p) => p.handle), { lr: this.lrValue, beta1, beta2, eps: options.eps ?? 1e-8, weightDecay: options.weightDecay ?? 0 });
  }

  get lr(): number {
    return this.lrValue;
  }
  set lr(v: number) {
    this.lrValue = v;
    this.impl.setLr(v);
  }

  step(): void {
    this.impl.step();
  }
  /** Frees the gradients (set_to_none semantics). */
  zeroGrad(): void {
    this.impl.zeroGrad();
  }
  /** Per-parameter state (null before the first step), copies the caller owns. */
  getState(): Array<AdamParamState | null> {
    return this.impl.getState().map((s) => (s ? { step: s.step, expAvg: new Tensor(s.expAvg), expAvgSq: new Tensor(s.expAvgSq) } : null));
  }
  setState(state: Array<AdamParamState | null>): void {
    if (state.length !== this.params.length) throw new Error(`Adam.setState: got ${state.length} entries for ${this.params.length} parameters`);
    this.impl.setState(state.map((s) => (s ? { step: s.step, expAvg: s.expAvg.handle, expAvgSq: s.expAvgSq.handle } : null)));
  }
}

export interface LBFGSOptions {
  lr?: number;
  maxIter?: number;
  maxEval?: number;
  toleranceGrad?: number;
  toleranceChange?: number;
  historySize?: number;
  lineSearch?: 'strong_wolfe' | null;
}

export class LBFGS {
  private readonly impl: NativeLBFGS;
  constructor(readonly params: Tensor[], options: LBFGSOptions = {}) {
    if (params.length === 0) throw new Error('LBFGS: no parameters to optimise');
    this.impl = new (native().LBFGS)(params.map((p) => p.handle), { ...options, lineSearch: options.lineSearch ?? undefined });
  }
  /**
   * One L-BFGS step (up to maxIter inner iterations). closure(): zero the gradients, compute
   * the loss, call backward, return the loss — as in torch.optim.LBFGS.
   */
  step(closure: () => Tensor): number {
    const loss = new Tensor(this.impl.step(() => closure().handle));
    const v = loss.item();
    loss.dispose();
    return v;
  }
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }
}
