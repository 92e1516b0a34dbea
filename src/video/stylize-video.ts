/**
 * Stylise a video file: ffmpeg decodes into a pipe, frames are stylised in order (in batches, or
 * one by one with smoothed statistics), and ffmpeg encodes H.264 from a pipe into a temporary
 * file that becomes the output only when every frame went through. Ctrl-C (the AbortSignal), a
 * network error or a corrupt input stop both ffmpeg processes and delete the temporary file.
 */
import { existsSync, statSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { RgbImage } from '../data/image.js';
import * as color from '../data/color.js';
import { blendStrength, checkStrength } from '../infer/core/index.js';
import { probeVideo, decodeFrames, VideoEncoder, videoOutputSize, type VideoInfo } from './ffmpeg.js';
import { loadFrameRunner, type FrameRunner, type FrameRunnerOptions } from './frame-runner.js';

export interface VideoProgress {
  /** Frames written so far. */
  done: number;
  /** Frames expected (from the container), when known. */
  total: number | undefined;
  /** Frames per second so far, end to end. */
  fps: number;
  /** Seconds left at that rate, when the total is known. */
  etaSeconds: number | undefined;
}

export interface StylizeVideoOptions extends FrameRunnerOptions {
  /** Longer side of the output (frames are scaled in the decoder; sizes are made even). */
  maxSide?: number;
  /** H.264 constant rate factor (default `DEFAULT_CRF`). */
  crf?: number;
  /** x264 preset (default `DEFAULT_PRESET`). */
  preset?: string;
  /** Copy the source's audio (default true). */
  audio?: boolean;
  /** Temporal denoising before the network, hqdn3d strength (0 or absent: off; `DEFAULT_DENOISE` is the measured choice). */
  denoise?: number;
  strength?: number;
  preserveColor?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: VideoProgress) => void;
  /** Called once the runtime is loaded and the clip probed (what will run, at what size). */
  onStart?: (info: { source: VideoInfo; width: number; height: number; runner: string }) => void;
}

export interface StylizeVideoResult {
  output: string;
  frames: number;
  width: number;
  height: number;
  frameRate: string;
  audio: boolean;
  runner: string;
  /** Wall-clock seconds, end to end (after loading the model). */
  seconds: number;
  /** Seconds inside the network calls (and the frames' layout conversion around them). */
  networkSeconds: number;
}

/** Interleaved bytes → planar float (0–255). */
export function bytesToPlanar(frame: Uint8Array, out: Float32Array, offset: number, pixels: number): void {
  for (let p = 0, i = 0; p < pixels; p++) {
    out[offset + p] = frame[i++]!;
    out[offset + pixels + p] = frame[i++]!;
    out[offset + 2 * pixels + p] = frame[i++]!;
  }
}

/** Planar float → interleaved float image. */
function planarToImage(data: Float32Array, offset: number, width: number, height: number): RgbImage {
  const pixels = width * height;
  const out = new Float32Array(pixels * 3);
  for (let p = 0, i = 0; p < pixels; p++) {
    out[i++] = data[offset + p]!;
    out[i++] = data[offset + pixels + p]!;
    out[i++] = data[offset + 2 * pixels + p]!;
  }
  return { data: out, width, height, channels: 3 };
}

function imageToBytes(img: RgbImage): Uint8Array {
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(img.data[i]!)));
  return out;
}

/**
 * Stylise the frames of one clip with `runner`, in order: the loop shared by {@link stylizeVideo}
 * and the benchmarks. `frames` yields interleaved RGB bytes; `sink` gets the stylised bytes.
 */
