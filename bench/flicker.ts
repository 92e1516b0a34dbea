/**
 * The flicker figure (issue 15): every shipped style (or the models given), per-frame
 * stylisation against the fixes, on two clips made from real photos with known motion
 * (src/video/flicker.ts): a camera pan over stata.jpg and a still scene of chicago.jpg, both with
 * fresh sensor noise in every frame.
 *
 *   node --import tsx bench/flicker.ts [--models a,b|dir/a,…] [--extra name=path,…] [--frames 24]
 *        [--width 320 --height 200] [--momentum 0.9,0.95] [--denoise 10,6] [--shifts 2,4] [--runtime onnx|engine]
 *        [--json docs/video/flicker.json] [--md docs/video/flicker.md] [--figure docs/video/frames.jpg]
 *
 * Methods: per-frame stylisation; smoothed instance-norm statistics (fix a, one row per momentum);
 * temporal denoising of the input before the network (fix c, `--denoise`: the same ffmpeg filter
 * `perceptual stylize clip.mp4 --denoise` runs in its decoder; one row per strength, 0 for none);
 * shift averaging (`--shifts`: each frame averaged over sub-stride shifts, src/infer/core/shift-average.ts;
 * one row per count, alone and with each denoise strength).
 * Flicker is always measured against the clip's own (noisy) input frames.
 *
 * Besides flicker it reports how far each fix moves the pictures from per-frame stylisation
 * (PSNR of the fix's frames against the per-frame frames; ≥ 30 dB is no visible change of style).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadImage, type RgbImage } from '../src/data/image.js';
import { listModels } from '../src/infer/node/catalogue.js';
import { psnr } from '../src/metrics/metrics.js';
import { sharedDataDir } from '../src/util/paths.js';
import { flicker, panClip, stillClip, type Clip } from '../src/video/flicker.js';
import { loadFrameRunner, type FrameRunner, type Smoothing } from '../src/video/frame-runner.js';
import { stylizeFrames } from '../src/video/stylize-video.js';
import { DEFAULT_DENOISE, denoiseFilter, filterFrames } from '../src/video/ffmpeg.js';
import { DEFAULT_STATS_MOMENTUM } from '../src/video/temporal-onnx.js';

const { values: a } = parseArgs({
  options: {
    models: { type: 'string' },
    extra: { type: 'string' },
    frames: { type: 'string', default: '24' },
    width: { type: 'string', default: '320' },
    height: { type: 'string', default: '200' },
    momentum: { type: 'string', default: String(DEFAULT_STATS_MOMENTUM) },
    denoise: { type: 'string', default: String(DEFAULT_DENOISE) },
    shifts: { type: 'string', default: '' },
    runtime: { type: 'string', default: 'onnx' },
    json: { type: 'string' },
    md: { type: 'string' },
    figure: { type: 'string' },
  },
});

const frames = Number(a.frames), width = Number(a.width), height = Number(a.height);
const momenta = a.momentum!.split(',').map(Number);
const denoises = a.denoise!.split(',').map(Number).filter((n) => n > 0);
const shiftCounts = a.shifts!.split(',').filter(Boolean).map(Number).filter((n) => n > 1);
const runtime = a.runtime as 'onnx' | 'engine';
const data = sharedDataDir();
const panPhoto = path.join(data, 'content', 'stata.jpg');
const stillPhoto = path.join(data, 'content', 'chicago.jpg');
const PAN_STEP = { dx: 4, dy: 2 };
const FIGURE_CLIP = 'pan';

const clips: Record<string, { clip: Clip; what: string }> = {
  pan: { clip: panClip(await loadImage(panPhoto), PAN_STEP, { width, height, frames, seed: 1 }), what: `pan over stata.jpg, (${PAN_STEP.dx}, ${PAN_STEP.dy}) px/frame` },
  still: { clip: stillClip(await loadImage(stillPhoto), { width, height, frames, seed: 2 }), what: 'still chicago.jpg' },
};

/** The clips' frames through the decoder's denoising filter, per strength (made once). */
const denoised = new Map<string, Uint8Array[]>();
async function clipFrames(clipName: string, clip: Clip, denoise?: number): Promise<Uint8Array[]> {
  const raw = clip.frames.map((f) => f.data as Uint8Array);
  if (!denoise) return raw;
  const key = `${clipName}@${denoise}`;
  if (!denoised.has(key)) denoised.set(key, await filterFrames(raw, { width, height }, denoiseFilter(denoise)));
  return denoised.get(key)!;
}

