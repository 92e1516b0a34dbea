/**
 * The paper's Figure 5 from measured results: for each style, the mean perceptual loss over
 * validation photos of Gatys L-BFGS (from noise) against the iteration, and the feed-forward
 * network's loss on the same photos as a horizontal line. Pure functions over the results that
 * bench/gatys-vs-feedforward.ts stores (a JSON file filled over many sittings), so the table and
 * the SVG can be redrawn from the file alone.
 *
 * A style's means are taken over the photos that have every requested number, so a style whose
 * Gatys runs are only partly done is compared on the photos it has (the table says how many).
 */

/** One Gatys run: the loss at every recorded iteration (checkpoints and a thinned curve). */
export interface GatysRun {
  /** L-BFGS iterations run. */
  iterations: number;
  /** iteration → { loss, seconds since the start }. */
  at: Record<string, { loss: number; seconds: number }>;
}

/** The file bench/gatys-vs-feedforward.ts keeps: Gatys runs by key (painting, photo, loss, …), feed-forward losses by style key. */
export interface Figure5Results {
  version: 1;
  /**
   * `threads`: the run's intra-op threads. L-BFGS trajectories from the same seed differ in the last digits between
   * thread counts (summation order) and drift apart over the iterations; runs before the thirteenth sitting lack it.
   */
  gatys: Record<string, GatysRun & { cpu: string; threads?: number; finishedAt: string }>;
  feedForward: Record<string, Record<string, { loss: number; seconds: number }>>;
}

/**
 * What a process writes when another may have written the same file since it read it (two
 * single-threaded processes filling different photos): every Gatys run of either, the longer where
 * both have one (a longer L-BFGS run from the same seed holds the shorter one's curve); the
 * feed-forward entries this process measured (`measured`), the file's for the rest. Changes `mine`.
 */
export function mergeFigure5Results(mine: Figure5Results, onDisk: Figure5Results, measured: ReadonlySet<string>): Figure5Results {
  for (const [k, run] of Object.entries(onDisk.gatys)) if (run.iterations > (mine.gatys[k]?.iterations ?? 0)) mine.gatys[k] = run;
  for (const [k, ff] of Object.entries(onDisk.feedForward)) if (!measured.has(k)) mine.feedForward[k] = ff;
  return mine;
}

/** One style's measurements. */
export interface StyleResults {
  style: string;
  /** e.g. "40000 it., paper-vgg19". */
  network: string;
  /** photo → feed-forward loss and seconds. */
  feedForward: Record<string, { loss: number; seconds: number }>;
  /** photo → Gatys run. */
  gatys: Record<string, GatysRun>;
}

