/**
 * Padding layers: PyTorch's `nn.ReflectionPad2d` and `nn.ReplicationPad2d`.
 *
 * Reflection extends the image by mirroring it about its border pixels without repeating
 * them (…, x2, x1, | x0, x1, x2, …). PyTorch refuses pads ≥ the padded dimension; here a large
 * pad is applied in steps, each reflecting about the border reached so far. Because reflecting
 * about x0 and about x_{n−1} generates the whole mirror-periodic extension, the steps give
 * exactly numpy's `np.pad(mode='reflect')` for any pad, and PyTorch's result wherever PyTorch
 * accepts the pad. This lets the paper's 40-pixel reflection run on images smaller than 41 px.
 */
import { F, tidy, type Tensor } from '../../engine/index.js';
import { Module } from '../module.js';

/** `n` on every side, or `[left, right, top, bottom]` as in torch.nn.functional.pad. */
export type Padding2d = number | readonly [left: number, right: number, top: number, bottom: number];

function pads(p: Padding2d): [number, number, number, number] {
  const out: [number, number, number, number] = typeof p === 'number' ? [p, p, p, p] : [p[0], p[1], p[2], p[3]];
  if (out.some((v) => !Number.isInteger(v) || v < 0)) throw new Error(`padding must be non-negative integers, got ${JSON.stringify(p)}`);
  return out;
}

/** Reflection padding of the last two dims, for any pad size (see the file comment). */
export function reflectPad(x: Tensor, padding: Padding2d): Tensor {
  let [l, r, t, b] = pads(padding);
  if (l + r + t + b === 0) return x;
  return tidy(() => {
    let y = x;
    while (l + r + t + b > 0) {
      const h = y.shape[y.ndim - 2]!;
      const w = y.shape[y.ndim - 1]!;
      // A 1-pixel dimension has nothing to mirror: the only sensible extension repeats it.
      if ((w === 1 && l + r > 0) || (h === 1 && t + b > 0)) {
        y = F.pad(y, [w === 1 ? l : 0, w === 1 ? r : 0, h === 1 ? t : 0, h === 1 ? b : 0], 'replicate');
        if (w === 1) l = r = 0;
        if (h === 1) t = b = 0;
        continue;
      }
      const step = [Math.min(l, w - 1), Math.min(r, w - 1), Math.min(t, h - 1), Math.min(b, h - 1)] as const;
      y = F.pad(y, [...step], 'reflect');
      l -= step[0];
      r -= step[1];
      t -= step[2];
      b -= step[3];
    }
    return y;
  });
}

export class ReflectionPad2d extends Module {
  readonly padding: [left: number, right: number, top: number, bottom: number];
  constructor(padding: Padding2d) {
    super();
    this.padding = pads(padding);
  }
  forward(x: Tensor): Tensor {
    return reflectPad(x, this.padding);
  }
}

export class ReplicationPad2d extends Module {
  readonly padding: [left: number, right: number, top: number, bottom: number];
  constructor(padding: Padding2d) {
    super();
    this.padding = pads(padding);
  }
  forward(x: Tensor): Tensor {
    return F.pad(x, [...this.padding], 'replicate');
  }
}
