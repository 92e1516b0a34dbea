// StyleModelCore with fake networks (known pointwise maps, nearest upsampling): layout,
// strength, preserve-colour, tiling (exact for pointwise maps), scale discovery, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preserveColor, rgbToYcbcr } from '../../data/color.js';
import type { RgbImage } from '../../data/image.js';
import { StyleModelCore } from './style-model-core.js';
import { MIN_TILE_SIZE } from './run-image.js';
import { toBytes } from '../../data/image.js';
import type { RunNetwork, TensorData } from './types.js';

/** A deterministic byte image: gradients plus a pseudo-random texture. */
function makeImage(width: number, height: number, seed = 7): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed >>> 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const i = (y * width + x) * 3;
      data[i] = Math.round((255 * x) / Math.max(1, width - 1));
      data[i + 1] = Math.round((255 * y) / Math.max(1, height - 1));
      data[i + 2] = s >>> 24;
    }
  }
  return { data, width, height, channels: 3 };
}

/** out_c = Σ_k M[c][k]·x_k + b_c at every pixel (planar NCHW): a channel mix with no spatial extent. */
const M = [[0.5, 0.25, 0.1], [0.1, 0.6, 0.2], [0.3, 0.1, 0.4]];
const B = [10, 20, 30];
function mixPixel(r: number, g: number, b: number): [number, number, number] {
  return [0, 1, 2].map((c) => M[c]![0]! * r + M[c]![1]! * g + M[c]![2]! * b + B[c]!) as [number, number, number];
}

interface Recorder {
  run: RunNetwork;
  calls: (readonly number[])[];
}

function channelMix(): Recorder {
  const calls: (readonly number[])[] = [];
  const run: RunNetwork = async (input, dims) => {
    calls.push([...dims]);
    const [n, , h, w] = dims as [number, number, number, number];
    const plane = h * w;
    const out = new Float32Array(input.length);
    for (let i = 0; i < n; i++) {
      const o = i * 3 * plane;
      for (let p = 0; p < plane; p++) {
        const v = mixPixel(input[o + p]!, input[o + plane + p]!, input[o + 2 * plane + p]!);
        for (let c = 0; c < 3; c++) out[o + c * plane + p] = v[c]!;
      }
    }
    return { data: out, dims: [...dims] };
  };
  return { run, calls };
}

/** Nearest-neighbour ×s upsampling, optionally padding the output by `extra` pixels of junk (a stride-4 network's rounding). */
function nearestUp(s: number, extra = 0): Recorder {
  const calls: (readonly number[])[] = [];
  const run: RunNetwork = async (input, dims) => {
    calls.push([...dims]);
    const [, , h, w] = dims as [number, number, number, number];
    const H = h * s + extra;
    const W = w * s + extra;
    const out = new Float32Array(3 * H * W).fill(-999);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < h * s; y++) {
        for (let x = 0; x < w * s; x++) out[c * H * W + y * W + x] = input[c * h * w + Math.floor(y / s) * w + Math.floor(x / s)]!;
      }
    }
    return { data: out, dims: [1, 3, H, W] } satisfies TensorData;
  };
  return { run, calls };
}

test('stylize: HWC ↔ NCHW round trip through the network (identity-like channel map)', async () => {
  const img = makeImage(13, 9);
  const net = channelMix();
  const out = await new StyleModelCore(net.run).stylize(img, { edgePad: 0 });
  assert.deepEqual(net.calls, [[1, 3, 9, 13]]);
  assert.equal(out.width, 13);
  assert.equal(out.height, 9);
  assert.ok(out.data instanceof Float32Array);
  for (let p = 0; p < 13 * 9; p++) {
    const want = mixPixel(img.data[p * 3]!, img.data[p * 3 + 1]!, img.data[p * 3 + 2]!);
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(out.data[p * 3 + c]! - want[c]!) < 1e-3, `pixel ${p} channel ${c}`);
  }
});

