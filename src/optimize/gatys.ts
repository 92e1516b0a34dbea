/**
 * The optimisation baseline of Gatys et al. (the paper's comparison point, §4.1, Fig. 5):
 * optimise the pixels of one image under the same perceptual loss the feed-forward networks
 * are trained with (shared PerceptualLoss code), with L-BFGS (or Adam), from noise or from the
 * content image. One L-BFGS call per iteration keeps the iteration loop here, so every
 * iteration is logged, can report progress and can be aborted.
 */
import { tensor, randn, tidy, keep, autocast, noGrad, LBFGS, Adam, manualSeed, type Tensor, type Precision } from '../engine/index.js';
import type { PerceptualLoss } from '../losses/perceptual-loss.js';
import type { RgbImage } from '../data/image.js';
import { hwcToChw, chwToHwc } from '../data/tensor-layout.js';

export interface GatysIteration {
  iteration: number;
  total: number;
  content: number;
  style: number;
  tv: number;
  seconds: number;
}

export interface GatysOptions {
  /** The loss; its style targets must be set (setStyle) already. */
  loss: PerceptualLoss;
  content: RgbImage;
  init?: 'noise' | 'content';
  optimizer?: 'lbfgs' | 'adam';
  iterations?: number;
  /** Adam's learning rate (0–255 pixel scale); L-BFGS uses lr 1 as in neural-style. */
  lr?: number;
  seed?: number;
  precision?: Precision;
  /**
   * Keep the pixels in [0, 255] after every iteration (projected L-BFGS/Adam, as PyTorch's
   * neural-style tutorial clamps its image in each step); the reported loss is then the returned
   * image's. Default false: the unconstrained optimisation of jcjohnson/neural-style and of the
   * paper's Figure 5, which may drive pixels outside 0–255. Measured (starry-night, paper-vgg19,
   * 256 px, 100 L-BFGS iterations from noise): unconstrained 2.87e5, but 5.01e5 for the image it
   * returns (clamped; style term 5.4e4 → 3.0e5); projected 2.82e5 for its image. Projection spoils
   * L-BFGS's curvature pairs when a step overshoots, though: on the tiny network of the tests it
   * stalls (27 → 21 where the free run reaches 9), so it is a choice, not the default.
   */
  clampPixels?: boolean;
  /** Record and report the loss at these iterations only (default: every iteration). */
  signal?: AbortSignal;
  onProgress?: (fraction: number, info: GatysIteration) => void;
  /** Called after every iteration with the current image's loss terms. */
  onIteration?: (info: GatysIteration) => void;
}

export interface GatysResult {
  image: RgbImage;
  /** The total loss of `image` (the pixels clamped to 0–255): what the last iteration reports, unless pixels left that range. */
  imageLoss: number;
  history: GatysIteration[];
  interrupted: boolean;
}

export async function optimizeImage(o: GatysOptions): Promise<GatysResult> {
  const { content, loss } = o;
  const iterations = o.iterations ?? 500;
  const precision = o.precision ?? 'float32';
  manualSeed(o.seed ?? 0);
  const target = keep(tensor(hwcToChw(content), [1, 3, content.height, content.width]));
  const x = keep(
    tidy(() => (o.init === 'content' ? target.clone() : randn(target.shape).mul(25).add(127.5))).requiresGrad_(),
  );
  const evaluate = () => {
    const t = autocast(precision, () => loss.forward(x, target));
    return t;
  };
  const history: GatysIteration[] = [];
  const started = performance.now();
  let interrupted = false;
  const lbfgs = o.optimizer === 'adam' ? undefined : new LBFGS([x], { lr: 1, maxIter: 1, historySize: 100, toleranceGrad: 0, toleranceChange: 0 });
  const adam = o.optimizer === 'adam' ? new Adam([x], { lr: o.lr ?? 5 }) : undefined;
  // Each step evaluates the loss at the current image before updating it, so the value seen
  // in step i is the loss after i−1 iterations: record it then, instead of evaluating twice.
  let seen: Omit<GatysIteration, 'iteration' | 'seconds'> | undefined;
  const lossAndGrad = () =>
    tidy(() => {
      x.zeroGrad();
      const t = evaluate();
      t.total.backward();
      seen ??= { total: t.total.item(), content: t.content.item(), style: t.style.item(), tv: t.tv.item() };
      return t.total;
    });
  const record = (iteration: number, terms: Omit<GatysIteration, 'iteration' | 'seconds'>) => {
    const info: GatysIteration = { iteration, ...terms, seconds: (performance.now() - started) / 1000 };
    if (!Number.isFinite(info.total)) throw new Error(`Gatys optimisation diverged at iteration ${iteration} (loss ${info.total}); lower the loss weights or the learning rate (option lr), or use optimizer 'lbfgs'`);
    history.push(info);
    o.onIteration?.(info);
    o.onProgress?.(iteration / iterations, info);
  };
  try {
    let done = 0;
    for (let i = 1; i <= iterations; i++) {
      if (o.signal?.aborted) {
        interrupted = true;
        break;
      }
      seen = undefined;
      if (lbfgs) lbfgs.step(lossAndGrad);
      else {
        lossAndGrad();
        adam!.step();
      }
      if (o.clampPixels) noGrad(() => tidy(() => void x.copy_(x.clamp(0, 255))));
      if (i > 1) record(i - 1, seen!);
      done = i;
      if (i % 10 === 0) await new Promise((r) => setImmediate(r)); // let Ctrl-C / aborts through
    }
    if (done > 0) {
      const t = noGrad(() => tidy(() => {
        const l = evaluate();
        return { total: l.total.item(), content: l.content.item(), style: l.style.item(), tv: l.tv.item() };
      }));
      record(done, t);
    }
    // Projected: x is the image already, and its loss was just recorded. Free: the image is x clamped.
    const imageLoss =
      o.clampPixels && done > 0
        ? history.at(-1)!.total
        : noGrad(() => tidy(() => (x.copy_(x.clamp(0, 255)), evaluate().total.item())));
    const pixels = noGrad(() => tidy(() => x.toFloat32Array()));
    return { image: chwToHwc(pixels, content.height, content.width), imageLoss, history, interrupted };
  } finally {
    x.dispose();
    target.dispose();
  }
}
