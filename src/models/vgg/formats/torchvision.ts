/**
 * torchvision's VGG checkpoints (`vgg16-397923af.pth`, `vgg19-dcbb9e9d.pth`): a state dict whose
 * convolutions are `features.<index>.weight` (OIHW, already canonical) and `.bias`, where the
 * index counts every module of the `features` Sequential (conv, ReLU, …, max-pool), so the
 * same index means different layers in VGG-16 and VGG-19 past conv3_3.
 *
 * torchvision retrained these networks itself: they take RGB in 0–1 normalised by the ImageNet
 * mean/std (preprocessing `torchvision`), not the Caffe convention.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  assembleVggWeights,
  checkShape,
  coverage,
  resolveArch,
  VggWeightsError,
  type LayerWeights,
  type LoadVggOptions,
  type VggWeights,
  type VggWeightsInfo,
} from '../canonical.js';
import { canonicalShapes, vggConvLayers, type VggArch } from '../layers.js';
import { asTensorRef, openTorchCheckpoint, TorchCheckpointError, type TorchCheckpoint, type TorchTensorRef } from './torch-checkpoint.js';

const KEY = /^(?:module\.)?features\.(\d+)\.(weight|bias)$/;

const CONV_INDICES: Record<VggArch, Set<number>> = {
  vgg16: new Set(vggConvLayers('vgg16').map((l) => l.torchvisionIndex)),
  vgg19: new Set(vggConvLayers('vgg19').map((l) => l.torchvisionIndex)),
};

interface TorchvisionIndex {
  info: Omit<VggWeightsInfo, 'layers' | 'missingLayers'>;
  checkpoint: TorchCheckpoint;
  /** Canonical layer → its state-dict entries (both present). */
  entries: Map<string, { weight: { name: string; ref: TorchTensorRef }; bias: { name: string; ref: TorchTensorRef } }>;
}

/** The first of these the checkpoint holds is taken as the state dict (training checkpoints wrap it). */
const WRAPPER_KEYS = ['state_dict', 'model_state_dict', 'model'];

function findStateDict(file: string, root: unknown): Map<unknown, unknown> {
  if (!(root instanceof Map)) throw new VggWeightsError(file, 'the checkpoint is not a state dict (expected a dict of tensors)');
  for (const k of WRAPPER_KEYS) {
    const inner = root.get(k);
    if (inner instanceof Map && !root.has('features.0.weight')) return inner;
  }
  return root;
}

/** Which architecture the feature indices prove, if any (indices that only one of them uses). */
function archFromIndices(file: string, indices: Set<number>): VggArch | undefined {
  const only16 = [...indices].filter((i) => CONV_INDICES.vgg16.has(i) && !CONV_INDICES.vgg19.has(i));
  const only19 = [...indices].filter((i) => CONV_INDICES.vgg19.has(i) && !CONV_INDICES.vgg16.has(i));
  if (only16.length && only19.length) {
    throw new VggWeightsError(file, `features.{${only16.join(',')}} are VGG-16 convolutions but features.{${only19.join(',')}} are VGG-19 ones: not a torchvision VGG state dict`);
  }
  return only16.length ? 'vgg16' : only19.length ? 'vgg19' : undefined;
}

async function indexTorchvision(file: string, options: LoadVggOptions): Promise<TorchvisionIndex> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(file));
  } catch (e) {
    throw new VggWeightsError(file, `cannot read: ${(e as Error).message}`);
  }
  let checkpoint: TorchCheckpoint;
  try {
    checkpoint = openTorchCheckpoint(file, bytes);
  } catch (e) {
    if (e instanceof TorchCheckpointError) throw new VggWeightsError(file, e.message.slice(file.length + 2));
    throw e;
  }
  const stateDict = findStateDict(file, checkpoint.root);

  const found = new Map<number, { weight?: { name: string; ref: TorchTensorRef }; bias?: { name: string; ref: TorchTensorRef } }>();
  const ignored: string[] = [];
  for (const [key, value] of stateDict) {
    if (typeof key !== 'string') continue;
    if (/^(?:module\.)?features\.\d+\.(running_mean|running_var|num_batches_tracked)$/.test(key)) {
      throw new VggWeightsError(file, `${key}: this is a batch-normalised VGG (vgg16_bn/vgg19_bn), which is a different network; use the plain vgg16/vgg19 weights`);
    }
    const m = KEY.exec(key);
    if (!m) {
      if (!key.replace(/^module\./, '').startsWith('classifier.')) ignored.push(key);
      continue;
    }
    const ref = asTensorRef(value);
    if (!ref) throw new VggWeightsError(file, `${key} is not a tensor`);
    const entry = found.get(Number(m[1])) ?? {};
    entry[m[2] as 'weight' | 'bias'] = { name: key, ref };
    found.set(Number(m[1]), entry);
  }
  if (found.size === 0) {
    throw new VggWeightsError(file, `no features.<N>.weight/bias entries: unknown layout (keys: ${[...stateDict.keys()].slice(0, 5).map(String).join(', ')}${stateDict.size > 5 ? ', …' : ''})`);
  }

  const arch = resolveArch(file, archFromIndices(file, new Set(found.keys())), options.arch);
  const byIndex = new Map(vggConvLayers(arch).map((l) => [l.torchvisionIndex, l]));
  const notes = ignored.length ? [`ignored entries: ${ignored.join(', ')}`] : [];
  const entries: TorchvisionIndex['entries'] = new Map();
  for (const [index, e] of [...found].sort((a, b) => a[0] - b[0])) {
    const layer = byIndex.get(index);
    if (!layer) throw new VggWeightsError(file, `features.${index} is not a convolution of ${arch} (its convolutions are features.{${[...CONV_INDICES[arch]].join(',')}})`);
    const shapes = canonicalShapes(layer);
    if (e.weight) checkShape(file, layer.name, e.weight.name, e.weight.ref.shape, shapes.weight);
    if (e.bias) checkShape(file, layer.name, e.bias.name, e.bias.ref.shape, shapes.bias);
    if (e.weight && e.bias) entries.set(layer.name, { weight: e.weight, bias: e.bias });
    else notes.push(`${layer.name}: features.${index}.${e.weight ? 'bias' : 'weight'} is missing, layer not loaded`);
  }
  return {
    info: { file, format: 'torchvision', arch, preprocessing: 'torchvision', source: `torchvision ${arch} (${path.basename(file)})`, notes },
    checkpoint,
    entries,
  };
}

/** What a torchvision `.pth` provides (parses the pickle; reads no tensor data). */
export async function inspectTorchvisionVgg(file: string, options: LoadVggOptions = {}): Promise<VggWeightsInfo> {
  const index = await indexTorchvision(file, options);
  return { ...index.info, ...coverage(index.info.arch, index.entries.keys()) };
}

/** Load the convolution weights of a torchvision VGG checkpoint as canonical float32. */
export async function loadTorchvisionVgg(file: string, options: LoadVggOptions = {}): Promise<VggWeights> {
  const index = await indexTorchvision(file, options);
  const layers = [...index.entries];
  let data: Float32Array[];
  try {
    data = index.checkpoint.readFloat32(layers.flatMap(([, e]) => [e.weight, e.bias]));
  } catch (e) {
    if (e instanceof TorchCheckpointError) throw new VggWeightsError(file, e.message.slice(file.length + 2));
    throw e;
  }
  const available = new Map<string, LayerWeights>();
  layers.forEach(([name], i) => available.set(name, { weight: data[2 * i]!, bias: data[2 * i + 1]! }));
  return assembleVggWeights(index.info, available);
}
