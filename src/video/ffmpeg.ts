/**
 * Video in and out through Debian's `ffmpeg`/`ffprobe`, spawned as child processes: frames
 * travel through pipes as raw RGB (`rawvideo`, `rgb24`), never through a folder of images.
 *
 *  - {@link probeVideo}: what a file holds (size after rotation, frame rate, frame count, audio).
 *  - {@link decodeFrames}: an async iterator of frames, optionally scaled on the way out of the
 *    decoder (so `--max-side` costs nothing in JavaScript).
 *  - {@link VideoEncoder}: H.264 yuv420p with the source's frame rate, a CRF, the source's audio
 *    copied (re-encoded to AAC when the container cannot take it as it is), written to a temporary
 *    file that is renamed over the output only when everything succeeded.
 *
 * Missing binaries give one message that says how to install them; ffmpeg's own complaints (a
 * corrupt or truncated file) are passed on with the file name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs, openSync, readSync, closeSync } from 'node:fs';
import path from 'node:path';
import { atomicTempName } from '../util/atomic-write.js';
import { checkDenoiseStrength } from './temporal-denoise.js';

/** Environment variables that point at other binaries (default: `ffmpeg`/`ffprobe` on the PATH). */
export const FFMPEG_ENV = 'PERCEPTUAL_FFMPEG';
export const FFPROBE_ENV = 'PERCEPTUAL_FFPROBE';

/** H.264 quality: x264's constant rate factor (0 lossless … 51 worst; 18 is visually near lossless). */
export const DEFAULT_CRF = 18;
/** x264 speed/size trade-off. */
export const DEFAULT_PRESET = 'medium';

/** `--denoise`: the strength scale and its measured default (src/video/temporal-denoise.ts says why). */
export { DEFAULT_DENOISE, MAX_DENOISE } from './temporal-denoise.js';

/**
 * The ffmpeg filter of `--denoise strength`: hqdn3d with its spatial strengths near zero (0 would
 * mean "the default", 4), so only the temporal recursion of src/video/temporal-denoise.ts runs.
 */
export function denoiseFilter(strength: number): string {
  checkDenoiseStrength(strength);
  return `hqdn3d=0.01:0.01:${strength}:${strength}`;
}

const INSTALL_HINT = 'install it with `sudo apt-get install -y ffmpeg` (or `bash scripts/install-system-deps.sh video`), or point ' +
  `${FFMPEG_ENV}/${FFPROBE_ENV} at the binaries`;

export class FfmpegMissingError extends Error {
  constructor(readonly binary: string) {
    super(`video needs ${binary}, which was not found: ${INSTALL_HINT}`);
    this.name = 'FfmpegMissingError';
  }
}

/**
 * ffmpeg runs in its own process group: a Ctrl-C in the terminal goes to the whole foreground
 * group, and ffmpeg would die of it (leaving "encoder exited 255" instead of a clean stop). This
 * process stops it itself on abort; should this process die, the pipes close and ffmpeg exits.
 */
const OWN_GROUP = process.platform !== 'win32';

export const ffmpegBinary = (): string => process.env[FFMPEG_ENV] || 'ffmpeg';
export const ffprobeBinary = (): string => process.env[FFPROBE_ENV] || 'ffprobe';

export interface VideoInfo {
  file: string;
  /** Displayed size (after the rotation ffmpeg applies when decoding). */
  width: number;
  height: number;
  /** Frame rate as ffmpeg writes it (`30000/1001`) and as a number. */
  frameRate: string;
  fps: number;
  /** Frames in the stream when the container says (else estimated from the duration), or undefined. */
  frames: number | undefined;
  /** Seconds, when known. */
  duration: number | undefined;
  videoCodec: string;
  /** Codec of the first audio stream, if any. */
  audioCodec: string | undefined;
  formatName: string;
}

/**
 * Run a binary to completion, optionally writing `input` to its stdin; resolves its stdout (bytes),
 * stderr and exit code. A missing binary rejects with {@link FfmpegMissingError}.
 */
