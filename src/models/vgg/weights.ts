/**
 * Entry point for VGG loss-network weights: recognise the format of a path, load it into the
 * canonical form (./canonical.ts), and convert it to the project's safetensors file.
 *
 * Formats (one reader each under ./formats/):
 * - `tfjs`        — folder with model.json, or a model.json (Keras names, HWIO, may be partial);
 * - `torchvision` — `.pth`/`.pt` state dict (zip or legacy torch.save, read by a safe unpickler);
 * - `keras-h5`    — keras.applications `.h5`;
 * - `safetensors` — our own canonical file (validated).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeSafetensors } from '../../nn/safetensors.js';
import { VggWeightsError, assembleVggWeights, type LayerWeights, type LoadVggOptions, type VggFileFormat, type VggWeights, type VggWeightsInfo } from './canonical.js';
import { inspectCombinedVgg, loadCombinedVgg, splitVggSources, type VggReaders } from './combined.js';
import { convsUpTo } from './layers.js';
import { inspectKerasH5Vgg, loadKerasH5Vgg } from './formats/keras-h5.js';
import { inspectSafetensorsVgg, loadSafetensorsVgg, vggSafetensorsMetadata } from './formats/safetensors.js';
import { inspectTfjsVgg, loadTfjsVgg } from './formats/tfjs.js';
import { inspectTorchvisionVgg, loadTorchvisionVgg } from './formats/torchvision.js';

export { VggWeightsError, type LoadVggOptions, type VggFormat, type VggPrecision, type VggWeights, type VggWeightsInfo } from './canonical.js';
export type { VggArch } from './layers.js';
export type { VggPreprocessing } from './preprocessing.js';

const BY_EXTENSION: Record<string, VggFileFormat> = {
  '.json': 'tfjs',
  '.pth': 'torchvision',
  '.pt': 'torchvision',
  '.h5': 'keras-h5',
  '.hdf5': 'keras-h5',
  '.safetensors': 'safetensors',
};

/** Recognise by content what an unknown extension hides (cheap: first 16 bytes). */
async function sniff(file: string): Promise<VggFileFormat | undefined> {
  const handle = await fs.open(file, 'r');
  try {
    const b = new Uint8Array(16);
    const { bytesRead } = await handle.read(b, 0, 16, 0);
    if (bytesRead >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04) return 'torchvision'; // zip
    if (bytesRead >= 2 && b[0] === 0x80 && b[1]! <= 5) return 'torchvision'; // pickle
    if (bytesRead >= 8 && b[0] === 0x89 && b[1] === 0x48 && b[2] === 0x44 && b[3] === 0x46) return 'keras-h5';
    if (bytesRead >= 9 && b[8] === 0x7b) return 'safetensors'; // 8-byte length, then '{'
    return undefined;
  } finally {
    await handle.close();
  }
}

/**
 * Which reader handles `input`: a folder must contain model.json; a file is recognised by its
 * extension, or by its first bytes when the extension is unknown.
 */
export async function detectVggFormat(input: string): Promise<VggFileFormat> {
  const st = await fs.stat(input).catch(() => undefined);
  if (!st) throw new VggWeightsError(input, 'no such file or folder');
  if (st.isDirectory()) {
    const manifest = await fs.stat(path.join(input, 'model.json')).catch(() => undefined);
    if (manifest?.isFile()) return 'tfjs';
    throw new VggWeightsError(input, 'is a folder without model.json (expected a TF.js layers model folder)');
  }
  const ext = path.extname(input).toLowerCase();
  const format = BY_EXTENSION[ext] ?? (await sniff(input));
  if (!format) {
    throw new VggWeightsError(
      input,
      `unrecognised weights file type${ext ? ` "${ext}"` : ''}: expected a TF.js model folder or model.json, a torchvision .pth, a Keras .h5 or a .safetensors file`,
    );
  }
  return format;
}

