/**
 * A flicker figure that needs no optical-flow model: clips whose motion is known exactly, made
 * from real photos, and the temporal difference of the stylised frames measured against the
 * same difference of the input frames.
 *
 * Clips ({@link panClip}, {@link stillClip}):
 *  - camera pan: a crop window slides over a large photo by a whole number of pixels per frame,
 *    so frame t is frame t−1 moved by exactly (dx, dy): `in_t(x, y) = in_{t−1}(x + dx, y + dy)`;
 *  - still scene: the same photo in every frame (shift 0).
 * Both get fresh sensor-like noise in every frame (Gaussian, variance a·I + b: shot plus read
 * noise), as a camera would — without it a pan's input difference would be exactly zero.
 *
 * Flicker ({@link flicker}): over every pair of consecutive frames,
 *   F = Σ_t mean |out_t − shift(out_{t−1})| / Σ_t mean |in_t − shift(in_{t−1})|
 * where the means run over the pixels (and channels) both frames see. 1 means the stylisation
 * changes between frames exactly as much as the input does; per-frame style networks amplify
 * the input's changes (F ≫ 1).
 */
import type { RgbImage } from '../data/image.js';
import { Rng } from '../data/rng.js';

/** Motion between consecutive frames: `frame_t(x, y) = frame_{t−1}(x + dx, y + dy)` (integer pixels). */
export interface Shift {
  dx: number;
  dy: number;
}

/**
 * mean |cur(x, y) − prev(x + dx, y + dy)| over the pixels both frames see (all channels).
 * Throws when the frames differ in size or do not overlap.
 */
export function shiftedMeanAbsDiff(cur: RgbImage, prev: RgbImage, shift: Shift = { dx: 0, dy: 0 }): number {
  const { width: w, height: h } = cur;
  if (prev.width !== w || prev.height !== h) throw new RangeError(`frames differ in size: ${w}×${h} and ${prev.width}×${prev.height}`);
  const { dx, dy } = shift;
  if (!Number.isInteger(dx) || !Number.isInteger(dy)) throw new RangeError(`shift must be whole pixels, got (${dx}, ${dy})`);
  const x0 = Math.max(0, -dx), x1 = Math.min(w, w - dx);
  const y0 = Math.max(0, -dy), y1 = Math.min(h, h - dy);
  if (x1 <= x0 || y1 <= y0) throw new RangeError(`a shift of (${dx}, ${dy}) leaves no pixel both ${w}×${h} frames see`);
  let sum = 0;
  const a = cur.data, b = prev.data;
  for (let y = y0; y < y1; y++) {
    let i = (y * w + x0) * 3;
    let j = ((y + dy) * w + x0 + dx) * 3;
    const end = (y * w + x1) * 3;
    for (; i < end; i++, j++) sum += Math.abs(a[i]! - b[j]!);
  }
  return sum / ((x1 - x0) * (y1 - y0) * 3);
}

/** Mean shifted difference over consecutive pairs of a sequence (shift per pair, or one for all). */
export function temporalDifference(frames: readonly RgbImage[], shifts: Shift | readonly Shift[]): number[] {
  const out: number[] = [];
  for (let t = 1; t < frames.length; t++) {
    const s = Array.isArray(shifts) ? (shifts as readonly Shift[])[t - 1] : (shifts as Shift);
    if (!s) throw new RangeError(`no shift given for frames ${t - 1} → ${t}`);
    out.push(shiftedMeanAbsDiff(frames[t]!, frames[t - 1]!, s));
  }
  return out;
}

export interface FlickerResult {
  /** Σ output differences / Σ input differences. */
  flicker: number;
  /** Mean output difference per pair (0–255 scale). */
  output: number;
  /** Mean input difference per pair. */
  input: number;
  pairs: number;
}

