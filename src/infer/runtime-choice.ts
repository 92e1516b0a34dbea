/**
 * Which runtime runs a model folder that has both `model.onnx` and `weights.safetensors`:
 * onnxruntime, the libtorch engine in float32, or the engine in bf16 autocast + channels_last.
 *
 * Why measure instead of a rule: which one wins depends on the CPU (oneDNN's bf16 kernels need
 * AVX512-BF16/AMX; MLAS and oneDNN differ by kernel and size), the thread count, the
 * architecture and the image size — on the 2-core EPYC this was written on onnxruntime is
 * ~2.5× faster than the engine at 256² but only ~1.4× at 512². So each (CPU model, threads,
 * architecture, size bucket) is measured once and the answer cached in
 * `~/.cache/perceptual/runtime-choice.json`:
 *  - automatically, the first time, with a short probe (≤ 2 s by default) at a small size;
 *  - on request (`perceptual bench --choose`), at each bucket's own size, with more runs.
 * bf16 is a candidate only where the CPU has native bf16 and its output stays within
 * PSNR ≥ 40 dB of the engine's float32 output on a deterministic input (measured in the probe).
 * Without the engine there is nothing to choose: onnxruntime.
 */
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuHasFastBf16, defaultThreads, engineAvailable, type Precision } from '../engine/index.js';
import { cpuFeatures } from '../engine/cpu.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { readNetworkConfig, MODEL_FILES, type ModelCard, type ModelFiles } from '../models/model-folder.js';
import type { RgbImage } from '../data/image.js';
import { psnr } from '../metrics/metrics.js';
import type { StyleModelCore } from './core/index.js';

export type RuntimeKind = 'onnx' | 'engine';

export interface RuntimeChoice {
  runtime: RuntimeKind;
  precision: Precision;
  reason: string;
}

/** The card fields used here: a {@link ModelCard}, or any part of one (older cards may carry `network`). */
export type ChoiceCard = { name?: string; task?: string; network?: unknown; [key: string]: unknown } | ModelCard;

export interface ChooseRuntimeOptions {
  card: ChoiceCard;
  folder: string;
  /** Size of the images to run (input pixels): a square side or width×height. Default: the 512 bucket. */
  size?: number | { width: number; height: number };
  /** 'auto' (default): probe when nothing is cached; 'never': use the cache or a fixed default; 'always': probe now. */
  measure?: 'auto' | 'never' | 'always';
  /**
   * Time the automatic probe may take (default 2000 ms). Loading the runtimes and one warm-up
   * run each are not interruptible, so the timed runs get what is left after an allowance for
   * them (`PROBE_FIXED_MS`); on a busy machine the probe can still run over.
   */
  probeBudgetMs?: number;
  /** Cache file (default `$XDG_CACHE_HOME/perceptual/runtime-choice.json`, i.e. `~/.cache/…`). */
  cacheFile?: string;
}

/** One measured candidate. */
export interface CandidateTiming {
  runtime: RuntimeKind;
  precision: Precision;
  /** Best of the timed runs, ms (the least disturbed by other load on the machine). */
  ms: number;
  runs: number;
}

export interface CacheEntry extends RuntimeChoice {
  measuredAt: string;
  /** Side of the square input the timings were taken at. */
  measuredSide: number;
  timings: CandidateTiming[];
  /** PSNR (dB, RGB, float) of the engine's bf16 output against its float32 output; absent if not measured. */
  bf16PsnrDb?: number;
}

interface CacheFile {
  version: 1;
  entries: Record<string, CacheEntry>;
}

/**
 * What loading onnxruntime and the engine and one warm-up run of each take in the probe,
 * roughly (measured 0.5–0.8 s for the paper's network at 128² on 2 cores).
 */
const PROBE_FIXED_MS = 800;

/** PSNR the bf16 path must keep against float32 to be used at all. */
export const MIN_BF16_PSNR_DB = 40;

/** Size buckets: input side (of a square with the same pixel count) up to which each applies. */
export const SIZE_BUCKETS = [256, 512, 1024] as const;

