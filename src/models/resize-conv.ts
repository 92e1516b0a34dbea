/**
 * Architecture surgery: a trained network with transposed-convolution upsampling (`uN`) turned
 * into the same network with resize-convolutions (`rcN`: nearest ×2, then a 3×3 convolution),
 * every other weight kept.
 *
 * Why: the first shipped styles (`half-instance`, `u32,u16`) print the period-2/4 grid that
 * issue 13 measures, and a transposed convolution cannot stop doing so (architecture.ts). Training
 * a resize-convolution network from scratch throws away the CPU hours those networks cost;
 * converting them keeps what they learned and lets a fine-tune start from a grid-free network.
 *
 * The mapping (1-D, per axis; a 3×3 transposed convolution with stride 2, padding 1, output
 * padding 1 and kernel W, against nearest ×2 and a 3×3 convolution with kernel V, padding 1):
 *   transposed:  y[2m] = W1·x[m],                     y[2m+1] = W2·x[m] + W0·x[m+1]
 *   resize-conv: y[2m] = V0·x[m−1] + (V1+V2)·x[m],    y[2m+1] = (V0+V1)·x[m] + V2·x[m+1]
 * With V = flip(W) (V0 = W2, V2 = W0) the odd outputs take x[m] and x[m+1] on the same sides as
 * the transposed layer does, and every output pixel sums all three taps, where the transposed
 * layer's even/odd phases sum one or two of them — that uneven sum is the checkerboard. On a
 * constant input the resize-convolution gives ΣW per axis, the transposed layer W1 or W0+W2: so
 * the kernel is also scaled by ¼ (½ per axis), which makes the converted layer's output on flat
 * regions the mean of the transposed layer's four phases. In 2-D the kernel is flipped on both
 * axes and its in/out channels swapped (ConvTranspose2d stores [in, out, kH, kW], Conv2d
 * [out, in, kH, kW]); the bias is kept. Where a normalisation follows (every `uN` of the style
 * networks), the ¼ and the bias matter little: the point is the spatial pattern.
 */
import { noGrad, tidy } from '../engine/index.js';
import { ConvTranspose2d } from '../nn/index.js';
import { formatArch, parseArch } from './architecture.js';
import { TransformerNet } from './transformer-net.js';

/** The same architecture with every `uN` written `rcN` (other layers unchanged). */
export function resizeConvArch(arch: string): string {
  const layers = parseArch(arch);
  if (!layers.some((l) => l.kind === 'up')) throw new Error(`resizeConvArch: "${arch}" has no transposed-convolution upsampling (uN) to replace`);
  return formatArch(layers.map((l) => (l.kind === 'up' ? { kind: 'resize', out: l.out, mode: 'nearest' } : l)));
}

/**
 * A new network with resize-convolutions in place of `src`'s transposed convolutions, its weights
 * taken from `src` (converted as above for the upsampling kernels, copied for everything else).
 * The caller disposes both networks.
 */
export function toResizeConvolution(src: TransformerNet): TransformerNet {
  const dst = TransformerNet.fromConfig({ ...src.config, arch: resizeConvArch(src.config.arch) });
  try {
    // Both state dicts list parameters and buffers depth first; the rc network has one more
    // module per upsampling layer (the parameter-free Upsample), so names differ but order and
    // count of tensors agree: pair them in order and check every shape.
    // The kernels to convert: a transposed convolution's weight whose counterpart is no longer one
    // (an `fKsS-N` layer stays a transposed convolution and is copied as it is).
    const transposedIn = (net: TransformerNet) => new Set(net.namedModules().filter(([, m]) => m instanceof ConvTranspose2d).map(([p]) => `${p}.weight`));
    const transposed = transposedIn(src);
    const stillTransposed = transposedIn(dst);
    const from = [...src.stateDict()];
    const to = [...dst.stateDict()];
    if (from.length !== to.length) throw new Error(`toResizeConvolution: ${from.length} tensors in the source network, ${to.length} in the resize-convolution one (${src.config.arch})`);
    tidy(() =>
      noGrad(() => {
        from.forEach(([name, s], i) => {
          const [dname, d] = to[i]!;
          const value = transposed.has(name) && !stillTransposed.has(dname) ? s.permute([1, 0, 2, 3]).flip([2, 3]).mul(0.25) : s;
          if (value.shape.length !== d.shape.length || value.shape.some((n, k) => n !== d.shape[k])) {
            throw new Error(`toResizeConvolution: ${name} [${s.shape.join(', ')}] does not map onto ${dname} [${d.shape.join(', ')}]`);
          }
          d.copy_(value);
        });
      }),
    );
  } catch (e) {
    dst.dispose();
    throw e;
  }
  return dst;
}

/** The same architecture with every nearest resize-convolution `rcN` written `rbN` (bilinear ×2). */
export function bilinearResizeArch(arch: string): string {
  const layers = parseArch(arch);
  if (!layers.some((l) => l.kind === 'resize' && l.mode === 'nearest')) throw new Error(`bilinearResizeArch: "${arch}" has no nearest resize-convolution (rcN) to replace`);
  return formatArch(layers.map((l) => (l.kind === 'resize' ? { ...l, mode: 'bilinear' as const } : l)));
}

/**
 * A new network with bilinear resize-convolutions (`rbN`) in place of `src`'s nearest ones
 * (`rcN`), every tensor copied as it is: the interpolation has no weights, so the two networks have
 * the same state dict, and they compute the same thing wherever the features are locally constant
 * or linear (architecture.ts says what differs). The start of an `rb` fine-tune; the caller
 * disposes both networks.
 */
export function toBilinearResize(src: TransformerNet): TransformerNet {
  const dst = TransformerNet.fromConfig({ ...src.config, arch: bilinearResizeArch(src.config.arch) });
  try {
    // Strict: every tensor by name, shapes checked (Module.loadStateDict says which one does not fit).
    dst.loadStateDict(new Map(src.stateDict()), { strict: true });
  } catch (e) {
    dst.dispose();
    throw e;
  }
  return dst;
}
