import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planTiles, tileWeight, TileBlender, StreamingTileBlender, extractTile, extractTileHwc, runTiled, type TilePlan, type PlanTilesOptions } from './tiling.js';

/** Deterministic integer-valued test image (planar CHW). */
function makeImage(width: number, height: number, channels = 3, seed = 1): Float32Array {
  const out = new Float32Array(channels * width * height);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24; // 0..255
  }
  return out;
}

/** 3×3 box blur with edge replication, then nearest-neighbour upsampling by `scale`: a local operator of radius 1 (input px). */
function blurUp(img: Float32Array, w: number, h: number, scale = 1, channels = 3): Float32Array {
  const out = new Float32Array(channels * w * h * scale * scale);
  const W = w * scale;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let sum = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = Math.min(h - 1, Math.max(0, y + dy));
            const xx = Math.min(w - 1, Math.max(0, x + dx));
            sum += img[c * w * h + yy * w + xx]!;
          }
        }
        const v = sum / 9;
        for (let j = 0; j < scale; j++) for (let i = 0; i < scale; i++) out[c * W * h * scale + (y * scale + j) * W + x * scale + i] = v;
      }
    }
  }
  return out;
}

function checkPartition(plan: TilePlan): void {
  const { outWidth: W, outHeight: H } = plan;
  const coreCount = new Uint8Array(W * H);
  for (const t of plan.tiles) {
    // every tile has the same input size (clipped to the image), inside the image
    assert.ok(t.input.x >= 0 && t.input.y >= 0 && t.input.x + t.input.width <= plan.width && t.input.y + t.input.height <= plan.height);
    assert.equal(t.input.width, Math.min(plan.tile, plan.width));
    assert.equal(t.input.height, Math.min(plan.tile, plan.height));
    // core ⊆ support ⊆ output
    const inside = (a: { x: number; y: number; width: number; height: number }, b: typeof a) =>
      a.x >= b.x && a.y >= b.y && a.x + a.width <= b.x + b.width && a.y + a.height <= b.y + b.height;
    assert.ok(inside(t.core, t.support), `core ⊆ support for tile ${t.index}`);
    assert.ok(inside(t.support, t.output), `support ⊆ output for tile ${t.index}`);
    for (let y = t.core.y; y < t.core.y + t.core.height; y++) for (let x = t.core.x; x < t.core.x + t.core.width; x++) coreCount[y * W + x]!++;
  }
  assert.ok(coreCount.every((c) => c === 1), 'cores partition the output');
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let sum = 0;
      for (const t of plan.tiles) {
        const w = tileWeight(plan, t, x, y);
        const inSupport = x >= t.support.x && x < t.support.x + t.support.width && y >= t.support.y && y < t.support.y + t.support.height;
        assert.equal(w > 0, inSupport, `weight > 0 exactly on the support (tile ${t.index} at ${x},${y})`);
        sum += w;
      }
      assert.ok(Math.abs(sum - 1) < 1e-12, `weights sum to 1 at (${x}, ${y}): ${sum}`);
    }
  }
}

const cases: PlanTilesOptions[] = [
  { width: 64, height: 48, tile: 24, overlap: 8 },
  { width: 67, height: 41, tile: 20, overlap: 6, margin: 2 }, // odd sizes
  { width: 30, height: 17, tile: 64, overlap: 8 }, // tile bigger than the image
  { width: 40, height: 100, tile: 32, overlap: 8 }, // bigger on one axis only
  { width: 37, height: 29, tile: 16, overlap: 8, scale: 4 },
  { width: 50, height: 50, tile: 10, overlap: 6, margin: 1 }, // overlap wide compared with the step
  { width: 33, height: 33, tile: 11, overlap: 0, margin: 0 }, // no overlap: hard cuts
  { width: 33, height: 20, tile: 12, overlap: 9, margin: 4 }, // steps of 1–2 px, three input rects share pixels
];

test('tiles cover every output pixel: cores partition, weights sum to 1', () => {
  for (const c of cases) checkPartition(planTiles(c));
});

test('planTiles: sizes, counts and validation', () => {
  const p = planTiles({ width: 100, height: 60, tile: 40, overlap: 10, scale: 2 });
  assert.equal(p.outWidth, 200);
  assert.equal(p.outHeight, 120);
  assert.equal(p.cols, 3); // ceil((100-10)/(40-10))
  assert.equal(p.rows, 2);
  assert.equal(p.tiles.length, 6);
  assert.equal(p.tiles.at(-1)!.input.x + 40, 100, 'last tile ends at the border');
  for (let k = 1; k < p.cols; k++) assert.ok(p.x.starts[k - 1]! + 40 - p.x.starts[k]! >= 10, 'overlap ≥ requested');
  const one = planTiles({ width: 30, height: 17, tile: 64, overlap: 8, scale: 4 });
  assert.equal(one.tiles.length, 1);
  assert.deepEqual(one.tiles[0]!.input, { x: 0, y: 0, width: 30, height: 17 });
  assert.deepEqual(one.tiles[0]!.support, { x: 0, y: 0, width: 120, height: 68 });
  assert.throws(() => planTiles({ width: 10, height: 10, tile: 8, overlap: 8 }), /overlap/);
  assert.throws(() => planTiles({ width: 10, height: 10, tile: 8, overlap: 4, margin: 3 }), /margin/);
  assert.throws(() => planTiles({ width: 0, height: 10, tile: 8 }), /width/);
  assert.throws(() => planTiles({ width: 10, height: 10, tile: 8, overlap: 2, scale: 1.5 }), /scale/);
});

