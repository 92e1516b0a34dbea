/**
 * TemporalDenoiser (the webcam's temporal denoising) against hand-computed values of its
 * recursion and against ffmpeg's hqdn3d — the filter `stylize --denoise` runs on files — on the
 * same frames: gray frames, where ffmpeg filters the pixels as they are (on colour it first
 * converts to YUV, src/video/ffmpeg.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { RgbImage } from '../data/image.js';
import { panClip, stillClip } from './flicker.js';
import { denoiseFilter } from './ffmpeg.js';
import { TemporalDenoiser, DEFAULT_DENOISE } from './temporal-denoise.js';

const px = (v: number, n = 4) => new Uint8Array(n * 3).fill(v);

test('hand-computed: the first frame passes, a change of exactly the strength keeps 1/4 of the past, small changes mostly, large ones none', () => {
  const d = new TemporalDenoiser(10);
  assert.deepEqual([...d.apply(px(100), 2, 2, 3)], [...px(100)]);
  // γ = ln(1/4) / ln(1 − 10/255) = 34.6527; w(4) = (1 − 4/255)^γ = 0.57817: 104 − 4·0.57817 = 101.687 → 102.
  assert.deepEqual([...d.apply(px(104), 2, 2, 3)], [...px(102)]);
  // The past is the unrounded output: 104 + (101.687 − 104)·w(2.3125) = 102.313 → 102 (from 104 would be 104 − 0.78).
  assert.deepEqual([...d.apply(px(104), 2, 2, 3)], [...px(102)]);
  d.reset();
  d.apply(px(100), 2, 2, 3);
  // |d| = 10 = the strength: 110 − 10/4 = 107.5, rounded to even → 108.
  assert.deepEqual([...d.apply(px(110), 2, 2, 3)], [...px(108)]);
  d.reset();
  d.apply(px(100), 2, 2, 3);
  // |d| = 100: w = 3·10⁻⁸, the new value passes.
  assert.deepEqual([...d.apply(px(200), 2, 2, 3)], [...px(200)]);
});

test('alpha passes untouched; another frame size starts afresh; bad strengths and sizes are refused', () => {
  const d = new TemporalDenoiser(10);
  const rgba = (v: number, a: number) => Uint8ClampedArray.from({ length: 8 }, (_, i) => (i % 4 === 3 ? a : v));
  d.apply(rgba(100, 255), 2, 1, 4);
  const out = d.apply(rgba(104, 17), 2, 1, 4);
  assert.deepEqual([...out], [102, 102, 102, 17, 102, 102, 102, 17]);
  // A 1×2 frame after a 2×1 one: no past of that shape, so it passes as it is.
  assert.deepEqual([...d.apply(rgba(50, 9), 1, 2, 4)], [...rgba(50, 9)]);
  for (const bad of [0, -3, NaN, 51]) assert.throws(() => new TemporalDenoiser(bad), /denoise strength must be in \(0, 50\]/);
  assert.throws(() => d.apply(new Uint8Array(5), 2, 1, 3), /a 2×1×3 frame has 6 values, got 5/);
});

/** A synthetic photo (smooth gradients, a few hard edges): the clips below cut it up. */
function photo(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const edge = (Math.floor(x / 24) + Math.floor(y / 18)) % 2 ? 70 : 0;
      data[i] = (30 + x + edge) % 256;
      data[i + 1] = (50 + 2 * y + edge) % 256;
      data[i + 2] = (90 + x + y) % 256;
    }
  }
  return { data, width, height, channels: 3 };
}

test('the same recursion as ffmpeg hqdn3d (temporal only) on gray frames: every value within 1, on a noisy still clip and a pan', () => {
  const W = 64, H = 48, N = 10;
  const big = photo(W + 60, H + 30);
  const clips = { still: stillClip(big, { width: W, height: H, frames: N, seed: 5 }), pan: panClip(big, { dx: 4, dy: 2 }, { width: W, height: H, frames: N, seed: 6 }) };
  for (const [name, clip] of Object.entries(clips)) {
    const gray = clip.frames.map((f) => Uint8Array.from({ length: W * H }, (_, p) => f.data[p * 3 + 1]!));
    for (const strength of [4, DEFAULT_DENOISE, 30]) {
      const ref = execFileSync('ffmpeg', ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'gray', '-s', `${W}x${H}`, '-i', 'pipe:0', '-vf', denoiseFilter(strength), '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], { input: Buffer.concat(gray) });
      assert.equal(ref.length, N * W * H);
      const d = new TemporalDenoiser(strength);
      let moved = 0, off = 0, worst = 0;
      gray.forEach((g, t) => {
        const rgb = new Uint8Array(W * H * 3);
        for (let p = 0; p < W * H; p++) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = g[p]!;
        const out = d.apply(rgb, W, H, 3);
        for (let p = 0; p < W * H; p++) {
          const r = ref[t * W * H + p]!;
          moved += Math.abs(r - g[p]!);
          off += Math.abs(out[3 * p]! - r);
          worst = Math.max(worst, Math.abs(out[3 * p]! - r), Math.abs(out[3 * p + 2]! - r));
        }
      });
      const n = N * W * H;
      assert.ok(worst <= 1, `${name}, strength ${strength}: a value ${worst} away from ffmpeg's`);
      // The filter does something (ffmpeg moved the values), and we follow it far closer than that.
      assert.ok(moved / n > 0.3 && off / n < 0.05 * (moved / n), `${name}, strength ${strength}: ffmpeg moved the values by ${(moved / n).toFixed(3)} on average, we differ from it by ${(off / n).toFixed(3)}`);
    }
  }
});