test('stylize: strength blends s·stylised + (1 − s)·input; s = 0 does not run the network', async () => {
  const img = makeImage(8, 6);
  const net = channelMix();
  const core = new StyleModelCore(net.run);
  const full = await core.stylize(img);
  const half = await core.stylize(img, { strength: 0.3 });
  for (let i = 0; i < img.data.length; i++) {
    assert.ok(Math.abs(half.data[i]! - (0.3 * full.data[i]! + 0.7 * img.data[i]!)) < 1e-3);
  }
  net.calls.length = 0;
  const none = await core.stylize(img, { strength: 0, preserveColor: true });
  assert.equal(net.calls.length, 0);
  assert.deepEqual(Array.from(none.data), Array.from(img.data));
  for (const bad of [-0.1, 1.5, Number.NaN]) await assert.rejects(core.stylize(img, { strength: bad }), /strength must be a number between 0 and 1/);
});

test('stylize: preserveColor keeps the stylised luminance and the original chroma, then strength applies', async () => {
  const img = makeImage(10, 7);
  const core = new StyleModelCore(channelMix().run);
  const stylised = await core.stylize(img);
  const kept = await core.stylize(img, { preserveColor: true });
  assert.deepEqual(Array.from(kept.data), Array.from(preserveColor(stylised, img).data));
  // Where nothing is clipped, the chroma is the original's.
  const a = rgbToYcbcr(kept).data;
  const o = rgbToYcbcr(img).data;
  let checked = 0;
  for (let p = 0; p < 70; p++) {
    const px = Array.from(kept.data.subarray(p * 3, p * 3 + 3));
    if (px.some((v) => v <= 0 || v >= 255)) continue;
    assert.ok(Math.abs(a[p * 3 + 1]! - o[p * 3 + 1]!) < 1e-3 && Math.abs(a[p * 3 + 2]! - o[p * 3 + 2]!) < 1e-3);
    checked++;
  }
  assert.ok(checked > 20, `checked ${checked} unclipped pixels`);
  const both = await core.stylize(img, { preserveColor: true, strength: 0.5 });
  for (let i = 0; i < both.data.length; i++) assert.ok(Math.abs(both.data[i]! - (0.5 * kept.data[i]! + 0.5 * img.data[i]!)) < 1e-3);
});

test('stylize: tiling a pointwise network reproduces the one-pass output exactly, with progress', async () => {
  const img = makeImage(100, 70);
  const whole = await new StyleModelCore(channelMix().run).stylize(img, { tileSize: 0 });
  const net = channelMix();
  const progress: string[] = [];
  const tiled = await new StyleModelCore(net.run).stylize(img, { tileSize: 32, overlap: 8, edgePad: 0, onProgress: (d, t) => progress.push(`${d}/${t}`) });
  assert.ok(net.calls.length > 4, `${net.calls.length} tiles`);
  assert.ok(net.calls.every((d) => d.join() === '1,3,32,32'), 'every tile has the same input size');
  assert.deepEqual(progress, net.calls.map((_, i) => `${i + 1}/${net.calls.length}`));
  assert.deepEqual(Array.from(tiled.data), Array.from(whole.data));
});

test('stylize: large images are tiled automatically, small ones are not', async () => {
  const net = channelMix();
  const core = new StyleModelCore(net.run, { maxUntiledPixels: 40 * 40, autoTileSize: 32 });
  await core.stylize(makeImage(40, 40), { edgePad: 0 });
  assert.equal(net.calls.length, 1);
  net.calls.length = 0;
  await core.stylize(makeImage(41, 40), { edgePad: 0 });
  assert.ok(net.calls.length > 1 && net.calls.every((d) => d[2] === 32 && d[3] === 32));
});

