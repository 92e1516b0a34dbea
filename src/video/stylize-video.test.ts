/**
 * Video in and out through ffmpeg, on tiny clips made here with ffmpeg's test source and a photo.
 * The stylised frames are checked against an independent path: the same decoded frames through
 * the image API (loadStyleModel → stylize) and decoded again from the written H.264 file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { engineAvailable } from '../engine/index.js';
import { loadStyleModel } from '../infer/load-model.js';
import { psnr } from '../metrics/metrics.js';
import type { RgbImage } from '../data/image.js';
import { decodeFrames, isVideoFile, probeVideo, videoOutputSize, FfmpegMissingError, FFPROBE_ENV } from './ffmpeg.js';
import { stylizeVideo, stylizeFrames } from './stylize-video.js';
import { loadFrameRunner } from './frame-runner.js';
import { temporalOnnx } from './temporal-onnx.js';
import { OrtGraph, OrtModel } from '../runtime/ort-session.js';

const STYLE = 'starry-night';
let dir: string;
let clip: string; // 64×48, 10 fps, 12 frames, with AAC audio, named .dat
let photoClip: string; // a photo panned, 60×44, 8 frames, no audio

function ffmpeg(...args: string[]): void {
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...args]);
}

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'perceptual-video-'));
  clip = path.join(dir, 'clip.dat');
  ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=8000', '-t', '1.2',
    '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', '-f', 'mp4', clip);
  photoClip = path.join(dir, 'photo.mkv');
  const photo = path.join(dir, 'photo.png');
  ffmpeg('-f', 'lavfi', '-i', 'mandelbrot=size=160x120', '-frames:v', '1', photo);
  ffmpeg('-loop', '1', '-i', photo, '-vf', "crop=60:44:'2*n':'n'", '-frames:v', '8', '-r', '25', '-c:v', 'libx264', '-crf', '10', '-pix_fmt', 'yuv420p', photoClip);
});

after(() => rmSync(dir, { recursive: true, force: true }));

const leftovers = () => readdirSync(dir).filter((f) => f.includes('.tmp'));

async function decodeAll(file: string): Promise<RgbImage[]> {
  const info = await probeVideo(file);
  const out: RgbImage[] = [];
  for await (const f of decodeFrames(info)) out.push({ data: f, width: info.width, height: info.height, channels: 3 });
  return out;
}

test('probe: size, rate, frames and audio of a clip whose name does not say it is a video', async () => {
  const info = await probeVideo(clip);
  assert.equal(info.width, 64);
  assert.equal(info.height, 48);
  assert.equal(info.fps, 10);
  assert.equal(info.frames, 12);
  assert.equal(info.audioCodec, 'aac');
  assert.equal(await isVideoFile(clip), true);
  const png = path.join(dir, 'photo.png');
  assert.equal(await isVideoFile(png), false);
  await assert.rejects(probeVideo(png), /photo\.png is not a video/);
  const frames = await decodeAll(photoClip);
  assert.equal(frames.length, 8);
  assert.equal(frames[0]!.data.length, 60 * 44 * 3);
});

test('videoOutputSize: --max-side and even sizes', () => {
  assert.deepEqual(videoOutputSize(64, 48), { width: 64, height: 48 });
  assert.deepEqual(videoOutputSize(65, 49), { width: 64, height: 48 });
  assert.deepEqual(videoOutputSize(1920, 1080, 640), { width: 640, height: 360 });
  assert.deepEqual(videoOutputSize(64, 48, 45), { width: 44, height: 34 });
  assert.throws(() => videoOutputSize(64, 48, 1), /maxSide/);
});

test('stylizeVideo: H.264 yuv420p at the source rate, audio copied, frames = the image path on the same frames', async () => {
  const out = path.join(dir, 'out.mp4');
  const seen: number[] = [];
  const r = await stylizeVideo(clip, out, STYLE, { runtime: 'onnx', smoothing: 'none', maxSide: 45, batchSize: 4, onProgress: (p) => seen.push(p.done) });
  assert.equal(r.frames, 12);
  assert.deepEqual([r.width, r.height], [44, 34]);
  assert.deepEqual(seen, Array.from({ length: 12 }, (_, i) => i + 1));
  const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', out], { encoding: 'utf8' })) as { streams: Array<Record<string, unknown>> };
  const v = probe.streams.find((s) => s.codec_type === 'video')!;
  assert.equal(v.codec_name, 'h264');
  assert.equal(v.pix_fmt, 'yuv420p');
  assert.equal(v.r_frame_rate, '10/1');
  assert.equal(probe.streams.find((s) => s.codec_type === 'audio')?.codec_name, 'aac');
  // Independent reference: the decoder's scaled frames through the image API.
  const source = await probeVideo(clip);
  const model = await loadStyleModel(STYLE, { runtime: 'onnx' });
  const written = await decodeAll(out);
  assert.equal(written.length, 12);
  let k = 0;
  for await (const f of decodeFrames(source, { width: 44, height: 34 })) {
    const ref = await model.stylize({ data: f, width: 44, height: 34, channels: 3 }, { tileSize: 0 });
    // Luma: yuv420p keeps colour at half resolution, and these tiny stylised frames alternate
    // colours pixel by pixel (RGB PSNR ≈ 14 dB for that reason alone).
    const p = psnr(written[k++]!, ref, { yChannel: true });
    assert.ok(p > 30, `frame ${k}: Y PSNR ${p.toFixed(1)} dB against the image path (H.264 at CRF 18 keeps > 30 dB)`);
  }
  await model.dispose();
  assert.deepEqual(leftovers(), []);
});

test('shift averaging on frames (--shifts) equals the image path with the same shifts; with smoothed statistics it is refused', async () => {
  const frames = await decodeAll(photoClip);
  const { width, height } = frames[0]!;
  const runner = await loadFrameRunner(STYLE, { runtime: 'onnx', shifts: 4, batchSize: 2 });
  const model = await loadStyleModel(STYLE, { runtime: 'onnx' });
  try {
    assert.match(runner.label, /onnxruntime, 4 shifts averaged/);
    const out: Uint8Array[] = [];
    await stylizeFrames(runner, frames.slice(0, 4).map((f) => f.data as Uint8Array), { width, height }, (f) => void out.push(f));
    for (let k = 0; k < 4; k++) {
      const ref = await model.stylize(frames[k]!, { tileSize: 0, shifts: 4, outputType: 'uint8' });
      const plain = await model.stylize(frames[k]!, { tileSize: 0, outputType: 'uint8' });
      const diff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
        let m = 0;
        for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
        return m;
      };
      assert.ok(diff(out[k]!, ref.data) <= 1, `frame ${k}: ${diff(out[k]!, ref.data)} from the image path's`);
      assert.ok(diff(out[k]!, plain.data) > 5, `frame ${k}: the averaging changed nothing`);
    }
  } finally {
    await runner.dispose();
    await model.dispose();
  }
  await assert.rejects(loadFrameRunner(STYLE, { runtime: 'onnx', smoothing: 'stats', shifts: 2 }), /shift averaging \(2 shifts\) runs the network 2 times a frame, and smoothed statistics must advance once a frame/);
  await assert.rejects(loadFrameRunner(STYLE, { runtime: 'onnx', shifts: 3 }), /shifts must be one of 1, 2, 4, 8, 16, got 3/);
});

test('smoothed statistics: α = 0 is the original network; the ONNX rewrite and the engine agree frame by frame', async () => {
  const frames = await decodeAll(photoClip);
  const onnxFile = path.join('models', STYLE, 'model.onnx');
  // α = 0 through the rewritten graph equals the exported model.
  const t = temporalOnnx(readFileSync(onnxFile));
  const graph = await OrtGraph.load(t.bytes, 'temporal');
  const plain = await OrtModel.load(onnxFile);
  const x = Float32Array.from({ length: 3 * 44 * 60 }, (_, i) => (i * 37) % 256);
  const a = await graph.run({ input: { data: x, dims: [1, 3, 44, 60] }, stats: { data: new Float32Array(t.statsLength), dims: [t.statsLength] }, momentum: { data: Float32Array.of(0), dims: [1] } });
  const b = await plain.run(x, [1, 3, 44, 60]);
  let maxDiff = 0;
  for (let i = 0; i < x.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.output!.data[i]! - b.data[i]!));
  assert.ok(maxDiff < 0.01, `α = 0 differs from the original by ${maxDiff}`);
  await graph.dispose();
  await plain.dispose();

  const run = async (runtime: 'onnx' | 'engine', smoothing: 'stats' | 'none', momentum = 0.9) => {
    const r = await loadFrameRunner(STYLE, { runtime, smoothing, statsMomentum: momentum, precision: 'float32' });
    const outs: Float32Array[] = [];
    for (const f of frames) {
      const planar = new Float32Array(3 * 44 * 60);
      for (let p = 0; p < 44 * 60; p++) for (let c = 0; c < 3; c++) planar[c * 44 * 60 + p] = f.data[p * 3 + c]!;
      outs.push(await r.run(planar, 1, 44, 60));
    }
    await r.dispose();
    return outs;
  };
  const perFrame = await run('onnx', 'none');
  const smoothed = await run('onnx', 'stats');
  const diff = (u: Float32Array, v: Float32Array) => u.reduce((s, x, i) => s + Math.abs(x - v[i]!), 0) / u.length;
  // The first frame has no past: identical; later ones move away from per-frame as the statistics lag.
  assert.ok(diff(smoothed[0]!, perFrame[0]!) < 0.01);
  assert.ok(diff(smoothed[7]!, perFrame[7]!) > 0.05, 'a panning clip must change the smoothed statistics');
  if (!engineAvailable()) return;
  const engine = await run('engine', 'stats');
  for (let k = 0; k < frames.length; k++) assert.ok(diff(engine[k]!, smoothed[k]!) < 0.05, `frame ${k}: engine and ONNX smoothing differ by ${diff(engine[k]!, smoothed[k]!)}`);
});

test('a truncated or corrupt video is a clear error and leaves no output', async () => {
  const bytes = readFileSync(photoClip);
  const cut = path.join(dir, 'cut.mkv');
  writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  const out = path.join(dir, 'cut-out.mp4');
  await assert.rejects(stylizeVideo(cut, out, STYLE, { runtime: 'onnx' }), /cut\.mkv.*(truncated|corrupt|cannot decode)|cannot (read|decode) video .*cut\.mkv/);
  assert.equal(existsSync(out), false);
  const junk = path.join(dir, 'junk.mp4');
  writeFileSync(junk, Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypmp42'), Buffer.alloc(2000, 7)]));
  await assert.rejects(stylizeVideo(junk, path.join(dir, 'junk-out.mp4'), STYLE, { runtime: 'onnx' }), /cannot read video .*junk\.mp4/);
  assert.deepEqual(leftovers(), []);
});

test('abort part-way: the output is not written and the temporary file is gone', async () => {
  const out = path.join(dir, 'aborted.mp4');
  const ac = new AbortController();
  await assert.rejects(
    stylizeVideo(clip, out, STYLE, { runtime: 'onnx', signal: ac.signal, onProgress: (p) => p.done === 3 && ac.abort(new Error('stop')) }),
    /stop/,
  );
  assert.equal(existsSync(out), false);
  assert.deepEqual(leftovers(), []);
});

test('missing ffprobe/ffmpeg says how to install it; bad output names are refused', async () => {
  const saved = process.env[FFPROBE_ENV];
  process.env[FFPROBE_ENV] = path.join(dir, 'no-such-ffprobe');
  try {
    await assert.rejects(probeVideo(clip), (e: Error) => e instanceof FfmpegMissingError && /apt-get install -y ffmpeg/.test(e.message));
    // Photos never need ffmpeg: a file that is neither an image by its bytes nor a video by its name goes on
    // to the image path (whose error is the right one); a .mp4 says how to install ffmpeg.
    assert.equal(await isVideoFile(clip), false);
    const named = path.join(dir, 'named.mp4');
    writeFileSync(named, readFileSync(clip));
    await assert.rejects(isVideoFile(named), FfmpegMissingError);
  } finally {
    if (saved === undefined) delete process.env[FFPROBE_ENV];
    else process.env[FFPROBE_ENV] = saved;
  }
  await assert.rejects(stylizeVideo(clip, path.join(dir, 'out.gif'), STYLE, { runtime: 'onnx' }), /cannot write video as '\.gif'/);
  await assert.rejects(stylizeVideo(clip, clip, STYLE, { runtime: 'onnx' }), /overwritten by its own output/);
});
