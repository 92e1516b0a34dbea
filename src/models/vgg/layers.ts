/**
 * The VGG-16 / VGG-19 convolution layers (Simonyan & Zisserman, configurations D and E) and the
 * names each weight source gives them. Every weight format maps onto these canonical
 * paper/Caffe names (`conv3_3`, …), which is what the loss network and the paper use to name
 * feature layers (`relu3_3` is the ReLU after `conv3_3`).
 *
 * Only the 3×3 convolutions matter for a perceptual loss: the classifier (fc6–fc8) is never used,
 * so it is not part of the canonical form.
 */

export type VggArch = 'vgg16' | 'vgg19';
export const VGG_ARCHS: readonly VggArch[] = ['vgg16', 'vgg19'];

export interface VggConvLayer {
  /** Canonical paper/Caffe name, e.g. `conv3_1`. */
  name: string;
  /** 1-based block (between max-pools) and position within the block. */
  block: number;
  position: number;
  inChannels: number;
  outChannels: number;
  /** Keras / keras.applications layer name, e.g. `block3_conv1`. */
  kerasName: string;
  /** Index in torchvision's `features` Sequential (conv, ReLU pairs plus a max-pool per block). */
  torchvisionIndex: number;
}

/** Output channels per block, and convolutions per block for each configuration. */
const BLOCK_CHANNELS = [64, 128, 256, 512, 512];
const CONVS_PER_BLOCK: Record<VggArch, number[]> = {
  vgg16: [2, 2, 3, 3, 3],
  vgg19: [2, 2, 4, 4, 4],
};

function buildLayers(arch: VggArch): VggConvLayer[] {
  const layers: VggConvLayer[] = [];
  let inChannels = 3;
  let index = 0;
  CONVS_PER_BLOCK[arch].forEach((count, b) => {
    for (let p = 1; p <= count; p++) {
      const block = b + 1;
      layers.push({
        name: `conv${block}_${p}`,
        block,
        position: p,
        inChannels,
        outChannels: BLOCK_CHANNELS[b]!,
        kerasName: `block${block}_conv${p}`,
        torchvisionIndex: index,
      });
      inChannels = BLOCK_CHANNELS[b]!;
      index += 2; // Conv2d, ReLU
    }
    index += 1; // MaxPool2d
  });
  return layers;
}

const LAYERS: Record<VggArch, readonly VggConvLayer[]> = { vgg16: buildLayers('vgg16'), vgg19: buildLayers('vgg19') };

/** The convolution layers of `arch`, in network order. */
export function vggConvLayers(arch: VggArch): readonly VggConvLayer[] {
  return LAYERS[arch];
}

/** Canonical OIHW weight shape `[out, in, 3, 3]` and bias shape `[out]` of a layer. */
export function canonicalShapes(layer: VggConvLayer): { weight: number[]; bias: number[] } {
  return { weight: [layer.outChannels, layer.inChannels, 3, 3], bias: [layer.outChannels] };
}

/** `block3_conv2` → `conv3_2` (undefined for any other name). */
export function kerasToCanonical(kerasName: string): string | undefined {
  const m = /^block(\d)_conv(\d)$/.exec(kerasName);
  return m ? `conv${m[1]}_${m[2]}` : undefined;
}

/** Layers that exist only in VGG-19 (the fourth convolution of blocks 3–5). */
export const VGG19_ONLY_LAYERS: readonly string[] = ['conv3_4', 'conv4_4', 'conv5_4'];

/**
 * What a listing of canonical layer names says about the architecture: a fourth convolution in
 * a block means VGG-19; a complete third convolution in block 5 without any fourth one means
 * VGG-16; anything else (e.g. only conv1_1 … conv3_3, identical in both) says nothing.
 */
export function archFromLayerNames(names: Iterable<string>): VggArch | undefined {
  const set = new Set(names);
  if (VGG19_ONLY_LAYERS.some((n) => set.has(n))) return 'vgg19';
  if (set.has('conv5_3')) return 'vgg16';
  return undefined;
}

/** `vgg16`/`vgg19` when a file or folder name says so unambiguously (e.g. `vgg19-dcbb9e9d.pth`). */
export function archFromFileName(name: string): VggArch | undefined {
  const base = name.toLowerCase();
  const has16 = /vgg[-_]?16/.test(base);
  const has19 = /vgg[-_]?19/.test(base);
  return has16 === has19 ? undefined : has16 ? 'vgg16' : 'vgg19';
}

/**
 * The convolutions (canonical names, network order) needed to compute feature layers `names`
 * (`conv3_3`, `relu3_3`, `pool3`, …): every convolution up to the deepest one named.
 */
export function convsUpTo(arch: VggArch, names: string | readonly string[]): string[] {
  const convs = vggConvLayers(arch);
  let last = -1;
  for (const name of typeof names === 'string' ? [names] : names) {
    let i: number;
    const m = /^(?:conv|relu)(\d)_(\d)$/.exec(name);
    const p = /^pool(\d)$/.exec(name);
    if (m) i = convs.findIndex((c) => c.block === Number(m[1]) && c.position === Number(m[2]));
    else if (p) i = convs.map((c) => c.block).lastIndexOf(Number(p[1]));
    else i = -1;
    if (i < 0) throw new Error(`${arch} has no layer '${name}' (layers are named conv1_1, relu1_1, …, pool1, …)`);
    last = Math.max(last, i);
  }
  return convs.slice(0, last + 1).map((c) => c.name);
}
