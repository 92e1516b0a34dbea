/**
 * The speed bench's report: the paper's Table 1, the summary of the goals and the Markdown
 * tables of `perceptual bench --md`.
 */
import type { BenchRow, SpeedBenchReport } from './speed-bench.js';
import type { BenchSection } from './bench-sections.js';
// The runtime choice's rule, applied to the bench's paths: a faster path counts only within this PSNR of float32.
import { MIN_BF16_PSNR_DB as MIN_PSNR } from '../infer/runtime-choice.js';

/** Johnson et al. 2016, Table 1 (seconds, Titan X GPU): Gatys with 100/300/500 L-BFGS iterations, then ours. */
export const PAPER_TABLE_1: Record<number, { gatys: [number, number, number]; ours: number }> = {
  256: { gatys: [3.17, 9.52, 15.86], ours: 0.015 },
  512: { gatys: [10.97, 32.91, 54.85], ours: 0.05 },
  1024: { gatys: [42.89, 128.66, 214.44], ours: 0.21 },
};
export const GATYS_ITERATIONS = [100, 300, 500] as const;

export const gb = (bytes: number | undefined): string => (bytes === undefined ? '–' : `${(bytes / 2 ** 30).toFixed(2)} GB`);
export function secs(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '–';
  if (s >= 100) return `${s.toFixed(0)} s`;
  if (s >= 10) return `${s.toFixed(1)} s`;
  if (s >= 1) return `${s.toFixed(2)} s`;
  return `${(s * 1000).toFixed(0)} ms`;
}
const ratio = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);

const row = (rows: BenchRow[], id: string): BenchRow | undefined => rows.find((r) => r.id === id);
const med = (rows: BenchRow[], id: string): number | undefined => row(rows, id)?.result?.median_s;

/** The bf16 floor of the runtime choice (src/infer/runtime-choice.ts). */

/** Whether every ratio is ≤ `limit`; undefined when any was not measured. */
function allAtMost(values: Array<number | undefined>, limit: number): boolean | undefined {
  return values.some((v) => v === undefined) ? undefined : values.every((v) => v! <= limit);
}

/** Default path per size, ratios against PyTorch float32, Gatys speed-ups, goals. */
export function summarise(rows: BenchRow[], sizes: number[], threads: number): Record<string, unknown> {
  const bf16Psnr = row(rows, 'engine-bf16-256')?.psnrDb;
  const defaultPath: Record<string, { runtime: 'onnx' | 'engine'; precision: 'float32' | 'bf16'; seconds: number; id: string } | undefined> = {};
  const ratios: Record<string, Record<string, number | undefined>> = {};
  for (const side of sizes) {
    // What chooseRuntime picks: the fastest path, bf16 only if its output keeps ≥ 40 dB.
    const candidates = [
      { runtime: 'onnx' as const, precision: 'float32' as const, id: `onnx-f32-${side}` },
      { runtime: 'engine' as const, precision: 'float32' as const, id: `engine-f32-${side}` },
      ...(bf16Psnr !== undefined && bf16Psnr >= MIN_PSNR ? [{ runtime: 'engine' as const, precision: 'bf16' as const, id: `engine-bf16-${side}` }] : []),
    ]
      .map((c) => ({ ...c, seconds: med(rows, c.id) }))
      .filter((c): c is typeof c & { seconds: number } => c.seconds !== undefined);
    defaultPath[side] = candidates.length ? candidates.reduce((a, b) => (b.seconds < a.seconds ? b : a)) : undefined;
    const torch = med(rows, `torch-f32-${side}`);
    ratios[side] = {
      defaultVsTorchF32: ratio(defaultPath[side]?.seconds, torch),
      onnxVsTorchF32: ratio(med(rows, `onnx-f32-${side}`), torch),
      engineF32VsTorchF32: ratio(med(rows, `engine-f32-${side}`), torch),
      engineBf16VsTorchF32: ratio(med(rows, `engine-bf16-${side}`), torch),
      torchBf16VsTorchF32: ratio(med(rows, `torch-bf16-${side}`), torch),
    };
  }
  const gatys: Record<string, { seconds: Array<number | undefined>; extrapolated: boolean; speedup: Array<number | undefined> }> = {};
  for (const side of sizes) {
    const g = row(rows, `gatys-${side}`)?.result;
    if (!g) continue;
    const its = g.info.iterations as number;
    const extrapolated = its < 100;
    const seconds = GATYS_ITERATIONS.map((n, i) => (extrapolated ? (g.info.perIteration as number) * n : g.times[i]));
    gatys[side] = { seconds, extrapolated, speedup: seconds.map((s) => ratio(s, defaultPath[side]?.seconds)) };
  }
  // Ours: the fastest of our ml5 paths whose output is within MIN_PSNR of ml5's own (tfjs) output.
  const ml5Paths = ['ml5-onnx', 'ml5-engine-f32', 'ml5-engine-bf16']
    .map((id) => row(rows, id))
    .filter((b): b is BenchRow => !!b?.result && (b.psnrDb === undefined || b.psnrDb >= MIN_PSNR))
    .sort((a, b) => a.result!.median_s - b.result!.median_s);
  const ml5Best = ml5Paths[0];
  const ml5Ours = ml5Best?.result?.median_s;
  const ml5Tf = med(rows, 'ml5-tfjs-wasm');
  const tiling = row(rows, 'tiling')?.result;
  return {
    threads,
    bf16PsnrDb: bf16Psnr,
    defaultPath,
    ratios,
    gatys,
    ml5SpeedupVsTfjsWasm: ratio(ml5Tf, ml5Ours),
    ml5Path: ml5Best?.label,
    tilingPeakRssBytes: tiling?.peakRssBytes,
    goals: {
      defaultVsTorchF32AtMost07: allAtMost(sizes.map((s) => ratios[s]!.defaultVsTorchF32), 0.7),
      onnxOnlyVsTorchF32AtMost1: allAtMost(sizes.map((s) => ratios[s]!.onnxVsTorchF32), 1.0),
      ml5AtLeast10x: ml5Tf === undefined || ml5Ours === undefined ? undefined : ml5Tf / ml5Ours >= 10,
      tilingAtMost3GB: tiling ? tiling.peakRssBytes <= 3 * 2 ** 30 : undefined,
    },
  };
}