test('identity network: reconstruction is exact (scale 1)', async () => {
  for (const c of cases.filter((c) => (c.scale ?? 1) === 1)) {
    const plan = planTiles(c);
    const img = makeImage(c.width, c.height);
    const out = await runTiled(img, plan, (x) => x);
    assert.deepEqual(out, img, JSON.stringify(c));
  }
});

test('identity network at scale 4 (nearest upsampling): exact', async () => {
  const c = { width: 37, height: 29, tile: 16, overlap: 8, scale: 4 };
  const plan = planTiles(c);
  const img = makeImage(c.width, c.height);
  const up = (x: Float32Array, w: number, h: number) => {
    const out = new Float32Array(x.length * 16);
    for (let ch = 0; ch < 3; ch++)
      for (let y = 0; y < h * 4; y++) for (let xx = 0; xx < w * 4; xx++) out[ch * 16 * w * h + y * 4 * w + xx] = x[ch * w * h + (y >> 2) * w + (xx >> 2)]!;
    return out;
  };
  const tiled = await runTiled(img, plan, (x, t) => up(x, t.input.width, t.input.height));
  assert.deepEqual(tiled, up(img, c.width, c.height));
});

test('local operator (3×3 box blur) with margin ≥ its radius: tiled equals untiled exactly', async () => {
  for (const c of cases.filter((c) => (c.margin ?? Math.floor((c.overlap ?? 32) / 4)) >= 1)) {
    const plan = planTiles(c);
    const scale = c.scale ?? 1;
    const img = makeImage(c.width, c.height, 3, 7);
    const whole = blurUp(img, c.width, c.height, scale);
    const tiled = await runTiled(img, plan, (x, t) => blurUp(x, t.input.width, t.input.height, scale));
    assert.deepEqual(tiled, whole, JSON.stringify(c));
  }
});

test('without a margin the tile-edge errors show, but feathering keeps values between the two tiles', async () => {
  const c = { width: 40, height: 12, tile: 24, overlap: 8, margin: 0 };
  const plan = planTiles(c);
  const img = makeImage(c.width, c.height, 3, 3);
  const whole = blurUp(img, c.width, c.height);
  const tiled = await runTiled(img, plan, (x, t) => blurUp(x, t.input.width, t.input.height));
  assert.notDeepEqual(tiled, whole); // margin 0 < radius 1: edge pixels of tiles contribute
  let maxErr = 0;
  for (let i = 0; i < whole.length; i++) maxErr = Math.max(maxErr, Math.abs(tiled[i]! - whole[i]!));
  assert.ok(maxErr < 255 / 9 * 3, `bounded error ${maxErr}`);
});

test('instance-norm-like offset per tile: feathered output has no jump larger than the per-tile offset step', async () => {
  // Each tile adds a different constant (what per-tile normalisation statistics do); a hard
  // cut would jump by the full difference in one pixel, the ramp spreads it over the band.
  const c = { width: 96, height: 8, tile: 64, overlap: 32, margin: 4 }; // two tiles, a 24 px band
  const plan = planTiles(c);
  const img = new Float32Array(3 * c.width * c.height); // flat image
  const tiled = await runTiled(img, plan, (x, t) => x.map((v) => v + t.col * 24));
  let maxStep = 0;
  for (let x = 1; x < c.width; x++) maxStep = Math.max(maxStep, Math.abs(tiled[x]! - tiled[x - 1]!));
  assert.equal(plan.cols, 2);
  const band = plan.x.bands[0]!;
  assert.deepEqual(band, [36, 60]);
  assert.ok(maxStep <= 24 / (band[1] - band[0]) + 1e-4, `max step ${maxStep}`);
});

test('TileBlender: any order, each tile once, incomplete output refused', () => {
  const c = { width: 45, height: 31, tile: 16, overlap: 6 };
  const plan = planTiles(c);
  const img = makeImage(c.width, c.height);
  const b = new TileBlender(plan);
  const order = plan.tiles.map((t) => t.index).reverse();
  for (const i of order.slice(0, -1)) b.add(i, extractTile(img, plan, plan.tiles[i]!));
  assert.throws(() => b.result(), /incomplete: 1 of/);
  assert.throws(() => b.add(order[0]!, extractTile(img, plan, plan.tiles[order[0]!]!)), /already added/);
  assert.throws(() => b.add(order.at(-1)!, new Float32Array(5)), /expected/);
  b.add(order.at(-1)!, extractTile(img, plan, plan.tiles[order.at(-1)!]!));
  assert.deepEqual(b.result(), img);
});

