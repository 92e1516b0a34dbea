/**
 * Multiplication by a constant. The residual SR networks work on (input / 255) and scale their
 * output back by 255: with unnormalised 0–255 inputs and no normalisation layer, activations
 * would be ~100× larger than the unit-scale ones their initialisation and Adam's step size
 * assume.
 */
import type { Tensor } from '../../engine/index.js';
import { Module } from '../module.js';

export class Scale extends Module {
  constructor(readonly factor: number) {
    super();
    if (!Number.isFinite(factor)) throw new Error(`Scale: factor must be finite, got ${factor}`);
  }
  forward(x: Tensor): Tensor {
    return x.mul(this.factor);
  }
}