export async function stylizeFrames(
  runner: FrameRunner,
  frames: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  size: { width: number; height: number },
  sink: (frame: Uint8Array, index: number) => Promise<void> | void,
  o: { strength?: number; preserveColor?: boolean; batchSize?: number; signal?: AbortSignal } = {},
): Promise<{ frames: number; networkSeconds: number }> {
  const { width, height } = size;
  const pixels = width * height;
  const strength = o.strength ?? 1;
  checkStrength(strength);
  const batch = Math.min(o.batchSize ?? runner.maxBatch, runner.maxBatch);
  let pending: Uint8Array[] = [];
  let index = 0;
  let networkMs = 0;
  const flush = async () => {
    const n = pending.length;
    if (n === 0) return;
    o.signal?.throwIfAborted();
    const t0 = performance.now();
    const input = new Float32Array(n * 3 * pixels);
    pending.forEach((f, k) => bytesToPlanar(f, input, k * 3 * pixels, pixels));
    const out = await runner.run(input, n, height, width);
    const results: Uint8Array[] = [];
    for (let k = 0; k < n; k++) {
      let img = planarToImage(out, k * 3 * pixels, width, height);
      const src: RgbImage = { data: pending[k]!, width, height, channels: 3 };
      if (o.preserveColor) img = color.preserveColor(img, src);
      if (strength < 1) img = blendStrength(img, src, strength);
      results.push(imageToBytes(img));
    }
    networkMs += performance.now() - t0;
    pending = [];
    for (const r of results) await sink(r, index++);
  };
  for await (const f of frames as AsyncIterable<Uint8Array>) {
    if (f.length !== pixels * 3) throw new RangeError(`frame ${index + pending.length} has ${f.length} bytes, expected ${width}×${height}×3`);
    pending.push(f);
    if (pending.length >= batch) await flush();
  }
  await flush();
  return { frames: index, networkSeconds: networkMs / 1000 };
}

/** Read ahead of the consumer: the decoder keeps `depth` frames ready while the network runs. */
async function* prefetch<T>(source: AsyncIterable<T>, depth: number): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  const queue: Array<Promise<IteratorResult<T>>> = [];
  // A read ahead can fail (the decoder stopped by an abort) while nobody awaits it yet: mark it
  // handled now — awaiting it later still throws — so it is not an unhandled rejection.
  const ask = () => {
    const p = it.next();
    p.catch(() => {});
    queue.push(p);
  };
  try {
    for (let k = 0; k < depth; k++) ask();
    for (;;) {
      const r = await queue.shift()!;
      if (r.done) return;
      ask();
      yield r.value;
    }
  } finally {
    // Settle what is in flight before closing the decoder (its errors are the consumer's no more).
    await Promise.allSettled(queue);
    await it.return?.(undefined);
  }
}

/** Stylise `input` (any video ffmpeg reads) into `output` (.mp4, .mov, .mkv, .m4v: H.264 yuv420p). */
export async function stylizeVideo(input: string, output: string, style: string | FrameRunner, o: StylizeVideoOptions = {}): Promise<StylizeVideoResult> {
  if (path.resolve(input) === path.resolve(output)) throw new Error(`${input} would be overwritten by its own output: choose another -o`);
  if (existsSync(output) && statSync(output).isDirectory()) throw new Error(`-o ${output} is a folder: give a video file name (.mp4)`);
  const source = await probeVideo(input, { signal: o.signal });
  await fs.mkdir(path.dirname(path.resolve(output)), { recursive: true });
  const { width, height } = videoOutputSize(source.width, source.height, o.maxSide);
  const runner = typeof style === 'string' ? await loadFrameRunner(style, { ...o, width, height }) : style;
  let encoder: VideoEncoder | undefined;
  try {
    o.signal?.throwIfAborted();
    const audio = (o.audio ?? true) && source.audioCodec !== undefined;
    encoder = new VideoEncoder({ output, width, height, frameRate: source.frameRate, crf: o.crf, preset: o.preset, audioFrom: audio ? source : undefined });
    o.onStart?.({ source, width, height, runner: runner.label });
    runner.reset();
    const t0 = performance.now();
    const enc = encoder;
    const { frames, networkSeconds } = await stylizeFrames(
      runner,
      prefetch(decodeFrames(source, { width, height, denoise: o.denoise, signal: o.signal }), 2),
      { width, height },
      async (frame, i) => {
        await enc.write(frame);
        const s = (performance.now() - t0) / 1000;
        const fps = (i + 1) / s;
        const total = source.frames;
        o.onProgress?.({ done: i + 1, total, fps, etaSeconds: total !== undefined ? Math.max(0, total - i - 1) / fps : undefined });
      },
      { strength: o.strength, preserveColor: o.preserveColor, batchSize: o.batchSize, signal: o.signal },
    );
    o.signal?.throwIfAborted();
    await encoder.finish();
    return { output, frames, width, height, frameRate: source.frameRate, audio, runner: runner.label, seconds: (performance.now() - t0) / 1000, networkSeconds };
  } catch (e) {
    await encoder?.abort();
    // Stopped on purpose: say so, not what the stop did to the pipes.
    if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new Error(`stopped: ${String(o.signal.reason)}`);
    throw e;
  } finally {
    if (typeof style === 'string') await runner.dispose();
  }
}
