/**
 * The image transformation networks of Johnson et al. (ECCV 2016), built from an architecture
 * string as fast-neural-style's `build_model` (models.lua) builds them.
 *
 * The paper's style network (supplementary material), `buildStyleNet('paper')`, at 256×256:
 *
 *   reflection padding 40 px                       3×336×336
 *   32×9×9 conv, stride 1 (zero pad 4)  BN ReLU   32×336×336
 *   64×3×3 conv, stride 2               BN ReLU   64×168×168
 *   128×3×3 conv, stride 2              BN ReLU  128×84×84
 *   5 residual blocks, 128 filters, unpadded     128×80 → 76 → 72 → 68 → 64
 *   64×3×3 conv, stride ½               BN ReLU   64×128×128
 *   32×3×3 conv, stride ½               BN ReLU   32×256×256
 *   3×9×9 conv, stride 1 (zero pad 4)              3×256×256
 *   scaled tanh: 127.5·tanh(x) + 127.5 ∈ (0, 255)
 *
 * Rules taken from models.lua: every layer but the last is followed by normalisation and ReLU,
 * except residual blocks (neither) and C blocks (ReLU only); `d` and `u` always zero-pad.
 * The `padding` option is fast-neural-style's `-padding_type`:
 *  - 'reflect-start' (paper, and fast-neural-style's default): `c` layers zero-pad by (K−1)/2,
 *    residual blocks are unpadded (shortcut cropped) and the input is reflection-padded by
 *    exactly what they remove — Σ over residual blocks of 2 px × the downsampling factor at
 *    the block (5 × 2 × 4 = 40 for the paper). models.lua inserts that pad lazily after a first
 *    forward; here it is computed when the network is built.
 *  - 'zero': `c` layers and residual blocks zero-pad. 'reflect' / 'replicate': they pad with
 *    reflection / replication instead (`d` still zero-pads, as in models.lua).
 *  ('none' — unpadded blocks without a start pad — is refused: its output is smaller than the
 *  input, which every caller here would have to crop around.)
 *
 * Any input size: a stride-2 layer maps n → ⌈n/2⌉ and a stride-½ layer doubles, so for sizes
 * that are not multiples of the total stride the output comes out up to stride−1 px larger
 * than the input. Those extra rows/columns sit at the bottom/right — every layer keeps pixel
 * (0, 0) aligned with the input's — so `forward` crops the output to the input size from the
 * top left. That keeps the weights and graph independent of the input size (unlike choosing
 * output_padding per input) and matches the paper's network exactly when H and W are multiples
 * of 4. The reflection pad works for any size (see ReflectionPad2d), so 37×53 inputs run too.
 *
 * Inputs and outputs are RGB on the 0–255 scale. The input is not normalised: every first
 * convolution is followed by normalisation (batch or instance), which removes the offset and
 * scale of the input anyway.
 */
import { noGrad, tidy, zerosLike, type Tensor } from '../engine/index.js';
import { Module } from '../nn/module.js';
import {
  Conv2d,
  ConvTranspose2d,
  ReLU,
  ReflectionPad2d,
  ReplicationPad2d,
  ResidualBlock,
  ScaledTanh,
  Sequential,
  Upsample,
  PixelShuffle,
  Scale,
  BicubicUpsample,
  createNorm,
  NORM_KINDS,
  type NormKind,
  type ResidualPadding,
} from '../nn/layers/index.js';
import { ArchitectureError, HALF_RB_STYLE_ARCH, HALF_RC_STYLE_ARCH, HALF_STYLE_ARCH, PAPER_RB_STYLE_ARCH, PAPER_RC_STYLE_ARCH, PAPER_STYLE_ARCH, analyzeArch, formatArch, parseArch, type ArchLayer } from './architecture.js';

export type NetPadding = 'reflect-start' | 'zero' | 'reflect' | 'replicate';
export const NET_PADDINGS: readonly NetPadding[] = ['reflect-start', 'zero', 'reflect', 'replicate'];

/** What a model card stores to rebuild a network (JSON-serialisable). */
export interface TransformerNetConfig {
  /** 'style': output size = input size; 'sr': output = input × factor. */
  kind: 'style' | 'sr';
  /** Canonical architecture string (repeats written out). */
  arch: string;
  norm: NormKind;
  padding: NetPadding;
  /** Super-resolution factor (kind 'sr' only). */
  factor?: number;
  /**
   * 'bicubic' (kind 'sr' only): the network predicts the residual to a fixed bicubic
   * upsampling of its input, ŷ = bicubic(x) + 255·layers(x / 255), with no output tanh
   * (beyond the paper; see buildSrNet's 'fast' preset). Absent: the paper's ŷ = layers(x).
   */
  residual?: 'bicubic';
}

