/**
 * What a user needs to know about this machine before training or stylising: is the libtorch
 * engine there (and why not), its version, threads, devices, precision, BLAS, onnxruntime,
 * and which loss-network weights can be found.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import { native, addonPath } from '../engine/native.js';
import { cpuHasFastBf16, defaultPrecision } from '../engine/runtime.js';
import { cpuFeatures, describeBf16 } from '../engine/cpu.js';
import { distributedInfo } from '../engine/distributed.js';
import { defaultVggWeights, findVggWeights, formatVggLayers } from '../models/vgg/sources.js';
import { defaultLossProfile } from '../losses/setup.js';

export interface DoctorReport {
  node: string;
  platform: string;
  /** bf16: native bf16 as libtorch/oneDNN will use it (their ISA switches honoured); bf16Detail says which case and why. */
  cpu: { model: string; cores: number; bf16: boolean; bf16Detail: string; switches: string[]; ignoredSwitches: string[] };
  engine: { available: boolean; reason?: string; addon: string; libtorch?: string; threads?: number; devices: string[]; cuda: boolean; mkldnn?: boolean; defaultPrecision?: string; openblasCoretype?: string | null; distributed?: { available: boolean; reason?: string; backends: string[] } };
  onnxruntime: { available: boolean; version?: string; reason?: string };
  sharp: { available: boolean; version?: string; reason?: string };
  lossNetworks: Array<{ path: string; arch: string; preprocessing: string; layers: string[]; missing: string[]; error?: string }>;
  lossNetworkHint?: string;
  /** What training and the Gatys baseline use by default: the found files combined layer by layer (models/vgg/combined.ts), per layer its file and precision. */
  lossNetworkDefault?: { path: string; arch: string; profile: string; layers: string[] };
}

const require = createRequire(import.meta.url);

function pkgVersion(name: string): string | undefined {
  try {
    const main = require.resolve(name);
    const idx = main.lastIndexOf(`node_modules/${name}/`);
    return (JSON.parse(readFileSync(main.slice(0, idx) + `node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

export async function doctor(): Promise<DoctorReport> {
  const cpus = os.cpus();
  const features = cpuFeatures();
  const report: DoctorReport = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: { model: cpus[0]?.model ?? 'unknown', cores: os.availableParallelism?.() ?? cpus.length, bf16: cpuHasFastBf16(), bf16Detail: describeBf16(features), switches: features.switches, ignoredSwitches: features.ignored },
    engine: { available: false, addon: addonPath, devices: [], cuda: false },
    onnxruntime: { available: false },
    sharp: { available: false },
    lossNetworks: [],
  };
  try {
    const n = native();
    const info = n.info();
    report.engine = {
      available: true,
      addon: addonPath,
      libtorch: info.libtorch,
      threads: info.threads,
      devices: ['cpu', ...Array.from({ length: info.cudaDevices }, (_, i) => `cuda:${i}`)],
      cuda: info.cudaAvailable,
      mkldnn: info.mkldnn,
      defaultPrecision: defaultPrecision(),
      openblasCoretype: process.env.OPENBLAS_CORETYPE ?? null,
      distributed: distributedInfo(),
    };
  } catch (e) {
    report.engine.reason = (e as Error).message;
  }
  try {
    await import('onnxruntime-node');
    report.onnxruntime = { available: true, version: pkgVersion('onnxruntime-node') };
  } catch (e) {
    report.onnxruntime = { available: false, reason: (e as Error).message.split('\n')[0] };
  }
  try {
    const sharp = (await import('sharp')).default;
    report.sharp = { available: true, version: sharp.versions.sharp ?? pkgVersion('sharp') };
  } catch (e) {
    report.sharp = { available: false, reason: (e as Error).message.split('\n')[0] };
  }
  try {
    for (const f of await findVggWeights()) {
      if (f.info) report.lossNetworks.push({ path: f.path, arch: f.info.arch, preprocessing: f.info.preprocessing, layers: f.info.layers, missing: f.info.missingLayers });
      else report.lossNetworks.push({ path: f.path, arch: '?', preprocessing: '?', layers: [], missing: [], error: f.error });
    }
  } catch (e) {
    report.lossNetworkHint = `weight search failed: ${(e as Error).message}`;
  }
  try {
    const def = await defaultVggWeights();
    if (def) report.lossNetworkDefault = { path: def.path, arch: def.info.arch, profile: await defaultLossProfile(), layers: formatVggLayers(def.info) };
  } catch (e) {
    report.lossNetworkHint = `default loss network: ${(e as Error).message}`;
  }
  if (report.lossNetworks.length === 0 && !report.lossNetworkHint) {
    report.lossNetworkHint = 'no VGG weights found: run `perceptual weights` to see where to get them and how to convert them';
  }
  return report;
}

export function formatDoctor(r: DoctorReport): string {
  const ok = (b: boolean) => (b ? 'yes' : 'NO');
  const lines = [
    `node          ${r.node} (${r.platform})`,
    `cpu           ${r.cpu.model}, ${r.cpu.cores} cores, fast bf16: ${ok(r.cpu.bf16)} — ${r.cpu.bf16Detail}`,
    ...r.cpu.ignoredSwitches.map((sw) => `              ignored by libtorch/oneDNN: ${sw}`),
    `engine        ${r.engine.available ? `libtorch ${r.engine.libtorch}, ${r.engine.threads} threads, devices ${r.engine.devices.join(', ')}, default precision ${r.engine.defaultPrecision}` : 'NOT AVAILABLE'}`,
  ];
  if (!r.engine.available && r.engine.reason) lines.push(...r.engine.reason.split('\n').map((l) => `              ${l}`));
  if (r.engine.available) lines.push(`              CUDA: ${ok(r.engine.cuda)}, oneDNN: ${ok(!!r.engine.mkldnn)}, OPENBLAS_CORETYPE: ${r.engine.openblasCoretype ?? '(auto)'}`);
  if (r.engine.distributed) lines.push(`              data-parallel (perceptual launch): ${r.engine.distributed.available ? `c10d ${r.engine.distributed.backends.join(', ')}` : `NOT AVAILABLE (${r.engine.distributed.reason})`}`);
  lines.push(`onnxruntime   ${r.onnxruntime.available ? `onnxruntime-node ${r.onnxruntime.version}` : `NOT AVAILABLE (${r.onnxruntime.reason})`}`);
  lines.push(`images        ${r.sharp.available ? `sharp ${r.sharp.version}` : `NOT AVAILABLE (${r.sharp.reason})`}`);
  if (r.lossNetworks.length === 0) lines.push(`loss network  none found — ${r.lossNetworkHint ?? ''}`);
  for (const w of r.lossNetworks) {
    if (w.error) {
      lines.push(`loss network  unusable: ${w.path}: ${w.error}`);
      continue;
    }
    lines.push(`loss network  ${w.arch} (${w.preprocessing}) at ${w.path}`);
    lines.push(`              conv layers ${w.layers.join(' ')}${w.missing.length ? `; missing ${w.missing.join(' ')}` : ''}`);
  }
  const d = r.lossNetworkDefault;
  if (d) {
    lines.push(`loss network  default: ${d.arch}, profile ${d.profile}; per layer, the file and precision it is read from:`);
    lines.push(...d.layers.map((l) => `              ${l}`));
  }
  return lines.join('\n');
}
