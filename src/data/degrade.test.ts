import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadImage } from './image.js';
import { crop, degrade, modcrop, randomCrop } from './degrade.js';
import { gaussianBlur } from './blur.js';
import { imresizeBicubic } from './resize-matlab.js';
import { Rng } from './rng.js';
import { sharedDataDir } from '../util/paths.js';

const dataRoot = sharedDataDir();
const benchDir = path.join(dataRoot, 'sr-bench');

function image(w: number, h: number, seed = 1) {
  const data = new Uint8Array(w * h * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width: w, height: h, channels: 3 as const };
}

test("degrade 'bicubic' = MATLAB bicubic ×1/f on 8-bit values; 'paper' = blur σ=1 first", () => {
  const hr = image(32, 24);
  const lr = degrade(hr, { factor: 4, mode: 'bicubic' });
  assert.equal(lr.width, 8);
  assert.equal(lr.height, 6);
  assert.ok(lr.data.every((v) => Number.isInteger(v) && v >= 0 && v <= 255));
  assert.deepEqual(Array.from(lr.data), Array.from(imresizeBicubic(hr, { scale: 0.25, boundary: 'replicate' }).data));

  const paper = degrade(hr, { factor: 4, mode: 'paper' });
  const manual = imresizeBicubic(gaussianBlur(hr, 1), { scale: 0.25, roundEachPass: true, boundary: 'replicate' });
  assert.deepEqual(Array.from(paper.data), Array.from(manual.data));
  assert.notDeepEqual(Array.from(paper.data), Array.from(lr.data));

  const unq = degrade(hr, { factor: 2, mode: 'paper', quantize: false });
  assert.ok(unq.data.some((v) => !Number.isInteger(v)));
});

test('degrade rejects bad factors, modes and non-multiple sizes', () => {
  assert.throws(() => degrade(image(30, 24), { factor: 4, mode: 'bicubic' }), /30×24, not a multiple of the factor 4; crop it first/);
  assert.throws(() => degrade(image(8, 8), { factor: 0, mode: 'bicubic' }), /positive integer/);
  assert.throws(() => degrade(image(8, 8), { factor: 2, mode: 'nearest' as never }), /'paper' or 'bicubic'/);
});

test('crop / modcrop keep the pixel type and the top-left', () => {
  const img = image(10, 7);
  const m = modcrop(img, 4);
  assert.equal(m.width, 8);
  assert.equal(m.height, 4);
  assert.ok(m.data instanceof Uint8Array);
  for (let y = 0; y < 4; y++) for (let i = 0; i < 24; i++) assert.equal(m.data[y * 24 + i], img.data[y * 30 + i]);
  assert.equal(modcrop(img, 1), img);
  const c = crop({ ...img, data: Float32Array.from(img.data) }, 2, 3, 4, 2);
  assert.ok(c.data instanceof Float32Array);
  assert.equal(c.data[0], img.data[(3 * 10 + 2) * 3]);
  assert.throws(() => crop(img, 8, 0, 4, 2), /4×2 at \(8, 0\) does not fit in the 10×7 image/);
});

test('randomCrop: deterministic per seed, inside the image, uses every position', () => {
  const img = image(6, 5);
  const a = randomCrop(img, 4, new Rng(11));
  const b = randomCrop(img, 4, new Rng(11));
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
  assert.equal(a.width, 4);
  assert.equal(a.height, 4);
  // Index the image by pixel so a crop's first pixel tells its position.
  const idx = { data: Float32Array.from({ length: 6 * 5 * 3 }, (_, i) => Math.floor(i / 3)), width: 6, height: 5, channels: 3 as const };
  const rng = new Rng(3);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) seen.add(randomCrop(idx, { width: 4, height: 3 }, rng).data[0]!);
  assert.deepEqual([...seen].sort((x, y) => x - y), [0, 1, 2, 6, 7, 8, 12, 13, 14]);
  assert.throws(() => randomCrop(img, 7, rng), /crop 7×7 is larger than the 6×5 image/);
});

test("degrade 'bicubic' reproduces the shipped Set5 LR_x4 images bit for bit", async (t) => {
  const dir = path.join(benchDir, 'Set5');
  if (!fs.existsSync(dir)) {
    t.skip(`sr-bench data not found at ${benchDir} (set PERCEPTUAL_DATA)`);
    return;
  }
  for (const f of fs.readdirSync(path.join(dir, 'HR')).sort()) {
    const hr = await loadImage(path.join(dir, 'HR', f));
    const lr = await loadImage(path.join(dir, 'LR_x4', f));
    const out = degrade(hr, { factor: 4, mode: 'bicubic' });
    assert.deepEqual(Array.from(out.data), Array.from(lr.data), f);
  }
});
