/**
 * VGG weights in the TensorFlow.js layers format: a `model.json` whose `weightsManifest` lists
 * groups of weights (`{paths: [shard files], weights: [{name, shape, dtype, quantization?}]}`);
 * each group's shards, concatenated, hold its weights back to back, little-endian.
 *
 * The networks come from keras.applications (layer names `blockB_convP`, kernels HWIO
 * `[kh, kw, in, out]`), i.e. the Caffe weights: BGR 0–255 minus the ImageNet mean.
 *
 * Unlike `tf.loadLayersModel`, this reader accepts a partial copy and reads only what it needs:
 * a loss network needs the layers up to its deepest feature layer, not the classifier. Each
 * tensor's bytes are located in its group's shards (TF.js writes shards of one fixed size, so
 * an absent shard does not hide where the others start), and a layer is available when the
 * shards holding its kernel and bias are present — shared/data/vgg19-full-uint8 keeps 20 of 138
 * shards, which hold every convolution; vgg19-keras stops after conv3_4.
 *
 * Weight quantisation as the TF.js converter writes it (`quantization: {dtype, scale, min}`,
 * `--quantize_uint8/uint16/float16`): uint8/uint16 store q with value = q·scale + min per tensor
 * (`tf.io.decodeWeights`), so the decoded value is within scale/2 of the original; float16 is
 * decoded exactly. Every layer reports the precision it is stored in, so combined sources can
 * prefer a float32 copy (../combined.ts).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { float16BitsToNumber } from '../../../nn/safetensors.js';
import {
  assembleVggWeights,
  checkShape,
  coverage,
  hwioToOihw,
  resolveArch,
  VggWeightsError,
  type LayerWeights,
  type LoadVggOptions,
  type VggWeights,
  type VggPrecision,
  type VggWeightsInfo,
} from '../canonical.js';
import { archFromFileName, archFromLayerNames, convsUpTo, kerasToCanonical, vggConvLayers } from '../layers.js';

export interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

interface ManifestGroup {
  paths: string[];
  weights: ManifestWeight[];
}

/** Where one conv weight lives: its group, its byte range within the group's concatenated shards. */
interface Locator {
  group: number;
  weight: ManifestWeight;
  offset: number;
  bytes: number;
}

/**
 * A weight group's shards and where each starts in the group's byte space. TF.js writes
 * fixed-size shards (all but the last hold `shardSizeBytes`, 4 MiB by default), so when some
 * shard files are absent the others can still be located from the size of a present one.
 */
interface GroupShards {
  files: string[];
  /** Byte offset of each shard's first byte in the group; undefined when unknown. */
  starts: number[];
  /** Size of each shard file; undefined when the file is absent. */
  sizes: Array<number | undefined>;
}

interface TfjsIndex {
  info: Omit<VggWeightsInfo, 'layers' | 'missingLayers'>;
  /** Conv tensors, keyed by canonical layer then kernel/bias. */
  locators: Map<string, { kernel?: Locator; bias?: Locator }>;
  groups: Map<number, GroupShards>;
  /** Canonical layers whose kernel and bias are both readable from present shards. */
  loadable: string[];
  /** Layers listed in the manifest that cannot be read, with the shard files they need that are absent. */
  missingShards: Map<string, string[]>;
  /** Those of them whose group has other shards present (an incomplete copy, not a shorter one). */
  brokenLayers: Set<string>;
}

const WEIGHT_NAME = /(?:^|\/)(block\d_conv\d)\/(kernel|bias)(?:_\d+)?(?::\d+)?$/;

/** The precision a manifest weight is stored in (its quantisation dtype, else its dtype). */
export function storedPrecision(w: ManifestWeight): VggPrecision | undefined {
  const q = w.quantization?.dtype;
  if (q) return q === 'uint8' || q === 'uint16' || q === 'float16' ? q : undefined;
  return w.dtype === 'float32' ? 'float32' : undefined;
}

function storedBytesPerValue(w: ManifestWeight): number | undefined {
  const q = w.quantization?.dtype;
  if (q) return q === 'uint8' ? 1 : q === 'uint16' || q === 'float16' ? 2 : undefined;
  return w.dtype === 'float32' || w.dtype === 'int32' ? 4 : w.dtype === 'bool' ? 1 : undefined;
}

