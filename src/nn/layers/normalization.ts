/**
 * The normalisation choice of the image networks: batch norm (the paper), instance norm, or
 * none (the residual SR networks: normalisation would remove the very intensities they add to).
 */
import type { Layer } from '../module.js';
import { BatchNorm2d } from './batch-norm2d.js';
import { InstanceNorm2d } from './instance-norm2d.js';
import { Identity } from './identity.js';

export type NormKind = 'batch' | 'instance' | 'none';
export const NORM_KINDS: readonly NormKind[] = ['batch', 'instance', 'none'];

export function createNorm(kind: NormKind, channels: number): Layer {
  switch (kind) {
    case 'batch':
      return new BatchNorm2d(channels);
    case 'instance':
      return new InstanceNorm2d(channels);
    case 'none':
      return new Identity();
    default:
      throw new Error(`unknown normalization '${kind as string}' (use ${NORM_KINDS.join(', ')})`);
  }
}