export interface BuildOptions {
  norm?: NormKind;
  padding?: NetPadding;
}

/** Named style networks. */
export const STYLE_PRESETS = {
  /** The paper: batch norm, reflection padding at the start, unpadded residual blocks. */
  paper: { arch: PAPER_STYLE_ARCH, norm: 'batch', padding: 'reflect-start' },
  /** fast-neural-style's smaller instance-norm model. */
  'half-instance': { arch: HALF_STYLE_ARCH, norm: 'instance', padding: 'reflect-start' },
  /** The paper's network with resize-convolution upsampling (`rc64,rc32`): no checkerboard by construction. */
  'paper-rc': { arch: PAPER_RC_STYLE_ARCH, norm: 'batch', padding: 'reflect-start' },
  /**
   * The paper's widths with instance norm (fast-neural-style's instance-norm models) and
   * resize-convolution upsampling: what the shipped styles are trained with. At 256² it costs
   * ~20 % more per training step than half-instance, because the VGG loss network dominates.
   */
  'paper-instance-rc': { arch: PAPER_RC_STYLE_ARCH, norm: 'instance', padding: 'reflect-start' },
  /** half-instance with resize-convolution upsampling (`rc32,rc16`). */
  'half-instance-rc': { arch: HALF_RC_STYLE_ARCH, norm: 'instance', padding: 'reflect-start' },
  /** paper-instance-rc with bilinear ×2 in the resize-convolutions (`rb64,rb32`): no gradient-driven period-2 pattern. */
  'paper-instance-rb': { arch: PAPER_RB_STYLE_ARCH, norm: 'instance', padding: 'reflect-start' },
  /** half-instance with bilinear resize-convolutions (`rb32,rb16`): what the shipped styles move to (ninth sitting). */
  'half-instance-rb': { arch: HALF_RB_STYLE_ARCH, norm: 'instance', padding: 'reflect-start' },
} as const satisfies Record<string, { arch: string; norm: NormKind; padding: NetPadding }>;
export type StylePreset = keyof typeof STYLE_PRESETS;

const RESIDUAL_PADDING: Record<NetPadding, ResidualPadding> = {
  'reflect-start': 'none',
  zero: 'zero',
  reflect: 'reflect',
  replicate: 'replicate',
};

/** Reflection pad per side that 'reflect-start' needs in front of `layers` (R and C blocks are unpadded there). */
export function startPadding(arch: string, layers: readonly ArchLayer[]): number {
  let scale = 1; // resolution relative to the input
  let pad = 0;
  for (const l of layers) {
    if (l.kind === 'residual' || l.kind === 'convBlock') {
      // Two unpadded 3×3 convs remove 2 px per side at this resolution, i.e. 2/scale input px.
      const p = 2 / scale;
      if (!Number.isInteger(p)) {
        throw new ArchitectureError(arch, `with padding 'reflect-start' an R/C block above the input resolution (×${scale}) would need a fractional start pad; use padding 'zero' or 'reflect'`);
      }
      pad += p;
    } else if (l.kind === 'conv') scale /= l.stride;
    else if (l.kind === 'down') scale /= 2;
    else if (l.kind === 'up' || l.kind === 'resize') scale *= 2;
    else if (l.kind === 'full') scale *= l.stride;
    else if (l.kind === 'upsample' || l.kind === 'shuffle') scale *= l.scale;
  }
  return pad;
}

function convPad(padding: NetPadding, p: number, seq: Sequential): number {
  if (p === 0) return 0;
  if (padding === 'reflect') seq.append(new ReflectionPad2d(p));
  else if (padding === 'replicate') seq.append(new ReplicationPad2d(p));
  else return p; // 'zero' and 'reflect-start' zero-pad c layers (models.lua)
  return 0;
}

/** The C block of models.lua: conv, norm, ReLU, conv, norm (a ReLU follows it), padded as residual blocks are. */
function convBlock(channels: number, norm: NormKind, padding: NetPadding): Sequential {
  const seq = new Sequential();
  for (let i = 0; i < 2; i++) {
    let p = 0; // 'reflect-start': unpadded, like the residual blocks
    if (padding === 'reflect') seq.append(new ReflectionPad2d(1));
    else if (padding === 'replicate') seq.append(new ReplicationPad2d(1));
    else if (padding === 'zero') p = 1;
    seq.append(new Conv2d(channels, channels, 3, { padding: p }));
    seq.append(createNorm(norm, channels));
    if (i === 0) seq.append(new ReLU());
  }
  return seq;
}

