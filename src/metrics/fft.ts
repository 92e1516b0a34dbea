/**
 * A small complex FFT for the spectral measures in src/eval (the grid-artefact figure): iterative
 * radix-2 Cooley–Tukey for power-of-two lengths, Bluestein's chirp-z for any other length (the
 * photos we measure are 712×474, not powers of two), and a 2-D transform as rows then columns.
 *
 * Why not a package: the npm FFTs that are well kept (fft.js) take powers of two only, so
 * Bluestein would have to be written on top anyway, and this tree's dependencies are fixed (no
 * `npm install` in a shared tree). The engine has no FFT op. Float64 throughout: the figure
 * compares powers that differ by 10⁶, and float32 round-off would floor the median.
 *
 * Convention (numpy.fft.fft): X[k] = Σ_n x[n]·exp(−2πi·k·n/N), no normalisation.
 */

/** Complex signal as separate real and imaginary arrays of equal length. */
export interface ComplexArray {
  re: Float64Array;
  im: Float64Array;
}

const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/** In-place radix-2 FFT of a power-of-two length (`inverse`: conjugate twiddles, no 1/N). */
function radix2(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i]!; re[i] = re[j]!; re[j] = t;
      t = im[i]!; im[i] = im[j]!; im[j] = t;
    }
  }
  const sign = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const step = (sign * 2 * Math.PI) / len;
    for (let k = 0; k < half; k++) {
      // Twiddles computed directly (not by recurrence) so the error does not grow with n.
      const wr = Math.cos(step * k), wi = Math.sin(step * k);
      for (let s = k; s < n; s += len) {
        const t = s + half;
        const xr = re[t]! * wr - im[t]! * wi;
        const xi = re[t]! * wi + im[t]! * wr;
        re[t] = re[s]! - xr; im[t] = im[s]! - xi;
        re[s] = re[s]! + xr; im[s] = im[s]! + xi;
      }
    }
  }
}

/** Bluestein plans per length: the chirp and the FFT of its padded conjugate. */
const bluesteinPlans = new Map<number, { m: number; wr: Float64Array; wi: Float64Array; br: Float64Array; bi: Float64Array }>();

function bluesteinPlan(n: number) {
  let plan = bluesteinPlans.get(n);
  if (plan) return plan;
  let m = 1;
  while (m < 2 * n - 1) m <<= 1;
  const wr = new Float64Array(n), wi = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    // exp(−πi k²/n); k² mod 2n keeps the angle small and exact for large k.
    const a = (Math.PI * ((k * k) % (2 * n))) / n;
    wr[k] = Math.cos(a);
    wi[k] = -Math.sin(a);
  }
  const br = new Float64Array(m), bi = new Float64Array(m);
  br[0] = wr[0]!; bi[0] = -wi[0]!;
  for (let k = 1; k < n; k++) {
    br[k] = br[m - k] = wr[k]!;
    bi[k] = bi[m - k] = -wi[k]!;
  }
  radix2(br, bi, false);
  plan = { m, wr, wi, br, bi };
  bluesteinPlans.set(n, plan);
  return plan;
}

/** In-place forward FFT of any length ≥ 1 (numpy.fft.fft's convention). */
export function fft(x: ComplexArray): void {
  const { re, im } = x;
  const n = re.length;
  if (im.length !== n) throw new Error(`fft: real part has ${n} values, imaginary part ${im.length}`);
  if (n <= 1) return;
  if (isPowerOfTwo(n)) return radix2(re, im, false);
  // Bluestein: X[k] = w[k] · Σ_j (x[j] w[j]) · conj(w[k−j]), a convolution done with radix-2.
  const { m, wr, wi, br, bi } = bluesteinPlan(n);
  const ar = new Float64Array(m), ai = new Float64Array(m);
  for (let k = 0; k < n; k++) {
    ar[k] = re[k]! * wr[k]! - im[k]! * wi[k]!;
    ai[k] = re[k]! * wi[k]! + im[k]! * wr[k]!;
  }
  radix2(ar, ai, false);
  for (let k = 0; k < m; k++) {
    const r = ar[k]! * br[k]! - ai[k]! * bi[k]!;
    ai[k] = ar[k]! * bi[k]! + ai[k]! * br[k]!;
    ar[k] = r;
  }
  radix2(ar, ai, true);
  for (let k = 0; k < n; k++) {
    const r = ar[k]! / m, i = ai[k]! / m;
    re[k] = r * wr[k]! - i * wi[k]!;
    im[k] = r * wi[k]! + i * wr[k]!;
  }
}

/**
 * 2-D FFT of a real `height × width` plane (row-major), as numpy.fft.fft2: returns the complex
 * spectrum, row-major, index ky·width + kx.
 */
export function fft2Real(plane: ArrayLike<number>, width: number, height: number): ComplexArray {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || plane.length !== width * height) {
    throw new Error(`fft2Real: plane of ${plane.length} values does not match ${width}×${height}`);
  }
  const re = Float64Array.from(plane);
  const im = new Float64Array(width * height);
  const rowRe = new Float64Array(width), rowIm = new Float64Array(width);
  for (let y = 0; y < height; y++) {
    const o = y * width;
    rowRe.set(re.subarray(o, o + width));
    rowIm.fill(0);
    fft({ re: rowRe, im: rowIm });
    re.set(rowRe, o);
    im.set(rowIm, o);
  }
  const colRe = new Float64Array(height), colIm = new Float64Array(height);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      colRe[y] = re[y * width + x]!;
      colIm[y] = im[y * width + x]!;
    }
    fft({ re: colRe, im: colIm });
    for (let y = 0; y < height; y++) {
      re[y * width + x] = colRe[y]!;
      im[y * width + x] = colIm[y]!;
    }
  }
  return { re, im };
}
