/**
 * VGG weights in the TensorFlow.js layers format: a `model.json` whose `weightsManifest` lists
 * groups of weights (`{paths: [shard files], weights: [{name, shape, dtype, quantization?}]}`);
 * each group's shards, concatenated, hold its weights back to back, little-endian.
 *
 * The networks come from keras.applications (layer names `blockB_convP`, kernels HWIO
 * `[kh, kw, in, out]`), i.e. the Caffe weights: BGR 0–255 minus the ImageNet mean.
 *
 * Unlike `tf.loadLayersModel`, this reader accepts a partial copy: every group whose shards are
 * all present is loaded, and the rest is reported, because a loss network only needs the layers
 * up to its deepest feature layer (the copy in shared/data stops after conv3_4).
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
  type VggWeightsInfo,
} from '../canonical.js';
import { archFromFileName, archFromLayerNames, kerasToCanonical, vggConvLayers } from '../layers.js';

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

interface ManifestGroup {
  paths: string[];
  weights: ManifestWeight[];
}

/** Where one conv weight lives: its group, its byte range within the concatenated shards. */
interface Locator {
  group: number;
  weight: ManifestWeight;
  offset: number;
  bytes: number;
}

interface TfjsIndex {
  info: Omit<VggWeightsInfo, 'layers' | 'missingLayers'>;
  /** Conv tensors of complete groups, keyed by canonical layer then kernel/bias. */
  locators: Map<string, { kernel?: Locator; bias?: Locator }>;
  /** Absolute shard paths of every complete group. */
  groupFiles: Map<number, string[]>;
  /** Canonical layers whose kernel and bias are both loadable. */
  loadable: string[];
}

const WEIGHT_NAME = /(?:^|\/)(block\d_conv\d)\/(kernel|bias)(?:_\d+)?(?::\d+)?$/;

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
  const groupFiles = new Map<number, string[]>();

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
    const present = sizes.filter((s) => s !== undefined).length;
    const layerNames = [...new Set(convWeights.map((w) => kerasToCanonical(WEIGHT_NAME.exec(w.name)![1]!)!))].join(', ');
    if (present < files.length) {
      notes.push(`weight group ${gi + 1} (${layerNames}): ${present} of ${files.length} shard files present, not loaded`);
      continue;
    }

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
    const total = sizes.reduce((a: number, b) => a + b!, 0);
    if (total !== offset) {
      throw new VggWeightsError(file, `weight group ${gi + 1} (${group.paths.join(', ')}): shards hold ${total} bytes but the manifest describes ${offset} (truncated or wrong shard?)`);
    }
    groupFiles.set(gi, files);
    for (const [layer, kind, loc] of groupLocators) {
      const entry = locators.get(layer) ?? {};
      entry[kind] = loc;
      locators.set(layer, entry);
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
  for (const [layer, e] of locators) {
    if (e.kernel && e.bias) loadable.push(layer);
    else notes.push(`${layer}: only the ${e.kernel ? 'kernel' : 'bias'} is present, layer not loaded`);
  }
  return {
    info: {
      file,
      format: 'tfjs',
      arch,
      preprocessing: 'caffe',
      source: `keras.applications ${arch}${kerasVersion ? ` (Keras ${kerasVersion})` : ''}, TF.js layers format`,
      notes,
    },
    locators,
    groupFiles,
    loadable,
  };
}

/** Decode one manifest weight (float32, or affine/float16 quantised) to float32. */
function decodeWeight(bytes: Uint8Array, w: ManifestWeight): Float32Array {
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

/** Load the convolution weights of every complete group, as canonical OIHW float32. */
export async function loadTfjsVgg(input: string, options: LoadVggOptions = {}): Promise<VggWeights> {
  const index = await indexTfjs(input, options);
  const { file, arch } = index.info;
  const groupBytes = new Map<number, Uint8Array>();
  const readGroup = async (gi: number): Promise<Uint8Array> => {
    let bytes = groupBytes.get(gi);
    if (!bytes) {
      const parts = await Promise.all(index.groupFiles.get(gi)!.map((f) => fs.readFile(f)));
      bytes = new Uint8Array(Buffer.concat(parts));
      groupBytes.set(gi, bytes);
    }
    return bytes;
  };
  const available = new Map<string, LayerWeights>();
  for (const layer of vggConvLayers(arch)) {
    if (!index.loadable.includes(layer.name)) continue;
    const { kernel, bias } = index.locators.get(layer.name)!;
    // HWIO as Keras stores it; checked before transposing so the message shows the file's shape.
    checkShape(file, layer.name, `kernel ${kernel!.weight.name}`, kernel!.weight.shape, [3, 3, layer.inChannels, layer.outChannels]);
    checkShape(file, layer.name, `bias ${bias!.weight.name}`, bias!.weight.shape, [layer.outChannels]);
    const k = decodeWeight((await readGroup(kernel!.group)).subarray(kernel!.offset, kernel!.offset + kernel!.bytes), kernel!.weight);
    const b = decodeWeight((await readGroup(bias!.group)).subarray(bias!.offset, bias!.offset + bias!.bytes), bias!.weight);
    available.set(layer.name, { weight: hwioToOihw(k, 3, 3, layer.inChannels, layer.outChannels), bias: b });
  }
  return assembleVggWeights(index.info, available);
}
