/**
 * Johnson's architecture strings (fast-neural-style `train.lua -arch`, parsed by
 * `build_model` in fast_neural_style/models.lua): comma-separated layers, e.g. the paper's
 * style network `c9s1-32,d64,d128,R128,R128,R128,R128,R128,u64,u32,c9s1-3`.
 *
 * | token    | layer (as in models.lua)                                                         |
 * |----------|----------------------------------------------------------------------------------|
 * | `cKsS-N` | K×K convolution, stride S, N filters, padded by (K−1)/2 (K odd)                  |
 * | `dN`     | 3×3 convolution, stride 2, zero padding 1, N filters (downsampling)              |
 * | `uN`     | 3×3 transposed convolution, stride 2, padding 1, output padding 1 (exactly ×2)   |
 * | `fKsS-N` | K×K transposed ("full") convolution, stride S, padding (K−1)/2, adj S−1 (×S)     |
 * | `US`     | nearest-neighbour upsampling ×S, channels unchanged                              |
 * | `CN`     | non-residual block: two 3×3 convolutions of N filters (input must have N)        |
 * | `RN`     | residual block of two 3×3 convolutions of N filters (input must have N)          |
 * | `xS`     | pixel shuffle ×S: channels ÷ S², size × S (sub-pixel convolution; not in models.lua) |
 * | `rcN`    | resize-convolution: nearest-neighbour ×2, then a 3×3 stride-1 convolution of N filters (not in models.lua) |
 * | `rbN`    | the same with bilinear ×2 (half-pixel centres, PyTorch's `align_corners=False`) (not in models.lua) |
 *
 * `RNxK` is accepted as shorthand for K copies of `RN` (not in models.lua). Layer semantics
 * (which get norm + ReLU, how padding applies) live with the builder in transformer-net.ts.
 * In models.lua `U` is only the upsampling: the resize-convolution against checkerboard
 * artifacts is written `U2,c3s1-64`, not `U2` alone (and then gets a norm + ReLU after the
 * upsampling too).
 *
 * `rcN` is that resize-convolution as one layer (Odena, Dumoulin & Olah, "Deconvolution and
 * Checkerboard Artifacts", Distill 2016; pytorch/examples' `UpsampleConvLayer`): a stride-2
 * transposed 3×3 convolution (`uN`) gives every output pixel one of four overlap patterns —
 * kernel taps that land on even/odd positions — so unless the kernel is perfectly balanced the
 * output carries a fixed period-2 grid, which the later stride-2 layer compounds into period 4:
 * exactly the spectral peaks of the shipped styles' cross-hatch. Nearest-neighbour ×2 followed by
 * a 3×3 convolution treats every output pixel alike, so the grid cannot arise from the layer
 * itself; it costs the same multiply-adds as `uN` (the convolution runs at the output size).
 *
 * `rbN` (ninth sitting) replaces the nearest-neighbour ×2 by bilinear. Nearest ×2 still leaves a
 * weaker, content-driven pattern: it turns a ramp into a staircase of pixel pairs, and a 3×3
 * kernel V over the pairs steps unevenly — per axis, a ramp of slope s (x[m] = s·m) gives
 * y[2m+1] − y[2m] = s·(V0 + V2) and y[2m+2] − y[2m+1] = s·V1: a period-2 pattern of amplitude
 * ∝ s·(V0 + V2 − V1), i.e. proportional to the local gradient, its sign following the content.
 * Bilinear ×2 of a ramp is a ramp (outputs at m ∓ ¼: ¾·x[m] + ¼·x[m∓1]), so that first-order
 * term vanishes (src/models/resize-conv.test.ts checks both on a ramp). Measured
 * on the shipped starry-night (nearest-trained weights, no retraining): grid figure on the 712-px
 * chicago photo 12.4 → 5.1 (the photo itself 5.2). The weights of `rcN` and `rbN` are the same
 * tensors (src/models/resize-conv.ts, `toBilinearResize`), so a trained `rc` network starts a
 * `rb` fine-tune as it is.
 */