function run(binary: string, args: string[], o: { signal?: AbortSignal; input?: readonly Uint8Array[] } = {}): Promise<{ stdout: Buffer; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(binary, args, { stdio: [o.input ? 'pipe' : 'ignore', 'pipe', 'pipe'], signal: o.signal });
    } catch (e) {
      reject(e);
      return;
    }
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => stdout.push(d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new FfmpegMissingError(binary) : e));
    child.on('close', (code) => resolve({ stdout: Buffer.concat(stdout), stderr, code }));
    if (o.input) {
      child.stdin!.on('error', () => {}); // the binary gone early: its exit code says why
      for (const chunk of o.input) child.stdin!.write(chunk);
      child.stdin!.end();
    }
  });
}

const tail = (s: string, lines = 6): string =>
  s.trim().split('\n').filter(Boolean).slice(-lines).join('; ') || '(no message)';

function parseRate(r: string | undefined): number {
  if (!r) return NaN;
  const [n, d] = r.split('/').map(Number);
  return d ? n! / d : n!;
}

/** Image formats ffmpeg reads as one-frame "videos": never treated as video here. */
const IMAGE_FORMATS = /^(image2|[a-z0-9]+_pipe|png|apng_pipe|webp)$/;

/** First bytes of the image formats the image path reads (JPEG, PNG, WebP, GIF, TIFF, BMP). */
export function looksLikeImage(head: Uint8Array): boolean {
  const s = (a: number[], at = 0) => a.every((v, i) => head[at + i] === v);
  return (
    s([0xff, 0xd8, 0xff]) ||
    s([0x89, 0x50, 0x4e, 0x47]) ||
    (s([0x52, 0x49, 0x46, 0x46]) && s([0x57, 0x45, 0x42, 0x50], 8)) ||
    s([0x49, 0x49, 0x2a, 0x00]) ||
    s([0x4d, 0x4d, 0x00, 0x2a]) ||
    s([0x42, 0x4d])
  );
}

/**
 * Whether a file should go the video path: anything that is not an image by its first bytes and
 * that ffprobe reads as a moving-picture stream. Images never spawn ffprobe, so stylising photos
 * does not need ffmpeg installed.
 */
export async function isVideoFile(file: string, signal?: AbortSignal): Promise<boolean> {
  const head = new Uint8Array(16);
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    readSync(fd, head, 0, 16, 0);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (looksLikeImage(head)) return false;
  try {
    await probeVideo(file, { signal });
    return true;
  } catch (e) {
    // Without ffprobe, only a name that says "video" gets the install hint; anything else goes on
    // to the image path, whose own error is the right one (so photos never need ffmpeg).
    if (e instanceof FfmpegMissingError && VIDEO_NAME.test(file)) throw e;
    return false;
  }
}

/** File names that are videos whatever their content (used only to word errors). */
export const VIDEO_NAME = /\.(mp4|m4v|mov|mkv|webm|avi|wmv|flv|mpe?g|m2ts|mts|ts|3gp|ogv)$/i;

/** Probe a video file; throws a clear Error for a file ffprobe cannot read or that has no video. */
export async function probeVideo(file: string, options: { signal?: AbortSignal } = {}): Promise<VideoInfo> {
  const args = ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file];
  const r = await run(ffprobeBinary(), args, { signal: options.signal });
  if (r.code !== 0) throw new Error(`cannot read video ${file}: ${tail(r.stderr)}`);
  type Stream = {
    codec_type?: string; codec_name?: string; width?: number; height?: number; r_frame_rate?: string; avg_frame_rate?: string;
    nb_frames?: string; duration?: string; tags?: Record<string, string>; side_data_list?: Array<{ rotation?: number }>;
    disposition?: { attached_pic?: number };
  };
  let parsed: { streams?: Stream[]; format?: { format_name?: string; duration?: string } };
  try {
    parsed = JSON.parse(r.stdout.toString('utf8')) as typeof parsed;
  } catch {
    throw new Error(`cannot read video ${file}: ffprobe printed no JSON`);
  }
  const formatName = parsed.format?.format_name ?? '';
  const video = parsed.streams?.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video || !video.width || !video.height || IMAGE_FORMATS.test(formatName)) throw new Error(`${file} is not a video (${formatName || 'unknown format'}, no moving-picture stream)`);
  const audio = parsed.streams?.find((s) => s.codec_type === 'audio');
  // r_frame_rate is the stream's base rate; avg_frame_rate is the real one for variable-rate files.
  let frameRate = video.avg_frame_rate && parseRate(video.avg_frame_rate) > 0 ? video.avg_frame_rate : video.r_frame_rate ?? '';
  let fps = parseRate(frameRate);
  if (!(fps > 0 && fps < 1000)) {
    frameRate = '25';
    fps = 25;
  }
  const rotation = Number(video.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? video.tags?.rotate ?? 0);
  const swap = Math.abs(rotation) % 180 === 90;
  const duration = Number(video.duration ?? parsed.format?.duration);
  const nb = Number(video.nb_frames);
  const frames = Number.isInteger(nb) && nb > 0 ? nb : duration > 0 ? Math.round(duration * fps) : undefined;
  if (frames === 1 && !(duration > 0)) throw new Error(`${file} is not a video (one still frame)`);
  return {
    file,
    width: swap ? video.height : video.width,
    height: swap ? video.width : video.height,
    frameRate,
    fps,
    frames,
    duration: duration > 0 ? duration : undefined,
    videoCodec: video.codec_name ?? '?',
    audioCodec: audio?.codec_name,
    formatName,
  };
}

