/**
 * Where VGG weights come from, and where this machine has some.
 *
 * Nothing here downloads: the project runs offline, and fetching half a gigabyte behind the
 * user's back is not a library's call. {@link VGG_WEIGHT_SOURCES} documents the official files
 * (for the README, `doctor` and error messages); the user fetches one and runs
 * `perceptual weights <file>` to convert it. {@link findVggWeights} looks in the standard places.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { VggWeightsInfo } from './canonical.js';
import type { VggArch } from './layers.js';
import type { VggPreprocessing } from './preprocessing.js';
import { inspectVggWeights } from './weights.js';
import { packageRoot } from '../../util/paths.js';

/**
 * Folders of the shared data that hold VGG weights, best first: the float32 partial copy, then
 * the complete uint8-quantised one. Both are looked for under `$PERCEPTUAL_DATA` and the
 * repository's `../shared/data`.
 */
export const SHARED_VGG_FOLDERS: readonly string[] = ['vgg19-keras', 'vgg19-full-uint8'];

export interface VggWeightSource {
  arch: VggArch;
  /** Reader that handles the file, see weights.ts. */
  format: 'torchvision' | 'keras-h5' | 'tfjs';
  preprocessing: VggPreprocessing;
  url: string;
  fileName: string;
  /** How to verify the download. */
  checksum?: { algorithm: 'sha256-prefix' | 'md5'; value: string };
  notes: string;
}

export const VGG_WEIGHT_SOURCES: readonly VggWeightSource[] = [
  {
    arch: 'vgg16',
    format: 'torchvision',
    preprocessing: 'torchvision',
    url: 'https://download.pytorch.org/models/vgg16-397923af.pth',
    fileName: 'vgg16-397923af.pth',
    // torchvision names its files after the first 8 hex digits of their SHA-256.
    checksum: { algorithm: 'sha256-prefix', value: '397923af' },
    notes: 'torchvision.models.vgg16 (IMAGENET1K_V1), ~528 MB state dict; RGB 0–1 normalised by ImageNet mean/std.',
  },
  {
    arch: 'vgg19',
    format: 'torchvision',
    preprocessing: 'torchvision',
    url: 'https://download.pytorch.org/models/vgg19-dcbb9e9d.pth',
    fileName: 'vgg19-dcbb9e9d.pth',
    checksum: { algorithm: 'sha256-prefix', value: 'dcbb9e9d' },
    notes: 'torchvision.models.vgg19 (IMAGENET1K_V1), ~548 MB state dict; RGB 0–1 normalised by ImageNet mean/std.',
  },
  {
    arch: 'vgg16',
    format: 'keras-h5',
    preprocessing: 'caffe',
    url: 'https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
    fileName: 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
    // The file_hash keras.applications passes to get_file.
    checksum: { algorithm: 'md5', value: '6d6bbae143d832006294945121d1f1fc' },
    notes:
      'keras.applications VGG16 without the classifier (~58 MB): the original Caffe weights (the network Johnson et al. use), BGR 0–255 minus the mean. ' +
      'Also at https://github.com/fchollet/deep-learning-models/releases/download/v0.1/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
  },
  {
    arch: 'vgg19',
    format: 'keras-h5',
    preprocessing: 'caffe',
    url: 'https://storage.googleapis.com/tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5',
    fileName: 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5',
    checksum: { algorithm: 'md5', value: '253f8cb515780f3b799900260a226db6' },
    notes:
      'keras.applications VGG19 without the classifier (~80 MB), Caffe weights, BGR 0–255 minus the mean. ' +
      'Also at https://github.com/fchollet/deep-learning-models/releases/download/v0.1/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5',
  },
  {
    arch: 'vgg19',
    format: 'tfjs',
    preprocessing: 'caffe',
    url: 'https://github.com/ViktorSvensson/vgg19-tfjs',
    fileName: 'model.json',
    notes:
      'TF.js layers conversion of the Keras VGG19 (folder vgg19/: model.json + groupN-shardMofK). Any Keras .h5 can be converted the same way with ' +
      '`tensorflowjs_converter --input_format keras <file>.h5 <folder>` (pip install tensorflowjs); the .h5 itself is read directly, so conversion is optional. ' +
      'A partial copy (conv1_1 … conv3_4) is in shared/data/vgg19-keras.',
  },
];

/** Where `perceptual weights` puts converted files by default, and where {@link findVggWeights} looks. */
export function vggCacheDir(home = os.homedir()): string {
  return path.join(home, '.cache', 'perceptual');
}

/** The repository root (this file is src/models/vgg/sources.ts, or dist/models/vgg/sources.js once built). */
export function repoRoot(): string {
  return packageRoot;
}

export type VggWeightsOrigin = 'PERCEPTUAL_VGG' | 'cache' | 'PERCEPTUAL_DATA' | 'shared-data';

export interface FoundVggWeights {
  path: string;
  origin: VggWeightsOrigin;
  /** What the file provides (layers covered, missing layers, arch, preprocessing) when readable. */
  info?: VggWeightsInfo;
  /** Why it could not be used, when it exists but is unreadable or invalid. */
  error?: string;
}

export interface FindVggOptions {
  env?: NodeJS.ProcessEnv;
  home?: string;
  root?: string;
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(() => true, () => false);
}