async function stylise(runner: FrameRunner, frames: Uint8Array[]): Promise<RgbImage[]> {
  const out: RgbImage[] = [];
  runner.reset();
  await stylizeFrames(runner, frames, { width, height }, (f) => {
    out.push({ data: f, width, height, channels: 3 });
  });
  return out;
}

interface Row {
  model: string;
  method: string;
  clip: string;
  flicker: number;
  outputDiff: number;
  inputDiff: number;
  /** PSNR against the per-frame output of the same model (dB), for the fixes. */
  psnrVsPerFrame?: number;
  msPerFrame: number;
}

// Shipped styles by folder (a card's name may differ from its folder's).
const catalogue = (await listModels(path.resolve('models'))).models.filter((m) => m.task === 'style').map((m) => path.dirname(m.model));
const wanted = a.models ? a.models.split(',') : catalogue.sort();
// A name is a shipped style; a path with a slash is a model folder (named by its folder).
const targets: Array<{ name: string; path: string; extra?: boolean }> = wanted.map((n) => (n.includes('/') ? { name: path.basename(n), path: path.resolve(n) } : { name: n, path: path.resolve('models', n) }));
for (const e of a.extra ? a.extra.split(',') : []) {
  const [name, p] = e.split('=');
  targets.push({ name: name!, path: p!, extra: true });
}

const rows: Row[] = [];
const figureFrames: Record<string, RgbImage[]> = {};
for (const t of targets) {
  const methods: Array<{ method: string; smoothing: Smoothing; momentum?: number; denoise?: number; shifts?: number }> = [{ method: 'per-frame', smoothing: 'none' }];
  for (const m of momenta) methods.push({ method: `smoothed statistics α=${m}`, smoothing: 'stats', momentum: m });
  for (const d of denoises) methods.push({ method: `temporal denoise ${d}`, smoothing: 'none', denoise: d });
  for (const n of shiftCounts) methods.push({ method: `${n} shifts averaged`, smoothing: 'none', shifts: n });
  for (const n of shiftCounts) for (const d of denoises) methods.push({ method: `${n} shifts averaged + temporal denoise ${d}`, smoothing: 'none', shifts: n, denoise: d });
  const perFrame: Record<string, RgbImage[]> = {};
  for (const m of methods) {
    const runner = await loadFrameRunner(t.path, { runtime, smoothing: m.smoothing, statsMomentum: m.momentum, shifts: m.shifts, width, height });
    try {
      for (const [clipName, { clip }] of Object.entries(clips)) {
        const t0 = performance.now();
        const out = await stylise(runner, await clipFrames(clipName, clip, m.denoise));
        const ms = (performance.now() - t0) / clip.frames.length;
        const f = flicker(out, clip.frames, clip.shift);
        const row: Row = { model: t.name, method: m.method, clip: clipName, flicker: f.flicker, outputDiff: f.output, inputDiff: f.input, msPerFrame: ms };
        if (m.method === 'per-frame') perFrame[clipName] = out;
        else {
          // Pooled over the frames (the first is identical by construction: no past yet).
          const mse = out.reduce((sum, o, k) => sum + 255 ** 2 / 10 ** (psnr(o, perFrame[clipName]![k]!) / 10), 0) / out.length;
          row.psnrVsPerFrame = 10 * Math.log10(255 ** 2 / mse);
        }
        rows.push(row);
        if (clipName === FIGURE_CLIP && (t === targets[0] || (t.extra && m.method === 'per-frame'))) figureFrames[`${t.name}, ${m.method}`] = out;
        console.error(`${t.name.padEnd(16)} ${m.method.padEnd(30)} ${clipName.padEnd(6)} flicker ${f.flicker.toFixed(3)} (out ${f.output.toFixed(2)} / in ${f.input.toFixed(2)})${row.psnrVsPerFrame ? `, ${row.psnrVsPerFrame.toFixed(1)} dB vs per-frame` : ''}, ${ms.toFixed(0)} ms/frame`);
      }
    } finally {
      await runner.dispose();
    }
  }
}

