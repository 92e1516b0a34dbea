/**
 * Optimizers: libtorch's Adam and L-BFGS (the same update code PyTorch runs). Adam's state
 * can be exported as tensors and restored, so a resumed run continues exactly.
 */
import { native, type NativeAdam, type NativeLBFGS } from './native.js';
import { Tensor } from './tensor.js';
import { checkNumber, checkOptionsObject, show } from './check.js';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** Adam's defaults (PyTorch's), declared once. */
export const ADAM_DEFAULTS: Readonly<Required<AdamOptions>> = Object.freeze({ lr: 1e-3, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0 });

export interface AdamParamState {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
}

/** The parameter list of an optimizer: a non-empty array of live Tensors. */
function checkParams(who: string, params: unknown): Tensor[] {
  if (!Array.isArray(params)) throw new TypeError(`${who}: parameters must be an array of Tensors, got ${show(params)}`);
  if (params.length === 0) throw new Error(`${who}: no parameters to optimise`);
  params.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new TypeError(`${who}: parameter ${i} is not a Tensor (${show(p)})`);
    if (p.isDisposed) throw new Error(`${who}: parameter ${i} was disposed`);
  });
  return params as Tensor[];
}

const checkLr = (who: string, v: unknown) => checkNumber(who, 'option lr', v, { min: 0, minExclusive: true });

export class Adam {
  private readonly impl: NativeAdam;
  private lrValue: number;

  constructor(
    readonly params: Tensor[],
    options: AdamOptions = {},
  ) {
    checkParams('Adam', params);
    const o = checkOptionsObject('Adam', options, Object.keys(ADAM_DEFAULTS));
    this.lrValue = checkLr('Adam', o.lr ?? ADAM_DEFAULTS.lr);
    const betas = o.betas ?? ADAM_DEFAULTS.betas;
    if (!Array.isArray(betas) || betas.length !== 2) throw new TypeError(`Adam: option betas must be [beta1, beta2], got ${show(betas)}`);
    const [beta1, beta2] = betas.map((b, i) => checkNumber('Adam', `option betas[${i}]`, b, { min: 0, maxExclusive: 1 })) as [number, number];
    const eps = checkNumber('Adam', 'option eps', o.eps ?? ADAM_DEFAULTS.eps, { min: 0 });
    const weightDecay = checkNumber('Adam', 'option weightDecay', o.weightDecay ?? ADAM_DEFAULTS.weightDecay, { min: 0 });
    this.impl = new (native().Adam)(
      params.map((p) => p.handle),
      { lr: this.lrValue, beta1, beta2, eps, weightDecay },
    );
  }

  get lr(): number {
    return this.lrValue;
  }
  /** Changes the learning rate from the next step on; a non-finite or non-positive value throws. */
  set lr(v: number) {
    checkNumber('Adam', 'lr', v, { min: 0, minExclusive: true });
    this.impl.setLr(v);
    this.lrValue = v;
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
  /** Default: maxIter × 5/4, as in PyTorch. */
  maxEval?: number;
  toleranceGrad?: number;
  toleranceChange?: number;
  historySize?: number;
  lineSearch?: 'strong_wolfe' | null;
}

/** L-BFGS's defaults (PyTorch's), declared once; maxEval follows maxIter. */
export const LBFGS_DEFAULTS = Object.freeze({ lr: 1, maxIter: 20, toleranceGrad: 1e-7, toleranceChange: 1e-9, historySize: 100, lineSearch: null });

export class LBFGS {
  private readonly impl: NativeLBFGS;
  constructor(
    readonly params: Tensor[],
    options: LBFGSOptions = {},
  ) {
    checkParams('LBFGS', params);
    const o = checkOptionsObject('LBFGS', options, [...Object.keys(LBFGS_DEFAULTS), 'maxEval']);
    const count = (k: string, v: unknown) => checkNumber('LBFGS', `option ${k}`, v, { integer: true, min: 1 });
    const maxIter = count('maxIter', o.maxIter ?? LBFGS_DEFAULTS.maxIter);
    const lineSearch = o.lineSearch ?? LBFGS_DEFAULTS.lineSearch;
    if (lineSearch !== null && lineSearch !== 'strong_wolfe') throw new TypeError(`LBFGS: option lineSearch must be 'strong_wolfe' or null, got ${show(lineSearch)}`);
    this.impl = new (native().LBFGS)(
      params.map((p) => p.handle),
      {
        lr: checkLr('LBFGS', o.lr ?? LBFGS_DEFAULTS.lr),
        maxIter,
        maxEval: count('maxEval', o.maxEval ?? Math.floor((maxIter * 5) / 4)),
        toleranceGrad: checkNumber('LBFGS', 'option toleranceGrad', o.toleranceGrad ?? LBFGS_DEFAULTS.toleranceGrad, { min: 0 }),
        toleranceChange: checkNumber('LBFGS', 'option toleranceChange', o.toleranceChange ?? LBFGS_DEFAULTS.toleranceChange, { min: 0 }),
        historySize: count('historySize', o.historySize ?? LBFGS_DEFAULTS.historySize),
        lineSearch: lineSearch ?? undefined,
      },
    );
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