export class TransformerNet extends Module {
  readonly config: TransformerNetConfig;
  /** The layers, named `model.0`, `model.1`, … as in a PyTorch Sequential. */
  readonly model: Sequential;
  /** Output size / input size (1 for style networks). */
  readonly scale: number;
  /** Reflection padding in front of the network (40 for the paper's, 0 unless 'reflect-start'). */
  readonly startPad: number;
  /** Total stride of the downsampling layers: inputs that are not multiples of it get cropped outputs. */
  readonly stride: number;
  /** With config.residual 'bicubic': the fixed upsampling the layers' output is added to. */
  readonly skip?: BicubicUpsample;

  constructor(config: TransformerNetConfig) {
    super();
    const layers = parseArch(config.arch);
    if (!NORM_KINDS.includes(config.norm)) throw new Error(`unknown normalization '${config.norm}' (use ${NORM_KINDS.join(', ')})`);
    if (!NET_PADDINGS.includes(config.padding)) {
      const hint = (config.padding as string) === 'none' ? "; 'none' gives outputs smaller than the input — use 'reflect-start'" : '';
      throw new Error(`unknown padding '${config.padding}' (use ${NET_PADDINGS.join(', ')})${hint}`);
    }
    const summary = analyzeArch(config.arch, layers);
    if (summary.outChannels !== 3) throw new ArchitectureError(config.arch, `the last layer must have 3 filters (an RGB image), it has ${summary.outChannels}`);
    const expected = config.kind === 'sr' ? config.factor : 1;
    if (config.kind === 'sr' && (!Number.isInteger(expected) || (expected as number) < 1)) {
      throw new Error(`super-resolution factor must be a positive integer, got ${String(config.factor)}`);
    }
    if (summary.up !== summary.down * (expected as number)) {
      const what = config.kind === 'sr' ? `×${expected} super-resolution` : 'a style network (output size = input size)';
      throw new ArchitectureError(config.arch, `it upsamples ×${summary.up} and downsamples ÷${summary.down}, which does not fit ${what}`);
    }
    this.scale = expected as number;
    this.stride = summary.down;
    this.config = { ...config, arch: formatArch(layers) };
    if (config.kind !== 'sr') delete this.config.factor;
    if (config.residual !== undefined) {
      if (config.residual !== 'bicubic') throw new Error(`unknown residual '${String(config.residual)}' (use 'bicubic' or leave it out)`);
      if (config.kind !== 'sr') throw new Error("residual 'bicubic' is for super-resolution networks (kind 'sr')");
    } else delete this.config.residual;
    const residual = config.residual === 'bicubic';

    const { norm, padding } = config;
    const seq = new Sequential();
    this.startPad = padding === 'reflect-start' ? startPadding(config.arch, layers) : 0;
    if (this.startPad > 0) seq.append(new ReflectionPad2d(this.startPad));
    if (residual) seq.append(new Scale(1 / 255));
    // The last layer with weights is the output layer (no norm, no ReLU); a pixel shuffle
    // after it only rearranges its output.
    let last = layers.length - 1;
    while (last > 0 && layers[last]!.kind === 'shuffle') last--;
    let ch = 3;
    layers.forEach((l, i) => {
      let next = ch;
      let needsNorm = true;
      let needsRelu = true;
      switch (l.kind) {
        case 'conv': {
          const p = convPad(padding, (l.kernel - 1) / 2, seq);
          // A residual network's output layer has no bias: the bicubic skip carries the image's
          // mean, and before a pixel shuffle a bias per sub-pixel phase is a fixed f×f grid
          // pattern (ℓfeat, blind to it, let such biases drift by ±3 grey levels when they existed).
          const bias = !(residual && i === last);
          seq.append(new Conv2d(ch, l.out, l.kernel, { stride: l.stride, padding: p, bias }));
          next = l.out;
          break;
        }
        case 'full': {
          const p = (l.kernel - 1) / 2;
          seq.append(new ConvTranspose2d(ch, l.out, l.kernel, { stride: l.stride, padding: p, outputPadding: l.stride - 1 }));
          next = l.out;
          break;
        }
        case 'down':
          seq.append(new Conv2d(ch, l.out, 3, { stride: 2, padding: 1 }));
          next = l.out;
          break;
        case 'up':
          seq.append(new ConvTranspose2d(ch, l.out, 3, { stride: 2, padding: 1, outputPadding: 1 }));
          next = l.out;
          break;
        case 'resize': {
          // Resize-convolution (architecture.ts): nearest (rc) or bilinear (rb) ×2, then a 3×3
          // convolution padded like the c layers (zero for 'reflect-start'/'zero', else the chosen padding).
          seq.append(new Upsample(2, l.mode));
          const p = convPad(padding, 1, seq);
          seq.append(new Conv2d(ch, l.out, 3, { padding: p }));
          next = l.out;
          break;
        }
        case 'upsample':
          // models.lua follows U with norm + ReLU like any other layer; kept for fidelity.
          seq.append(new Upsample(l.scale));
          break;
        case 'shuffle':
          seq.append(new PixelShuffle(l.scale));
          next = ch / (l.scale * l.scale);
          needsNorm = false;
          needsRelu = false;
          break;
        case 'convBlock':
          seq.append(convBlock(l.channels, norm, padding));
          needsNorm = false;
          break;
        case 'residual':
          seq.append(new ResidualBlock(l.channels, { norm, padding: RESIDUAL_PADDING[padding] }));
          needsNorm = false;
          needsRelu = false;
          break;
      }
      if (i < last) {
        if (needsNorm) seq.append(createNorm(norm, next));
        if (needsRelu) seq.append(new ReLU());
      }
      ch = next;
    });
    if (residual) {
      seq.append(new Scale(255));
      // The output layer starts at zero: the untrained network is exactly the bicubic baseline.
      const out = seq.namedChildren().map(([, m]) => m).filter((m) => m instanceof Conv2d || m instanceof ConvTranspose2d).at(-1);
      if (out) noGrad(() => tidy(() => { for (const p of out.parameters()) p.copy_(zerosLike(p)); }));
      this.skip = this.registerModule('skip', new BicubicUpsample(this.scale));
    } else {
      seq.append(new ScaledTanh());
    }
    this.model = this.registerModule('model', seq);
  }

