/**
 * keras.applications VGG weights in HDF5 (`vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`,
 * `vgg19_…`), read with h5wasm (HDF5 compiled to WebAssembly; its `h5wasm/node` build reads
 * host files directly).
 *
 * Layout written by Keras 2 `save_weights`: root attribute `layer_names`; one group per layer with
 * attribute `weight_names` giving dataset paths relative to the group — `block1_conv1/kernel:0`,
 * `block1_conv1/bias:0` in Keras 2, `block1_conv1_W_1:0`, `block1_conv1_b_1:0` in the Keras 1
 * files still served for the notop weights. A whole saved model nests the same under
 * `model_weights`. Kernels are HWIO `[kh, kw, in, out]` ("tf dim ordering"), Caffe weights:
 * preprocessing `caffe`.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
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
import { archFromLayerNames, kerasToCanonical, vggConvLayers } from '../layers.js';

type H5Module = typeof import('h5wasm/node');
type H5File = InstanceType<H5Module['File']>;
type H5Group = InstanceType<H5Module['Group']>;
type H5Dataset = InstanceType<H5Module['Dataset']>;

let h5: Promise<H5Module> | undefined;

/** h5wasm instantiates its WASM module on import; do it once and only when an .h5 is read. */
function loadH5wasm(): Promise<H5Module> {
  h5 ??= import('h5wasm/node').then(async (m) => {
    await m.ready;
    return m;
  });
  return h5;
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Check the HDF5 signature ourselves: HDF5 looks for it at 0, 512, 1024, … and h5wasm merely
 * prints a diagnostic for a foreign file, so this gives a clear error instead.
 */
async function isHdf5(file: string): Promise<boolean> {
  const handle = await fs.open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const buf = new Uint8Array(8);
    for (let at = 0; at + 8 <= size && at <= 1 << 20; at = at ? at * 2 : 512) {
      await handle.read(buf, 0, 8, at);
      if (HDF5_SIGNATURE.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    await handle.close();
  }
}

function stringList(value: unknown): string[] {
  const items = Array.isArray(value) ? value : value === null || value === undefined ? [] : [value];
  return items.map((v) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v)));
}

/** All datasets below a group, with paths relative to it (fallback when `weight_names` is absent). */
function datasetsBelow(m: H5Module, group: H5Group, prefix = ''): string[] {
  const out: string[] = [];
  for (const key of group.keys()) {
    const child = group.get(key);
    if (child instanceof m.Dataset) out.push(prefix + key);
    else if (child instanceof m.Group) out.push(...datasetsBelow(m, child, `${prefix}${key}/`));
  }
  return out;
}

const KERNEL = /(?:^|\/|_)(kernel|W)(?:_\d+)?(?::\d+)?$/;
const BIAS = /(?:^|\/|_)(bias|b)(?:_\d+)?(?::\d+)?$/;

interface H5Layer {
  layer: string;
  kernel: H5Dataset;
  bias: H5Dataset;
}