export const pathName = (p: { runtime: string; precision: string } | undefined): string =>
  !p ? '–' : p.runtime === 'onnx' ? 'onnxruntime' : p.precision === 'bf16' ? 'engine bf16+CL' : 'engine float32';
const x = (r: number | undefined, digits = 2): string => (r === undefined ? '–' : `${r.toFixed(digits)}×`);
const check = (ok: boolean | undefined): string => (ok === undefined ? 'not measured' : ok ? '**met**' : '**not met**');

/** The report as Markdown (the README's speed section). */
export function toMarkdown(r: SpeedBenchReport): string {
  const { rows, summary: s } = r;
  const sizes = r.options.sizes;
  const m = r.machine;
  const cell = (id: string) => {
    const b = row(rows, id);
    if (!b) return '–';
    if (b.error) return 'failed';
    return `${secs(b.result!.median_s)} · ${gb(b.result!.peakRssBytes)}`;
  };
  const lines: string[] = [];
  lines.push(`Measured by \`perceptual bench${r.options.quick ? ' --quick' : ''}${r.options.only ? ` --only ${r.options.only.join(',')}` : ''}\` on ${m.cpu} (${m.cores} cores, ${m.memory}), ${r.options.threads} threads for every row, ` +
    `Node ${m.node}, libtorch ${m.libtorch}, onnxruntime-node ${m.onnxruntime ?? '?'}, python3-torch ${m.pythonTorch}; native bf16: ${m.bf16Native ? 'yes' : 'no'}; ` +
    `load average at the end ${m.loadAverage}. The paper's style network with ${m.network}. ` +
    'Times are medians after a warm-up run; each cell also gives the peak RSS of the row\'s own process.');
  lines.push('');

  // Table 1
  const gatys = s.gatys as Record<string, { seconds: Array<number | undefined>; extrapolated: boolean; speedup: Array<number | undefined> }>;
  const dp = s.defaultPath as Record<string, { seconds: number; runtime: string; precision: string; id: string } | undefined>;
  lines.push('### The paper\'s Table 1 on this machine (CPU)');
  lines.push('');
  lines.push(`| method | ${sizes.map((z) => `${z}×${z}`).join(' | ')} |`);
  lines.push(`|---|${sizes.map(() => '---').join('|')}|`);
  GATYS_ITERATIONS.forEach((n, i) => {
    const cells = sizes.map((z) => {
      const g = gatys[z];
      const b = row(rows, `gatys-${z}`);
      if (b?.error) return 'failed';
      if (!g || g.seconds[i] === undefined || !Number.isFinite(g.seconds[i]!)) return 'not run';
      return g.extrapolated ? `≈ ${secs(g.seconds[i])} (extrapolated) · ${gb(b!.result!.peakRssBytes)}` : `${secs(g.seconds[i])} · ${gb(b!.result!.peakRssBytes)}`;
    });
    lines.push(`| Gatys et al., ${n} L-BFGS iterations | ${cells.join(' | ')} |`);
  });
  lines.push(`| ours, feed-forward (default path) | ${sizes.map((z) => (dp[z] ? `${cell(dp[z]!.id)} (${pathName(dp[z])})` : '–')).join(' | ')} |`);
  lines.push(`| speed-up vs 100 / 300 / 500 iterations | ${sizes.map((z) => (gatys[z] ? gatys[z]!.speedup.map((v) => (v === undefined ? '–' : `${v.toFixed(0)}×`)).join(' / ') + (gatys[z]!.extrapolated ? ' (≈)' : '') : '–')).join(' | ')} |`);
  lines.push(`| *paper (Titan X GPU): Gatys 100 / 300 / 500 it., ours* | ${sizes.map((z) => { const p = PAPER_TABLE_1[z]!; return `*${p.gatys.join(' / ')} s; ${p.ours} s*`; }).join(' | ')} |`);
  lines.push('');
  const g256 = row(rows, 'gatys-256');
  const gNote = g256?.result
    ? `Gatys at 256²: one run of ${g256.result.info.iterations as number} iterations timed at ${GATYS_ITERATIONS.filter((n) => n <= (g256.result!.info.iterations as number)).join(', ')} (L-BFGS iterations are sequential, so this equals separate runs; the RSS is the whole run's). `
    : '';
  const ext = sizes.filter((z) => gatys[z]?.extrapolated);
  lines.push(`${gNote}${ext.length ? `At ${ext.map((z) => `${z}²`).join(' and ')} the optimisation was run for ${ext.map((z) => row(rows, `gatys-${z}`)!.result!.info.iterations).join(' and ')} iterations and its per-iteration time multiplied by 100/300/500 (marked ≈): a full run there takes hours on this CPU. ` : ''}` +
    'The loss network is the one this project trains with (VGG-19 to relu3_3, profile vgg19-conv3); the paper\'s Gatys baseline used VGG-16 to relu4_3, which costs more per iteration.');
  lines.push('');

  // Feed-forward comparison
  lines.push('### Feed-forward stylisation: the same network, weights and threads on each runtime');
  lines.push('');
  lines.push(`| runtime | ${sizes.map((z) => `${z}×${z}`).join(' | ')} | vs PyTorch float32 (${sizes.join(' / ')}) | PSNR vs float32 (256²) |`);
  lines.push(`|---|${sizes.map(() => '---').join('|')}|---|---|`);
  const ffRows: Array<[string, string]> = [
    ['torch-f32', 'PyTorch (python3-torch) float32'],
    ['torch-bf16', 'PyTorch bf16 autocast + channels_last'],
    ['onnx-f32', 'onnxruntime-node float32 (our ONNX export)'],
    ['engine-f32', 'this engine float32'],
    ['engine-bf16', 'this engine bf16 autocast + channels_last'],
  ];
  for (const [id, label] of ffRows) {
    if (!sizes.some((z) => row(rows, `${id}-${z}`))) continue;
    const torchRatios = sizes.map((z) => x(ratio(med(rows, `${id}-${z}`), med(rows, `torch-f32-${z}`)))).join(' / ');
    const p = row(rows, `${id}-256`)?.psnrDb;
    const psnrCell = id === 'engine-f32' ? 'reference' : p === undefined ? '–' : p === Infinity ? '∞ (identical)' : `${p.toFixed(1)} dB`;
    lines.push(`| ${label} | ${sizes.map((z) => cell(`${id}-${z}`)).join(' | ')} | ${torchRatios} | ${psnrCell} |`);
  }
  const ratios = s.ratios as Record<string, Record<string, number | undefined>>;
  const goals = s.goals as Record<string, boolean | undefined>;
  lines.push(`| **default path** (${sizes.map((z) => pathName(dp[z])).join(' / ')}) | ${sizes.map((z) => secs(dp[z]?.seconds)).join(' | ')} | ${sizes.map((z) => x(ratios[z]!.defaultVsTorchF32)).join(' / ')} | |`);
  lines.push('');
  lines.push(`Goals: default inference path ≤ 0.7× PyTorch float32 where libtorch is installed — ${check(goals.defaultVsTorchF32AtMost07)} ` +
    `(${sizes.map((z) => x(ratios[z]!.defaultVsTorchF32)).join(' / ')}); ≤ 1.0× where only onnxruntime is — ${check(goals.onnxOnlyVsTorchF32AtMost1)} ` +
    `(${sizes.map((z) => x(ratios[z]!.onnxVsTorchF32)).join(' / ')}). bf16 paths are used only at PSNR ≥ ${MIN_PSNR} dB against float32 (float output, not rounded to 8 bits); ` +
    'the default path is what `chooseRuntime` picks: the fastest eligible path at that size.');
  lines.push('');

  // ml5
  lines.push('### ml5.js\'s network (peer model "wave") at 256×256');
  lines.push('');
  lines.push('| runtime | time · peak RSS | threads | PSNR vs tfjs output |');
  lines.push('|---|---|---|---|');
  for (const id of ['ml5-tfjs-wasm', 'ml5-onnx', 'ml5-onnx-1t', 'ml5-engine-f32', 'ml5-engine-bf16']) {
    const b = row(rows, id);
    if (!b) continue;
    const p = b.psnrDb === undefined ? '–' : b.psnrDb === Infinity ? '∞' : `${b.psnrDb.toFixed(1)} dB`;
    lines.push(`| ${b.label}${b.label === s.ml5Path ? ' **(ours)**' : ''} | ${b.error ? `failed: ${b.error.split('\n')[0]}` : cell(id)} | ${String(b.result?.info.threads ?? '–')} | ${p} |`);
  }
  const ml5 = s.ml5SpeedupVsTfjsWasm as number | undefined;
  const ml5OneThread = ratio(med(rows, 'ml5-tfjs-wasm'), med(rows, 'ml5-onnx-1t'));
  lines.push('');
  lines.push(`Ours (${String(s.ml5Path ?? '–')}: the fastest of our paths within ${MIN_PSNR} dB of ml5's output) is ${x(ml5, 1)} faster than TensorFlow.js-wasm (goal ≥ 10×: ${check(ml5 === undefined ? undefined : ml5 >= 10)})` +
    `${ml5OneThread !== undefined ? `; onnxruntime with one thread, like tfjs-wasm: ${x(ml5OneThread, 1)}` : ''}. tfjs-backend-wasm in Node runs single-threaded (no worker-thread pool), SIMD on.`);
  lines.push('');

  // Tiling
  const tilingRows = rows.filter((b) => b.section === 'tiling');
  if (tilingRows.length) {
    lines.push('### Large images: tiling');
    lines.push('');
    for (const t of tilingRows) {
      if (t.error) lines.push(`- ${t.label}: failed: ${t.error.split('\n')[0]}`);
      else {
        const tr = t.result!;
        const ok = tr.peakRssBytes <= 3 * 2 ** 30;
        lines.push(`- ${t.label}: ${secs(tr.median_s)}, ${String(tr.info.tiles)} tiles, peak RSS ${gb(tr.peakRssBytes)} (goal ≤ 3 GB: ${check(ok)}); input: ${String(tr.info.input)}.`);
      }
    }
    lines.push('');
  }
  const failed = rows.filter((b) => b.error);
  if (failed.length) {
    lines.push('Rows that failed:');
    for (const b of failed) lines.push(`- ${b.label} @ ${b.side}²: ${b.error!.split('\n').slice(0, 3).join(' ')}`);
  }
  return dropEmptySections(lines.join('\n'), r.rows);
}

/** Leave out the `### …` sections of a partial run (`--only`) whose rows were not measured. */
function dropEmptySections(markdown: string, rows: readonly BenchRow[]): string {
  const present = new Set(rows.map((b) => b.section));
  const needs: Array<[string, BenchSection[]]> = [
    ["### The paper's Table 1", ['paper']],
    ['### Feed-forward stylisation', ['feedforward']],
    ["### ml5.js's network", ['ml5']],
  ];
  return markdown
    .split(/\n(?=### )/)
    .filter((chunk) => {
      const rule = needs.find(([heading]) => chunk.startsWith(heading));
      return !rule || rule[1].some((section) => present.has(section));
    })
    .join('\n');
}
