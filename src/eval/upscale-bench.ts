/**
 * Upscaling speed of a super-resolution model (`npm run bench:upscale`): one image of side
 * `side` (default 256) → `factor`·side, on every path a user could take with the same weights
 * and threads — this engine (float32; bf16 autocast + channels_last), onnxruntime-node (the
 * model's .onnx), and PyTorch (python3-torch: float32, and bf16 autocast + channels_last)
 * running the same network (bench/reference/stylize.py rebuilds it from the config in the
 * safetensors metadata). Each row runs in its own process (speed-bench's row runner); the PSNR
 * of each output against the engine's float32 output shows which paths compute the same image.
 *
 * "Default" is what `perceptual upscale` would pick: the fastest of our paths whose output stays
 * within MIN_BF16_PSNR_DB (40 dB) of float32 (the rule of runtime-choice.ts).
 */
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { psnr } from '../metrics/metrics.js';
import { MIN_BF16_PSNR_DB } from '../infer/runtime-choice.js';
import { pythonTorchVersion, readF32, runNodeRow, runPythonRow } from './speed-bench-processes.js';
import { gb, secs } from './speed-bench-markdown.js';
import type { RowResult } from './speed-bench-row.js';
import { MODEL_FILES } from '../models/model-folder.js';

export interface UpscaleBenchOptions {
  modelDir: string;
  side?: number;
  iters?: number;
  threads: number;
  skipPython?: boolean;
  log?: (line: string) => void;
}

export interface UpscaleBenchRow {
  id: string;
  label: string;
  ours: boolean;
  result?: RowResult;
  error?: string;
  psnrDb?: number;
}

export interface UpscaleBenchReport {
  model: string;
  factor: number;
  side: number;
  threads: number;
  rows: UpscaleBenchRow[];
  summary: { defaultPath?: string; defaultSeconds?: number; vsTorchFloat32?: number; vsTorchBf16?: number };
  markdown: string;
}