async function withKerasFile<T>(file: string, options: LoadVggOptions, use: (info: Omit<VggWeightsInfo, 'layers' | 'missingLayers'>, layers: H5Layer[]) => T): Promise<T> {
  const st = await fs.stat(file).catch(() => undefined);
  if (!st?.isFile()) throw new VggWeightsError(file, 'no such file');
  if (!(await isHdf5(file))) throw new VggWeightsError(file, 'not an HDF5 file (no HDF5 signature)');
  const m = await loadH5wasm();
  let f: H5File;
  try {
    f = new m.File(path.resolve(file), 'r');
  } catch (e) {
    throw new VggWeightsError(file, `HDF5 open failed: ${(e as Error).message}`);
  }
  try {
    const nested = f.get('model_weights');
    const root: H5Group = nested instanceof m.Group ? nested : f;
    const listed = root.attrs['layer_names'] ? stringList(root.attrs['layer_names'].value) : root.keys();
    const kerasVersion = f.attrs['keras_version'] ? stringList(f.attrs['keras_version'].value)[0] : undefined;
    const convNames = listed.filter((n) => kerasToCanonical(n));
    if (convNames.length === 0) {
      throw new VggWeightsError(file, `no Keras VGG layers (blockB_convP) in ${root.attrs['layer_names'] ? 'layer_names' : 'the file'}: unknown layout (found ${listed.slice(0, 6).join(', ') || 'nothing'})`);
    }
    const arch = resolveArch(file, archFromLayerNames(convNames.map((n) => kerasToCanonical(n)!)), options.arch);
    const notes: string[] = [];
    const layers: H5Layer[] = [];
    const archLayers = new Map(vggConvLayers(arch).map((l) => [l.name, l]));
    for (const kerasName of convNames) {
      const name = kerasToCanonical(kerasName)!;
      const layer = archLayers.get(name);
      if (!layer) throw new VggWeightsError(file, `the file lists ${kerasName}, which ${arch} does not have`, name);
      const group = root.get(kerasName);
      if (!(group instanceof m.Group)) {
        notes.push(`${name}: listed but group ${kerasName} is absent, layer not loaded`);
        continue;
      }
      const names = group.attrs['weight_names'] ? stringList(group.attrs['weight_names'].value) : datasetsBelow(m, group);
      const kernelPath = names.find((n) => KERNEL.test(n));
      const biasPath = names.find((n) => BIAS.test(n));
      const kernel = kernelPath ? group.get(kernelPath) : null;
      const bias = biasPath ? group.get(biasPath) : null;
      if (!(kernel instanceof m.Dataset) || !(bias instanceof m.Dataset)) {
        notes.push(`${name}: kernel or bias dataset missing in group ${kerasName} (weights: ${names.join(', ') || 'none'}), layer not loaded`);
        continue;
      }
      const kshape = kernel.shape ?? [];
      if (kshape.length === 4 && kshape[0] === layer.outChannels && kshape[1] === layer.inChannels && kshape[2] === 3 && kshape[3] === 3) {
        // Theano-era files store flipped OIHW kernels; transposing alone would be wrong.
        throw new VggWeightsError(file, `kernel ${kernelPath} is in Theano order [${kshape.join(', ')}]; use the *_tf_dim_ordering_tf_kernels* file`, name);
      }
      checkShape(file, name, `kernel ${kerasName}/${kernelPath}`, kshape, [3, 3, layer.inChannels, layer.outChannels]);
      checkShape(file, name, `bias ${kerasName}/${biasPath}`, bias.shape ?? [], [layer.outChannels]);
      layers.push({ layer: name, kernel, bias });
    }
    const info = {
      file,
      format: 'keras-h5' as const,
      arch,
      preprocessing: 'caffe' as const,
      source: `keras.applications ${arch}${kerasVersion ? ` (Keras ${kerasVersion})` : ''}, ${path.basename(file)}`,
      notes,
    };
    return use(info, layers);
  } finally {
    f.close();
  }
}

function floats(file: string, layer: string, what: string, ds: H5Dataset): Float32Array {
  const v = ds.value;
  if (v instanceof Float32Array) return v;
  if (v instanceof Float64Array) return Float32Array.from(v);
  throw new VggWeightsError(file, `${what} dataset has dtype ${JSON.stringify(ds.dtype)}, expected float32`, layer);
}

/** What a Keras .h5 provides (reads names and shapes, no tensor data). */
export async function inspectKerasH5Vgg(file: string, options: LoadVggOptions = {}): Promise<VggWeightsInfo> {
  return withKerasFile(file, options, (info, layers) => ({ ...info, ...coverage(info.arch, layers.map((l) => l.layer)) }));
}

/** Load a Keras .h5's convolution weights as canonical OIHW float32. */
export async function loadKerasH5Vgg(file: string, options: LoadVggOptions = {}): Promise<VggWeights> {
  return withKerasFile(file, options, (info, layers) => {
    const byName = new Map(vggConvLayers(info.arch).map((l) => [l.name, l]));
    const available = new Map<string, LayerWeights>();
    for (const { layer, kernel, bias } of layers) {
      const l = byName.get(layer)!;
      available.set(layer, {
        weight: hwioToOihw(floats(file, layer, 'kernel', kernel), 3, 3, l.inChannels, l.outChannels),
        bias: floats(file, layer, 'bias', bias),
      });
    }
    return assembleVggWeights(info, available);
  });
}