/** The flicker of stylised `outputs` of `inputs` with known motion (see the file comment). */
export function flicker(outputs: readonly RgbImage[], inputs: readonly RgbImage[], shifts: Shift | readonly Shift[]): FlickerResult {
  if (outputs.length !== inputs.length) throw new RangeError(`${outputs.length} outputs for ${inputs.length} inputs`);
  if (inputs.length < 2) throw new RangeError('flicker needs at least two frames');
  const o = temporalDifference(outputs, shifts);
  const i = temporalDifference(inputs, shifts);
  const so = o.reduce((a, b) => a + b, 0);
  const si = i.reduce((a, b) => a + b, 0);
  if (si === 0) throw new RangeError('the input frames do not change at all (add noise): flicker is undefined');
  return { flicker: so / si, output: so / o.length, input: si / i.length, pairs: o.length };
}

export interface SensorNoise {
  /** Shot-noise gain: variance grows by `shot`·I (I on 0–255). */
  shot: number;
  /** Read-noise variance. */
  read: number;
}

/** Default noise: σ ≈ 1.7 in the shadows, ≈ 3 at mid-grey, ≈ 3.9 in highlights (a decent camera at moderate ISO). */
export const DEFAULT_SENSOR_NOISE: SensorNoise = { shot: 0.05, read: 3 };

/** Standard normal draws (Box–Muller) from a seeded generator. */
function gaussian(rng: Rng): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = 1 - rng.next(), v = rng.next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** `image` plus fresh sensor-like noise, rounded and clipped to bytes as a camera would store it. */
export function addSensorNoise(image: RgbImage, noise: SensorNoise, rng: Rng): RgbImage {
  const n = gaussian(rng);
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i++) {
    const v = image.data[i]!;
    data[i] = Math.min(255, Math.max(0, Math.round(v + Math.sqrt(noise.read + noise.shot * v) * n())));
  }
  return { data, width: image.width, height: image.height, channels: 3 };
}

export interface ClipOptions {
  width: number;
  height: number;
  frames: number;
  /** Sensor noise per frame (default {@link DEFAULT_SENSOR_NOISE}); `null` for none. */
  noise?: SensorNoise | null;
  seed?: number;
}

export interface Clip {
  frames: RgbImage[];
  /** Motion between consecutive frames. */
  shift: Shift;
}

function crop(photo: RgbImage, x: number, y: number, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let r = 0; r < height; r++) {
    const src = ((y + r) * photo.width + x) * 3;
    for (let k = 0; k < width * 3; k++) data[r * width * 3 + k] = photo.data[src + k]!;
  }
  return { data, width, height, channels: 3 };
}

/**
 * A camera pan over `photo`: a `width×height` window starting at the top left (or centred on
 * the other axis when it does not move on it), moving by `step` pixels per frame.
 * The window moves right/down for positive steps, so the content moves by −step:
 * `frame_t(x, y) = frame_{t−1}(x + dx, y + dy)` with `shift = step`.
 */
export function panClip(photo: RgbImage, step: Shift, o: ClipOptions): Clip {
  const { width, height, frames } = o;
  const spanX = Math.abs(step.dx) * (frames - 1), spanY = Math.abs(step.dy) * (frames - 1);
  if (width + spanX > photo.width || height + spanY > photo.height) {
    throw new RangeError(`a ${frames}-frame pan of ${width}×${height} by (${step.dx}, ${step.dy}) px/frame needs a photo of at least ${width + spanX}×${height + spanY}, got ${photo.width}×${photo.height}`);
  }
  const startX = step.dx > 0 ? 0 : step.dx < 0 ? spanX : Math.floor((photo.width - width) / 2);
  const startY = step.dy > 0 ? 0 : step.dy < 0 ? spanY : Math.floor((photo.height - height) / 2);
  const rng = new Rng(o.seed ?? 0);
  const out: RgbImage[] = [];
  for (let t = 0; t < frames; t++) {
    const f = crop(photo, startX + t * step.dx, startY + t * step.dy, width, height);
    out.push(o.noise === null ? f : addSensorNoise(f, o.noise ?? DEFAULT_SENSOR_NOISE, rng));
  }
  return { frames: out, shift: { dx: step.dx, dy: step.dy } };
}

/** A still scene: the centre `width×height` of `photo` in every frame, each with fresh noise. */
export function stillClip(photo: RgbImage, o: ClipOptions): Clip {
  if (o.noise === null) throw new RangeError('a still clip without noise does not change: give it noise');
  return panClip(photo, { dx: 0, dy: 0 }, o);
}
