/**
 * The grid-artefact figure (issue 13, item 4): how strongly an image carries the periodic grid
 * that strided convolutions and transposed convolutions print on a stylised image.
 *
 * A network with two stride-2 layers has a 4-px period in everything it draws, so its grid is a
 * set of spectral lines at the frequencies (fy, fx) ∈ {0, ¼, ½, −¼}² cycles/px, (0, 0) excepted
 * (15 frequencies; ½ and −½ are the same bin). A photograph has a smooth, falling spectrum there.
 * The figure: on the luminance, mean removed, times a 2-D Hann window (numpy.hanning, so the
 * image border does not leak a cross through the spectrum), power |F|²; for each of the 15
 * frequencies, the peak power (max over the bins within `peakRadius` of the frequency — a Hann
 * window spreads a line over ±1 bin, and ¼·474 falls between bins) divided by the median power of
 * its neighbourhood (the bins at Chebyshev distance peakRadius < d ≤ neighbourhoodRadius); the
 * figure is the geometric mean of the 15 ratios. 1 means no line at all; a photo scores a few
 * (JPEG's 8-px blocks put weak lines at the same frequencies), a network with a visible grid
 * hundreds.
 *
 * The ratio of a line to a noise floor grows with the number of pixels, so figures compare only
 * at the same image size: the are on the 712×474 chicago photo (photo ≈ 6, ml5 "wave"
 * 87, a Gatys result ≈ 5, our earlier styles 204–590).
 */
import type { RgbImage } from '../data/image.js';
import { fft2Real } from './fft.js';

/** Defaults, declared once. */
export const ARTEFACT_DEFAULTS = {
  /** Bins either side of a grid frequency searched for its peak (Hann main lobe: ±1). */
  peakRadius: 1,
  /** Outer Chebyshev radius, in bins, of the neighbourhood whose median is the floor. */
  neighbourhoodRadius: 8,
} as const;

/** The grid frequencies per axis, cycles per pixel. */
export const GRID_FREQUENCIES: readonly number[] = [0, 0.25, 0.5, -0.25];

export interface ArtefactOptions {
  peakRadius?: number;
  neighbourhoodRadius?: number;
}

export interface GridPeak {
  /** Frequency, cycles per pixel (vertical, horizontal). */
  fy: number;
  fx: number;
  /** Peak power over the neighbourhood's median power. */
  ratio: number;
}

export interface ArtefactFigure {
  /** Geometric mean of the 15 peak ratios. */
  figure: number;
  peaks: GridPeak[];
  width: number;
  height: number;
}

/** Plain luminance Y = 0.299 R + 0.587 G + 0.114 B (BT.601 weights; offset and scale do not change the figure). */
export function lumaPlane(img: RgbImage): Float64Array {
  const n = img.width * img.height;
  if (img.data.length !== n * 3) throw new Error(`lumaPlane: ${img.width}×${img.height} RGB needs ${n * 3} values, got ${img.data.length}`);
  const out = new Float64Array(n);
  for (let p = 0, i = 0; p < n; p++, i += 3) out[p] = 0.299 * img.data[i]! + 0.587 * img.data[i + 1]! + 0.114 * img.data[i + 2]!;
  return out;
}

/** numpy.hanning(n): 0.5 − 0.5·cos(2πk/(n−1)), symmetric, zero at both ends; [1] for n = 1. */
export function hann(n: number): Float64Array {
  const w = new Float64Array(n);
  if (n === 1) w[0] = 1;
  for (let k = 0; k < n && n > 1; k++) w[k] = 0.5 - 0.5 * Math.cos((2 * Math.PI * k) / (n - 1));
  return w;
}