test('runTiled honours an abort signal', async () => {
  const plan = planTiles({ width: 64, height: 64, tile: 24, overlap: 8 });
  const ac = new AbortController();
  let calls = 0;
  await assert.rejects(
    runTiled(makeImage(64, 64), plan, (x) => {
      if (++calls === 2) ac.abort();
      return x;
    }, { signal: ac.signal }),
    { name: 'AbortError' },
  );
  assert.equal(calls, 2);
});

/** Random tile outputs (not consistent between tiles), so every blend weight shows in the result. */
function randomTileOutputs(plan: TilePlan, seed: number): Float32Array[] {
  return plan.tiles.map((t) => makeImage(t.output.width, t.output.height, 3, seed + t.index));
}

test('StreamingTileBlender: the same values as TileBlender bit for bit, in finished rows top to bottom', () => {
  for (const c of cases) {
    const plan = planTiles(c);
    const outs = randomTileOutputs(plan, 11);
    const whole = new TileBlender(plan);
    plan.tiles.forEach((t) => whole.add(t, outs[t.index]!));
    const want = whole.result(); // planar CHW
    const W = plan.outWidth, H = plan.outHeight;
    const got = new Float32Array(3 * W * H); // interleaved HWC
    // The same order as the whole-image blender (row-major) gives the same floats; any order
    // within a row of tiles is accepted, equal up to float rounding of the running mean.
    for (const reversedRows of [false, true]) {
      got.fill(Number.NaN);
      let next = 0;
      let maxRows = 0;
      const s = new StreamingTileBlender(plan, (rows, y, count) => {
        assert.equal(y, next, 'rows arrive in order, each once');
        assert.equal(rows.length, count * W * 3);
        got.set(rows, y * W * 3);
        next = y + count;
        maxRows = Math.max(maxRows, count);
      });
      for (let r = 0; r < plan.rows; r++) {
        for (let i = 0; i < plan.cols; i++) {
          const k = r * plan.cols + (reversedRows ? plan.cols - 1 - i : i);
          s.add(k, outs[k]!);
        }
      }
      s.finish();
      assert.equal(next, H, JSON.stringify(c));
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          for (let ch = 0; ch < 3; ch++) {
            const a = got[(y * W + x) * 3 + ch]!, b = want[ch * W * H + y * W + x]!;
            if (reversedRows ? !(Math.abs(a - b) < 1e-3) : !Object.is(a, b)) assert.fail(`${JSON.stringify(c)}${reversedRows ? ', rows right to left' : ''}: (${x}, ${y}, ${ch}) streamed ${a}, whole ${b}`);
          }
        }
      }
      assert.ok(maxRows <= Math.min(plan.tile * plan.scale, H), `at most one tile's height of rows at a time (${maxRows})`);
    }
  }
});

test('StreamingTileBlender: rows of tiles in order, each tile once, incomplete refused', () => {
  const plan = planTiles({ width: 60, height: 60, tile: 24, overlap: 8 });
  assert.ok(plan.rows >= 3 && plan.cols >= 3);
  const outs = randomTileOutputs(plan, 5);
  const s = new StreamingTileBlender(plan, () => {});
  s.add(0, outs[0]!);
  assert.throws(() => s.add(plan.cols, outs[plan.cols]!), /row 1 of tiles was started before tile 1 \(row 0\) was added/);
  const t = new StreamingTileBlender(plan, () => {});
  for (let k = 0; k < 2 * plan.cols; k++) t.add(k, outs[k]!);
  assert.throws(() => t.add(0, outs[0]!), /comes after row 1 was started/);
  assert.throws(() => t.add(plan.cols + 1, outs[plan.cols + 1]!), /already added/);
  assert.throws(() => t.finish(), new RegExp(`incomplete: ${plan.tiles.length - 2 * plan.cols} of ${plan.tiles.length} tiles missing`));
});

test('extractTileHwc cuts the same planar tile out of interleaved bytes as extractTile out of planar floats', () => {
  const plan = planTiles({ width: 45, height: 31, tile: 16, overlap: 6 });
  const chw = makeImage(45, 31);
  const hwc = new Uint8Array(chw.length);
  for (let p = 0; p < 45 * 31; p++) for (let c = 0; c < 3; c++) hwc[p * 3 + c] = chw[c * 45 * 31 + p]!;
  for (const t of plan.tiles) assert.deepEqual(extractTileHwc(hwc, plan, t), extractTile(chw, plan, t));
  assert.throws(() => extractTileHwc(new Uint8Array(10), plan, plan.tiles[0]!), /10 values, expected 31×45×3/);
});
