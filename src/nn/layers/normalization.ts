/** The normalisation choice of the image networks: batch norm (the paper) or instance norm. */
import type { Layer } from '../module.js';
import { BatchNorm2d } from './batch-norm2d.js';
import { InstanceNorm2d } from './instance-norm2d.js';

export type NormKind = 'batch' | 'instance';
export const NORM_KINDS: readonly NormKind[] = ['batch', 'instance'];

export function createNorm(kind: NormKind, channels: number): Layer {
  switch (kind) {
    case 'batch':
      return new BatchNorm2d(channels);
    case 'instance':
      return new InstanceNorm2d(channels);
    default:
      throw new Error(`unknown normalization '${kind as string}' (use ${NORM_KINDS.join(' or ')})`);
  }
}
