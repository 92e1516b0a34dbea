/**
 * Stability loss for video (after Gupta, Johnson, Alahi & Fei-Fei, "Characterizing and Improving
 * Stability in Neural Style Transfer", ICCV 2017): without optical flow, penalise how much the
 * stylisation changes when the input changes the way consecutive video frames do.
 *
 *   ℓ_stab = ‖f(x̃) − T_s f(x)‖² / (C·H'·W'),   x̃ = T_s x + ε,   ε ~ N(0, σ²)
 *
 * Gupta et al. use the noise ε alone. T_s adds a small known translation (s pixels, taken from
 * the overlap of the two crops, so nothing is invented at the edges): networks that go down by
 * stride 4 place their strokes on a grid fixed to the frame, and a shift that is not a multiple
 * of 4 redraws them (the camera-pan clip of the flicker figure, `src/video/flicker.ts`).
 * With s = 0 this is exactly Gupta et al.'s term.
 *
 * This file only computes the inputs and the penalty; the training task runs the network on
 * both (`src/train/style-task.ts`, `--stability-weight`).
 */
import { randnLike, type Tensor } from '../engine/index.js';

export interface StabilityPerturbation {
  /** Noise standard deviation on the 0–255 scale. */
  noise: number;
  /** Translation in pixels: the perturbed input starts `dx` columns and `dy` rows into the frame. */
  dx: number;
  dy: number;
}

/** Default σ of ε: about a camera's sensor noise at mid-grey (the flicker figure's clips use σ ≈ 3). */
export const DEFAULT_STABILITY_NOISE = 3;
/** Default largest translation, pixels (0: Gupta et al.'s noise-only term). */
export const DEFAULT_STABILITY_SHIFT = 3;

/** Draw a perturbation: a translation in [−maxShift, maxShift]² (integers) and the noise σ. */
export function drawPerturbation(random: () => number, noise: number, maxShift: number): StabilityPerturbation {
  if (!(noise >= 0)) throw new RangeError(`stability noise must be ≥ 0, got ${noise}`);
  if (!(Number.isInteger(maxShift) && maxShift >= 0)) throw new RangeError(`stability shift must be a whole number of pixels ≥ 0, got ${maxShift}`);
  const pick = () => Math.floor(random() * (2 * maxShift + 1)) - maxShift;
  return { noise, dx: pick(), dy: pick() };
}

/** The rows/columns of a `size`-long axis both crops see, for a shift `s` (start in the original, length). */
function overlap(size: number, s: number): { a: number; b: number; len: number } {
  return s >= 0 ? { a: s, b: 0, len: size - s } : { a: 0, b: -s, len: size + s };
}

/**
 * x̃: the part of `x` ([N, C, H, W]) seen from a frame moved by (dx, dy), plus noise. Pixel (i, j)
 * of x̃ is pixel (i + dy, j + dx) of x (for non-negative shifts; negative ones crop the other side).
 */
export function perturbInput(x: Tensor, p: StabilityPerturbation): Tensor {
  const [, , h, w] = x.shape as [number, number, number, number];
  const oy = overlap(h, p.dy), ox = overlap(w, p.dx);
  if (oy.len < 1 || ox.len < 1) throw new RangeError(`a shift of (${p.dx}, ${p.dy}) leaves nothing of a ${w}×${h} input`);
  let xs = x.narrow(2, oy.a, oy.len).narrow(3, ox.a, ox.len);
  if (p.noise > 0) xs = xs.add(randnLike(xs).mul(p.noise));
  return xs;
}

/**
 * ℓ_stab of the outputs `y` = f(x) and `yp` = f(x̃) (`x̃` from {@link perturbInput} with the same
 * `p`): the mean squared difference over the pixels both see, per image, averaged over the batch.
 */
export function stabilityLoss(y: Tensor, yp: Tensor, p: StabilityPerturbation): Tensor {
  if (y.ndim !== 4 || yp.ndim !== 4) throw new Error(`stabilityLoss: expected [N, C, H, W] outputs, got [${y.shape.join(', ')}] and [${yp.shape.join(', ')}]`);
  const [, , h, w] = y.shape as [number, number, number, number];
  const oy = overlap(h, p.dy), ox = overlap(w, p.dx);
  if (yp.shape[2] !== oy.len || yp.shape[3] !== ox.len) {
    throw new Error(`stabilityLoss: the perturbed output is [${yp.shape.join(', ')}], expected ${oy.len}×${ox.len} for a shift of (${p.dx}, ${p.dy}) of ${w}×${h}`);
  }
  const target = y.to('float32').narrow(2, oy.a, oy.len).narrow(3, ox.a, ox.len);
  return yp.to('float32').sub(target).square().mean([1, 2, 3]).mean();
}
