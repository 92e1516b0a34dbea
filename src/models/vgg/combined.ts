/**
 * Several weight files combined layer by layer. The complete VGG-19 at hand is in two partial
 * copies: float32 conv1_1 … conv3_4 (shared/data/vgg19-keras) and uint8-quantised conv1_1 …
 * conv5_4 (shared/data/vgg19-full-uint8). The loss network should use the most precise copy of
 * each layer — float32 where a file has it, else the quantised one — so that the early layers,
 * which carry most of the style (relu1_2, relu2_2) and the content (relu3_3), are exact, and the
 * deep ones (relu4_3, relu5_1) exist at all.
 *
 * A combined source is written as the files joined by the platform's path delimiter (':' on
 * POSIX, like PATH): `--vgg a:b`, `PERCEPTUAL_VGG=a:b`. Every file must hold the same network
 * (same architecture and input convention), or combining them would mix two different VGGs.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  VGG_PRECISION_RANK,
  VggWeightsError,
  coverage,
  type LoadVggOptions,
  type VggPrecision,
  type VggWeights,
  type VggWeightsInfo,
} from './canonical.js';
import { convsUpTo, vggConvLayers } from './layers.js';

/** One layer's chosen copy. */
export interface VggLayerSource {
  layer: string;
  file: string;
  precision: VggPrecision;
}

/** Per-file readers, injected by weights.ts (which owns format detection) to avoid an import cycle. */
export interface VggReaders {
  inspect(input: string, options: LoadVggOptions & { only?: readonly string[] }): Promise<VggWeightsInfo>;
  load(input: string, options: LoadVggOptions & { only?: readonly string[] }): Promise<VggWeights>;
}

/**
 * The parts of a combined source, or undefined when `input` is one path. A path that exists as
 * written is never split, so a file whose name contains the delimiter still loads.
 */
export async function splitVggSources(input: string): Promise<string[] | undefined> {
  if (!input.includes(path.delimiter)) return undefined;
  if (await fs.stat(input).then(() => true, () => false)) return undefined;
  const parts = input.split(path.delimiter).filter((p) => p !== '');
  return parts.length > 1 ? parts : undefined;
}

function rank(p: VggPrecision): number {
  return VGG_PRECISION_RANK.indexOf(p);
}

/** Per layer of the network, which file provides the most precise copy (ties: the earlier file). */
export function planVggLayers(infos: readonly VggWeightsInfo[]): VggLayerSource[] {
  const first = infos[0]!;
  const plan: VggLayerSource[] = [];
  for (const { name } of vggConvLayers(first.arch)) {
    let best: VggLayerSource | undefined;
    for (const info of infos) {
      if (!info.layers.includes(name)) continue;
      const precision = info.precision?.[name] ?? 'float32';
      if (!best || rank(precision) < rank(best.precision)) best = { layer: name, file: info.layerFiles?.[name] ?? info.file, precision };
    }
    if (best) plan.push(best);
  }
  return plan;
}

async function inspectAll(parts: readonly string[], options: LoadVggOptions, readers: VggReaders): Promise<VggWeightsInfo[]> {
  const infos: VggWeightsInfo[] = [];
  for (const p of parts) infos.push(await readers.inspect(p, { arch: options.arch }));
  const a = infos[0]!;
  for (const b of infos.slice(1)) {
    if (b.arch !== a.arch || b.preprocessing !== a.preprocessing) {
      throw new VggWeightsError(
        `${a.file} + ${b.file}`,
        `cannot combine ${a.arch} (${a.preprocessing}) weights with ${b.arch} (${b.preprocessing}) weights: they are different networks`,
      );
    }
  }
  return infos;
}

function combinedInfo(infos: readonly VggWeightsInfo[], plan: readonly VggLayerSource[]): VggWeightsInfo {
  const a = infos[0]!;
  const used = [...new Set(plan.map((p) => p.file))];
  return {
    file: infos.map((i) => i.file).join(' + '),
    format: 'combined',
    arch: a.arch,
    preprocessing: a.preprocessing,
    ...coverage(a.arch, plan.map((p) => p.layer)),
    source: [...new Set(infos.map((i) => i.source))].join(' + '),
    notes: [
      `combined layer by layer from ${used.length} of ${infos.length} files (the most precise copy of each layer)`,
      ...infos.flatMap((i) => i.notes.map((n) => `${path.basename(path.dirname(i.file))}: ${n}`)),
    ],
    precision: Object.fromEntries(plan.map((p) => [p.layer, p.precision])),
    layerFiles: Object.fromEntries(plan.map((p) => [p.layer, p.file])),
  };
}

/** What a combined source provides, per layer, without decoding tensors. */
export async function inspectCombinedVgg(parts: readonly string[], options: LoadVggOptions, readers: VggReaders): Promise<VggWeightsInfo> {
  const infos = await inspectAll(parts, options, readers);
  return combinedInfo(infos, planVggLayers(infos));
}

/**
 * Load a combined source: each file is asked only for the layers it is chosen for (a TF.js
 * file then reads only the shards holding them), and the tensors are merged in network order.
 */
export async function loadCombinedVgg(parts: readonly string[], options: LoadVggOptions, readers: VggReaders): Promise<VggWeights> {
  const infos = await inspectAll(parts, options, readers);
  const arch = infos[0]!.arch;
  let plan = planVggLayers(infos);
  const info = combinedInfo(infos, plan);
  if (options.upTo !== undefined) {
    // Layers no file provides are left out and reported in missingLayers.
    const needed = convsUpTo(arch, options.upTo);
    plan = plan.filter((p) => needed.includes(p.layer));
  }
  const tensors: VggWeights['tensors'] = new Map();
  const byFile = new Map<string, string[]>();
  for (const p of plan) byFile.set(p.file, [...(byFile.get(p.file) ?? []), p.layer]);
  const loaded = new Map<string, VggWeights>();
  for (const [file, layers] of byFile) {
    const part = parts[infos.findIndex((i) => i.file === file)] ?? file;
    loaded.set(file, await readers.load(part, { arch, only: layers }));
  }
  for (const { name } of vggConvLayers(arch)) {
    const p = plan.find((q) => q.layer === name);
    if (!p) continue;
    const w = loaded.get(p.file)!;
    for (const key of [`${name}.weight`, `${name}.bias`]) {
      const t = w.tensors.get(key);
      if (!t) throw new VggWeightsError(p.file, `no tensor ${key} after loading`, name);
      tensors.set(key, t);
    }
  }
  const loadedLayers = plan.map((p) => p.layer);
  return {
    ...info,
    ...coverage(arch, loadedLayers),
    precision: Object.fromEntries(plan.map((p) => [p.layer, p.precision])),
    layerFiles: Object.fromEntries(plan.map((p) => [p.layer, p.file])),
    tensors,
  };
}