async function fileSize(file: string): Promise<number | undefined> {
  try {
    const st = await fs.stat(file);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

function parseManifest(file: string, json: unknown): { groups: ManifestGroup[]; modelName?: string; kerasVersion?: string } {
  const obj = json as { weightsManifest?: unknown; modelTopology?: Record<string, unknown> };
  if (typeof obj !== 'object' || obj === null || !Array.isArray(obj.weightsManifest)) {
    throw new VggWeightsError(file, 'no "weightsManifest" array: not a TF.js layers model.json');
  }
  obj.weightsManifest.forEach((g: unknown, gi) => {
    const group = g as Partial<ManifestGroup>;
    const ok =
      Array.isArray(group?.paths) && group.paths.every((p) => typeof p === 'string') &&
      Array.isArray(group.weights) &&
      group.weights.every((w) => typeof w?.name === 'string' && typeof w.dtype === 'string' && Array.isArray(w.shape) && w.shape.every((d) => Number.isSafeInteger(d) && d >= 0));
    if (!ok) throw new VggWeightsError(file, `weightsManifest[${gi}] is malformed (needs paths[] and weights[{name, shape, dtype}])`);
  });
  // Old converters put the Keras config under modelTopology.model_config, newer ones directly.
  const topo = obj.modelTopology ?? {};
  const config = ((topo.model_config as Record<string, unknown> | undefined)?.config ?? topo.config) as { name?: unknown } | undefined;
  return {
    groups: obj.weightsManifest as ManifestGroup[],
    modelName: typeof config?.name === 'string' ? config.name : undefined,
    kerasVersion: typeof topo.keras_version === 'string' ? topo.keras_version : undefined,
  };
}

/**
 * Where each shard of a group starts. With every shard present, from the file sizes (whose sum
 * must equal what the manifest describes). With some absent, from the fixed shard size: every
 * present shard but the last must have the same size, and the last must not be larger.
 */
function locateShards(file: string, gi: number, files: string[], sizes: Array<number | undefined>, describedBytes: number): number[] | undefined {
  const starts: number[] = [];
  if (sizes.every((s) => s !== undefined)) {
    let at = 0;
    for (const s of sizes) {
      starts.push(at);
      at += s!;
    }
    if (at !== describedBytes) {
      throw new VggWeightsError(file, `weight group ${gi + 1} (${files.map((f) => path.basename(f)).join(', ')}): shards hold ${at} bytes but the manifest describes ${describedBytes} (truncated or wrong shard?)`);
    }
    return starts;
  }
  const full = sizes.slice(0, -1).filter((s): s is number => s !== undefined);
  if (full.length === 0) return undefined; // only the last shard (or none) present: nothing to infer from
  const size = full[0]!;
  sizes.forEach((s, i) => {
    const last = i === sizes.length - 1;
    if (s !== undefined && (last ? s > size : s !== size)) {
      throw new VggWeightsError(file, `weight group ${gi + 1}: shard ${path.basename(files[i]!)} holds ${s} bytes, but the group's other shards hold ${size} each (TF.js writes equal shards): wrong or truncated shard?`);
    }
  });
  if (size * (files.length - 1) >= describedBytes || size * files.length < describedBytes) {
    throw new VggWeightsError(file, `weight group ${gi + 1}: ${files.length} shards of ${size} bytes cannot hold the ${describedBytes} bytes the manifest describes`);
  }
  for (let i = 0; i < files.length; i++) starts.push(i * size);
  return starts;
}

/** The shards (indices) that hold bytes [offset, offset + bytes) of a group. */
function shardsFor(starts: readonly number[], offset: number, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < starts.length; i++) {
    const begin = starts[i]!;
    const end = i + 1 < starts.length ? starts[i + 1]! : Infinity;
    if (end > offset && begin < offset + bytes) out.push(i);
  }
  return out;
}

async function indexTfjs(input: string, options: LoadVggOptions): Promise<TfjsIndex> {
  const st = await fs.stat(input).catch(() => undefined);
  if (!st) throw new VggWeightsError(input, 'no such file or folder');
  const file = st.isDirectory() ? path.join(input, 'model.json') : input;
  const dir = path.dirname(path.resolve(file));
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    throw new VggWeightsError(file, `cannot read model.json: ${(e as Error).message}`);
  }
  const { groups, modelName, kerasVersion } = parseManifest(file, json);

  const notes: string[] = [];
  const listed = new Set<string>(); // every conv layer the manifest names, present or not
  const locators = new Map<string, { kernel?: Locator; bias?: Locator }>();
  const groupShards = new Map<number, GroupShards>();
  const missingShards = new Map<string, string[]>();
  const brokenLayers = new Set<string>();
  const precision: Record<string, VggPrecision> = {};

  for (const [gi, group] of groups.entries()) {
    const convWeights = group.weights.filter((w) => WEIGHT_NAME.test(w.name));
    for (const w of convWeights) listed.add(kerasToCanonical(WEIGHT_NAME.exec(w.name)![1]!)!);
    if (convWeights.length === 0) continue; // classifier groups are never read

    const files = group.paths.map((p) => {
      const abs = path.resolve(dir, p);
      // Shard paths come from the file; keep them inside its folder.
      if (path.relative(dir, abs).startsWith('..') || path.isAbsolute(p)) {
        throw new VggWeightsError(file, `weightsManifest[${gi}] shard path "${p}" points outside the model folder`);
      }
      return abs;
    });
    const sizes = await Promise.all(files.map(fileSize));

    let offset = 0;
    const groupLocators: Array<[string, 'kernel' | 'bias', Locator]> = [];
    for (const w of group.weights) {
      const per = storedBytesPerValue(w);
      if (per === undefined) {
        throw new VggWeightsError(file, `weight ${w.name} has unsupported dtype ${w.quantization?.dtype ?? w.dtype}`);
      }
      const bytes = w.shape.reduce((a, b) => a * b, 1) * per;
      const m = WEIGHT_NAME.exec(w.name);
      if (m) groupLocators.push([kerasToCanonical(m[1]!)!, m[2] as 'kernel' | 'bias', { group: gi, weight: w, offset, bytes }]);
      offset += bytes;
    }
    const starts = locateShards(file, gi, files, sizes, offset);
    const present = sizes.filter((s) => s !== undefined).length;
    if (present > 0 && present < files.length) notes.push(`weight group ${gi + 1}: ${present} of ${files.length} shard files present; layers whose bytes lie in absent shards are not available`);
    groupShards.set(gi, { files, starts: starts ?? [], sizes });
    for (const [layer, kind, loc] of groupLocators) {
      const needed = starts ? shardsFor(starts, loc.offset, loc.bytes) : files.map((_, i) => i);
      const absent = needed.filter((i) => sizes[i] === undefined).map((i) => path.basename(files[i]!));
      if (!starts && absent.length === 0) absent.push(`(group ${gi + 1}: shard positions unknown)`);
      if (absent.length > 0) {
        missingShards.set(layer, [...new Set([...(missingShards.get(layer) ?? []), ...absent])]);
        // A group with no shard at all is a copy that stops before this layer (vgg19-keras stops
        // after conv3_4): the layer is simply not provided. A group with some shards present is
        // an incomplete copy, and asking for a layer in its absent shards is an error.
        if (present > 0) brokenLayers.add(layer);
        continue;
      }
      const entry = locators.get(layer) ?? {};
      entry[kind] = loc;
      locators.set(layer, entry);
      if (kind === 'kernel') precision[layer] = storedPrecision(loc.weight)!;
    }
  }
  if (listed.size === 0) {
    throw new VggWeightsError(file, 'the manifest has no Keras VGG convolution weights (blockB_convP/kernel, /bias): unknown layout');
  }

  const evidence = archFromLayerNames(listed) ?? (modelName ? archFromFileName(modelName) : undefined);
  const arch = resolveArch(file, evidence, options.arch, path.basename(dir));
  const archLayers = new Set(vggConvLayers(arch).map((l) => l.name));
  for (const name of listed) {
    if (!archLayers.has(name)) throw new VggWeightsError(file, `the manifest names a layer that ${arch} does not have`, name);
  }
  const loadable: string[] = [];
  for (const layer of vggConvLayers(arch).map((l) => l.name)) {
    const e = locators.get(layer);
    if (missingShards.has(layer)) {
      notes.push(`${layer}: shard${missingShards.get(layer)!.length > 1 ? 's' : ''} ${missingShards.get(layer)!.join(', ')} absent, layer not available`);
      continue;
    }
    if (!e) continue;
    if (e.kernel && e.bias) loadable.push(layer);
    else notes.push(`${layer}: only the ${e.kernel ? 'kernel' : 'bias'} is present, layer not loaded`);
  }
  for (const l of Object.keys(precision)) if (!loadable.includes(l)) delete precision[l];
  return {
    info: {
      file,
      format: 'tfjs',
      arch,
      preprocessing: 'caffe',
      source: `keras.applications ${arch}${kerasVersion ? ` (Keras ${kerasVersion})` : ''}, TF.js layers format`,
      notes,
      precision,
    },
    locators,
    groups: groupShards,
    loadable,
    missingShards,
    brokenLayers,
  };
}