/** The output size for `--max-side`: the longer side at most `maxSide`, both sides even (yuv420p needs it). */
export function videoOutputSize(width: number, height: number, maxSide?: number): { width: number; height: number } {
  let w = width, h = height;
  if (maxSide !== undefined) {
    if (!(Number.isInteger(maxSide) && maxSide >= 2)) throw new RangeError(`maxSide must be an integer ≥ 2, got ${maxSide}`);
    const s = Math.min(1, maxSide / Math.max(w, h));
    w = Math.round(w * s);
    h = Math.round(h * s);
  }
  const even = (v: number) => Math.max(2, v - (v % 2));
  return { width: even(w), height: even(h) };
}

export interface DecodeOptions {
  /** Scale the frames to this size in the decoder (default: the probed size). */
  width?: number;
  height?: number;
  signal?: AbortSignal;
  /** Frames the decoder may run ahead of the consumer (default 4). */
  readAhead?: number;
  /** Temporal denoising strength after scaling (0 or absent: off; src/video/temporal-denoise.ts). */
  denoise?: number;
}

/**
 * Decoded frames, in order, as interleaved RGB bytes (`width·height·3`). Ends when the stream
 * ends; throws when ffmpeg fails (corrupt data), when the stream stops inside a frame, or when
 * far fewer frames arrive than the container announced (a truncated file).
 */