/**
 * Look for VGG weights in the standard places, in order of preference:
 * `$PERCEPTUAL_VGG` (any supported file or folder, or several joined by ':'),
 * `~/.cache/perceptual/vgg*.safetensors`, then `vgg19-keras` and `vgg19-full-uint8` under
 * `$PERCEPTUAL_DATA` and the repository's `../shared/data`.
 * Every candidate is inspected (headers and manifests only, no tensor data) and returned with
 * the layers it covers, or with the error that makes it unusable; nothing is downloaded.
 */
export async function findVggWeights(options: FindVggOptions = {}): Promise<FoundVggWeights[]> {
  const env = options.env ?? process.env;
  const candidates: Array<{ path: string; origin: VggWeightsOrigin }> = [];
  if (env.PERCEPTUAL_VGG) candidates.push({ path: path.resolve(env.PERCEPTUAL_VGG), origin: 'PERCEPTUAL_VGG' });
  const cache = vggCacheDir(options.home);
  const cached = await fs.readdir(cache).catch(() => [] as string[]);
  for (const name of cached.filter((n) => /^vgg.*\.safetensors$/i.test(n)).sort()) {
    candidates.push({ path: path.join(cache, name), origin: 'cache' });
  }
  for (const folder of SHARED_VGG_FOLDERS) {
    if (env.PERCEPTUAL_DATA) candidates.push({ path: path.resolve(env.PERCEPTUAL_DATA, folder), origin: 'PERCEPTUAL_DATA' });
    candidates.push({ path: path.resolve(options.root ?? repoRoot(), '..', 'shared', 'data', folder), origin: 'shared-data' });
  }

  const found: FoundVggWeights[] = [];
  const seen = new Set<string>();
  for (const c of candidates) {
    if (!(await exists(c.path))) {
      // An explicitly configured path that does not exist is worth reporting; defaults are not.
      if (c.origin === 'PERCEPTUAL_VGG') found.push({ ...c, error: 'PERCEPTUAL_VGG points to a path that does not exist' });
      continue;
    }
    const real = await fs.realpath(c.path);
    if (seen.has(real)) continue;
    seen.add(real);
    try {
      found.push({ ...c, info: await inspectVggWeights(c.path) });
    } catch (e) {
      found.push({ ...c, error: (e as Error).message });
    }
  }
  return found;
}

/** The weights every command uses when none are given: one path (possibly combined, `a:b`) and what it provides. */
export interface DefaultVggWeights {
  path: string;
  info: VggWeightsInfo;
  /** The files it combines, in preference order (one when nothing is combined). */
  parts: FoundVggWeights[];
}

/**
 * The default loss-network weights: every usable file found (see {@link findVggWeights}) of the
 * same network as the first one — or of `arch` when given — combined layer by layer, so that
 * each layer comes from its most precise copy (float32 before float16 before uint16 before
 * uint8; ties go to the earlier file). Undefined when nothing usable is found.
 */
export async function defaultVggWeights(arch?: VggArch, options: FindVggOptions = {}): Promise<DefaultVggWeights | undefined> {
  const usable = (await findVggWeights(options)).filter((f) => f.info && (!arch || f.info.arch === arch));
  if (usable.length === 0) return undefined;
  const first = usable[0]!.info!;
  const parts = usable.filter((f) => f.info!.arch === first.arch && f.info!.preprocessing === first.preprocessing);
  if (parts.length === 1) return { path: parts[0]!.path, info: first, parts };
  const joined = parts.map((p) => p.path).join(path.delimiter);
  return { path: joined, info: await inspectVggWeights(joined), parts };
}

/** One row of {@link describeVggLayers}: a convolution, the file it is read from and how it is stored. */
export interface VggLayerRow {
  layer: string;
  file?: string;
  precision?: string;
}

/** Per convolution of the network, where its weights come from (`doctor` prints this). */
export function describeVggLayers(info: VggWeightsInfo): VggLayerRow[] {
  return [...info.layers.map((layer) => ({ layer, file: info.layerFiles?.[layer] ?? info.file, precision: info.precision?.[layer] ?? 'float32' })),
    ...info.missingLayers.map((layer) => ({ layer }))].sort((a, b) => a.layer.localeCompare(b.layer, 'en', { numeric: true }));
}

/** Consecutive layers read from the same file at the same precision, e.g. conv1_1 … conv3_4 float32 from vgg19-keras. */
export interface VggLayerRun {
  first: string;
  last: string;
  count: number;
  /** Absent for layers no file provides. */
  file?: string;
  precision?: string;
}

/** {@link describeVggLayers} rows, in network order, grouped into runs of the same file and precision. */
export function groupVggLayers(info: VggWeightsInfo): VggLayerRun[] {
  const runs: VggLayerRun[] = [];
  for (const r of describeVggLayers(info)) {
    const prev = runs.at(-1);
    if (prev && prev.file === r.file && prev.precision === r.precision) {
      prev.last = r.layer;
      prev.count++;
    } else {
      runs.push({ first: r.layer, last: r.layer, count: 1, file: r.file, precision: r.precision });
    }
  }
  return runs;
}

/** Text lines for `doctor`: one per run of layers, `conv1_1 … conv3_4  float32  <file>`. */
export function formatVggLayers(info: VggWeightsInfo): string[] {
  return groupVggLayers(info).map((g) => {
    const range = g.count === 1 ? g.first : `${g.first} … ${g.last}`;
    return `${range.padEnd(19)} ${(g.precision ?? 'missing').padEnd(8)} ${g.file ?? '(no file provides these layers)'}`;
  });
}
