/**
 * A stride-1 convolution with few output channels, rewritten as SpaceToDepth → conv →
 * DepthToSpace: the same numbers, about 2.5× faster on onnxruntime's CPU provider.
 *
 * Why: onnxruntime runs convolutions in its NCHWc layout, whose output channels come in blocks
 * of 16 (AVX-512) or 8 (AVX2). The last layer of every transformation network, a 9×9 conv
 * from 32 (or 16, 64) channels to 3, fills 3 of 16 lanes: measured 14 GFLOP/s against ~60 for
 * the other convs, and 18 % of the paper's network at 256² for 5 % of its FLOPs. Splitting the
 * output into its 2×2 pixel phases gives 4·3 = 12 output channels (and 4·C input channels, a
 * ⌊k/2⌋+1 kernel): measured 792 → 312 ms for 32→3, 9×9 at 1024² on one core.
 *
 * The rewrite, block 2: output pixel (2i+a, 2j+b) = Σ_{u,v} w[u,v]·xp[2i+a+u, 2j+b+v] (xp the
 * zero-padded input). With X = SpaceToDepth(xp), channel (p·2+q)·C + c at (I, J) holding
 * xp[2I+p, 2J+q], that is a valid conv over X whose weight at output channel (a·2+b)·O + o,
 * input channel (p·2+q)·C + c, tap (dr, dc) is w[o, c, 2dr+p−a, 2dc+q−b] (zero outside the
 * kernel); DepthToSpace (DCR) interleaves the phases back. The padding at the bottom/right is
 * computed from the run-time size so that the padded size is even and the phases cover the
 * whole output, which is then cropped to the conv's exact output size.
 *
 * Costs three cheap data movements (Pad, SpaceToDepth, DepthToSpace) — worth it only where the
 * conv is badly blocked, hence {@link worthSpaceToDepth}. onnxruntime-web's WebGPU provider has
 * no SpaceToDepth kernel and runs that node on its CPU fallback (still correct).
 */
import type { OnnxGraphBuilder, Value } from './graph-builder.js';
import * as L from './layers.js';

export interface SmallConvParams {
  name: string;
  /** OIHW, square kernel. */
  weight: Float32Array;
  shape: readonly [outC: number, inC: number, k: number, k2: number];
  bias?: Float32Array;
  /** Zero padding [top, left, bottom, right]. */
  pads: L.Pads2d;
}

/** Where the rewrite pays: stride 1, no groups/dilation, a real kernel, ≤ 4 outputs from ≥ 8 inputs (measured). */
export function worthSpaceToDepth(o: { outChannels: number; inChannels: number; kernel: number; stride: number; groups: number; dilation: number }): boolean {
  return o.stride === 1 && o.groups === 1 && o.dilation === 1 && o.kernel >= 3 && o.outChannels <= 4 && o.inChannels >= 8;
}

/** The phase-split weight `[4·O, 4·C, K, K]`, K = ⌊k/2⌋ + 1 (see the file comment). */
export function spaceToDepthWeight(w: Float32Array, outC: number, inC: number, k: number): { weight: Float32Array; kernel: number } {
  const K = Math.floor(k / 2) + 1;
  const weight = new Float32Array(4 * outC * 4 * inC * K * K);
  for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) for (let o = 0; o < outC; o++) {
    const oc = (a * 2 + b) * outC + o;
    for (let p = 0; p < 2; p++) for (let q = 0; q < 2; q++) for (let c = 0; c < inC; c++) {
      const ic = (p * 2 + q) * inC + c;
      for (let dr = 0; dr < K; dr++) {
        const u = 2 * dr + p - a;
        if (u < 0 || u >= k) continue;
        for (let dc = 0; dc < K; dc++) {
          const v = 2 * dc + q - b;
          if (v < 0 || v >= k) continue;
          weight[((oc * 4 * inC + ic) * K + dr) * K + dc] = w[((o * inC + c) * k + u) * k + v]!;
        }
      }
    }
  }
  return { weight, kernel: K };
}

export function convSpaceToDepth(g: OnnxGraphBuilder, x: Value, p: SmallConvParams): Value {
  const [outC, inC, k, k2] = p.shape;
  if (k !== k2) throw new Error(`convSpaceToDepth ${p.name}: square kernels only, got ${k}×${k2}`);
  const [top, left, bottom, right] = p.pads;
  const { weight, kernel: K } = spaceToDepthWeight(p.weight, outC, inC, k);
  const bias = p.bias ? Float32Array.from({ length: 4 * outC }, (_, i) => p.bias![i % outC]!) : undefined;

  const c2 = (a: number, b: number) => g.int64Constant([a, b], [2], 's2d');
  const hw = g.node('Shape', [x], { start: 2, end: 4 });
  // The conv's output size, then the padded size 2·(⌈out/2⌉ + K − 1) the phases need.
  const out = g.node('Add', [hw, c2(top + bottom - k + 1, left + right - k + 1)]);
  const half = g.node('Div', [g.node('Add', [out, c2(1, 1)]), c2(2, 2)]);
  const padded = g.node('Mul', [g.node('Add', [half, c2(K - 1, K - 1)]), c2(2, 2)]);
  const end = g.node('Sub', [padded, g.node('Add', [hw, c2(top, left)])]); // ≥ bottom/right, at most one more
  const zeros2 = c2(0, 0);
  const pads = g.node('Concat', [zeros2, c2(top, left), zeros2, end], { axis: 0 });
  const xp = g.node('Pad', [x, pads], { mode: 'constant' });

  const phases = g.node('SpaceToDepth', [xp], { blocksize: 2 });
  const y = L.conv(g, phases, { name: p.name, weight, shape: [4 * outC, 4 * inC, K, K], bias });
  const full = g.node('DepthToSpace', [y], { blocksize: 2, mode: 'DCR' });
  // 2·⌈out/2⌉ rows and columns: drop the extra one of an odd size.
  return g.node('Slice', [full, zeros2, out, c2(2, 3)]);
}