export async function* decodeFrames(info: VideoInfo, options: DecodeOptions = {}): AsyncGenerator<Uint8Array> {
  const width = options.width ?? info.width;
  const height = options.height ?? info.height;
  const frameBytes = width * height * 3;
  const chain: string[] = [];
  if (width !== info.width || height !== info.height) chain.push(`scale=${width}:${height}:flags=area`);
  if (options.denoise) chain.push(denoiseFilter(options.denoise));
  const filters = chain.length ? ['-vf', chain.join(',')] : [];
  const args = ['-v', 'error', '-nostdin', '-xerror', '-i', info.file, '-map', '0:v:0', ...filters, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-vsync', 'passthrough', 'pipe:1'];
  const child = spawn(ffmpegBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'], detached: OWN_GROUP });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  let spawnError: Error | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = e.code === 'ENOENT' ? new FfmpegMissingError(ffmpegBinary()) : e;
      resolve(null);
    });
    child.on('close', (code) => resolve(code));
  });
  const onAbort = () => child.kill('SIGKILL');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let count = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      options.signal?.throwIfAborted();
      pending.push(chunk);
      pendingBytes += chunk.length;
      while (pendingBytes >= frameBytes) {
        const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
        const frame = new Uint8Array(frameBytes);
        frame.set(all.subarray(0, frameBytes));
        const rest = all.subarray(frameBytes);
        pending = rest.length ? [rest] : [];
        pendingBytes = rest.length;
        count++;
        yield frame;
        options.signal?.throwIfAborted();
      }
    }
    const code = await exited;
    options.signal?.throwIfAborted();
    if (spawnError) throw spawnError;
    if (code !== 0) throw new Error(`cannot decode video ${info.file} (after ${count} frames): ${tail(stderr)}`);
    if (pendingBytes > 0) throw new Error(`cannot decode video ${info.file}: the stream ended inside frame ${count + 1} (truncated)`);
    if (count === 0) throw new Error(`cannot decode video ${info.file}: no frames decoded${stderr ? ` (${tail(stderr)})` : ''}`);
    // A container that announces N frames but yields far fewer was cut short.
    if (info.frames !== undefined && count < 0.9 * info.frames - 1) {
      throw new Error(`video ${info.file} is truncated or corrupt: decoded ${count} of the ${info.frames} frames its header announces${stderr ? ` (${tail(stderr, 2)})` : ''}`);
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Raw RGB frames (interleaved, `width·height·3` bytes each) through an ffmpeg filter chain, e.g.
 * {@link denoiseFilter}: the same filter the decoder applies, for frames made in memory (the
 * flicker figure's clips). ffmpeg converts the frames to what the filter takes — for hqdn3d,
 * YUV 4:4:4, so no chroma is subsampled, but the round trip rounds (±1) — as the decoder's
 * frames, YUV from the start, are filtered before their conversion to RGB.
 */
export async function filterFrames(frames: readonly Uint8Array[], size: { width: number; height: number }, filter: string, signal?: AbortSignal): Promise<Uint8Array[]> {
  const { width, height } = size;
  const frameBytes = width * height * 3;
  frames.forEach((f, i) => {
    if (f.length !== frameBytes) throw new RangeError(`filterFrames: frame ${i} has ${f.length} bytes, expected ${width}×${height}×3`);
  });
  const args = ['-v', 'error', '-nostdin', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-i', 'pipe:0',
    '-vf', filter, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
  const r = await run(ffmpegBinary(), args, { signal, input: frames });
  if (r.code !== 0) throw new Error(`ffmpeg filter ${filter} failed on ${frames.length} frames of ${width}×${height}: ${tail(r.stderr)}`);
  if (r.stdout.length !== frames.length * frameBytes) throw new Error(`ffmpeg filter ${filter} returned ${r.stdout.length / frameBytes} frames for ${frames.length}`);
  return frames.map((_, i) => new Uint8Array(r.stdout.subarray(i * frameBytes, (i + 1) * frameBytes)));
}

/** Containers the encoder writes (by the output's extension) and the audio codecs each takes as they are. */
const CONTAINERS: Record<string, { format: string; copyAudio: RegExp }> = {
  '.mp4': { format: 'mp4', copyAudio: /^(aac|mp3|alac|ac3|eac3|opus|flac)$/ },
  '.m4v': { format: 'mp4', copyAudio: /^(aac|mp3|alac|ac3|eac3)$/ },
  '.mov': { format: 'mov', copyAudio: /^(aac|mp3|alac|ac3|pcm_.*)$/ },
  '.mkv': { format: 'matroska', copyAudio: /./ },
};
export const VIDEO_OUTPUT_EXTENSIONS = Object.keys(CONTAINERS);

export function isVideoOutputPath(file: string): boolean {
  return path.extname(file).toLowerCase() in CONTAINERS;
}

export interface EncoderOptions {
  output: string;
  width: number;
  height: number;
  /** Frame rate as ffmpeg takes it (`30000/1001`, `25`). */
  frameRate: string;
  crf?: number;
  preset?: string;
  /** Copy this file's audio (when it has any: `audioCodec` from its probe). */
  audioFrom?: { file: string; audioCodec: string | undefined };
}

/**
 * An H.264 encoder fed raw RGB frames. Frames go to a temporary file next to the output;
 * {@link finish} renames it over the output, {@link abort} (or any failure) deletes it.
 */
export class VideoEncoder {
  readonly temp: string;
  private readonly child: ChildProcess;
  private stderr = '';
  private readonly exited: Promise<number | null>;
  private failure: Error | undefined;
  private closed = false;
  frames = 0;

  constructor(readonly o: EncoderOptions) {
    const ext = path.extname(o.output).toLowerCase();
    const container = CONTAINERS[ext];
    if (!container) throw new Error(`${o.output}: cannot write video as '${ext || '(no extension)'}' (use ${VIDEO_OUTPUT_EXTENSIONS.join(', ')})`);
    if (o.width % 2 || o.height % 2) throw new RangeError(`H.264 yuv420p needs even sizes, got ${o.width}×${o.height}`);
    const crf = o.crf ?? DEFAULT_CRF;
    if (!(Number.isFinite(crf) && crf >= 0 && crf <= 51)) throw new RangeError(`crf must be between 0 and 51, got ${crf}`);
    // The project's temporary-file name (stale ones of dead processes are recognised and removed); the
    // container is given to ffmpeg with -f, so the name needs no video extension.
    this.temp = atomicTempName(path.resolve(o.output));
    const audio = o.audioFrom?.audioCodec
      ? ['-i', o.audioFrom.file, '-map', '1:a:0', ...(container.copyAudio.test(o.audioFrom.audioCodec) ? ['-c:a', 'copy'] : ['-c:a', 'aac', '-b:a', '192k'])]
      : [];
    const args = [
      '-v', 'error', '-nostdin', '-y',
      '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${o.width}x${o.height}`, '-framerate', o.frameRate, '-i', 'pipe:0',
      ...audio,
      '-map', '0:v:0',
      '-c:v', 'libx264', '-preset', o.preset ?? DEFAULT_PRESET, '-crf', String(crf), '-pix_fmt', 'yuv420p',
      // BT.601 primaries for the RGB → YUV matrix ffmpeg's swscale uses by default; say so in the stream.
      '-colorspace', 'smpte170m', '-color_primaries', 'smpte170m', '-color_trc', 'smpte170m',
      ...(container.format === 'mp4' || container.format === 'mov' ? ['-movflags', '+faststart'] : []),
      '-f', container.format, this.temp,
    ];
    this.child = spawn(ffmpegBinary(), args, { stdio: ['pipe', 'ignore', 'pipe'], detached: OWN_GROUP });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-4000)));
    this.child.stdin!.on('error', () => {}); // EPIPE when ffmpeg dies: reported through `exited`
    this.exited = new Promise((resolve) => {
      this.child.on('error', (e: NodeJS.ErrnoException) => {
        this.failure = e.code === 'ENOENT' ? new FfmpegMissingError(ffmpegBinary()) : e;
        resolve(null);
      });
      this.child.on('close', (code) => resolve(code));
    });
  }

  private async failed(what: string): Promise<Error> {
    const code = await this.exited;
    return this.failure ?? new Error(`cannot encode video ${this.o.output} (${what}; ffmpeg exited with ${code}): ${tail(this.stderr)}`);
  }

  /** Queue one frame (interleaved RGB bytes, width·height·3); resolves when ffmpeg has taken it. */
  async write(frame: Uint8Array): Promise<void> {
    if (frame.length !== this.o.width * this.o.height * 3) throw new RangeError(`frame has ${frame.length} bytes, expected ${this.o.width}×${this.o.height}×3`);
    if (this.closed) throw new Error(`cannot encode video ${this.o.output}: the encoder is closed`);
    const stdin = this.child.stdin!;
    if (this.failure || this.child.exitCode !== null) throw await this.failed(`at frame ${this.frames + 1}`);
    const ok = stdin.write(frame);
    this.frames++;
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = () => {
          stdin.off('drain', done);
          this.child.off('close', done);
          resolve();
        };
        stdin.on('drain', done);
        this.child.on('close', done);
      });
      if (this.child.exitCode !== null && this.child.exitCode !== 0) throw await this.failed(`at frame ${this.frames}`);
    }
  }

  /** Flush, wait for ffmpeg, and move the finished file to the output path. */
  async finish(): Promise<void> {
    this.closed = true;
    this.child.stdin!.end();
    const code = await this.exited;
    if (code !== 0 || this.failure) {
      const e = await this.failed('finishing');
      await fs.rm(this.temp, { force: true });
      throw e;
    }
    try {
      await fs.rename(this.temp, this.o.output);
    } catch (e) {
      await fs.rm(this.temp, { force: true });
      throw new Error(`cannot write ${this.o.output}: ${(e as Error).message}`);
    }
  }

  /** Stop ffmpeg and delete the temporary file; the output path is left untouched. */
  async abort(): Promise<void> {
    this.closed = true;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
    await fs.rm(this.temp, { force: true });
  }
}
