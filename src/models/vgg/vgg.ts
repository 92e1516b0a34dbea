/**
 * The loss network φ: the convolutional part of VGG-16 or VGG-19 (3×3 convolutions with
 * padding 1, ReLU, 2×2 max-pooling), pretrained, frozen and always in eval mode. Each layer is
 * addressable by its paper name — `conv3_3`, `relu3_3`, `pool3` — and the network is built
 * only up to the deepest layer a loss needs: layers past it would cost time and memory for
 * nothing, and layers whose weights a partial file lacks must never run on random weights.
 *
 * The input is RGB on the 0–255 scale; the preprocessing the weights were trained with is
 * applied inside `forward` (it travels with the weights, see ./preprocessing.ts):
 *  - 'caffe':       RGB → BGR, minus the ImageNet mean [103.939, 116.779, 123.68] (B, G, R);
 *  - 'torchvision': ÷255, minus [0.485, 0.456, 0.406], ÷ [0.229, 0.224, 0.225] (R, G, B).
 *
 * Parameters are named `conv1_1.weight`/`conv1_1.bias`, like the canonical weights
 * (./canonical.ts), so the weights load by name.
 */
import { F, manualSeed, tensor, type Tensor } from '../../engine/index.js';
import { Module } from '../../nn/module.js';
import { Conv2d } from '../../nn/layers/conv2d.js';
import type { NamedTensor } from '../../nn/safetensors.js';
import type { VggWeights } from './canonical.js';
import { vggConvLayers, type VggArch, type VggConvLayer } from './layers.js';
import { PREPROCESSING, type VggPreprocessing } from './preprocessing.js';
import { loadVggWeights } from './weights.js';

/** One step of the feature extractor, named as in the paper. */
export interface VggStep {
  name: string;
  kind: 'conv' | 'relu' | 'pool';
  /** For conv/relu: the convolution it belongs to. */
  conv?: VggConvLayer;
}

/** Every addressable layer of `arch` in network order: conv1_1, relu1_1, conv1_2, relu1_2, pool1, … */
export function vggSteps(arch: VggArch): VggStep[] {
  const steps: VggStep[] = [];
  const convs = vggConvLayers(arch);
  convs.forEach((c, i) => {
    steps.push({ name: c.name, kind: 'conv', conv: c });
    steps.push({ name: `relu${c.block}_${c.position}`, kind: 'relu', conv: c });
    if (convs[i + 1]?.block !== c.block) steps.push({ name: `pool${c.block}`, kind: 'pool' });
  });
  return steps;
}

/** A feature layer that cannot be computed; names the layer, and the weights file when that is why. */
export class VggLayerError extends Error {
  constructor(
    message: string,
    readonly layer: string,
  ) {
    super(message);
    this.name = 'VggLayerError';
  }
}

/** The weights a Vgg is built from: what loadVggWeights returns (file/source optional for in-memory sets). */
export type VggWeightsInput = Pick<VggWeights, 'arch' | 'preprocessing' | 'tensors' | 'missingLayers'> & Partial<Pick<VggWeights, 'file' | 'source'>>;

export interface VggOptions {
  /**
   * The layers the caller will ask for (or just the deepest): the network stops there.
   * Default: as deep as the weights allow.
   */
  upTo?: string | readonly string[];
}

function rangeText(names: readonly string[]): string {
  if (names.length === 0) return 'none';
  return names.length <= 2 ? names.join(', ') : `${names[0]} … ${names[names.length - 1]}`;
}

export class Vgg extends Module<Map<string, Tensor>> {
  readonly arch: VggArch;
  readonly preprocessing: VggPreprocessing;
  /** Where the weights came from (for error messages); 'random' for Vgg.random. */
  readonly file: string;
  /** The steps built, in order; the last is the deepest computable layer. */
  readonly steps: readonly VggStep[];
  /** Convolutions the weights lack (their layers and everything after cannot be computed). */
  readonly missingLayers: readonly string[];
  readonly #all: readonly VggStep[];
  readonly #convs = new Map<string, Conv2d>();

  private constructor(arch: VggArch, preprocessing: VggPreprocessing, file: string, missing: readonly string[], upTo: VggOptions['upTo']) {
    super();
    this.arch = arch;
    this.preprocessing = preprocessing;
    this.file = file;
    this.missingLayers = [...missing];
    this.#all = vggSteps(arch);
    const missingSet = new Set(missing);
    const firstMissing = this.#all.findIndex((s) => s.kind === 'conv' && missingSet.has(s.name));
    let end: number; // exclusive
    if (upTo === undefined || (Array.isArray(upTo) && upTo.length === 0)) {
      // As deep as possible: up to the last ReLU before the first missing convolution.
      end = firstMissing < 0 ? this.#all.length : firstMissing;
      while (end > 0 && this.#all[end - 1]!.kind === 'pool') end--;
      if (end === 0) throw new VggLayerError(`${file}: provides no ${arch} convolution from conv1_1 on`, 'conv1_1');
    } else {
      const names = typeof upTo === 'string' ? [upTo] : upTo;
      end = 0;
      for (const n of names) end = Math.max(end, this.#indexOf(n) + 1);
      if (firstMissing >= 0 && end > firstMissing) {
        const deepest = this.#all[end - 1]!.name;
        throw this.#missingError(deepest);
      }
    }
    this.steps = this.#all.slice(0, end);
    for (const s of this.steps) {
      if (s.kind === 'conv') this.#convs.set(s.name, this.registerModule(s.name, new Conv2d(s.conv!.inChannels, s.conv!.outChannels, 3, { padding: 1 })));
    }
    this.requiresGrad_(false);
    super.train(false);
  }

  #indexOf(name: string): number {
    const i = this.#all.findIndex((s) => s.name === name);
    if (i < 0) {
      const last = this.#all[this.#all.length - 2]!.name;
      throw new VggLayerError(`${this.arch} has no layer '${name}' (layers are named conv1_1, relu1_1, …, pool1, …, ${last}, pool5)`, name);
    }
    return i;
  }

  #missingError(layer: string): VggLayerError {
    const i = this.#indexOf(layer);
    const missingSet = new Set(this.missingLayers);
    const needed = this.#all.slice(0, i + 1).filter((s) => s.kind === 'conv' && missingSet.has(s.name)).map((s) => s.name);
    const have = vggConvLayers(this.arch).map((c) => c.name).filter((n) => !missingSet.has(n));
    return new VggLayerError(
      `${layer} needs the weights of ${rangeText(needed)}, which ${this.file} does not provide ` +
        `(it has ${rangeText(have)} of ${this.arch}). Use complete ${this.arch} weights, or feature layers up to ${this.#deepestRelu()}.`,
      layer,
    );
  }