/** The bucket of an image size: ≤256², ≤512², else 1024 (larger images run as ≤1024² tiles). */
export function sizeBucket(size?: number | { width: number; height: number }): number {
  if (size === undefined) return 512;
  const pixels = typeof size === 'number' ? size * size : size.width * size.height;
  return SIZE_BUCKETS.find((b) => pixels <= b * b) ?? 1024;
}

export function defaultCacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'perceptual', 'runtime-choice.json');
}

/**
 * What the timings depend on: CPU model (with libtorch's/oneDNN's ISA switches when set: they
 * change what runs, see engine/cpu.ts), threads, the architecture, the size bucket.
 */
export function cacheKey(architecture: string, bucket: number, threads = defaultThreads()): string {
  const model = os.cpus()[0]?.model.trim().replace(/\s+/g, ' ') ?? 'unknown CPU';
  const switches = cpuFeatures().switches;
  const cpu = switches.length ? `${model} (${switches.join(' ')})` : model;
  return `${cpu} | ${threads} threads | ${os.arch()} | ${architecture} | ${bucket}`;
}

type ModelFolderFiles = Pick<ModelFiles, 'onnx' | 'weights'>;

function folderFiles(folder: string): ModelFolderFiles {
  const onnx = path.join(folder, MODEL_FILES.onnx);
  const weights = path.join(folder, MODEL_FILES.weights);
  return { onnx: existsSync(onnx) ? onnx : undefined, weights: existsSync(weights) ? weights : undefined };
}

/** The architecture part of the cache key: the network config (the weights' metadata, else an older card's `network`). */
async function architectureOf(card: ChoiceCard, files: ModelFolderFiles): Promise<string> {
  const config: unknown = (files.weights ? await readNetworkConfig(files.weights) : undefined) ?? card.network;
  if (config && typeof config === 'object') {
    const c = config as Record<string, unknown>;
    return [c.kind, c.arch, c.norm, c.padding, c.factor].filter((v) => v !== undefined).join(' ');
  }
  return `model ${card.name ?? 'unnamed'}`;
}

async function readCache(file: string): Promise<CacheFile> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as CacheFile;
    if (parsed && parsed.version === 1 && parsed.entries && typeof parsed.entries === 'object') return parsed;
  } catch {
    // absent or unreadable: start afresh (it is only a cache)
  }
  return { version: 1, entries: {} };
}

/** Merge entries into the cache file, atomically (temp + rename), so concurrent runs never see half a file. */
export async function writeCacheEntries(file: string, entries: Record<string, CacheEntry>): Promise<void> {
  const cache = await readCache(file);
  Object.assign(cache.entries, entries);
  await writeFileAtomic(file, `${JSON.stringify(cache, null, 2)}\n`);
}

/**
 * A deterministic test image: smooth colour gradients plus texture at several scales, so the
 * bf16 check sees flat regions and edges alike, with no file needed.
 */
export function probeImage(side: number): RgbImage {
  const data = new Float32Array(side * side * 3);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const u = x / side, v = y / side;
      for (let c = 0; c < 3; c++) {
        const smooth = 127.5 + 80 * Math.sin(2 * Math.PI * (u * (1 + c) + v * 0.7) + c);
        const texture = 30 * Math.sin(x * 0.9 + c) * Math.cos(y * 1.3 - c) + 15 * Math.sin((x + 2 * y) * 0.21);
        data[(y * side + x) * 3 + c] = Math.min(255, Math.max(0, smooth + texture));
      }
    }
  }
  return { data, width: side, height: side, channels: 3 };
}

type Runner = StyleModelCore & { dispose(): void | Promise<void> };

async function loadRunner(c: { runtime: RuntimeKind; precision: Precision }, files: ModelFolderFiles, threads: number): Promise<Runner> {
  if (c.runtime === 'onnx') {
    const { NodeStyleModel } = await import('./node/node-style-model.js');
    return NodeStyleModel.load(files.onnx!, { threads });
  }
  const { EngineStyleModel } = await import('./engine-model.js');
  return EngineStyleModel.load(files.weights!, { precision: c.precision });
}

export interface MeasureOptions {
  /** Input side to time at. */
  side: number;
  /** Time budget for all candidates together (ms); each gets a share, at least one timed run. */
  budgetMs: number;
  /** Upper bound of timed runs per candidate. */
  maxRuns?: number;
}

