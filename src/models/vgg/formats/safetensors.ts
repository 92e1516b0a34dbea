/**
 * The project's own VGG weights file: safetensors holding the canonical tensors
 * (`conv1_1.weight` OIHW float32, `conv1_1.bias`, …) and metadata recording the architecture,
 * the input convention and the provenance. Being our own output, it is only validated: exact
 * names, shapes and a preprocessing we know — the one thing that cannot be inferred from the
 * tensors and that silently ruins the loss when wrong.
 */
import path from 'node:path';
import { readSafetensors, readSafetensorsHeader, SafetensorsError, type NamedTensor, type NamedTensors } from '../../../nn/safetensors.js';
import {
  assembleVggWeights,
  checkShape,
  coverage,
  resolveArch,
  VggWeightsError,
  type LayerWeights,
  type LoadVggOptions,
  VGG_PRECISION_RANK,
  type VggPrecision,
  type VggWeights,
  type VggWeightsInfo,
} from '../canonical.js';
import { archFromLayerNames, canonicalShapes, VGG_ARCHS, vggConvLayers, type VggArch } from '../layers.js';
import { PREPROCESSING, VGG_PREPROCESSINGS, type VggPreprocessing } from '../preprocessing.js';

/** Value of the `format` metadata key, so readers can recognise (and version) the layout. */
export const VGG_SAFETENSORS_FORMAT = 'perceptual-vgg/1';

const NAME = /^(conv\d_\d)\.(weight|bias)$/;
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);

/** The `__metadata__` written with canonical VGG weights (all values are strings, per the format). */
export function vggSafetensorsMetadata(w: VggWeightsInfo): Record<string, string> {
  const p = PREPROCESSING[w.preprocessing];
  return {
    format: VGG_SAFETENSORS_FORMAT,
    arch: w.arch,
    preprocessing: w.preprocessing,
    source: w.source,
    // Redundant with `preprocessing`, but spelled out so a reader of the header alone knows
    // the kernels' input channel order without consulting this code.
    channel_order: p.channelOrder,
    input_range: String(p.range),
    mean: JSON.stringify(p.mean),
    std: JSON.stringify(p.std),
    layers: w.layers.join(','),
    missing_layers: w.missingLayers.join(','),
    // Dequantised layers are stored as float32 but are no more precise than their source: keep
    // saying so (doctor, combining sources), e.g. {"conv4_1":"uint8",…}; float32 layers omitted.
    ...(w.precision && Object.values(w.precision).some((p) => p !== 'float32')
      ? { layer_precision: JSON.stringify(Object.fromEntries(Object.entries(w.precision).filter(([, p]) => p !== 'float32'))) }
      : {}),
  };
}

/** The per-layer precision recorded by {@link vggSafetensorsMetadata} (float32 for the others). */
function precisionFromMetadata(file: string, metadata: Record<string, string>, layers: readonly string[]): Record<string, VggPrecision> {
  const out: Record<string, VggPrecision> = Object.fromEntries(layers.map((l) => [l, 'float32' as VggPrecision]));
  if (!metadata.layer_precision) return out;
  let recorded: Record<string, unknown>;
  try {
    recorded = JSON.parse(metadata.layer_precision);
  } catch {
    throw new VggWeightsError(file, `metadata "layer_precision" is not JSON: ${metadata.layer_precision.slice(0, 80)}`);
  }
  for (const [layer, p] of Object.entries(recorded)) {
    if (!VGG_PRECISION_RANK.includes(p as VggPrecision)) throw new VggWeightsError(file, `metadata "layer_precision" gives an unknown precision ${JSON.stringify(p)}`, layer);
    if (layer in out) out[layer] = p as VggPrecision;
  }
  return out;
}

interface Entry {
  dtype: string;
  shape: number[];
}