  /** The deepest ReLU before the first missing convolution. */
  #deepestRelu(): string {
    const missingSet = new Set(this.missingLayers);
    let best = 'none';
    for (const s of this.#all) {
      if (s.kind === 'conv' && missingSet.has(s.name)) break;
      if (s.kind === 'relu') best = s.name;
    }
    return best;
  }

  /** Build from a weights file/folder (any format loadVggWeights reads) or already loaded weights. */
  static async fromWeights(source: string | VggWeightsInput, options: VggOptions = {}): Promise<Vgg> {
    // Only the convolutions up to the deepest requested layer are decoded (and, for TF.js, read).
    const upTo = options.upTo === undefined || options.upTo.length === 0 ? undefined : options.upTo;
    const w = typeof source === 'string' ? await loadVggWeights(source, { upTo }) : source;
    return Vgg.fromLoaded(w, options);
  }

  static fromLoaded(w: VggWeightsInput, options: VggOptions = {}): Vgg {
    const vgg = new Vgg(w.arch, w.preprocessing, w.file ?? 'the given VGG weights', w.missingLayers, options.upTo);
    const wanted = new Map<string, NamedTensor>();
    for (const key of vgg.stateDict().keys()) {
      const t = w.tensors.get(key);
      if (!t) throw new VggLayerError(`${vgg.file}: no tensor ${key}`, key.split('.')[0]!);
      wanted.set(key, t);
    }
    vgg.loadStateDict(wanted);
    return vgg;
  }

  /** A randomly initialised network (PyTorch's default conv init) for tests; reproducible by seed. */
  static random(arch: VggArch, upTo: string | readonly string[], seed = 0, preprocessing: VggPreprocessing = 'caffe'): Vgg {
    manualSeed(seed);
    return new Vgg(arch, preprocessing, 'random', [], upTo);
  }

  /** The deepest layer this network can compute. */
  get deepest(): string {
    return this.steps[this.steps.length - 1]!.name;
  }

  /** Whether `layer` can be computed by this network. */
  has(layer: string): boolean {
    return this.steps.some((s) => s.name === layer);
  }

  /** Throws the explanatory error when `layer` cannot be computed. */
  check(layer: string): void {
    if (this.has(layer)) return;
    const i = this.#indexOf(layer);
    const missingSet = new Set(this.missingLayers);
    if (this.#all.slice(0, i + 1).some((s) => s.kind === 'conv' && missingSet.has(s.name))) throw this.#missingError(layer);
    throw new VggLayerError(`${layer} is deeper than this loss network was built (up to ${this.deepest}); build it with upTo including ${layer}`, layer);
  }

  /** The loss network is always in eval mode (no dropout or batch norm, but be explicit). */
  override train(_mode = true): this {
    return this;
  }

  /** Normalise a 0–255 RGB batch as the weights expect. */
  preprocess(x: Tensor): Tensor {
    const p = PREPROCESSING[this.preprocessing];
    const scale = p.std.map((s) => 1 / (s * (255 / p.range)));
    const shift = p.mean.map((m, i) => -m / p.std[i]!);
    const ordered = p.channelOrder === 'BGR' ? x.flip([1]) : x;
    const b = tensor(Float32Array.from(shift), [1, 3, 1, 1], { device: x.device });
    if (scale.every((s) => s === 1)) return ordered.add(b);
    return ordered.mul(tensor(Float32Array.from(scale), [1, 3, 1, 1], { device: x.device })).add(b);
  }

  /**
   * Features of a [N, 3, H, W] RGB 0–255 batch at the named layers (default: the deepest).
   * Stops after the deepest one requested.
   */
  forward(x: Tensor, layers: readonly string[] = [this.deepest]): Map<string, Tensor> {
    if (x.ndim !== 4 || x.shape[1] !== 3) throw new Error(`Vgg: expected a [N, 3, H, W] RGB batch, got [${x.shape.join(', ')}]`);
    for (const l of layers) this.check(l);
    const wanted = new Set(layers);
    const out = new Map<string, Tensor>();
    let y = this.preprocess(x);
    for (const s of this.steps) {
      if (out.size === wanted.size) break;
      if (s.kind === 'conv') y = this.#convs.get(s.name)!.forward(y);
      else if (s.kind === 'relu') y = y.relu();
      else y = F.maxPool2d(y, 2, { stride: 2 });
      if (wanted.has(s.name)) out.set(s.name, y);
    }
    // Insertion order = network order; return them in the caller's order.
    return new Map(layers.map((l) => [l, out.get(l)!]));
  }
}