/** Decode one manifest weight (float32, or affine/float16 quantised) to float32. */
export function decodeWeight(bytes: Uint8Array, w: ManifestWeight): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const q = w.quantization;
  if (!q) {
    if (w.dtype !== 'float32') throw new Error(`weight ${w.name}: dtype ${w.dtype} is not a float`);
    const out = new Float32Array(bytes.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(4 * i, true);
    return out;
  }
  if (q.dtype === 'float16') {
    const out = new Float32Array(bytes.byteLength / 2);
    for (let i = 0; i < out.length; i++) out[i] = float16BitsToNumber(dv.getUint16(2 * i, true));
    return out;
  }
  // Affine quantisation as tf.io.decodeWeights does it: value = min + scale × q.
  const scale = q.scale ?? 1;
  const min = q.min ?? 0;
  const n = q.dtype === 'uint8' ? bytes.byteLength : bytes.byteLength / 2;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = min + scale * (q.dtype === 'uint8' ? bytes[i]! : dv.getUint16(2 * i, true));
  return out;
}

/** What a TF.js model folder (or model.json) provides, reading only the manifest and file sizes. */
export async function inspectTfjsVgg(input: string, options: LoadVggOptions = {}): Promise<VggWeightsInfo> {
  const index = await indexTfjs(input, options);
  return { ...index.info, ...coverage(index.info.arch, index.loadable) };
}