/** The ×2 interpolation in front of a resize-convolution's 3×3 convolution (`rcN` nearest, `rbN` bilinear). */
export type ResizeMode = 'nearest' | 'bilinear';

export type ArchLayer =
  | { kind: 'conv'; kernel: number; stride: number; out: number }
  | { kind: 'full'; kernel: number; stride: number; out: number }
  | { kind: 'down'; out: number }
  | { kind: 'up'; out: number }
  | { kind: 'resize'; out: number; mode: ResizeMode }
  | { kind: 'upsample'; scale: number }
  | { kind: 'shuffle'; scale: number }
  | { kind: 'convBlock'; channels: number }
  | { kind: 'residual'; channels: number };

/** The style transformation network of the paper (supplementary material, Table 1). */
export const PAPER_STYLE_ARCH = 'c9s1-32,d64,d128,R128,R128,R128,R128,R128,u64,u32,c9s1-3';
/** fast-neural-style's half-width variant (used with instance norm): ~4× fewer FLOPs. */
export const HALF_STYLE_ARCH = 'c9s1-16,d32,d64,R64,R64,R64,R64,R64,u32,u16,c9s1-3';
/** The paper's network with resize-convolutions instead of transposed convolutions (no checkerboard). */
export const PAPER_RC_STYLE_ARCH = 'c9s1-32,d64,d128,R128,R128,R128,R128,R128,rc64,rc32,c9s1-3';
/** The half-width network with resize-convolutions. */
export const HALF_RC_STYLE_ARCH = 'c9s1-16,d32,d64,R64,R64,R64,R64,R64,rc32,rc16,c9s1-3';
/** The paper's network with bilinear resize-convolutions. */
export const PAPER_RB_STYLE_ARCH = 'c9s1-32,d64,d128,R128,R128,R128,R128,R128,rb64,rb32,c9s1-3';
/** The half-width network with bilinear resize-convolutions. */
export const HALF_RB_STYLE_ARCH = 'c9s1-16,d32,d64,R64,R64,R64,R64,R64,rb32,rb16,c9s1-3';

export class ArchitectureError extends Error {
  constructor(
    readonly arch: string,
    reason: string,
  ) {
    super(`architecture "${arch}": ${reason}`);
    this.name = 'ArchitectureError';
  }
}

const TOKEN_HELP = 'expected cKsS-N, dN, uN, rcN, rbN, fKsS-N, US, xS, CN or RN[xK] (e.g. c9s1-32, d64, R128x5, u32, rc32, x4)';

function positive(arch: string, token: string, what: string, text: string): number {
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < 1) throw new ArchitectureError(arch, `"${token}": ${what} must be a positive integer, got ${text}`);
  return v;
}

