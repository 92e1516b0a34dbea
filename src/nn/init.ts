/**
 * Weight initialisation, as PyTorch's layers do it by default, drawn from libtorch's global
 * generator so that `manualSeed(n)` makes a freshly built network reproducible.
 *
 * PyTorch's Conv2d/ConvTranspose2d `reset_parameters()` is `kaiming_uniform_(w, a=√5)` and a
 * uniform bias. With a = √5 the Kaiming gain is √(2/(1+a²)) = √(1/3), so the bound
 * gain·√(3/fan_in) simplifies to 1/√fan_in: weights and biases are both U(−1/√fan_in, 1/√fan_in).
 * (The same numbers PyTorch would give in distribution, not bit for bit: its generator is
 * consumed in another order.)
 */
import { rand, tidy, type Tensor } from '../engine/index.js';

/** U(−bound, bound) of the given shape, float32. */
export function uniform(shape: number[], bound: number): Tensor {
  return tidy(() => rand(shape).mul(2 * bound).sub(bound));
}

/**
 * PyTorch's fan_in of a weight: size(1) × receptive field. For a conv weight [out, in, kh, kw]
 * that is in·kh·kw; for a transposed conv's [in, out, kh, kw] it is out·kh·kw, which is what
 * PyTorch uses too (it does not special-case transposed convolutions).
 */
export function fanIn(shape: readonly number[]): number {
  if (shape.length < 2) throw new Error(`fanIn: need at least 2 dimensions, got [${shape.join(', ')}]`);
  return shape.slice(1).reduce((a, b) => a * b, 1);
}

/** PyTorch's default conv init: weight and bias bound 1/√fan_in (kaiming_uniform with a = √5). */
export function kaimingUniformBound(weightShape: readonly number[]): number {
  return 1 / Math.sqrt(fanIn(weightShape));
}