const cpu = os.cpus()[0]?.model.trim() ?? '?';
const header = `Measured by \`node --import tsx bench/flicker.ts${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}\` on ${cpu} (${os.availableParallelism()} threads), runtime ${runtime}; ${frames} frames of ${width}×${height} per clip: ` +
  Object.values(clips).map((c) => c.what).join('; ') + `; sensor noise σ² = 3 + 0.05·I in every frame. Flicker = Σ mean|out_t − shift(out_{t−1})| / Σ mean|in_t − shift(in_{t−1})| (1: the output changes as much as the input).`;
const lines = [header, '', '| style | method | flicker, pan | flicker, still | reduction pan / still | PSNR vs per-frame (pan / still) |', '|---|---|---|---|---|---|'];
for (const t of targets) {
  const base = (clip: string) => rows.find((r) => r.model === t.name && r.method === 'per-frame' && r.clip === clip)!;
  const methods = [...new Set(rows.filter((r) => r.model === t.name).map((r) => r.method))];
  for (const m of methods) {
    const pan = rows.find((r) => r.model === t.name && r.method === m && r.clip === 'pan')!;
    const still = rows.find((r) => r.model === t.name && r.method === m && r.clip === 'still')!;
    const red = m === 'per-frame' ? '—' : `${(base('pan').flicker / pan.flicker).toFixed(2)}× / ${(base('still').flicker / still.flicker).toFixed(2)}×`;
    const q = m === 'per-frame' ? '—' : `${pan.psnrVsPerFrame!.toFixed(1)} / ${still.psnrVsPerFrame!.toFixed(1)} dB`;
    lines.push(`| ${t.name} | ${m} | ${pan.flicker.toFixed(2)} | ${still.flicker.toFixed(2)} | ${red} | ${q} |`);
  }
}
const md = lines.join('\n');
console.log(md);
if (a.md) {
  await fs.mkdir(path.dirname(a.md), { recursive: true });
  await fs.writeFile(a.md, `${md}\n`);
}
if (a.json) {
  await fs.mkdir(path.dirname(a.json), { recursive: true });
  await fs.writeFile(a.json, `${JSON.stringify({ cpu, runtime, frames, width, height, clips: Object.fromEntries(Object.entries(clips).map(([k, v]) => [k, v.what])), rows }, null, 2)}\n`);
}

/**
 * Figure: on the pan clip, frames t and t+1 and |frame_{t+1} − shift(frame_t)| ×4 (black where
 * the two frames do not overlap): the input, then the first model with each method, then every
 * --extra model per frame. Row order is printed.
 */
if (a.figure) {
  const t0 = Math.min(10, frames - 2);
  // Stylised frames only: the input frames are crops of a content photo this repository may not ship.
  const { shift } = clips[FIGURE_CLIP]!.clip;
  const rowsImg: RgbImage[][] = [];
  for (const out of Object.values(figureFrames)) rowsImg.push([out[t0]!, out[t0 + 1]!, diffImage(out[t0 + 1]!, out[t0]!, shift)]);
  await saveGrid(rowsImg, a.figure);
  console.error(`figure ${a.figure}: rows = ${Object.keys(figureFrames).join('; ')}; columns = frame ${t0}, frame ${t0 + 1}, |difference after the known shift| ×4`);
}

function diffImage(cur: RgbImage, prev: RgbImage, s: { dx: number; dy: number }): RgbImage {
  const d = new Uint8Array(cur.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const px = x + s.dx, py = y + s.dy;
      if (px < 0 || py < 0 || px >= width || py >= height) continue;
      for (let c = 0; c < 3; c++) d[(y * width + x) * 3 + c] = Math.min(255, 4 * Math.abs(cur.data[(y * width + x) * 3 + c]! - prev.data[(py * width + px) * 3 + c]!));
    }
  }
  return { data: d, width, height, channels: 3 };
}

async function saveGrid(grid: RgbImage[][], file: string): Promise<void> {
  const gap = 4;
  const W = grid[0]!.length * (width + gap) - gap, H = grid.length * (height + gap) - gap;
  const composites = grid.flatMap((row, r) =>
    row.map((im, c) => ({ input: Buffer.from(Uint8Array.from(im.data, (v) => Math.min(255, Math.max(0, Math.round(v))))), raw: { width, height, channels: 3 as const }, left: c * (width + gap), top: r * (height + gap) })),
  );
  await fs.mkdir(path.dirname(file), { recursive: true });
  await sharp({ create: { width: W, height: H, channels: 3, background: { r: 255, g: 255, b: 255 } } }).composite(composites).jpeg({ quality: 88 }).toFile(file);
}
