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

export interface SrNetOptions {
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

export function buildSrNet(factor: SrFactor | number, options: SrNetOptions = {}): TransformerNet {
  return new TransformerNet({
    kind: 'sr',
    factor,
    arch: options.arch ?? srArch(factor),
    norm: options.norm ?? 'batch',
    padding: options.padding ?? 'zero',
  });
}
