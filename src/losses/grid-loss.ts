/**
 * Grid penalty: the part of a stylised image that repeats with the network's stride, fixed to the
 * frame (issue 13, item 4).
 *
 * A transformation network that goes down by stride 4 and back up can add the same small pattern
 * to every 4×4 block of its output, wherever the photo's content is: the "grid" of fast style
 * transfer. Measured on starry-night's output of chicago (712×474, seventh sitting's network), that
 * pattern is tiny — 0.9 grey levels RMS against a pixel spread of 61 — yet it is a coherent line in
 * the spectrum at the 15 frequencies {0, ¼, ½, −¼}² \ (0, 0) that the grid figure
 * (src/metrics/artefacts.ts) measures: removing it from the float output takes that figure from
 * 24.5 to 6.4 (photo 5.2). The local period-4 energy of the same output (4×4 phase means over
 * 16–64 px windows) is that of the photo itself: the artefact is a faint pattern coherent over large
 * areas, not strong local texture — which is why it is measured, and penalised, by phase means.
 *
 * The penalty is its energy. With P the 4×4 polyphase means of ŷ (P[n, c, a, b] = mean over the
 * blocks of ŷ[n, c, 4i + a, 4j + b]) and P̄ their mean over (a, b):
 *
 *   ℓ_grid = mean over n, c, a, b of (P − P̄)²
 *
 * By Parseval on the 4×4 pattern, ℓ_grid = Σ_f |Ŷ(f)|² / (H·W)² summed over exactly those
 * 15 frequencies (per image and channel, averaged): a notch on 15 bins out of H·W, which leaves
 * every stroke that moves with the content alone. A photo of 256² with pixel spread σ has
 * ℓ_grid ≈ σ²/4096 from chance alone (≈ 1 for σ = 61); a grid adds its own energy on top. Only the
 * rows and columns of whole 4×4 blocks count (a remainder is left out).
 *
 * Unlike the shift-stability term (src/losses/stability-loss.ts), which sees a fixed grid only as
 * ‖G − T_s G‖² next to everything else a shift changes, and unlike averaging shifted outputs at
 * inference (src/infer/core/shift-average.ts), which also averages away strokes drawn in step with
 * the stride, this costs nothing but the 48 numbers per window it drives to zero (see
 * {@link DEFAULT_GRID_WINDOW} for why windows). `train-style --grid-weight λ [--grid-window px]`.
 */
import type { Tensor } from '../engine/index.js';

/** The period of the grid: the product of the network's strides (two stride-2 layers). */
export const GRID_PERIOD = 4;

export interface GridLossOptions {
  /** The grid's period in pixels (default {@link GRID_PERIOD}). */
  period?: number;
  /**
   * Side of the square windows the phase means are taken over (a multiple of the period; default:
   * the whole image). See {@link DEFAULT_GRID_WINDOW}.
   */
  window?: number;
}

/**
 * The default window of `train-style --grid-window`, px (or the training image's side, in whole
 * periods, where that is smaller). Over the whole image the network can cancel its grid instead of
 * removing it: measured (starry-night, composition-vii, 150 iterations with the whole-crop penalty
 * at λ 2·10⁴), the whole-image pattern of chicago fell to chance level (0.87 → 0.30 grey levels
 * RMS) while the Hann-windowed spectrum still had its lines (figure 25 → 16): the pattern's sign
 * follows the content (a nearest-neighbour ×2 upsampling followed by a 3×3 convolution draws a
 * period-2 pattern proportional to the local gradient), so it averages out over a training crop.
 * Local windows see it where it is drawn: 150 more iterations took the figure to 12.1 with 128-px
 * windows (λ 2·10⁴) and to 13.4 with 64-px ones (λ 5·10³), whose term is mostly the photo's own
 * high-frequency energy (README "Grid artefacts").
 */
export const DEFAULT_GRID_WINDOW = 128;

/** The window a run uses: the one asked for, else the default cut to the image side in whole periods. */
export function gridWindowFor(imageSize: number, window?: number): number {
  return window ?? Math.min(DEFAULT_GRID_WINDOW, Math.floor(imageSize / GRID_PERIOD) * GRID_PERIOD);
}

/**
 * ℓ_grid of `y` ([N, C, H, W], any scale; computed in float32), over whole windows (rows and
 * columns beyond them are left out): the mean over windows, images, channels and phases of
 * (P − P̄)², P the phase means within each window. Errors if the image holds no whole window.
 */
export function gridLoss(y: Tensor, options: GridLossOptions = {}): Tensor {
  const period = options.period ?? GRID_PERIOD;
  if (y.ndim !== 4) throw new Error(`gridLoss: expected [N, C, H, W], got [${y.shape.join(', ')}]`);
  if (!(Number.isInteger(period) && period >= 2)) throw new RangeError(`gridLoss: period must be an integer ≥ 2, got ${period}`);
  const [n, c, h, w] = y.shape as [number, number, number, number];
  const win = options.window;
  if (win !== undefined && !(Number.isInteger(win) && win >= period && win % period === 0)) {
    throw new RangeError(`gridLoss: window must be a multiple of the period ${period}, got ${win}`);
  }
  const wh = win ?? Math.floor(h / period) * period, ww = win ?? Math.floor(w / period) * period;
  const nh = wh > 0 ? Math.floor(h / wh) : 0, nw = ww > 0 ? Math.floor(w / ww) : 0;
  if (nh < 1 || nw < 1) throw new Error(`gridLoss: a ${w}×${h} image holds no whole ${win ? `${win}×${win} window` : `${period}×${period} block`}`);
  const phases = y
    .to('float32')
    .narrow(2, 0, nh * wh)
    .narrow(3, 0, nw * ww)
    .reshape([n, c, nh, wh / period, period, nw, ww / period, period])
    .mean([3, 6]); // [N, C, windows down, period, windows across, period]
  return phases.sub(phases.mean([3, 5], true)).square().mean();
}