export async function runUpscaleBench(o: UpscaleBenchOptions): Promise<UpscaleBenchReport> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const side = o.side ?? 256;
  const iters = o.iters ?? 5;
  const weights = path.join(o.modelDir, MODEL_FILES.weights);
  const onnx = path.join(o.modelDir, MODEL_FILES.onnx);
  if (!existsSync(weights)) throw new Error(`${o.modelDir}: no weights.safetensors`);
  const { readSafetensorsHeader } = await import('../nn/safetensors.js');
  const config = JSON.parse((await readSafetensorsHeader(weights)).metadata.config ?? '{}') as { kind?: string; factor?: number; arch?: string };
  if (config.kind !== 'sr' || !config.factor) throw new Error(`${o.modelDir}: not a super-resolution model (config kind ${JSON.stringify(config.kind)})`);
  const factor = config.factor;
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-upscale-bench-'));
  const rows: UpscaleBenchRow[] = [];
  try {
    // A deterministic, non-constant input (the row runner's pattern), also written for the PSNR comparison.
    const input = new Float32Array(3 * side * side);
    for (let i = 0; i < input.length; i++) input[i] = (Math.sin(i * 0.37) * 0.5 + 0.5) * 255;
    const inputFile = path.join(work, 'input.f32');
    await fs.writeFile(inputFile, input);
    const dims = [1, 3, side, side];
    const out = (id: string) => path.join(work, `${id}.f32`);
    const run = async (row: Omit<UpscaleBenchRow, 'result' | 'error'>, fn: () => Promise<RowResult>) => {
      const r: UpscaleBenchRow = { ...row };
      try {
        r.result = await fn();
        log(`  ${row.label}: median ${secs(r.result.median_s)}, peak RSS ${gb(r.result.peakRssBytes)}`);
      } catch (e) {
        r.error = (e as Error).message;
        log(`  ${row.label}: FAILED: ${r.error.split('\n')[0]}`);
      }
      rows.push(r);
    };
    log(`upscale ${side}² → ${side * factor}² with ${o.modelDir} (${config.arch}), ${o.threads} threads, median of ${iters}:`);
    const ff = (runtime: 'onnx' | 'engine', precision: 'float32' | 'bf16', id: string) =>
      runNodeRow({ kind: 'feedforward', runtime, precision, model: runtime === 'onnx' ? onnx : weights, side, iters, threads: o.threads, inputFile, inputDims: dims, outputFile: out(id) });
    await run({ id: 'engine-f32', label: 'this engine, float32', ours: true }, () => ff('engine', 'float32', 'engine-f32'));
    await run({ id: 'engine-bf16', label: 'this engine, bf16 autocast + channels_last', ours: true }, () => ff('engine', 'bf16', 'engine-bf16'));
    if (existsSync(onnx)) await run({ id: 'onnx-f32', label: 'onnxruntime-node, float32', ours: true }, () => ff('onnx', 'float32', 'onnx-f32'));
    if (!o.skipPython && (await pythonTorchVersion())) {
      for (const [id, precision, label] of [['torch-f32', 'float32', 'PyTorch (python3-torch), float32'], ['torch-bf16', 'bf16', 'PyTorch (python3-torch), bf16 autocast + channels_last']] as const) {
        await run({ id, label, ours: false }, () => runPythonRow(weights, precision, side, iters, o.threads, { input: inputFile, dims, output: out(id) }));
      }
    }
    const reference = out('engine-f32');
    if (existsSync(reference)) {
      const ref = await readF32(reference);
      const s = side * factor;
      for (const r of rows) {
        if (!r.result || !existsSync(out(r.id))) continue;
        r.psnrDb = psnr({ data: await readF32(out(r.id)), width: s, height: s, channels: 3 }, { data: ref, width: s, height: s, channels: 3 }, { quantize: false });
      }
    }
    const time = (id: string) => rows.find((r) => r.id === id)?.result?.median_s;
    const candidates = rows.filter((r) => r.ours && r.result && (r.psnrDb ?? Infinity) >= MIN_BF16_PSNR_DB).sort((a, b) => a.result!.median_s - b.result!.median_s);
    const best = candidates[0];
    const summary: UpscaleBenchReport['summary'] = {};
    if (best) {
      summary.defaultPath = best.label;
      summary.defaultSeconds = best.result!.median_s;
      const tf = time('torch-f32');
      const tb = time('torch-bf16');
      if (tf) summary.vsTorchFloat32 = best.result!.median_s / tf;
      if (tb) summary.vsTorchBf16 = best.result!.median_s / tb;
    }
    const lines = [
      `Upscaling ${side}×${side} → ${side * factor}×${side * factor}, model \`${path.basename(o.modelDir)}\` (${config.arch}), ${o.threads} threads, median of ${iters} runs after a warm-up:`,
      '',
      '| path | time | peak RSS | PSNR vs engine float32 |',
      '|---|---|---|---|',
      ...rows.map((r) => `| ${r.label}${r === best ? ' **(default)**' : ''} | ${r.result ? secs(r.result.median_s) : `failed: ${r.error?.split('\n')[0]}`} | ${gb(r.result?.peakRssBytes)} | ${r.psnrDb === undefined ? '–' : r.psnrDb === Infinity ? 'identical' : `${r.psnrDb.toFixed(1)} dB`} |`),
      '',
      summary.vsTorchFloat32 !== undefined ? `Default path vs PyTorch float32: **${summary.vsTorchFloat32.toFixed(2)}×** the time${summary.vsTorchBf16 !== undefined ? `; vs PyTorch bf16 + channels_last: ${summary.vsTorchBf16.toFixed(2)}×` : ''}.` : '',
    ];
    return { model: o.modelDir, factor, side, threads: o.threads, rows, summary, markdown: lines.join('\n').trim() };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
