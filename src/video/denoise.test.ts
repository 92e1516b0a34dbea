/**
 * `--denoise` (src/video/ffmpeg.ts): temporal denoising by ffmpeg's hqdn3d, temporal only. Checked
 * on clips with known content: a still picture with fresh sensor noise in every frame (its
 * changes over time must shrink, and the frames come closer to the clean picture, not blurred
 * away from it) and a high-contrast pan (motion must pass: each frame stays the frame it was, not
 * an average with the previous one). The decoder applies the same filter to a real file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RgbImage } from '../data/image.js';
import { panClip, stillClip, temporalDifference } from './flicker.js';
import { decodeFrames, denoiseFilter, filterFrames, probeVideo, DEFAULT_DENOISE, MAX_DENOISE } from './ffmpeg.js';

const W = 64, H = 48;

/** A smooth picture with some edges: a gradient and a bright square. */
function picture(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inSquare = x % 40 >= 10 && x % 40 < 22 && y % 30 >= 8 && y % 30 < 20;
      const i = (y * width + x) * 3;
      data[i] = inSquare ? 220 : 40 + x;
      data[i + 1] = inSquare ? 200 : 60 + y;
      data[i + 2] = 100;
    }
  }
  return { data, width, height, channels: 3 };
}

const bytes = (frames: RgbImage[]) => frames.map((f) => f.data as Uint8Array);
const asImages = (frames: Uint8Array[], width = W, height = H): RgbImage[] => frames.map((data) => ({ data, width, height, channels: 3 }));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const meanAbs = (a: Uint8Array, b: Uint8Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
};

test('denoiseFilter: temporal strengths only (spatial near zero: 0 would mean hqdn3d’s default 4); bad strengths refused', () => {
  assert.equal(denoiseFilter(10), 'hqdn3d=0.01:0.01:10:10');
  for (const bad of [0, -1, NaN, Infinity, MAX_DENOISE + 1]) assert.throws(() => denoiseFilter(bad), /denoise strength must be in \(0, 50\]/);
});

test('still scene with fresh noise: the frame-to-frame change shrinks at least 2×, frames move towards the clean picture', async () => {
  const clean = picture(W, H);
  const clip = stillClip(clean, { width: W, height: H, frames: 12, seed: 3 });
  const out = await filterFrames(bytes(clip.frames), { width: W, height: H }, denoiseFilter(DEFAULT_DENOISE));
  assert.equal(out.length, 12);
  const before = mean(temporalDifference(clip.frames, clip.shift));
  const after = mean(temporalDifference(asImages(out), clip.shift));
  assert.ok(after < before / 2, `temporal difference ${before.toFixed(2)} → ${after.toFixed(2)}`);
  // Later frames (with a past to average) are closer to the clean picture than the noisy ones.
  const errNoisy = mean(clip.frames.slice(4).map((f) => meanAbs(f.data as Uint8Array, clean.data as Uint8Array)));
  const errDenoised = mean(out.slice(4).map((f) => meanAbs(f, clean.data as Uint8Array)));
  assert.ok(errDenoised < 0.8 * errNoisy, `error against the clean picture ${errNoisy.toFixed(2)} → ${errDenoised.toFixed(2)}`);
});

test('motion passes: on a pan, where a pixel changes a lot between frames the denoised frame keeps the new value', async () => {
  const big = picture(W + 40, H + 20);
  const clip = panClip(big, { dx: 4, dy: 2 }, { width: W, height: H, frames: 8, noise: null, seed: 4 });
  const out = await filterFrames(bytes(clip.frames), { width: W, height: H }, denoiseFilter(DEFAULT_DENOISE));
  for (let t = 1; t < out.length; t++) {
    const cur = clip.frames[t]!.data as Uint8Array, prev = clip.frames[t - 1]!.data as Uint8Array;
    let moved = 0, kept = 0, n = 0;
    for (let i = 0; i < cur.length; i++) {
      if (Math.abs(cur[i]! - prev[i]!) < 60) continue; // the square's edges sweeping by
      moved += Math.abs(cur[i]! - prev[i]!);
      kept += Math.abs(out[t]![i]! - cur[i]!);
      n++;
    }
    assert.ok(n > 50, `frame ${t}: ${n} edge pixels`);
    assert.ok(kept < moved / 10, `frame ${t}: at the moving edges ${(kept / n).toFixed(1)} from the new frame, ${(moved / n).toFixed(1)} from the old`);
  }
});

test('filterFrames: frames of the wrong size and a filter ffmpeg refuses are errors that say so', async () => {
  await assert.rejects(filterFrames([new Uint8Array(10)], { width: W, height: H }, 'null'), /frame 0 has 10 bytes, expected 64×48×3/);
  await assert.rejects(filterFrames([new Uint8Array(W * H * 3)], { width: W, height: H }, 'nosuchfilter'), /ffmpeg filter nosuchfilter failed on 1 frames of 64×48/);
});

test('decodeFrames with denoise: same frames, less change over time on a noisy file', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'perceptual-denoise-'));
  try {
    const file = path.join(dir, 'noisy.mkv');
    // A still test picture with strong temporal noise, stored losslessly (FFV1) so the noise survives.
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10', '-t', '1', '-vf', 'trim=end_frame=1,loop=loop=9:size=1,noise=alls=5:allf=t',
      '-c:v', 'ffv1', '-pix_fmt', 'yuv444p', file]);
    const info = await probeVideo(file);
    const read = async (denoise?: number) => {
      const frames: Uint8Array[] = [];
      for await (const f of decodeFrames(info, { denoise })) frames.push(f);
      return asImages(frames, info.width, info.height);
    };
    const plain = await read();
    const denoised = await read(DEFAULT_DENOISE);
    assert.equal(denoised.length, plain.length);
    assert.ok(plain.length >= 9, `${plain.length} frames`);
    const d0 = mean(temporalDifference(plain, { dx: 0, dy: 0 }));
    const d1 = mean(temporalDifference(denoised, { dx: 0, dy: 0 }));
    assert.ok(d1 < d0 / 2, `temporal difference ${d0.toFixed(2)} → ${d1.toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
