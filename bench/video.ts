/**
 * Video speed (issue 15): frames per second for a 640×360 H.264 clip stylised end to end
 * (ffmpeg decode → network → ffmpeg encode, `stylizeVideo`), against the same frames stylised as
 * separate image files through the image path (decode PNG → stylize → encode JPEG), and the
 * network alone on the frames in memory. Decoding + encoding's share of the end-to-end time is
 * 1 − network / end-to-end (goal: < 15 %).
 *
 *   npm run bench:video -- [--style starry-night] [--frames 24] [--smoothing stats|none] [--runtime auto|onnx|engine] [--preset medium] [--denoise 10] [--md file]
 *
 * With --denoise the decoder runs the temporal denoiser (`stylize --denoise`) in both the end-to-end
 * and the decode → encode runs, so its cost shows in the decoding share.
 *
 * The clip: a 640×360 window panning over stata.jpg (shared data) by (4, 2) px per frame, 24 fps,
 * encoded by ffmpeg at CRF 18 in a temporary folder.
 */
import { mkdtempSync, rmSync, statSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadImage, saveImage } from '../src/data/image.js';
import { loadStyleModel } from '../src/infer/load-model.js';
import { sharedDataDir } from '../src/util/paths.js';
import { panClip } from '../src/video/flicker.js';
import { VideoEncoder, decodeFrames, denoiseFilter, probeVideo, DEFAULT_PRESET } from '../src/video/ffmpeg.js';
import { loadFrameRunner, DEFAULT_SMOOTHING, type Smoothing } from '../src/video/frame-runner.js';
import { stylizeFrames, stylizeVideo } from '../src/video/stylize-video.js';

const { values: a } = parseArgs({
  options: {
    style: { type: 'string', default: 'starry-night' },
    frames: { type: 'string', default: '24' },
    smoothing: { type: 'string', default: DEFAULT_SMOOTHING },
    runtime: { type: 'string', default: 'auto' },
    md: { type: 'string' },
    preset: { type: 'string', default: DEFAULT_PRESET },
    denoise: { type: 'string', default: '0' },
  },
});
const preset = a.preset!;
const denoise = Number(a.denoise);
if (!(denoise >= 0)) throw new Error(`--denoise: a strength ≥ 0 (0: off), got ${a.denoise}`);
const decodeLabel = denoise ? `ffmpeg decode + ${denoiseFilter(denoise)}` : 'ffmpeg decode';
const frames = Number(a.frames);
const W = 640, H = 360;
const smoothing = a.smoothing as Smoothing;
const runtime = a.runtime as 'auto' | 'onnx' | 'engine';
const dir = mkdtempSync(path.join(os.tmpdir(), 'perceptual-bench-video-'));
try {
  const clip = panClip(await loadImage(path.join(sharedDataDir(), 'content', 'stata.jpg')), { dx: 4, dy: 2 }, { width: W, height: H, frames, seed: 1 });
  const input = path.join(dir, 'clip.mp4');
  const enc = new VideoEncoder({ output: input, width: W, height: H, frameRate: '24' });
  for (const f of clip.frames) await enc.write(f.data as Uint8Array);
  await enc.finish();
  const pngs: string[] = [];
  for (let i = 0; i < frames; i++) {
    const p = path.join(dir, `frame-${String(i).padStart(4, '0')}.png`);
    await saveImage(clip.frames[i]!, p);
    pngs.push(p);
  }

  // Warm up (runtime choice probe, kernels) outside the timings.
  const runner = await loadFrameRunner(a.style!, { runtime, smoothing, width: W, height: H });
  await stylizeFrames(runner, clip.frames.slice(0, 1).map((f) => f.data as Uint8Array), { width: W, height: H }, () => {});

  // 1. The network alone, frames already in memory (the same runner the video path uses).
  runner.reset();
  let t0 = performance.now();
  await stylizeFrames(runner, clip.frames.map((f) => f.data as Uint8Array), { width: W, height: H }, () => {});
  const networkS = (performance.now() - t0) / 1000;

  // 2. End to end: decode, stylise, encode (H.264 CRF 18, the x264 preset asked for; default medium).
  const r = await stylizeVideo(input, path.join(dir, 'out.mp4'), runner, { preset, denoise });
  const outBytes = statSync(path.join(dir, 'out.mp4')).size;
  const e2eS = r.seconds;
  const label = runner.label;
  await runner.dispose();

  // 2b. Decode → encode alone (no network): what the video path adds, measured directly.
  t0 = performance.now();
  const src = await probeVideo(input);
  const copy = new VideoEncoder({ output: path.join(dir, 'copy.mp4'), width: W, height: H, frameRate: src.frameRate, preset });
  for await (const f of decodeFrames(src, { denoise })) await copy.write(f);
  await copy.finish();
  const codecS = (performance.now() - t0) / 1000;

  // 3. The same frames as separate images through the image path.
  const model = await loadStyleModel(a.style!, { runtime: runtime === 'auto' ? 'auto' : runtime });
  await model.stylize(await loadImage(pngs[0]!), { tileSize: 0 });
  t0 = performance.now();
  for (const p of pngs) await saveImage(await model.stylize(await loadImage(p), { tileSize: 0 }), p.replace(/\.png$/, '.out.jpg'));
  const imagesS = (performance.now() - t0) / 1000;
  const imageRuntime = `${model.runtime}${model.runtime === 'engine' ? ` ${model.precision}` : ''}`;
  await model.dispose();

  const share = 1 - networkS / e2eS;
  const codecShare = codecS / (codecS + networkS);
  const cpu = os.cpus()[0]?.model.trim() ?? '?';
  const lines = [
    `Measured by \`npm run bench:video -- ${process.argv.slice(2).join(' ')}\` on ${cpu} (${os.availableParallelism()} threads), load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; ${frames} frames of ${W}×${H}, style ${a.style}.`,
    '',
    '| path | frames/s | s/frame |',
    '|---|---|---|',
    `| video end to end (${decodeLabel} → ${label} → x264 CRF 18 ${preset}; ${(outBytes / 1024).toFixed(0)} KiB) | ${(frames / e2eS).toFixed(2)} | ${(e2eS / frames).toFixed(3)} |`,
    `| network alone, frames in memory (${label}) | ${(frames / networkS).toFixed(2)} | ${(networkS / frames).toFixed(3)} |`,
    `| the same frames as separate PNG files → JPEG (image path, ${imageRuntime}) | ${(frames / imagesS).toFixed(2)} | ${(imagesS / frames).toFixed(3)} |`,
    `| decode → encode alone, no network (${decodeLabel}, x264 CRF 18 ${preset}) | ${(frames / codecS).toFixed(2)} | ${(codecS / frames).toFixed(3)} |`,
    '',
    `Decoding + encoding: ${(100 * share).toFixed(1)} % of the end-to-end time by difference (1 − network / end to end), ` +
      `${(100 * codecShare).toFixed(1)} % measured directly (decode → encode alone ÷ (that + network alone)); goal < 15 %: ${Math.max(share, codecShare) < 0.15 ? '**met**' : '**not met**'}.`,
  ];
  const md = lines.join('\n');
  console.log(md);
  if (a.md) await fs.writeFile(a.md, `${md}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
