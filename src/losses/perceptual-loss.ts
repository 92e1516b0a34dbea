/**
 * The full training objective of Johnson et al. (eq. 6 with the terms of §3):
 *
 *   total = Σ_j λc_j ℓ_feat(φ_j) + Σ_j λs_j ℓ_style(φ_j) + λ_TV ℓ_TV + λ_pixel ℓ_pixel
 *
 * built on one loss network pass over the output for all the layers the terms need. Style
 * targets (Gram matrices of the style image) are computed once by `setStyle`; content targets
 * are computed per batch without recording gradients — they are constants of the loss.
 *
 * Returned terms are already weighted, so `total = content + style + tv + pixel`; each is a
 * float32 scalar tensor (0 for a term whose weights are all 0, which is then not computed).
 */
import { keep, noGrad, tidy, zeros, type Tensor } from '../engine/index.js';
import type { Vgg } from '../models/vgg/vgg.js';
import { featureLoss } from './feature-loss.js';
import { gram } from './gram.js';
import { pixelLoss } from './pixel-loss.js';
import { gramLoss } from './style-loss.js';
import { tvLoss } from './tv-loss.js';

export interface PerceptualLossConfig {
  /** Loss-network layers of the feature reconstruction loss (e.g. ['relu3_3']). */
  contentLayers: readonly string[];
  /** λ_content: one for all content layers, or one per layer. */
  contentWeight: number | readonly number[];
  /** Layers of the style reconstruction loss (e.g. ['relu1_2', 'relu2_2', 'relu3_3', 'relu4_3']). */
  styleLayers: readonly string[];
  /** λ_style: one for all style layers, or one per layer. */
  styleWeights: number | readonly number[];
  /** λ_TV (TV as a plain sum per image, see tv-loss.ts). */
  tvWeight: number;
  /** λ_pixel (squared error per element, 0–255 scale). */
  pixelWeight: number;
}

export interface LossTerms {
  total: Tensor;
  content: Tensor;
  style: Tensor;
  tv: Tensor;
  pixel: Tensor;
}

function perLayer(what: string, layers: readonly string[], w: number | readonly number[]): number[] {
  const out = typeof w === 'number' ? layers.map(() => w) : [...w];
  if (out.length !== layers.length) throw new Error(`PerceptualLoss: ${out.length} ${what} weights for ${layers.length} ${what} layers (${layers.join(', ')})`);
  out.forEach((v, i) => {
    if (!Number.isFinite(v) || v < 0) throw new Error(`PerceptualLoss: ${what} weight for ${layers[i]} must be a non-negative number, got ${v}`);
  });
  return out;
}

export class PerceptualLoss {
  readonly config: PerceptualLossConfig;
  readonly contentWeights: readonly number[];
  readonly styleWeights: readonly number[];
  /** Layers of terms with a non-zero weight, in network order: one vgg pass computes them all. */
  readonly layers: readonly string[];
  #styleTargets: Map<string, Tensor> | undefined;