export interface Measurement {
  timings: CandidateTiming[];
  bf16PsnrDb?: number;
}

/** The candidates this machine can run for this folder. */
export function candidatesFor(files: ModelFolderFiles, engine = engineAvailable()): Array<{ runtime: RuntimeKind; precision: Precision }> {
  const out: Array<{ runtime: RuntimeKind; precision: Precision }> = [];
  if (files.onnx) out.push({ runtime: 'onnx', precision: 'float32' });
  if (files.weights && engine) {
    out.push({ runtime: 'engine', precision: 'float32' });
    // Without native bf16, oneDNN emulates it and it is slower than float32: not worth timing.
    if (cpuHasFastBf16()) out.push({ runtime: 'engine', precision: 'bf16' });
  }
  return out;
}

/**
 * Time each candidate on the probe image (one warm-up run each, then timed runs within the
 * budget), and the bf16 output's PSNR against float32's.
 */
export async function measureCandidates(folder: string, o: MeasureOptions): Promise<Measurement> {
  const files = folderFiles(folder);
  const candidates = candidatesFor(files);
  const image = probeImage(o.side);
  const threads = defaultThreads();
  const started = performance.now();
  const timings: CandidateTiming[] = [];
  const outputs = new Map<string, RgbImage>();
  const failures: string[] = [];
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    let runner: Runner | undefined;
    try {
      const loaded = (runner = await loadRunner(c, files, threads));
      const run = () => loaded.stylize(image, { tileSize: 0 });
      outputs.set(`${c.runtime}/${c.precision}`, await run()); // warm-up: kernels, allocators, oneDNN primitives
      // This candidate's share of what is left of the budget.
      const deadline = performance.now() + Math.max(0, (o.budgetMs - (performance.now() - started)) / (candidates.length - i));
      let best = Infinity;
      let runs = 0;
      // The best of several runs where the budget allows: on a busy machine one run can stall
      // (OpenMP threads descheduled), and the minimum is the least disturbed estimate.
      do {
        const t0 = performance.now();
        await run();
        best = Math.min(best, performance.now() - t0);
        runs++;
      } while (performance.now() < deadline && runs < (o.maxRuns ?? 5));
      timings.push({ ...c, ms: best, runs });
    } catch (e) {
      // A candidate that cannot run here (a broken install, an old model file) is left out.
      failures.push(`${c.runtime} ${c.precision}: ${(e as Error).message}`);
    } finally {
      await runner?.dispose();
    }
  }
  if (timings.length === 0) throw new Error(`no runtime could run ${folder}: ${failures.join('; ')}`);
  const f32 = outputs.get('engine/float32');
  const bf16 = outputs.get('engine/bf16');
  return { timings, bf16PsnrDb: f32 && bf16 ? psnr(bf16, f32, { quantize: false }) : undefined };
}

/** The fastest candidate, bf16 only when its PSNR is ≥ {@link MIN_BF16_PSNR_DB}. */
export function pickFastest(m: Measurement, side: number): RuntimeChoice {
  const usable = m.timings.filter((t) => t.precision !== 'bf16' || (m.bf16PsnrDb ?? 0) >= MIN_BF16_PSNR_DB);
  if (usable.length === 0) throw new Error('no runtime could be measured');
  const best = usable.reduce((a, b) => (b.ms < a.ms ? b : a));
  const label = (t: { runtime: RuntimeKind; precision: Precision }) => (t.runtime === 'onnx' ? 'onnxruntime' : `engine ${t.precision === 'bf16' ? 'bf16+channels_last' : 'float32'}`);
  const others = m.timings.map((t) => `${label(t)} ${t.ms.toFixed(0)} ms`).join(', ');
  const quality = m.bf16PsnrDb === undefined ? '' : `; bf16 PSNR ${m.bf16PsnrDb.toFixed(1)} dB vs float32${m.bf16PsnrDb < MIN_BF16_PSNR_DB ? ` (< ${MIN_BF16_PSNR_DB} dB: not used)` : ''}`;
  return { runtime: best.runtime, precision: best.precision, reason: `${label(best)} is the fastest here at ${side}×${side} (${others}${quality})` };
}