/** Parse an architecture string into layers (RNxK expanded). Throws ArchitectureError. */
export function parseArch(arch: string): ArchLayer[] {
  if (typeof arch !== 'string' || arch.trim() === '') throw new ArchitectureError(String(arch), 'empty architecture string');
  const layers: ArchLayer[] = [];
  const tokens = arch.split(',').map((t) => t.trim());
  tokens.forEach((token, i) => {
    if (token === '') throw new ArchitectureError(arch, `empty layer at position ${i + 1} (stray comma?)`);
    let m: RegExpExecArray | null;
    if ((m = /^([cf])(\d+)s(\d+)-(\d+)$/.exec(token))) {
      const kernel = positive(arch, token, 'kernel size', m[2]!);
      const stride = positive(arch, token, 'stride', m[3]!);
      const out = positive(arch, token, 'filter count', m[4]!);
      // models.lua pads by (K−1)/2, which is only a whole number for odd K.
      if (kernel % 2 === 0) throw new ArchitectureError(arch, `"${token}": kernel size must be odd (padding is (K−1)/2), got ${kernel}`);
      layers.push({ kind: m[1] === 'c' ? 'conv' : 'full', kernel, stride, out });
    } else if ((m = /^([duUC])(\d+)$/.exec(token))) {
      const n = positive(arch, token, m[1] === 'U' ? 'scale' : 'filter count', m[2]!);
      if (m[1] === 'd') layers.push({ kind: 'down', out: n });
      else if (m[1] === 'u') layers.push({ kind: 'up', out: n });
      else if (m[1] === 'U') layers.push({ kind: 'upsample', scale: n });
      else layers.push({ kind: 'convBlock', channels: n });
    } else if ((m = /^r([cb])(\d+)$/.exec(token))) {
      layers.push({ kind: 'resize', out: positive(arch, token, 'filter count', m[2]!), mode: m[1] === 'b' ? 'bilinear' : 'nearest' });
    } else if ((m = /^x(\d+)$/.exec(token))) {
      layers.push({ kind: 'shuffle', scale: positive(arch, token, 'scale', m[1]!) });
    } else if ((m = /^R(\d+)(?:x(\d+))?$/.exec(token))) {
      const channels = positive(arch, token, 'filter count', m[1]!);
      const repeat = m[2] === undefined ? 1 : positive(arch, token, 'repeat count', m[2]);
      for (let r = 0; r < repeat; r++) layers.push({ kind: 'residual', channels });
    } else {
      throw new ArchitectureError(arch, `layer ${i + 1} "${token}" is not understood; ${TOKEN_HELP}`);
    }
  });
  return layers;
}

/** The canonical string of parsed layers (repeats written out, as models.lua would read it). */
export function formatArch(layers: readonly ArchLayer[]): string {
  return layers
    .map((l) => {
      switch (l.kind) {
        case 'conv': return `c${l.kernel}s${l.stride}-${l.out}`;
        case 'full': return `f${l.kernel}s${l.stride}-${l.out}`;
        case 'down': return `d${l.out}`;
        case 'up': return `u${l.out}`;
        case 'resize': return `${l.mode === 'bilinear' ? 'rb' : 'rc'}${l.out}`;
        case 'upsample': return `U${l.scale}`;
        case 'shuffle': return `x${l.scale}`;
        case 'convBlock': return `C${l.channels}`;
        case 'residual': return `R${l.channels}`;
      }
    })
    .join(',');
}

export interface ArchSummary {
  /** Channels of the last layer (3 for an image network). */
  outChannels: number;
  /** Product of the strides of the downsampling layers (c with S > 1, d). */
  down: number;
  /** Product of the upsampling factors (u, rc, rb, f, U, x). */
  up: number;
}

/**
 * Check that the layers chain (a C or R block keeps its input's channel count) and summarise
 * the resolution change. `inChannels` is the input's channel count (3 for RGB).
 */
export function analyzeArch(arch: string, layers: readonly ArchLayer[], inChannels = 3): ArchSummary {
  if (layers.length === 0) throw new ArchitectureError(arch, 'no layers');
  let ch = inChannels;
  let down = 1;
  let up = 1;
  layers.forEach((l, i) => {
    switch (l.kind) {
      case 'conv':
        down *= l.stride;
        ch = l.out;
        break;
      case 'down':
        down *= 2;
        ch = l.out;
        break;
      case 'up':
      case 'resize':
        up *= 2;
        ch = l.out;
        break;
      case 'full':
        up *= l.stride;
        ch = l.out;
        break;
      case 'upsample':
        up *= l.scale;
        break;
      case 'shuffle':
        if (ch % (l.scale * l.scale) !== 0) throw new ArchitectureError(arch, `layer ${i + 1} "x${l.scale}" needs a multiple of ${l.scale * l.scale} channels, its input has ${ch}`);
        up *= l.scale;
        ch /= l.scale * l.scale;
        break;
      case 'convBlock':
      case 'residual':
        if (l.channels !== ch) {
          const name = `${l.kind === 'residual' ? 'R' : 'C'}${l.channels}`;
          throw new ArchitectureError(arch, `layer ${i + 1} "${name}" keeps its input's channel count, but its input has ${ch} channels, not ${l.channels}`);
        }
        break;
    }
  });
  return { outChannels: ch, down, up };
}
