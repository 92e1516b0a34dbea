/**
 * The video branch of `perceptual stylize`: one input that is a video (recognised by probing,
 * whatever its extension; images never spawn ffprobe) goes through `src/video/stylize-video.ts`.
 * The output is H.264 in the container its extension names (default `stylized/<name>.mp4`).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { existsSync, statSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { formatEta } from '../../train/progress.js';
import { isVideoFile, isVideoOutputPath, VIDEO_NAME, DEFAULT_CRF, DEFAULT_DENOISE, DEFAULT_PRESET, MAX_DENOISE, VIDEO_OUTPUT_EXTENSIONS } from '../../video/ffmpeg.js';
import { stylizeVideo, type VideoProgress } from '../../video/stylize-video.js';
import { DEFAULT_SMOOTHING, DEFAULT_VIDEO_BATCH, SMOOTHINGS, type Smoothing } from '../../video/frame-runner.js';
import { DEFAULT_STATS_MOMENTUM } from '../../video/temporal-onnx.js';
import { withInterrupt } from '../options.js';
import { removeStaleTempFiles } from '../../util/stale-temp.js';

export interface VideoCliOptions {
  crf: number;
  preset: string;
  smoothing: Smoothing;
  statsMomentum: number;
  audio: boolean;
  batchSize: number;
  /** `--denoise` alone is `true` (the default strength); absent is off. */
  denoise?: number | true;
}

/** The options `stylize` takes for videos only. */
export function addVideoOptions(cmd: Command): Command {
  const crf = (v: string) => {
    const n = Number(v);
    if (!(Number.isFinite(n) && n >= 0 && n <= 51)) throw new InvalidArgumentError(`'${v}' is not a CRF between 0 and 51`);
    return n;
  };
  const momentum = (v: string) => {
    const n = Number(v);
    if (!(n >= 0 && n < 1)) throw new InvalidArgumentError(`'${v}' is not in [0, 1)`);
    return n;
  };
  const smoothing = (v: string) => {
    if (!SMOOTHINGS.includes(v as Smoothing)) throw new InvalidArgumentError(`must be ${SMOOTHINGS.join(' or ')}`);
    return v as Smoothing;
  };
  const batch = (v: string) => {
    const n = Number(v);
    if (!(Number.isInteger(n) && n >= 1)) throw new InvalidArgumentError(`'${v}' is not a positive integer`);
    return n;
  };
  const denoise = (v: string) => {
    const n = Number(v);
    if (!(n >= 0 && n <= MAX_DENOISE)) throw new InvalidArgumentError(`'${v}' is not a strength between 0 (off) and ${MAX_DENOISE}`);
    return n;
  };
  return cmd
    .option('--crf <n>', 'video: H.264 quality, 0 (lossless) … 51 (worst); 18 looks like the source', crf, DEFAULT_CRF)
    .option('--preset <p>', 'video: x264 preset (ultrafast … veryslow)', DEFAULT_PRESET)
    .option('--smoothing <s>', 'video: none (each frame by itself) | stats (instance-norm statistics averaged over the frames)', smoothing, DEFAULT_SMOOTHING)
    .option('--stats-momentum <α>', 'video: weight of the past in the running statistics, [0, 1)', momentum, DEFAULT_STATS_MOMENTUM)
    .option('--denoise [strength]', `video: temporal denoising before the network (hqdn3d), against the flicker a camera's noise causes on still or slow scenes; strength 0 (off) … ${MAX_DENOISE}, ${DEFAULT_DENOISE} when given alone`, denoise)
    .option('--no-audio', "video: drop the source's audio (default: copied)")
    .option('--batch-size <n>', 'video: frames per network call with --smoothing none', batch, DEFAULT_VIDEO_BATCH);
}

interface SharedOptions {
  style: string;
  out?: string;
  maxSide?: number;
  strength: number;
  preserveColor?: boolean;
  runtime: 'auto' | 'onnx' | 'engine';
  device: string;
  precision?: 'float32' | 'bf16';
  tile?: number;
  format?: string;
  shifts?: number;
  edgePad?: number;
}