/** Power spectrum |F|² of the mean-removed, Hann-windowed plane (row-major, ky·width + kx). */
export function windowedPowerSpectrum(plane: ArrayLike<number>, width: number, height: number): Float64Array {
  let mean = 0;
  for (let i = 0; i < plane.length; i++) mean += plane[i]!;
  mean /= plane.length;
  const wy = hann(height), wx = hann(width);
  const x = new Float64Array(width * height);
  for (let y = 0; y < height; y++) for (let c = 0; c < width; c++) x[y * width + c] = (plane[y * width + c]! - mean) * wy[y]! * wx[c]!;
  const { re, im } = fft2Real(x, width, height);
  const p = new Float64Array(re.length);
  for (let i = 0; i < p.length; i++) p[i] = re[i]! * re[i]! + im[i]! * im[i]!;
  return p;
}

function median(xs: number[]): number {
  const s = xs.sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The figure from a luminance plane. */
export function gridArtefactsOfPlane(plane: ArrayLike<number>, width: number, height: number, options: ArtefactOptions = {}): ArtefactFigure {
  const peakRadius = options.peakRadius ?? ARTEFACT_DEFAULTS.peakRadius;
  const outer = options.neighbourhoodRadius ?? ARTEFACT_DEFAULTS.neighbourhoodRadius;
  if (!(Number.isInteger(peakRadius) && peakRadius >= 0 && Number.isInteger(outer) && outer > peakRadius)) {
    throw new Error(`gridArtefacts: need integers 0 ≤ peakRadius < neighbourhoodRadius, got ${peakRadius}, ${outer}`);
  }
  // The neighbourhood must not reach the next grid frequency (¼ apart) nor wrap onto itself.
  if (2 * outer + 1 > Math.min(width, height) / 4) {
    throw new Error(`gridArtefacts: a ${width}×${height} image is too small for a neighbourhood of ±${outer} bins (needs min side ≥ ${4 * (2 * outer + 1)})`);
  }
  const power = windowedPowerSpectrum(plane, width, height);
  const at = (ky: number, kx: number) => power[(((ky % height) + height) % height) * width + (((kx % width) + width) % width)]!;
  const peaks: GridPeak[] = [];
  for (const fy of GRID_FREQUENCIES) {
    for (const fx of GRID_FREQUENCIES) {
      if (fy === 0 && fx === 0) continue;
      const cy = Math.round(fy * height), cx = Math.round(fx * width);
      let peak = 0;
      const ring: number[] = [];
      for (let dy = -outer; dy <= outer; dy++) {
        for (let dx = -outer; dx <= outer; dx++) {
          const v = at(cy + dy, cx + dx);
          if (Math.max(Math.abs(dy), Math.abs(dx)) <= peakRadius) peak = Math.max(peak, v);
          else ring.push(v);
        }
      }
      const floor = median(ring);
      // A constant image has no floor and no peak: ratio 1 (no line), not 0/0.
      peaks.push({ fy, fx, ratio: floor > 0 ? peak / floor : peak > 0 ? Infinity : 1 });
    }
  }
  const figure = Math.exp(peaks.reduce((s, p) => s + Math.log(p.ratio), 0) / peaks.length);
  return { figure, peaks, width, height };
}

/** The grid-artefact figure of an RGB image (see the header). */
export function gridArtefacts(img: RgbImage, options: ArtefactOptions = {}): ArtefactFigure {
  return gridArtefactsOfPlane(lumaPlane(img), img.width, img.height, options);
}

/**
 * Dark patches: the share of pixels whose brightest channel is at most `threshold` (0–255), i.e.
 * where a style network has driven its output tanh to its black end. Instance-norm networks early in
 * training paint such patches over dark parts of a photo (the "droplets" StyleGAN 2 traced to
 * per-image normalisation; the stability term, which any saturated region satisfies for free,
 * enlarges them). Compare with the photo's own share: a night photo has dark pixels of its own.
 */
export function darkFraction(img: RgbImage, threshold = 12): number {
  if (img.channels !== 3 || img.data.length !== img.width * img.height * 3) {
    throw new Error(`darkFraction: expected an RGB image with ${img.width * img.height * 3} bytes, got ${img.data.length} bytes of ${img.channels} channels`);
  }
  let n = 0;
  for (let i = 0; i < img.data.length; i += 3) if (Math.max(img.data[i]!, img.data[i + 1]!, img.data[i + 2]!) <= threshold) n++;
  return n / (img.width * img.height);
}