function validate(file: string, entries: Map<string, Entry>, metadata: Record<string, string>, options: LoadVggOptions) {
  const byLayer = new Map<string, { weight?: Entry; bias?: Entry }>();
  for (const [name, e] of entries) {
    const m = NAME.exec(name);
    if (!m) throw new VggWeightsError(file, `unexpected tensor "${name}": canonical VGG files hold only convB_P.weight / convB_P.bias`);
    if (!FLOAT_DTYPES.has(e.dtype)) throw new VggWeightsError(file, `tensor ${name} has dtype ${e.dtype}, expected F32`, m[1]);
    const slot = byLayer.get(m[1]!) ?? {};
    slot[m[2] as 'weight' | 'bias'] = e;
    byLayer.set(m[1]!, slot);
  }
  if (byLayer.size === 0) throw new VggWeightsError(file, 'holds no VGG convolution tensors');

  const metaArch = metadata.arch;
  if (metaArch !== undefined && !VGG_ARCHS.includes(metaArch as VggArch)) {
    throw new VggWeightsError(file, `metadata arch "${metaArch}" is not one of ${VGG_ARCHS.join(', ')}`);
  }
  const preprocessing = metadata.preprocessing as VggPreprocessing | undefined;
  if (!preprocessing || !VGG_PREPROCESSINGS.includes(preprocessing)) {
    throw new VggWeightsError(
      file,
      `metadata "preprocessing" is ${preprocessing === undefined ? 'missing' : `"${preprocessing}"`}; it must be one of ${VGG_PREPROCESSINGS.join(', ')} (the weights are useless without knowing their input convention)`,
    );
  }
  // The metadata's arch is the file's own statement; a fourth conv per block is proof too.
  const evidence = (metaArch as VggArch | undefined) ?? archFromLayerNames(byLayer.keys());
  const arch = resolveArch(file, evidence, options.arch, path.basename(file));
  const layers = new Map(vggConvLayers(arch).map((l) => [l.name, l]));
  for (const [name, slot] of byLayer) {
    const layer = layers.get(name);
    if (!layer) throw new VggWeightsError(file, `not a layer of ${arch}`, name);
    if (!slot.weight || !slot.bias) throw new VggWeightsError(file, `has a ${slot.weight ? 'weight' : 'bias'} but no ${slot.weight ? 'bias' : 'weight'}`, name);
    const shapes = canonicalShapes(layer);
    checkShape(file, name, `${name}.weight`, slot.weight.shape, shapes.weight);
    checkShape(file, name, `${name}.bias`, slot.bias.shape, shapes.bias);
  }
  const info = {
    file,
    format: 'safetensors' as const,
    arch,
    preprocessing,
    source: metadata.source ?? path.basename(file),
    notes: [] as string[],
  };
  return { info: { ...info, precision: precisionFromMetadata(file, metadata, [...byLayer.keys()]) }, layerNames: [...byLayer.keys()] };
}

function rethrow(file: string, e: unknown): never {
  if (e instanceof SafetensorsError) throw new VggWeightsError(file, e.message.startsWith(`${file}: `) ? e.message.slice(file.length + 2) : e.message);
  throw e;
}

/** What a canonical VGG safetensors file provides (reads the header only). */
export async function inspectSafetensorsVgg(file: string, options: LoadVggOptions = {}): Promise<VggWeightsInfo> {
  const header = await readSafetensorsHeader(file).catch((e) => rethrow(file, e));
  const { info, layerNames } = validate(file, header.entries, header.metadata, options);
  return { ...info, ...coverage(info.arch, layerNames) };
}

/** Load and validate a canonical VGG safetensors file. */
export async function loadSafetensorsVgg(file: string, options: LoadVggOptions = {}): Promise<VggWeights> {
  const { tensors, metadata } = await readSafetensors(file).catch((e) => rethrow(file, e));
  const { info, layerNames } = validate(file, tensors, metadata, options);
  const available = new Map<string, LayerWeights>();
  // F16/BF16 already arrive widened to float32; only F64 needs narrowing.
  const f32 = (d: NamedTensor): Float32Array => (d.data instanceof Float32Array ? d.data : Float32Array.from(d.data as Float64Array));
  for (const name of layerNames) {
    available.set(name, { weight: f32(tensors.get(`${name}.weight`)!), bias: f32(tensors.get(`${name}.bias`)!) });
  }
  return assembleVggWeights(info, available);
}
