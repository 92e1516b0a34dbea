/** PyTorch's `nn.Identity`: the "no normalisation" choice of the image networks (norm 'none'). */
import type { Tensor } from '../../engine/index.js';
import { Module } from '../module.js';

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