/**
 * Choose the runtime for a model folder (see the file comment). Never throws for a missing
 * engine or a failed probe: those fall back to onnxruntime when the folder has an ONNX model.
 */
export async function chooseRuntime(o: ChooseRuntimeOptions): Promise<RuntimeChoice> {
  const files = folderFiles(o.folder);
  if (!files.onnx && !files.weights) throw new Error(`${o.folder}: no ${MODEL_FILES.onnx} or ${MODEL_FILES.weights} in this folder`);
  const engine = files.weights ? engineAvailable() : false;
  if (!files.weights) return { runtime: 'onnx', precision: 'float32', reason: 'the folder has only model.onnx' };
  if (!engine) {
    if (files.onnx) return { runtime: 'onnx', precision: 'float32', reason: 'the libtorch engine is not installed (see `perceptual doctor`)' };
    throw new Error(`${o.folder} has only weights.safetensors, which need the libtorch engine (see \`perceptual doctor\`), or export it to ONNX with \`perceptual export\``);
  }
  const candidates = candidatesFor(files, engine);
  if (candidates.length === 1) return { ...candidates[0]!, reason: 'the folder has no model.onnx and this CPU has no native bf16' };

  const bucket = sizeBucket(o.size);
  const cacheFile = o.cacheFile ?? defaultCacheFile();
  const key = cacheKey(await architectureOf(o.card, files), bucket);
  const measure = o.measure ?? 'auto';
  if (measure !== 'always') {
    const hit = (await readCache(cacheFile)).entries[key];
    if (hit) return { runtime: hit.runtime, precision: hit.precision, reason: `${hit.reason} [measured ${hit.measuredAt.slice(0, 10)}, cached in ${cacheFile}]` };
    if (measure === 'never') {
      return files.onnx
        ? { runtime: 'onnx', precision: 'float32', reason: 'not measured on this machine yet; onnxruntime is the default (`perceptual bench --choose` measures)' }
        : { runtime: 'engine', precision: 'float32', reason: 'not measured on this machine yet; engine float32 is the safe default' };
    }
  }
  // A small probe: the bucket's size, but at most 128² so that it fits the budget on 2 cores.
  const side = Math.min(bucket, 128);
  let m: Measurement;
  try {
    m = await measureCandidates(o.folder, { side, budgetMs: Math.max(0, (o.probeBudgetMs ?? 2000) - PROBE_FIXED_MS), maxRuns: 5 });
  } catch (e) {
    // Nothing ran: let the caller's loader report the real error on the preferred file.
    return { runtime: files.onnx ? 'onnx' : 'engine', precision: 'float32', reason: `the probe failed (${(e as Error).message})` };
  }
  const choice = pickFastest(m, side);
  const entry: CacheEntry = { ...choice, measuredAt: new Date().toISOString(), measuredSide: side, timings: m.timings, bf16PsnrDb: m.bf16PsnrDb };
  await writeCacheEntries(cacheFile, { [key]: entry }).catch(() => {}); // a read-only home must not break stylising
  return { ...choice, reason: `${choice.reason} [short probe; \`perceptual bench --choose\` measures at full size]` };
}

/**
 * `perceptual bench --choose`: measure every size bucket at its own size (more runs than the
 * probe) and cache the choices. Returns the entries written.
 */
export async function measureAndCacheAllBuckets(o: { card: ChoiceCard; folder: string; cacheFile?: string; budgetMsPerBucket?: number; buckets?: readonly number[] }): Promise<Record<string, CacheEntry>> {
  const files = folderFiles(o.folder);
  const arch = await architectureOf(o.card, files);
  const entries: Record<string, CacheEntry> = {};
  for (const side of o.buckets ?? SIZE_BUCKETS) {
    const m = await measureCandidates(o.folder, { side, budgetMs: o.budgetMsPerBucket ?? 20_000, maxRuns: 5 });
    const choice = pickFastest(m, side);
    entries[cacheKey(arch, side)] = { ...choice, measuredAt: new Date().toISOString(), measuredSide: side, timings: m.timings, bf16PsnrDb: m.bf16PsnrDb };
  }
  await writeCacheEntries(o.cacheFile ?? defaultCacheFile(), entries);
  return entries;
}