  constructor(
    readonly vgg: Vgg,
    config: PerceptualLossConfig,
  ) {
    this.config = { ...config, contentLayers: [...config.contentLayers], styleLayers: [...config.styleLayers] };
    this.contentWeights = perLayer('content', config.contentLayers, config.contentWeight);
    this.styleWeights = perLayer('style', config.styleLayers, config.styleWeights);
    for (const [k, v] of [['tv', config.tvWeight], ['pixel', config.pixelWeight]] as const) {
      if (!Number.isFinite(v) || v < 0) throw new Error(`PerceptualLoss: ${k} weight must be a non-negative number, got ${v}`);
    }
    const used = new Set([...this.#active(config.contentLayers, this.contentWeights), ...this.#active(config.styleLayers, this.styleWeights)]);
    // Fail now, with the loss network's explanation (e.g. missing weights), not mid-training.
    for (const l of used) vgg.check(l);
    this.layers = vgg.steps.map((s) => s.name).filter((n) => used.has(n));
  }

  #active(layers: readonly string[], weights: readonly number[]): string[] {
    return layers.filter((_, i) => weights[i]! > 0);
  }

  get needsStyle(): boolean {
    return this.styleWeights.some((w) => w > 0);
  }
  get needsTarget(): boolean {
    return this.config.pixelWeight > 0 || this.contentWeights.some((w) => w > 0);
  }
  get hasStyle(): boolean {
    return this.#styleTargets !== undefined;
  }

  /**
   * Compute and keep the style targets: the Grams of one style image [1, 3, H, W] (RGB 0–255)
   * at the style layers. Replaces (and frees) earlier targets.
   */
  setStyle(image: Tensor): void {
    if (image.ndim !== 4 || image.shape[0] !== 1 || image.shape[1] !== 3) {
      throw new Error(`PerceptualLoss.setStyle: expected one RGB image [1, 3, H, W], got [${image.shape.join(', ')}]`);
    }
    const layers = this.#active(this.config.styleLayers, this.styleWeights);
    const targets = noGrad(() =>
      tidy(() => {
        const f = this.vgg.forward(image, layers);
        return new Map(layers.map((l) => [l, gram(f.get(l)!)]));
      }),
    );
    for (const t of targets.values()) keep(t);
    this.#disposeStyle();
    this.#styleTargets = targets;
  }

  /** The kept style target Gram of a layer (for inspection). */
  styleTarget(layer: string): Tensor | undefined {
    return this.#styleTargets?.get(layer);
  }

  /**
   * The loss of a batch of network outputs [N, 3, H, W] (RGB 0–255). `target` is y_c for
   * style transfer (usually the network's input) or the high-resolution image for
   * super-resolution; it is needed when a content or pixel weight is non-zero.
   */
  forward(output: Tensor, target?: Tensor): LossTerms {
    if (this.needsStyle && !this.#styleTargets) throw new Error('PerceptualLoss: call setStyle(styleImage) before computing a loss with style weights');
    if (this.needsTarget && !target) throw new Error('PerceptualLoss: a content/pixel target is needed (content or pixel weight > 0)');
    if (target && (target.ndim !== 4 || target.shape.slice(1).some((d, i) => d !== output.shape[i + 1]))) {
      throw new Error(`PerceptualLoss: output [${output.shape.join(', ')}] and target [${target.shape.join(', ')}] differ in shape`);
    }
    const { contentLayers, styleLayers, tvWeight, pixelWeight } = this.config;
    const activeContent = this.#active(contentLayers, this.contentWeights);
    const zero = (): Tensor => zeros([]);

    const features = this.layers.length > 0 ? this.vgg.forward(output, this.layers) : new Map<string, Tensor>();
    const targetFeatures =
      activeContent.length > 0 ? noGrad(() => this.vgg.forward(target!, activeContent)) : new Map<string, Tensor>();

    let content = zero();
    contentLayers.forEach((l, i) => {
      const w = this.contentWeights[i]!;
      if (w > 0) content = content.add(featureLoss(features.get(l)!, targetFeatures.get(l)!).mul(w));
    });
    let style = zero();
    styleLayers.forEach((l, i) => {
      const w = this.styleWeights[i]!;
      if (w > 0) style = style.add(gramLoss(gram(features.get(l)!), this.#styleTargets!.get(l)!).mul(w));
    });
    const tv = tvWeight > 0 ? tvLoss(output).mul(tvWeight) : zero();
    const pixel = pixelWeight > 0 ? pixelLoss(output, target!).mul(pixelWeight) : zero();
    const total = content.add(style).add(tv).add(pixel);
    return { total, content, style, tv, pixel };
  }

  #disposeStyle(): void {
    for (const t of this.#styleTargets?.values() ?? []) t.dispose();
    this.#styleTargets = undefined;
  }

  /** Free the style targets (the loss network belongs to the caller). */
  dispose(): void {
    this.#disposeStyle();
  }
}
