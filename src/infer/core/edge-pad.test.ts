import { test } from 'node:test';
import assert from 'node:assert/strict';
import { edgePadded, reflectIndex, checkEdgePad, DEFAULT_EDGE_PAD } from './edge-pad.js';
import { StyleModelCore } from './style-model-core.js';
import type { RunNetwork } from './types.js';

test("reflectIndex mirrors without repeating the edge pixel (numpy's 'reflect'), folding again past the far edge", () => {
  // n = 4: … 3 2 1 | 0 1 2 3 | 2 1 0 1 …
  assert.deepEqual([-3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7].map((i) => reflectIndex(i, 4)), [3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1]);
  assert.deepEqual([-2, -1, 0, 1, 2, 3].map((i) => reflectIndex(i, 2)), [0, 1, 0, 1, 0, 1]);
  assert.deepEqual([-5, 0, 5].map((i) => reflectIndex(i, 1)), [0, 0, 0]);
});

test('the network sees the mirrored image, and the crop gives an identity network\'s input back exactly', async () => {
  // one channel, 2×3: rows [1 2 3], [4 5 6]; pad 2 → 6×7, by hand from reflectIndex's table
  const seen: Float32Array[] = [];
  const identity: RunNetwork = async (x, dims) => (seen.push(Float32Array.from(x)), { data: Float32Array.from(x), dims: [...dims] });
  const out = await edgePadded(identity, 2)(Float32Array.from([1, 2, 3, 4, 5, 6]), [1, 1, 2, 3]);
  assert.deepEqual(out.dims, [1, 1, 2, 3]);
  assert.deepEqual(Array.from(out.data), [1, 2, 3, 4, 5, 6]);
  const r1 = [3, 2, 1, 2, 3, 2, 1], r2 = [6, 5, 4, 5, 6, 5, 4];
  assert.deepEqual(Array.from(seen[0]!), [...r1, ...r2, ...r1, ...r2, ...r1, ...r2]);
  // batch 2, 3 channels, sizes off the stride: still exact
  const x = Float32Array.from({ length: 2 * 3 * 7 * 5 }, (_, i) => (i * 37) % 251);
  assert.deepEqual(Array.from((await edgePadded(identity, DEFAULT_EDGE_PAD)(x, [2, 3, 7, 5])).data), Array.from(x));
});

/** A 3×3 box blur with zero padding: what a zero-padded convolution does at the border of a flat image. */
const zeroPaddedBlur: RunNetwork = async (x, dims) => {
  const [n, c, h, w] = dims as [number, number, number, number];
  const y = new Float32Array(x.length);
  for (let p = 0; p < n * c; p++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    let s = 0;
    for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) if (i + di >= 0 && i + di < h && j + dj >= 0 && j + dj < w) s += x[p * h * w + (i + di) * w + j + dj]!;
    y[p * h * w + i * w + j] = s / 9;
  }
  return { data: y, dims };
};

test('the frame a zero-padded layer paints at the border is cropped away: a flat image stays flat', async () => {
  const flat = new Float32Array(3 * 6 * 8).fill(90);
  const plain = await zeroPaddedBlur(flat, [1, 3, 6, 8]);
  assert.equal(plain.data[0], 40); // corner: 4 of 9 taps inside → 4/9 · 90
  assert.equal(plain.data[1], 60); // edge: 6 of 9
  const padded = await edgePadded(zeroPaddedBlur, 1)(flat, [1, 3, 6, 8]);
  for (const v of padded.data) assert.ok(Math.abs(v - 90) < 1e-4, `${v}`);
});

test('StyleModelCore.stylize pads by DEFAULT_EDGE_PAD unless told otherwise; bad pads and size-changing networks are refused clearly', async () => {
  const calls: number[][] = [];
  const run: RunNetwork = async (x, dims) => (calls.push([...dims]), { data: Float32Array.from(x), dims: [...dims] });
  const img = { data: new Uint8Array(9 * 5 * 3).fill(7), width: 9, height: 5, channels: 3 as const };
  const core = new StyleModelCore(run);
  const out = await core.stylize(img);
  assert.deepEqual(calls.at(-1), [1, 3, 5 + 2 * DEFAULT_EDGE_PAD, 9 + 2 * DEFAULT_EDGE_PAD]);
  assert.deepEqual(Array.from(out.data), Array.from(img.data));
  await core.stylize(img, { edgePad: 0 });
  assert.deepEqual(calls.at(-1), [1, 3, 5, 9]);
  for (const bad of [-1, 1.5, 257, Number.NaN]) await assert.rejects(core.stylize(img, { edgePad: bad }), /edge padding must be a whole number of pixels from 0 to 256/);
  assert.throws(() => checkEdgePad(-2), RangeError);
  const doubling: RunNetwork = async (_x, [n, c, h, w]) => ({ data: new Float32Array(n! * c! * h! * 2 * w! * 2), dims: [n!, c!, h! * 2, w! * 2] });
  await assert.rejects(new StyleModelCore(doubling).stylize(img, { edgePad: 2 }), /edge padding: the network's output for input \[1, 3, 9, 13\] has shape \[1, 3, 18, 26\]; it needs a network that keeps the size/);
  const lying: RunNetwork = async (_x, dims) => ({ data: new Float32Array(5), dims: [...dims] });
  await assert.rejects(new StyleModelCore(lying).stylize(img, { edgePad: 2 }), /has shape \[1, 3, 9, 13\] and 5 values/);
});