test('stylize: an output larger than the input (stride-4 rounding) is cropped top-left; a smaller or rescaled one is an error (edge padding off: the core\'s own checks)', async () => {
  const img = makeImage(9, 5);
  const out = await new StyleModelCore(nearestUp(1, 3).run).stylize(img, { edgePad: 0 });
  assert.deepEqual(Array.from(out.data), Array.from(img.data));
  await assert.rejects(new StyleModelCore(nearestUp(2).run).stylize(makeImage(20, 12), { edgePad: 0 }), /output for input \[1, 3, 12, 20\] has shape \[1, 3, 24, 40\]: expected 12×20 \(×1\)/);
  const shrink: RunNetwork = async (_x, [n, c, h, w]) => ({ data: new Float32Array(n! * c! * (h! - 2) * w!), dims: [n!, c!, h! - 2, w!] });
  await assert.rejects(new StyleModelCore(shrink).stylize(img, { edgePad: 0 }), /output for input \[1, 3, 5, 9\] has shape \[1, 3, 3, 9\]: expected 5×9 \(×1\)/);
  const wrongChannels: RunNetwork = async (_x, [n, , h, w]) => ({ data: new Float32Array(n! * h! * w!), dims: [n!, 1, h!, w!] });
  await assert.rejects(new StyleModelCore(wrongChannels).stylize(img, { edgePad: 0 }), /has shape \[1, 1, 5, 9\], expected \[1, 3, H, W\]/);
  const lying: RunNetwork = async (_x, dims) => ({ data: new Float32Array(5), dims: [...dims] });
  await assert.rejects(new StyleModelCore(lying).stylize(img, { edgePad: 0 }), /has 5 values but its shape is \[1, 3, 5, 9\]/);
});

test('upscale: the factor is found from the output, checked when given, and tiles blend exactly', async () => {
  const img = makeImage(70, 45);
  const core = new StyleModelCore(nearestUp(4).run);
  assert.equal(core.scale, undefined);
  const whole = await core.upscale(img, { tileSize: 0 });
  assert.equal(core.scale, 4);
  assert.equal(whole.width, 280);
  assert.equal(whole.height, 180);
  assert.equal(whole.data[(5 * 280 + 7) * 3 + 1], img.data[(1 * 70 + 1) * 3 + 1]);
  await assert.rejects(core.upscale(img, { factor: 2 }), /this model upscales ×4, not ×2/);

  // Unknown factor and tiled: the first tile tells the factor.
  const net = nearestUp(4);
  const tiled = await new StyleModelCore(net.run).upscale(img, { tileSize: 32, overlap: 8 });
  assert.equal(net.calls.length, 3 * 2, '3×2 tiles; the first, run to learn the factor, is not run again');
  assert.deepEqual(Array.from(tiled.data), Array.from(whole.data));

  // A declared factor that the model does not have.
  await assert.rejects(new StyleModelCore(nearestUp(2).run, { scale: 4 }).upscale(img), /has shape \[1, 3, 90, 140\]: expected 180×280 \(×4\)/);
  assert.throws(() => new StyleModelCore(nearestUp(2).run, { scale: 1.5 }), /scale must be a positive integer/);
});

test('abort: a signal stops between tiles', async () => {
  const controller = new AbortController();
  const net = channelMix();
  const run: RunNetwork = async (x, d) => {
    const r = await net.run(x, d);
    if (net.calls.length === 2) controller.abort(new Error('stopped by the user'));
    return r;
  };
  await assert.rejects(new StyleModelCore(run).stylize(makeImage(100, 100), { tileSize: 32, signal: controller.signal }), /stopped by the user/);
  assert.equal(net.calls.length, 2);
  await assert.rejects(new StyleModelCore(run).stylize(makeImage(4, 4), { signal: AbortSignal.abort() }), /abort/i);
});