/**
 * If `inputs` is one video file, stylise it and resolve true; otherwise resolve false (the
 * caller goes on with images). Several inputs with a video among them is an error.
 */
export async function stylizeVideoIfVideo(inputs: readonly string[], o: SharedOptions & VideoCliOptions): Promise<boolean> {
  const files = inputs.filter((i) => existsSync(i) && statSync(i).isFile());
  if (inputs.length !== 1 || files.length !== 1) {
    // Only probe when a video could be among several inputs by its name: keep image batches free of ffprobe.
    const named = files.filter((f) => VIDEO_NAME.test(f));
    if (named.length && inputs.length > 1) throw new Error(`${named[0]} is a video: stylise videos one at a time (perceptual stylize ${named[0]} --style …)`);
    return false;
  }
  const input = files[0]!;
  if (!(await isVideoFile(input))) return false;
  if (o.tile !== undefined) throw new Error('--tile does not apply to video (frames are never tiled; use --max-side)');
  if (o.format !== undefined) throw new Error(`--format does not apply to video: name the output ${VIDEO_OUTPUT_EXTENSIONS.join(', ')}`);
  let output = o.out ?? path.join('stylized', `${path.basename(input).replace(/\.[^./\\]+$/, '')}.mp4`);
  if (existsSync(output) && statSync(output).isDirectory()) output = path.join(output, `${path.basename(input).replace(/\.[^./\\]+$/, '')}.mp4`);
  if (!isVideoOutputPath(output)) throw new Error(`-o ${output}: a video is written as ${VIDEO_OUTPUT_EXTENSIONS.join(', ')}`);
  mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
  await removeStaleTempFiles(path.dirname(path.resolve(output))); // what a killed run (SIGKILL) left
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  const show = (p: VideoProgress) => {
    const now = Date.now();
    const last = p.total !== undefined && p.done >= p.total;
    if (!tty && !last && now - lastLine < 5000) return;
    lastLine = now;
    const of = p.total !== undefined ? `/${p.total}` : '';
    const eta = p.etaSeconds !== undefined ? ` · ETA ${formatEta(p.etaSeconds)}` : '';
    const line = `frame ${p.done}${of} · ${p.fps.toFixed(2)} frames/s${eta}`;
    if (tty) process.stderr.write(`\r${line}\x1b[K`);
    else console.error(line);
  };
  await withInterrupt(async (signal) => {
    try {
      const r = await stylizeVideo(input, output, o.style, {
        runtime: o.runtime,
        device: o.device,
        precision: o.precision,
        maxSide: o.maxSide,
        strength: o.strength,
        preserveColor: o.preserveColor,
        crf: o.crf,
        preset: o.preset,
        smoothing: o.smoothing,
        statsMomentum: o.statsMomentum,
        audio: o.audio,
        denoise: o.denoise === true ? DEFAULT_DENOISE : o.denoise,
        batchSize: o.batchSize,
        shifts: o.shifts,
        edgePad: o.edgePad,
        signal,
        onStart: ({ source, width, height, runner }) =>
          console.error(`${input}: ${source.width}×${source.height} ${source.videoCodec} at ${source.frameRate} fps${source.frames ? `, ${source.frames} frames` : ''}${source.audioCodec ? `, audio ${source.audioCodec}` : ''} → ${width}×${height} on ${runner}`),
        onProgress: show,
      });
      if (tty) process.stderr.write('\n');
      console.log(`${input} → ${output} (${r.frames} frames ${r.width}×${r.height}, ${r.seconds.toFixed(1)} s, ${(r.frames / r.seconds).toFixed(2)} frames/s, ${r.runner}${r.audio ? ', audio copied' : ''})`);
    } catch (e) {
      if (tty) process.stderr.write('\n');
      throw e;
    }
  });
  return true;
}
