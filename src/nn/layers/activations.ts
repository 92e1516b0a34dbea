/** Parameter-free activations: ReLU, Tanh, and the scaled tanh that ends the image networks. */
import type { Tensor } from '../../engine/index.js';
import { Module } from '../module.js';

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/**
 * `scale·tanh(x) + offset`. The default, 127.5·tanh(x) + 127.5 = 255·(tanh(x)+1)/2, maps onto
 * the open interval (0, 255): the paper's "scaled tanh to ensure that the output image has
 * pixels in the range [0, 255]", without a clamp (a clamp would zero the gradient of saturated
 * pixels). fast-neural-style instead uses 150·tanh(x) in mean-subtracted space.
 */
export class ScaledTanh extends Module {
  constructor(
    readonly scale = 127.5,
    readonly offset = 127.5,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    const y = x.tanh().mul(this.scale);
    return this.offset === 0 ? y : y.add(this.offset);
  }
}