export interface Figure5Row {
  style: string;
  network: string;
  photos: number;
  feedForward: number;
  feedForwardSeconds: number;
  /** checkpoint → mean loss and seconds; undefined when no photo reached it. */
  gatys: Record<number, { loss: number; seconds: number } | undefined>;
  /** Mean Gatys loss over the same photos at every iteration recorded by all of them (for the curve). */
  curve: Array<[number, number]>;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Means over the photos that have a feed-forward loss and a Gatys run of at least the largest
 * checkpoint; a style without such photos gives `photos: 0`.
 */
export function figure5Row(r: StyleResults, checkpoints: readonly number[]): Figure5Row {
  const last = Math.max(...checkpoints);
  const photos = Object.keys(r.feedForward).filter((p) => (r.gatys[p]?.iterations ?? 0) >= last).sort();
  const gatys: Figure5Row['gatys'] = {};
  for (const c of checkpoints) {
    const at = photos.map((p) => r.gatys[p]!.at[String(c)]).filter((x) => x !== undefined);
    gatys[c] = at.length === photos.length && photos.length > 0 ? { loss: mean(at.map((a) => a.loss)), seconds: mean(at.map((a) => a.seconds)) } : undefined;
  }
  const curve: Array<[number, number]> = [];
  if (photos.length > 0) {
    const common = Object.keys(r.gatys[photos[0]!]!.at)
      .map(Number)
      .filter((it) => it <= last && photos.every((p) => r.gatys[p]!.at[String(it)] !== undefined))
      .sort((a, b) => a - b);
    for (const it of common) curve.push([it, mean(photos.map((p) => r.gatys[p]!.at[String(it)]!.loss))]);
  }
  return {
    style: r.style,
    network: r.network,
    photos: photos.length,
    feedForward: photos.length ? mean(photos.map((p) => r.feedForward[p]!.loss)) : NaN,
    feedForwardSeconds: photos.length ? mean(photos.map((p) => r.feedForward[p]!.seconds)) : NaN,
    gatys,
    curve,
  };
}

/**
 * Where the network stands against Gatys, whose loss falls with the iterations: "between 50 and
 * 100 it." when Gatys needs more than 50 and at most 100 iterations to reach the network's loss;
 * "worse than 50 it." when 50 already do better; "better than 500 it." when even 500 do not reach it.
 */
export function standing(row: Figure5Row, checkpoints: readonly number[]): string {
  const cs = [...checkpoints].sort((a, b) => a - b).filter((c) => row.gatys[c]);
  if (!cs.length || !Number.isFinite(row.feedForward)) return 'n/a';
  const reached = cs.findIndex((c) => row.gatys[c]!.loss <= row.feedForward);
  if (reached === 0) return `worse than ${cs[0]} it.`;
  if (reached < 0) return `better than ${cs.at(-1)} it.`;
  return `between ${cs[reached - 1]} and ${cs[reached]} it.`;
}

/**
 * The number of L-BFGS iterations after which the mean Gatys curve reaches the network's loss:
 * the first recorded point at or below it, interpolated from the point before on the logarithm of
 * the loss (the curve falls about exponentially between the points, recorded every 10 iterations).
 * undefined when the curve never reaches it; 0 when its first point already does.
 */
export function equalLossIteration(row: Figure5Row): number | undefined {
  const i = row.curve.findIndex(([, l]) => l <= row.feedForward);
  if (i < 0 || !Number.isFinite(row.feedForward)) return undefined;
  if (i === 0) return 0;
  const [x0, l0] = row.curve[i - 1]!, [x1, l1] = row.curve[i]!;
  return x0 + ((x1 - x0) * Math.log(l0 / row.feedForward)) / Math.log(l0 / l1);
}

/** The summary table: one row per style, losses relative to the network's. */
export function figure5Table(rows: Figure5Row[], checkpoints: readonly number[]): string {
  const lines = [
    `| style (network) | photos | feed-forward loss | ${checkpoints.map((c) => `L-BFGS ${c}`).join(' | ')} | network vs Gatys | goal: ≤ 100 it. |`,
    `|---|---|---|${checkpoints.map(() => '---|').join('')}---|---|`,
  ];
  for (const r of rows) {
    if (r.photos === 0) {
      lines.push(`| ${r.style} (${r.network}) | 0 | – | ${checkpoints.map(() => '–').join(' | ')} | not measured yet | – |`);
      continue;
    }
    const cells = checkpoints.map((c) => (r.gatys[c] ? `${r.gatys[c]!.loss.toPrecision(4)} (${(r.gatys[c]!.loss / r.feedForward).toFixed(2)}×)` : '–'));
    const g100 = r.gatys[100]?.loss;
    const eq = equalLossIteration(r);
    const equal = eq === undefined ? '' : eq === 0 ? ` (below the first point, ${r.curve[0]![0]} it.)` : ` (equal loss at ≈ ${Math.round(eq)} it.)`;
    lines.push(`| ${r.style} (${r.network}) | ${r.photos} | ${r.feedForward.toPrecision(4)} | ${cells.join(' | ')} | ${standing(r, checkpoints)}${equal} | ${g100 === undefined ? '–' : r.feedForward <= g100 ? '**met**' : `not met (${(r.feedForward / g100).toFixed(2)}× the 100-it. loss)`} |`);
  }
  return lines.join('\n');
}

const PALETTE = ['#1f5fa8', '#d1495b', '#2a9d8f', '#e9a03b', '#6a4c93', '#7a7a7a', '#8c564b', '#17becf'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The figure: one panel per style, loss (log scale, as the styles' losses span decades) against
 * L-BFGS iterations; the Gatys mean as a solid curve with dots at the checkpoints, the network as
 * a dashed horizontal line — the paper's Figure 5 layout.
 */
export function figure5Svg(rows: Figure5Row[], checkpoints: readonly number[], title: string): string {
  const shown = rows.filter((r) => r.photos > 0 && r.curve.length > 0);
  const cols = Math.min(3, Math.max(1, shown.length));
  const pw = 300, ph = 220, m = { l: 62, r: 12, t: 30, b: 38 };
  const gridRows = Math.max(1, Math.ceil(shown.length / cols));
  const W = cols * pw, H = gridRows * ph + 40;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${esc(title)}</text>`,
  ];
  if (!shown.length) out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no complete results yet</text>`);
  const xMax = Math.max(...checkpoints);
  shown.forEach((r, i) => {
    const ox = (i % cols) * pw, oy = 30 + Math.floor(i / cols) * ph;
    // The first L-BFGS iterations from noise overshoot by orders of magnitude: the axis stops at 4× the larger of
    // the network's loss and the first checkpoint's, and the curve is clipped there.
    const ys = [...r.curve.map(([, y]) => y), r.feedForward].filter((y) => y > 0);
    const first = r.gatys[Math.min(...checkpoints)]?.loss ?? r.feedForward;
    const lo = Math.log10(Math.min(...ys)) - 0.05, hi = Math.min(Math.log10(Math.max(...ys)), Math.log10(4 * Math.max(first, r.feedForward))) + 0.05;
    const X = (x: number) => ox + m.l + (x / xMax) * (pw - m.l - m.r);
    const Y = (y: number) => oy + ph - m.b - ((Math.min(Math.log10(y), hi) - lo) / (hi - lo)) * (ph - m.t - m.b);
    const color = PALETTE[i % PALETTE.length]!;
    out.push(`<g>`);
    out.push(`<rect x="${X(0)}" y="${oy + m.t}" width="${pw - m.l - m.r}" height="${ph - m.t - m.b}" fill="none" stroke="#bbb"/>`);
    out.push(`<text x="${ox + pw / 2 + m.l / 2}" y="${oy + m.t - 8}" text-anchor="middle" font-size="12">${esc(r.style)} (${r.photos} photo${r.photos === 1 ? '' : 's'})</text>`);
    for (const c of [0, ...checkpoints]) {
      out.push(`<text x="${X(c)}" y="${oy + ph - m.b + 14}" text-anchor="middle" fill="#555">${c}</text>`);
    }
    out.push(`<text x="${X(xMax / 2)}" y="${oy + ph - m.b + 28}" text-anchor="middle" fill="#555">L-BFGS iterations</text>`);
    for (let d = Math.ceil(lo * 4) / 4; d <= hi; d += 0.25) {
      const v = 10 ** d;
      out.push(`<line x1="${X(0) - 3}" x2="${X(0)}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="#999"/>`);
      out.push(`<text x="${X(0) - 5}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${v.toPrecision(2)}</text>`);
    }
    const pts = r.curve.filter(([, y]) => y > 0).map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const c of checkpoints) {
      const g = r.gatys[c];
      if (g) out.push(`<circle cx="${X(c).toFixed(1)}" cy="${Y(g.loss).toFixed(1)}" r="3" fill="${color}"/>`);
    }
    out.push(`<line class="network" x1="${X(0)}" x2="${X(xMax)}" y1="${Y(r.feedForward).toFixed(1)}" y2="${Y(r.feedForward).toFixed(1)}" stroke="#222" stroke-width="1.5" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${X(xMax) - 4}" y="${(Y(r.feedForward) - 5).toFixed(1)}" text-anchor="end" fill="#222">network (${esc(r.network)})</text>`);
    out.push(`<text x="${X(xMax) - 4}" y="${oy + m.t + 14}" text-anchor="end" fill="${color}">Gatys, L-BFGS from noise</text>`);
    out.push(`</g>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
