/**
 * The paper's super-resolution networks (Johnson et al., supplementary material, Table 2 for
 * ×4): 64×9×9 conv, four residual blocks of 64 filters, log2(f) stride-½ convolutions of 64
 * filters, 3×9×9 conv, scaled tanh; batch norm + ReLU after every non-residual convolution but
 * the last. There the residual blocks keep the 72×72 size of the ×4 input (72 → 72 through all
 * four), i.e. they are *padded*, unlike the style network's, and there is no reflection pad at
 * the input; with Torch's convolutions that padding is zeros, hence padding 'zero'.
 *
 * Trained on 288×288 patches of which the input is the 288/f downsampled copy (`SR_PATCH`);
 * being fully convolutional, it runs on any size at inference: [N,3,H,W] → [N,3,fH,fW].
 */
import type { NormKind } from '../nn/layers/index.js';
import { TransformerNet, type NetPadding } from './transformer-net.js';

export const SR_FACTORS = [2, 4, 8] as const;
export type SrFactor = (typeof SR_FACTORS)[number];

/** The paper's high-resolution training patch size; inputs are SR_PATCH / factor. */
export const SR_PATCH = 288;

/**
 * 'paper': the network above. 'fast' (beyond the paper): every convolution at the input
 * resolution, ending in a sub-pixel convolution (Shi et al., CVPR 2016: 3·f² filters, then a
 * pixel shuffle), no normalisation, replicated edges, and a residual to bicubic upsampling
 * (ŷ = bicubic(x) + f_W(x), Kim et al.'s VDSR idea). It costs 1/12 of the paper network's
 * multiply-adds at ×4 (1/21 at ×8) and starts training at the bicubic baseline, which is what lets it be
 * trained to beat bicubic on a 2-core CPU.
 */
export const SR_NETS = ['paper', 'fast'] as const;
export type SrNetName = (typeof SR_NETS)[number];

export interface SrNetOptions {
  /** Default 'paper'. */
  net?: SrNetName;
  norm?: NormKind;
  padding?: NetPadding;
  /** Override the architecture string (must upsample by exactly `factor`). */
  arch?: string;
}

/** `c9s1-64,R64,R64,R64,R64,u64,…,c9s1-3` with log2(factor) `u64` layers. */
export function srArch(factor: number): string {
  if (!(SR_FACTORS as readonly number[]).includes(factor)) {
    throw new Error(`super-resolution factor must be one of ${SR_FACTORS.join(', ')} (log2(f) stride-½ layers), got ${factor}`);
  }
  const ups = Array.from({ length: Math.log2(factor) }, () => 'u64');
  return ['c9s1-64', 'R64', 'R64', 'R64', 'R64', ...ups, 'c9s1-3'].join(',');
}

/** The 'fast' preset: `c5s1-64,c3s1-64,c3s1-64,c3s1-32,c3s1-(3f²),x<f>`. */
export function fastSrArch(factor: number): string {
  srArch(factor); // same factor check
  return `c5s1-64,c3s1-64,c3s1-64,c3s1-32,c3s1-${3 * factor * factor},x${factor}`;
}

export function buildSrNet(factor: SrFactor | number, options: SrNetOptions = {}): TransformerNet {
  const net = options.net ?? 'paper';
  if (!SR_NETS.includes(net)) throw new Error(`unknown SR network '${String(net)}' (use ${SR_NETS.join(' or ')})`);
  const fast = net === 'fast';
  return new TransformerNet({
    kind: 'sr',
    factor,
    arch: options.arch ?? (fast ? fastSrArch(factor) : srArch(factor)),
    norm: options.norm ?? (fast ? 'none' : 'batch'),
    padding: options.padding ?? (fast ? 'replicate' : 'zero'),
    ...(fast ? { residual: 'bicubic' as const } : {}),
  });
}
