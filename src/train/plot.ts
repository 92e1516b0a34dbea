/**
 * Loss curves as a self-contained SVG (log-scale y): training loss (raw and smoothed) and
 * validation loss against the iteration. No plotting dependency: it is ~80 lines of SVG.
 */
import type { LogRecord } from './log.js';

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
  width?: number;
  opacity?: number;
}

export function ema(points: Array<[number, number]>, alpha = 0.05): Array<[number, number]> {
  let s: number | undefined;
  return points.map(([x, y]) => {
    s = s === undefined ? y : s + alpha * (y - s);
    return [x, s];
  });
}

export function lossSeries(records: LogRecord[], key = 'total'): Series[] {
  const train = records.filter((r) => r.kind === 'train' && typeof r[key] === 'number' && (r[key] as number) > 0).map((r) => [r.iteration, r[key] as number] as [number, number]);
  const val = records.filter((r) => r.kind === 'val' && typeof r[key] === 'number' && (r[key] as number) > 0).map((r) => [r.iteration, r[key] as number] as [number, number]);
  return [
    { name: `train ${key}`, color: '#9ab', points: train, width: 1, opacity: 0.6 },
    { name: `train ${key} (EMA)`, color: '#1f5fa8', points: ema(train), width: 2 },
    { name: `validation ${key}`, color: '#d1495b', points: val, width: 2 },
  ];
}

export function plotSvg(series: Series[], options: { title: string; width?: number; height?: number; xLabel?: string }): string {
  const W = options.width ?? 720, H = options.height ?? 420;
  const m = { l: 70, r: 20, t: 40, b: 50 };
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><text x="20" y="40">no data yet</text></svg>`;
  const xs = all.map((p) => p[0]), ys = all.map((p) => Math.log10(p[1]));
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  let y0 = Math.floor(Math.min(...ys) * 4) / 4, y1 = Math.ceil(Math.max(...ys) * 4) / 4;
  if (y1 <= y0) y1 = y0 + 0.25;
  const X = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (y: number) => H - m.b - ((Math.log10(y) - y0) / (y1 - y0)) * (H - m.t - m.b);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(options.title)}</text>`,
  ];
  for (let e = Math.ceil(y0); e <= Math.floor(y1); e++) {
    const y = Y(10 ** e);
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${m.l - 6}" y="${y + 4}" text-anchor="end">1e${e}</text>`);
  }
  for (let k = 0; k <= 5; k++) {
    const xv = x0 + ((x1 - x0) * k) / 5;
    parts.push(`<text x="${X(xv)}" y="${H - m.b + 18}" text-anchor="middle">${Math.round(xv)}</text>`);
  }
  parts.push(`<text x="${W / 2}" y="${H - 12}" text-anchor="middle">${esc(options.xLabel ?? 'iteration')}</text>`);
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#888"/>`);
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const d = s.points.map(([x, y], k) => `${k ? 'L' : 'M'}${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 1.5}" opacity="${s.opacity ?? 1}"/>`);
    if (s.points.length === 1 || s.name.startsWith('validation')) for (const [x, y] of s.points) parts.push(`<circle cx="${X(x)}" cy="${Y(y)}" r="3" fill="${s.color}"/>`);
    parts.push(`<line x1="${W - m.r - 190}" x2="${W - m.r - 170}" y1="${m.t + 14 + i * 16}" y2="${m.t + 14 + i * 16}" stroke="${s.color}" stroke-width="2"/><text x="${W - m.r - 165}" y="${m.t + 18 + i * 16}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