/**
 * Load convolution weights as canonical OIHW float32: every available layer, or with
 * `options.upTo` only the convolutions those feature layers need. Only the shard files holding
 * the bytes of those tensors are read (a 20-shard copy of a 138-shard model loads fine). A
 * requested layer whose bytes lie in an absent shard is an error naming the layer and the shard.
 */
export async function loadTfjsVgg(input: string, options: LoadVggOptions = {}): Promise<VggWeights> {
  const index = await indexTfjs(input, options);
  const { file, arch } = index.info;
  const wanted = options.only ? new Set(options.only) : options.upTo === undefined ? undefined : new Set(convsUpTo(arch, options.upTo));
  if (wanted) {
    // Layers the copy does not provide at all are left out (the loss network then explains
    // which layers it lacks); a layer in an absent shard of a present group is a broken copy.
    for (const layer of wanted) {
      const absent = index.missingShards.get(layer);
      if (absent && index.brokenLayers.has(layer)) {
        throw new VggWeightsError(file, `its weights lie in shard${absent.length > 1 ? 's' : ''} ${absent.join(', ')}, which ${absent.length > 1 ? 'are' : 'is'} missing from ${path.dirname(file)}`, layer);
      }
    }
  }
  const shardCache = new Map<string, Buffer>();
  const readShard = async (f: string): Promise<Buffer> => {
    let b = shardCache.get(f);
    if (!b) {
      b = await fs.readFile(f);
      shardCache.set(f, b);
    }
    return b;
  };
  /** Bytes [offset, offset + bytes) of a group, from the shards that hold them. */
  const readRange = async (loc: Locator): Promise<Uint8Array> => {
    const g = index.groups.get(loc.group)!;
    const out = new Uint8Array(loc.bytes);
    for (const i of shardsFor(g.starts, loc.offset, loc.bytes)) {
      const shard = await readShard(g.files[i]!);
      const begin = Math.max(loc.offset, g.starts[i]!);
      const end = Math.min(loc.offset + loc.bytes, g.starts[i]! + shard.length);
      out.set(shard.subarray(begin - g.starts[i]!, end - g.starts[i]!), begin - loc.offset);
    }
    return out;
  };
  const available = new Map<string, LayerWeights>();
  const precision: Record<string, VggPrecision> = {};
  for (const layer of vggConvLayers(arch)) {
    if (!index.loadable.includes(layer.name) || (wanted && !wanted.has(layer.name))) continue;
    const { kernel, bias } = index.locators.get(layer.name)!;
    // HWIO as Keras stores it; checked before transposing so the message shows the file's shape.
    checkShape(file, layer.name, `kernel ${kernel!.weight.name}`, kernel!.weight.shape, [3, 3, layer.inChannels, layer.outChannels]);
    checkShape(file, layer.name, `bias ${bias!.weight.name}`, bias!.weight.shape, [layer.outChannels]);
    const k = decodeWeight(await readRange(kernel!), kernel!.weight);
    const b = decodeWeight(await readRange(bias!), bias!.weight);
    available.set(layer.name, { weight: hwioToOihw(k, 3, 3, layer.inChannels, layer.outChannels), bias: b });
    precision[layer.name] = index.info.precision![layer.name]!;
  }
  // With upTo, layers left out are reported as missing: these weights cannot compute them.
  return assembleVggWeights({ ...index.info, precision }, available);
}
