/**
 * Shift averaging: run a style network on the image seen through a few windows offset by less
 * than its stride, and average the outputs aligned back on the image.
 *
 * Why: the transformation network goes down by stride 4 and back up; whatever it paints in step
 * with that grid (the 2- and 4-px dot lattice of the grid figure, src/metrics/artefacts.ts) is
 * fixed to the frame, while the strokes follow the content. Offsetting the window by (dx, dy)
 * moves the lattice by that much relative to the content; after aligning the outputs, the content
 * adds up and the lattice, at different phases, averages out. For a lattice of period 4 the mean
 * over shifts S keeps the frequency (fx, fy) in proportion |Σ_S e^{2πi(fx·dx + fy·dy)}| / |S|:
 * all 16 offsets cancel every one of the 15 lattice frequencies, the 4 diagonal ones cancel 12,
 * (0, 0) + (2, 2) cancels 8. The cost is one network run per shift — and the texture: what the
 * network paints in step with its stride includes fine strokes, which average away too
 * ({@link DEFAULT_SHIFTS}; measured in README "Grid artefacts").
 *
 * The windows: the image is padded by P = 3 px of repeated edge pixels on every side and each
 * shift (dx, dy) ∈ [0, 3]² runs on the `(H + P) × (W + P)` window starting at (dy, dx) of the padded
 * image, so every window holds the whole image and the grid's origin moves by (dx, dy) relative
 * to the content. Instance normalisation sees at most P border rows and columns more than the
 * image itself.
 */
import type { RunNetwork, TensorData } from './types.js';
import { checkSizeKeeping } from './run-image.js';

/** Shifts per count: the sets that cancel the most lattice frequencies for their size. */
export const SHIFT_SETS: Readonly<Record<number, ReadonlyArray<readonly [number, number]>>> = {
  1: [[0, 0]],
  2: [[0, 0], [2, 2]],
  4: [[0, 0], [1, 1], [2, 2], [3, 3]],
  8: [0, 1, 2, 3].flatMap((x) => [[x, 0] as const, [x, 2] as const]),
  16: [0, 1, 2, 3].flatMap((x) => [0, 1, 2, 3].map((y) => [x, y] as const)),
};
export const SHIFT_COUNTS = Object.keys(SHIFT_SETS).map(Number);
/**
 * Off by default (the network as trained): averaging also averages away the strokes the network
 * places in step with its stride, and on the Figure-5 photos the perceptual loss of the averaged
 * output rose 1.05–2.30× with 4 shifts (starry-night most; both with edge padding, ./edge-pad.ts — without
 * it 1.2–5.5×, as the shifts also moved the border frame the networks relied on), visibly softer
 * (README "Grid artefacts").
 */
export const DEFAULT_SHIFTS = 1;
const PAD = 3;

export function checkShifts(n: number): void {
  if (!SHIFT_COUNTS.includes(n)) throw new RangeError(`shifts must be one of ${SHIFT_COUNTS.join(', ')}, got ${n}`);
}

/** `run` averaged over the shifts of {@link SHIFT_SETS}[n] (a size-keeping network: style, not super-resolution). */
export function shiftAveraged(run: RunNetwork, n: number): RunNetwork {
  checkShifts(n);
  if (n === 1) return run;
  const shifts = SHIFT_SETS[n]!;
  return async (input: Float32Array, dims: readonly number[]): Promise<TensorData> => {
    const [batch, channels, h, w] = dims as [number, number, number, number];
    const wh = h + PAD, ww = w + PAD;
    const out = new Float32Array(batch * channels * h * w);
    const view = new Float32Array(batch * channels * wh * ww);
    for (const [dx, dy] of shifts) {
      // view(y, x) = image(clamp(y + dy − P), clamp(x + dx − P)): the window of this shift
      for (let p = 0; p < batch * channels; p++) {
        const src = p * h * w, dst = p * wh * ww;
        for (let y = 0; y < wh; y++) {
          const sy = Math.min(h - 1, Math.max(0, y + dy - PAD));
          for (let x = 0; x < ww; x++) view[dst + y * ww + x] = input[src + sy * w + Math.min(w - 1, Math.max(0, x + dx - PAD))]!;
        }
      }
      const r = await run(view, [batch, channels, wh, ww]);
      checkSizeKeeping('shift averaging', r, [batch, channels, wh, ww]);
      const [rh, rw] = r.dims.slice(2) as [number, number];
      // image pixel (y, x) is window pixel (y + P − dy, x + P − dx)
      for (let p = 0; p < batch * channels; p++) {
        const src = p * rh * rw, dst = p * h * w;
        for (let y = 0; y < h; y++) {
          const row = src + (y + PAD - dy) * rw + PAD - dx;
          for (let x = 0; x < w; x++) out[dst + y * w + x] = out[dst + y * w + x]! + r.data[row + x]!;
        }
      }
    }
    for (let i = 0; i < out.length; i++) out[i] = out[i]! / shifts.length;
    return { data: out, dims: [batch, channels, h, w] };
  };
}
