/**
 * Upscaling one image, as a user asks for it: by a super-resolution network followed by the
 * paper's post-processing, or by plain interpolation for comparison.
 *
 * Post-processing (Johnson et al. §4.2): "we apply histogram matching between our network
 * output and the low-resolution input" — the ℓfeat networks are free to shift colours (VGG
 * features hardly see them), and the LR input is a faithful sample of the true colour
 * distribution. It is on by default for models whose card says so (`histogramMatch`, written
 * by train-sr: true for ℓfeat models) and, for cards without that field, for `loss: 'feat'`.
 *
 * Interpolation: 'bicubic' is the MATLAB-compatible resizer (`imresize(lr, f, 'bicubic')`, the
 * "Bicubic" row of every SR table, see resize-matlab.ts); 'lanczos' is sharp's Lanczos-3, what
 * most image tools would do.
 */
import type { RgbImage } from '../data/image.js';
import { imresizeBicubic } from '../data/resize-matlab.js';
import { resizeLongerSide } from '../data/tensor-image.js';
import { matchHistogram } from './histogram-match.js';
import type { StyleModelCore, UpscaleOptions } from './core/index.js';

export type InterpolationMode = 'bicubic' | 'lanczos';
export const INTERPOLATION_MODES: readonly InterpolationMode[] = ['bicubic', 'lanczos'];

/** Upscale by `factor` without a network (output exactly factor·W × factor·H, 8-bit values). */
export async function interpolate(image: RgbImage, factor: number, mode: InterpolationMode): Promise<RgbImage> {
  if (!(Number.isInteger(factor) && factor >= 1)) throw new RangeError(`factor must be a positive integer, got ${factor}`);
  if (mode === 'bicubic') return { ...imresizeBicubic(image, { scale: factor, roundEachPass: true }), channels: 3 };
  if (mode === 'lanczos') {
    // For an integer factor the longer-side scale is exactly `factor`, so both sides are exact.
    return resizeLongerSide(image, Math.max(image.width, image.height) * factor);
  }
  throw new Error(`unknown interpolation mode '${String(mode)}' (use ${INTERPOLATION_MODES.join(' or ')})`);
}

/** A model card (its `histogramMatch` and `loss` fields decide the post-processing). */
export type SrCardLike = Readonly<Record<string, unknown>>;

/** Whether a model's output is histogram-matched unless the caller says otherwise. */
export function histogramMatchByDefault(card: SrCardLike | undefined): boolean {
  if (typeof card?.histogramMatch === 'boolean') return card.histogramMatch;
  return card?.loss === 'feat';
}

export interface SrUpscaleOptions extends UpscaleOptions {
  /** Match the output's per-channel histogram to the input's (default: {@link histogramMatchByDefault} of the model's card). */
  histogramMatch?: boolean;
}

/** An SR model as loadModel returns it (the card is optional: a bare core has none). */
export type SrModel = Pick<StyleModelCore, 'upscale'> & { readonly card?: SrCardLike };

/** Run the network, then the post-processing its card asks for (or `options.histogramMatch`). */
export async function upscaleImage(model: SrModel, image: RgbImage, options: SrUpscaleOptions = {}): Promise<RgbImage> {
  const { histogramMatch, ...run } = options;
  const out = await model.upscale(image, run);
  // With a byte output the match sees the rounded output: exact 256-bin histograms, no float copy.
  return (histogramMatch ?? histogramMatchByDefault(model.card)) ? matchHistogram(out, image, { outputType: run.outputType }) : out;
}