  /** Rebuild from a model card's config (validated; throws with the reason). */
  static fromConfig(config: unknown): TransformerNet {
    return new TransformerNet(validateConfig(config));
  }

  /** [N, 3, H, W] RGB 0–255 → [N, 3, H·scale, W·scale] RGB in (0, 255). */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== 3) throw new Error(`TransformerNet: expected a [N, 3, H, W] batch, got [${x.shape.join(', ')}]`);
    const [h, w] = x.shape.slice(2) as [number, number];
    const y = this.model.forward(x);
    const [oh, ow] = y.shape.slice(2) as [number, number];
    const th = h * this.scale;
    const tw = w * this.scale;
    if (oh < th || ow < tw) throw new Error(`TransformerNet: ${h}×${w} input gave a ${oh}×${ow} output, smaller than ${th}×${tw}`);
    // Sizes not divisible by the stride: drop the surplus at the bottom/right (file comment).
    const out = oh === th && ow === tw ? y : y.narrow(2, 0, th).narrow(3, 0, tw);
    return this.skip ? this.skip.forward(x).add(out) : out;
  }
}

/** Check an untrusted config object (e.g. read from a model card). */
export function validateConfig(c: unknown): TransformerNetConfig {
  if (typeof c !== 'object' || c === null) throw new Error('model config must be an object');
  const o = c as Record<string, unknown>;
  if (o.kind !== 'style' && o.kind !== 'sr') throw new Error(`model config: kind must be 'style' or 'sr', got ${JSON.stringify(o.kind)}`);
  if (typeof o.arch !== 'string') throw new Error('model config: arch must be an architecture string');
  if (typeof o.norm !== 'string' || !NORM_KINDS.includes(o.norm as NormKind)) throw new Error(`model config: norm must be one of ${NORM_KINDS.join(', ')}, got ${JSON.stringify(o.norm)}`);
  if (typeof o.padding !== 'string' || !NET_PADDINGS.includes(o.padding as NetPadding)) throw new Error(`model config: padding must be one of ${NET_PADDINGS.join(', ')}, got ${JSON.stringify(o.padding)}`);
  const out: TransformerNetConfig = { kind: o.kind, arch: o.arch, norm: o.norm as NormKind, padding: o.padding as NetPadding };
  if (o.kind === 'sr') {
    if (typeof o.factor !== 'number') throw new Error('model config: a super-resolution model needs a numeric factor');
    out.factor = o.factor;
    if (o.residual !== undefined) {
      if (o.residual !== 'bicubic') throw new Error(`model config: residual must be 'bicubic' or absent, got ${JSON.stringify(o.residual)}`);
      out.residual = 'bicubic';
    }
  }
  return out;
}

/**
 * A style transformation network: a preset name ('paper', 'half-instance') or an architecture
 * string. For architecture strings the defaults are the paper's (batch norm, 'reflect-start');
 * for presets, options override the preset's choices.
 */
export function buildStyleNet(arch: StylePreset | string = 'paper', options: BuildOptions = {}): TransformerNet {
  const preset = Object.hasOwn(STYLE_PRESETS, arch) ? STYLE_PRESETS[arch as StylePreset] : undefined;
  return new TransformerNet({
    kind: 'style',
    arch: preset?.arch ?? arch,
    norm: options.norm ?? preset?.norm ?? 'batch',
    padding: options.padding ?? preset?.padding ?? 'reflect-start',
  });
}
