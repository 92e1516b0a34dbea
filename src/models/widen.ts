/**
 * Architecture surgery: a trained network made k× wider without changing what it computes
 * (Net2WiderNet, Chen, Goodfellow & Shlens, "Net2Net", ICLR 2016) — e.g. a `half-instance-rc`
 * style network (c9s1-16 … R64 … rc16) into a `paper-instance-rc` one (c9s1-32 … R128 … rc32) that
 * starts exactly where the narrow one stopped.
 *
 * Why: the shipped styles are half-width networks fine-tuned at 256 px (README "The shipped styles
 * now"); their validation loss flattens while Gatys-100 is still 1.6–2.3× lower (issue 13 item 6).
 * The paper's width has 4× the parameters for ~20 % more time a step (the VGG loss network
 * dominates), but training it from noise threw away the CPU hours the narrow networks hold; a
 * function-preserving widening keeps them and adds the capacity.
 *
 * The mapping, for every hidden layer of C channels widened to kC: output channel j + mC (m < k)
 * is a copy of channel j (kernel rows, bias, norm γ/β), so the copies carry identical activations
 * — instance norm and ReLU act per channel, and a residual block adds two tensors that are copied
 * alike. A layer that reads widened channels splits each input weight among the k copies with
 * random positive shares that sum to 1 (element by element), so its output is the narrow layer's
 * exactly (up to rounding). The shares are not ½ each on purpose: with equal shares the copies
 * would also receive equal gradients and stay copies for ever; unequal ones break that symmetry at
 * the first step without any noise added to the function. The RGB input and output layers keep 3
 * channels. Transposed convolutions ([in, out, kH, kW]) are handled with their axes swapped.
 */
import { F, manualSeed, noGrad, rand, tidy, type Tensor } from '../engine/index.js';
import { ConvTranspose2d } from '../nn/index.js';
import { ArchitectureError, formatArch, parseArch, type ArchLayer } from './architecture.js';
import { TransformerNet } from './transformer-net.js';

/** The architecture with every hidden layer's channel count × `factor` (the 3-channel output layer kept). */
export function widenArch(arch: string, factor: number): string {
  if (!Number.isInteger(factor) || factor < 2) throw new RangeError(`widenArch: factor must be an integer ≥ 2, got ${factor}`);
  const layers = parseArch(arch);
  if (layers.some((l) => l.kind === 'shuffle')) throw new ArchitectureError(arch, 'widening a network with a pixel shuffle (xS) is not supported: the shuffle fixes the channel count before it');
  const last = layers.length - 1;
  const wide = layers.map((l, i): ArchLayer => {
    switch (l.kind) {
      case 'conv':
      case 'full':
        return i === last ? l : { ...l, out: l.out * factor };
      case 'down':
      case 'up':
      case 'resize':
        return { ...l, out: l.out * factor };
      case 'convBlock':
      case 'residual':
        return { ...l, channels: l.channels * factor };
      default:
        return l;
    }
  });
  return formatArch(wide);
}

/** k tensors of `shape` with positive entries (0.5–1.5 before normalising) that sum to 1 element by element. */
function shares(k: number, shape: number[]): Tensor[] {
  const raw = Array.from({ length: k }, () => rand(shape).add(0.5));
  const total = raw.slice(1).reduce((a, b) => a.add(b), raw[0]!);
  return raw.map((r) => r.div(total));
}

/**
 * `src` widened `factor`× (see above) into a new network; `seed` fixes the random shares. The
 * caller disposes both networks. Throws when the architecture cannot be widened or a tensor does
 * not map (naming the tensor and both shapes).
 */
export function widen(src: TransformerNet, factor = 2, seed = 0): TransformerNet {
  const dst = TransformerNet.fromConfig({ ...src.config, arch: widenArch(src.config.arch, factor) });
  try {
    const transposed = new Set(src.namedModules().filter(([, m]) => m instanceof ConvTranspose2d).map(([p]) => `${p}.weight`));
    const from = [...src.stateDict()];
    const to = [...dst.stateDict()];
    if (from.length !== to.length) throw new Error(`widen: ${from.length} tensors in the source network, ${to.length} in the widened one (${src.config.arch})`);
    manualSeed(seed);
    tidy(() =>
      noGrad(() => {
        from.forEach(([name, s], i) => {
          const [dname, d] = to[i]!;
          if (name !== dname || s.shape.length !== d.shape.length) throw new Error(`widen: ${name} [${s.shape.join(', ')}] does not map onto ${dname} [${d.shape.join(', ')}]`);
          const ratio = s.shape.map((n, a) => d.shape[a]! / n);
          if (ratio.some((r, a) => r !== 1 && r !== factor) || ratio.slice(2).some((r) => r !== 1)) {
            throw new Error(`widen: ${name} [${s.shape.join(', ')}] does not map onto ${dname} [${d.shape.join(', ')}] (×${factor})`);
          }
          // Axis of output channels (copied) and of input channels (split): swapped for transposed convolutions.
          const [outAxis, inAxis] = transposed.has(name) ? [1, 0] : [0, 1];
          let v = s;
          if (ratio[outAxis] === factor) v = F.cat(Array.from({ length: factor }, () => v), outAxis);
          if (s.shape.length > 1 && ratio[inAxis] === factor) {
            const parts = shares(factor, v.shape);
            v = F.cat(parts.map((p) => v.mul(p)), inAxis);
          }
          d.copy_(v);
        });
      }),
    );
  } catch (e) {
    dst.dispose();
    throw e;
  }
  return dst;
}
