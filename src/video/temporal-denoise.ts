/**
 * Temporal denoising of frames before the style network, against the flicker a camera's noise
 * causes (issue 15's still clip). On a still or slow scene most of a style network's flicker is
 * sensor noise: every frame brings fresh noise, and the network turns it into strokes that move
 * from frame to frame (`bench/flicker.ts`). Averaging each pixel with its past where it changed by
 * little, and letting larger changes through (motion, cuts), removes the cause.
 *
 * Files go through ffmpeg's `hqdn3d` filter in the decoder (`perceptual stylize clip.mp4
 * --denoise`, src/video/ffmpeg.ts), with its spatial strengths near zero so that a frame's own
 * detail is not blurred. The browser has no ffmpeg: {@link TemporalDenoiser} is the same temporal
 * recursion in TypeScript for the web app's webcam mode, tested against ffmpeg's output.
 *
 * The recursion (hqdn3d's temporal stage): with o_{t−1} the previous output and x_t the new frame,
 *   o_t = x_t + (o_{t−1} − x_t) · w(|o_{t−1} − x_t|),   w(d) = (1 − d/255)^γ,
 * where γ = ln(1/4) / ln(1 − s/255) makes the past weigh 1/4 at a difference of exactly s (the
 * strength): differences well below s (noise) are mostly averaged away, differences well above
 * it pass almost untouched (w(3s) ≈ 1/64).
 *
 * Measured on the still clip (noise σ² = 3 + 0.05·I): strength 10 halves the flicker of every
 * shipped style; the pan's rises by 2–6 % (`docs/video/flicker.md`). Off by default for files (a clean
 * clip has nothing to gain, and strong settings leave a faint trail behind fast motion); on for the
 * webcam, whose frames are always noisy.
 */

/** The measured strength (`--denoise` given alone; the webcam's default). */
export const DEFAULT_DENOISE = 10;
/** The largest strength taken (hqdn3d's scale; 50 already smears any motion). */
export const MAX_DENOISE = 50;

/** Throws unless `strength` is in (0, MAX_DENOISE]. */
export function checkDenoiseStrength(strength: number): void {
  if (!(Number.isFinite(strength) && strength > 0 && strength <= MAX_DENOISE)) {
    throw new RangeError(`denoise strength must be in (0, ${MAX_DENOISE}], got ${strength}`);
  }
}

/** Steps of the weight table per grey level. */
const LUT_STEPS = 16;

/** Frames in order, one recursion per channel; alpha (a 4th channel) passes through. */
export class TemporalDenoiser {
  /** Weight of the past by |difference| in 1/16 grey levels. */
  private readonly weight: Float32Array;
  private past: Float32Array | undefined;
  private shape = '';

  constructor(readonly strength: number = DEFAULT_DENOISE) {
    checkDenoiseStrength(strength);
    const gamma = Math.log(0.25) / Math.log(1 - strength / 255);
    this.weight = new Float32Array(255 * LUT_STEPS + 1);
    for (let k = 0; k < this.weight.length; k++) this.weight[k] = (1 - k / LUT_STEPS / 255) ** gamma;
  }

  /** Forget the past: the next frame comes out as it is (a new clip, or the camera restarted). */
  reset(): void {
    this.past = undefined;
  }

  /**
   * The denoised copy of one interleaved 8-bit frame (`width·height·channels` values; channels 3
   * or 4). A frame of another size than the last starts afresh.
   */
  apply(frame: Uint8Array | Uint8ClampedArray, width: number, height: number, channels: 3 | 4): Uint8ClampedArray {
    const n = width * height;
    if (frame.length !== n * channels) throw new RangeError(`TemporalDenoiser: a ${width}×${height}×${channels} frame has ${n * channels} values, got ${frame.length}`);
    const shape = `${width}x${height}x${channels}`;
    const out = new Uint8ClampedArray(frame.length);
    if (!this.past || this.shape !== shape) {
      this.shape = shape;
      this.past = Float32Array.from(frame);
      out.set(frame);
      return out;
    }
    const past = this.past, weight = this.weight;
    for (let i = 0; i < frame.length; i++) {
      if (channels === 4 && i % 4 === 3) {
        out[i] = frame[i]!;
        continue;
      }
      const x = frame[i]!;
      const d = past[i]! - x;
      const o = x + d * weight[Math.min(weight.length - 1, Math.round(Math.abs(d) * LUT_STEPS))]!;
      past[i] = o;
      out[i] = o; // Uint8ClampedArray rounds half to even and clamps
    }
    return out;
  }
}
