/**
 * Reference rows for ×4 super-resolution and a renderer that puts our results beside them.
 *
 * Why keep the paper's numbers in code: a result is only meaningful next to the published
 * baselines measured with the same protocol (Y channel, 4 px shave, reference SSIM; see
 * metrics.ts). Our own bicubic row is the check that the protocol matches: it reproduces the
 * paper's bicubic PSNR to ≤ 0.02 dB on all three sets (see sr-benchmark.test.ts).
 */
import type { SrBenchSet, SrEvaluation } from './sr-benchmark.js';

export interface SetScore {
  /** Mean PSNR, dB. */
  psnr: number;
  /** Mean SSIM (absent where the source did not report it). */
  ssim?: number;
  /** Images evaluated, when known. */
  count?: number;
  /** Set when only a subset of the set was evaluated. */
  subset?: string;
}

export interface SrTableRow {
  method: string;
  /** 'paper': Johnson et al. 2016 Table 1; 'peer': other implementations measured here with our protocol; 'ours'. */
  source: 'paper' | 'peer' | 'ours';
  factor: number;
  scores: Partial<Record<SrBenchSet, SetScore>>;
  note?: string;
}

const PAPER = 'Johnson et al. 2016, Table 1';

/** Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and Super-Resolution" (ECCV 2016), Table 1, ×4. */
export const PAPER_SR_X4: readonly SrTableRow[] = [
  { method: 'Bicubic', source: 'paper', factor: 4, note: PAPER, scores: { Set5: { psnr: 28.43, ssim: 0.8054 }, Set14: { psnr: 25.99, ssim: 0.7025 }, BSD100: { psnr: 25.94, ssim: 0.6688 } } },
  { method: 'Ours (ℓpixel)', source: 'paper', factor: 4, note: PAPER, scores: { Set5: { psnr: 28.40, ssim: 0.8062 }, Set14: { psnr: 25.60, ssim: 0.7044 }, BSD100: { psnr: 25.75, ssim: 0.6706 } } },
  { method: 'SRCNN', source: 'paper', factor: 4, note: PAPER, scores: { Set5: { psnr: 30.48, ssim: 0.8628 }, Set14: { psnr: 27.50, ssim: 0.7513 }, BSD100: { psnr: 26.90, ssim: 0.7101 } } },
  { method: 'Ours (ℓfeat)', source: 'paper', factor: 4, note: PAPER, scores: { Set5: { psnr: 27.09, ssim: 0.7680 }, Set14: { psnr: 24.99, ssim: 0.6731 }, BSD100: { psnr: 24.95, ssim: 0.6317 } } },
];

/** Other ×4 models measured in this project with the same protocol and LR inputs. */
export const PEER_SR_X4: readonly SrTableRow[] = [
  { method: 'UpscalerJS esrgan-medium', source: 'peer', factor: 4, note: 'measured here, same protocol', scores: { Set5: { psnr: 28.74, ssim: 0.8170 }, Set14: { psnr: 26.36, ssim: 0.7127 }, BSD100: { psnr: 26.16, ssim: 0.6759 } } },
  { method: 'UpscalerJS esrgan-slim', source: 'peer', factor: 4, note: 'measured here, same protocol (PSNR only)', scores: { Set5: { psnr: 28.60 }, Set14: { psnr: 26.27 }, BSD100: { psnr: 26.10 } } },
];

/** A table row from {@link evaluateSr} results (one per set). */
export function rowFromEvaluations(method: string, evaluations: readonly SrEvaluation[], note?: string): SrTableRow {
  if (evaluations.length === 0) throw new Error('rowFromEvaluations: no evaluations given');
  const factor = evaluations[0]!.factor;
  const scores: SrTableRow['scores'] = {};
  for (const e of evaluations) {
    if (e.factor !== factor) throw new Error(`rowFromEvaluations: mixed factors ×${factor} and ×${e.factor}`);
    const score: SetScore = { psnr: e.psnr, ssim: e.ssim, count: e.images.length };
    if (e.subset) score.subset = e.subset;
    scores[e.set as SrBenchSet] = score;
  }
  const row: SrTableRow = { method, source: 'ours', factor, scores };
  if (note) row.note = note;
  return row;
}

export interface RenderSrTableOptions {
  /** Include the paper's rows (default true; only for ×4). */
  includePaper?: boolean;
  /** Include the peer rows (default true; only for ×4). */
  includePeers?: boolean;
  /** Columns (default Set5, Set14, BSD100). */
  sets?: readonly SrBenchSet[];
}

export const SR_PROTOCOL =
  'PSNR (dB) / SSIM on the Y channel (BT.601 studio range, rounded as MATLAB rgb2ycbcr on uint8), ' +
  'border of `factor` px removed; SSIM: 11×11 Gaussian σ=1.5, K=(0.01, 0.03), valid filtering (ssim_index.m); ' +
  'LR inputs: the sets\' own MATLAB-bicubic LR images.';

export interface SrTableJson {
  factor: number;
  protocol: string;
  sets: SrBenchSet[];
  rows: SrTableRow[];
}

function cell(s: SetScore | undefined): string {
  if (!s) return '–';
  const p = Number.isFinite(s.psnr) ? s.psnr.toFixed(2) : String(s.psnr);
  const txt = s.ssim === undefined ? `${p} / –` : `${p} / ${s.ssim.toFixed(4)}`;
  return s.subset ? `${txt} (${s.subset})` : txt;
}

function escapeMd(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/**
 * Render our rows with the reference rows as a Markdown table and as JSON (same content).
 * Reference rows are added only when `factor` is 4 (that is all the paper reports here).
 */
export function renderSrTable(ours: readonly SrTableRow[], options: RenderSrTableOptions = {}): { markdown: string; json: SrTableJson } {
  const factor = ours[0]?.factor ?? 4;
  for (const r of ours) if (r.factor !== factor) throw new Error(`renderSrTable: mixed factors ×${factor} and ×${r.factor}`);
  const sets = [...(options.sets ?? (['Set5', 'Set14', 'BSD100'] as const))];
  const rows: SrTableRow[] = [];
  if (factor === 4 && (options.includePaper ?? true)) rows.push(...PAPER_SR_X4);
  if (factor === 4 && (options.includePeers ?? true)) rows.push(...PEER_SR_X4);
  rows.push(...ours);

  const lines = [
    `| Method (×${factor}) | Source | ${sets.join(' | ')} |`,
    `|---|---|${sets.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${escapeMd(r.method)} | ${escapeMd(r.note ? `${r.source}: ${r.note}` : r.source)} | ${sets.map((s) => cell(r.scores[s])).join(' | ')} |`),
  ];
  const markdown = `${lines.join('\n')}\n\n${SR_PROTOCOL}\n`;
  return { markdown, json: { factor, protocol: SR_PROTOCOL, sets, rows: rows.map((r) => structuredClone(r)) } };
}