test('bad images and tile sizes are rejected clearly', async () => {
  const core = new StyleModelCore(channelMix().run);
  await assert.rejects(core.stylize({ data: new Uint8Array(10), width: 2, height: 2, channels: 3 }), /10 values, expected 2×2×3/);
  await assert.rejects(core.stylize({ data: new Uint8Array(0), width: 0, height: 2, channels: 3 }), /positive integers/);
  await assert.rejects(core.stylize(makeImage(4, 4), { tileSize: -1 }), /tileSize must be a positive integer/);
  await assert.rejects(core.stylize(makeImage(4, 4), { outputType: 'int16' as never }), /outputType must be 'float32' or 'uint8', got "int16"/);
});

test('tiles below MIN_TILE_SIZE and overlaps above half the tile are refused before any run', async () => {
  assert.equal(MIN_TILE_SIZE, 32);
  const net = channelMix();
  const core = new StyleModelCore(net.run);
  for (const tileSize of [1, 16, 31]) {
    await assert.rejects(core.stylize(makeImage(64, 64), { tileSize }), new RegExp(`tile size ${tileSize} is too small: tiles must be at least 32 input pixels.*or 0 for no tiling`));
  }
  // Refused even when the image would fit in one tile: the option itself is wrong.
  await assert.rejects(core.upscale(makeImage(8, 8), { tileSize: 1, factor: 1 }), /tile size 1 is too small/);
  await assert.rejects(core.stylize(makeImage(64, 64), { tileSize: 32, overlap: 17 }), /overlap 17 must be an integer from 0 to half the tile size \(16 for tiles of 32\)/);
  await assert.rejects(core.stylize(makeImage(64, 64), { tileSize: 32, overlap: -1 }), /overlap -1 must be an integer/);
  assert.equal(net.calls.length, 0);
  // The smallest accepted tile on 64×64: 3×3 tiles, not 4096.
  await core.stylize(makeImage(64, 64), { tileSize: 32, overlap: 16 });
  assert.equal(net.calls.length, 9);
});

test("outputType 'uint8': the float output rounded as toBytes rounds it, tiled or not, with strength and colour", async () => {
  const img = makeImage(100, 70);
  const core = new StyleModelCore(channelMix().run);
  for (const o of [{ tileSize: 0 }, { tileSize: 32, overlap: 8 }, { tileSize: 40, strength: 0.4, preserveColor: true }, { strength: 0 }]) {
    const f = await core.stylize(img, o);
    const b = await core.stylize(img, { ...o, outputType: 'uint8' });
    assert.ok(f.data instanceof Float32Array && b.data instanceof Uint8Array, JSON.stringify(o));
    assert.deepEqual(Array.from(b.data), Array.from(toBytes(f)), JSON.stringify(o));
  }
  const up = new StyleModelCore(nearestUp(4).run);
  const f = await up.upscale(img, { tileSize: 32 });
  const b = await up.upscale(img, { tileSize: 32, outputType: 'uint8' });
  assert.deepEqual([b.width, b.height], [400, 280]);
  assert.deepEqual(Array.from(b.data), Array.from(toBytes(f)));
});

test('abort: a network that blocks the thread (like the engine) is still stopped within a tile', async () => {
  // Each run busy-waits without awaiting anything, as a synchronous native call does. During the
  // third run a zero-delay timer is set to abort: it can only fire if the tiling loop gives the
  // event loop a turn between runs, and then the fourth run must not start (or be the last).
  const net = channelMix();
  const controller = new AbortController();
  const blocking: RunNetwork = (x, d) => {
    const until = performance.now() + 5;
    while (performance.now() < until);
    if (net.calls.length === 2) setTimeout(() => controller.abort(new Error('stopped by a timer')), 0);
    return net.run(x, d);
  };
  await assert.rejects(new StyleModelCore(blocking).stylize(makeImage(400, 400), { tileSize: 32, overlap: 8, signal: controller.signal }), /stopped by a timer/);
  const tiles = Math.ceil((400 - 8) / 24) ** 2;
  assert.ok(net.calls.length >= 3 && net.calls.length <= 4, `${net.calls.length} of ${tiles} runs before the abort took effect`);
});