/** Keep only the requested convolutions of a fully loaded file (formats that cannot read selectively). */
function selectLayers(w: VggWeights, options: LoadVggOptions): VggWeights {
  if (w.format === 'tfjs' || w.format === 'combined' || (options.only === undefined && options.upTo === undefined)) return w;
  const wanted = options.only ?? convsUpTo(w.arch, options.upTo!);
  const available = new Map<string, LayerWeights>();
  for (const layer of wanted) {
    const weight = w.tensors.get(`${layer}.weight`);
    const bias = w.tensors.get(`${layer}.bias`);
    if (!weight || !bias) continue; // not provided: reported in missingLayers
    available.set(layer, { weight: weight.data as Float32Array, bias: bias.data as Float32Array });
  }
  const { tensors: _all, layers: _l, missingLayers: _m, ...info } = w;
  return assembleVggWeights(info, available);
}

async function loadOne(input: string, options: LoadVggOptions): Promise<VggWeights> {
  switch (await detectVggFormat(input)) {
    case 'tfjs': return loadTfjsVgg(input, options);
    case 'torchvision': return selectLayers(await loadTorchvisionVgg(input, options), options);
    case 'keras-h5': return selectLayers(await loadKerasH5Vgg(input, options), options);
    case 'safetensors': return selectLayers(await loadSafetensorsVgg(input, options), options);
  }
}

async function inspectOne(input: string, options: LoadVggOptions): Promise<VggWeightsInfo> {
  switch (await detectVggFormat(input)) {
    case 'tfjs': return inspectTfjsVgg(input, options);
    case 'torchvision': return inspectTorchvisionVgg(input, options);
    case 'keras-h5': return inspectKerasH5Vgg(input, options);
    case 'safetensors': return inspectSafetensorsVgg(input, options);
  }
}

const READERS: VggReaders = { load: loadOne, inspect: inspectOne };

/**
 * Load VGG-16/19 weights from any supported source into the canonical form: tensors
 * `convB_P.weight` (float32 OIHW) and `convB_P.bias` in network order, plus arch, input
 * preprocessing, provenance, per-layer precision and the layers the source lacks.
 * `input` may list several files joined by the path delimiter (`a:b`): they are combined layer
 * by layer, the most precise copy of each layer winning (combined.ts). `options.upTo` loads
 * only the convolutions those feature layers need.
 */
export async function loadVggWeights(input: string, options: LoadVggOptions = {}): Promise<VggWeights> {
  const parts = await splitVggSources(input);
  return parts ? loadCombinedVgg(parts, options, READERS) : loadOne(input, options);
}

/**
 * Like {@link loadVggWeights} but without decoding tensor data where the format allows
 * (TF.js: manifest and shard sizes; safetensors: header; .h5: names and shapes; .pth: the
 * pickle). Shapes are still checked. For `doctor` and listings.
 */
export async function inspectVggWeights(input: string, options: LoadVggOptions = {}): Promise<VggWeightsInfo> {
  const parts = await splitVggSources(input);
  return parts ? inspectCombinedVgg(parts, options, READERS) : inspectOne(input, options);
}

export interface ConvertVggResult extends VggWeightsInfo {
  output: string;
  /** The metadata written to the output file. */
  metadata: Record<string, string>;
}

/**
 * Convert weights from any supported source to the project's safetensors file (written
 * atomically). Partial sources convert to partial files; the missing layers are recorded in the
 * metadata and returned, so the caller (the `perceptual weights` command) can warn about them.
 */
export async function convertVggWeights(input: string, output: string, options: LoadVggOptions = {}): Promise<ConvertVggResult> {
  if (path.extname(output).toLowerCase() !== '.safetensors') {
    throw new VggWeightsError(output, 'the output must be a .safetensors file');
  }
  const weights = await loadVggWeights(input, options);
  const { tensors, ...info } = weights;
  const metadata = vggSafetensorsMetadata(info);
  await fs.mkdir(path.dirname(path.resolve(output)), { recursive: true });
  await writeSafetensors(output, tensors, metadata);
  return { ...info, output, metadata };
}
