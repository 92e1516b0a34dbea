import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RgbImage } from './image.js';
import { hwcToChw, chwToHwc, packBatch, unpackBatch, writeChw } from './tensor-layout.js';

function img(width: number, height: number, base = 0): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (base + i * 7) & 255;
  return { data, width, height, channels: 3 };
}

test('hwcToChw puts each channel in its own plane', () => {
  // 2×1 image: pixel0 = (1,2,3), pixel1 = (4,5,6)
  const chw = hwcToChw({ data: Uint8Array.of(1, 2, 3, 4, 5, 6), width: 2, height: 1, channels: 3 });
  assert.deepEqual(Array.from(chw), [1, 4, 2, 5, 3, 6]);
  assert.ok(chw instanceof Float32Array);
});

test('round trip is exact (odd size) and chwToHwc gives float images', () => {
  const a = img(5, 3);
  const back = chwToHwc(hwcToChw(a), 3, 5);
  assert.ok(back.data instanceof Float32Array);
  assert.equal(back.width, 5);
  assert.equal(back.height, 3);
  assert.deepEqual(Array.from(back.data), Array.from(a.data));
});

test('packBatch / unpackBatch', () => {
  const imgs = [img(4, 2, 0), img(4, 2, 100), img(4, 2, 200)];
  const { data, shape } = packBatch(imgs);
  assert.deepEqual(shape, [3, 3, 2, 4]);
  assert.equal(data.length, 3 * 3 * 2 * 4);
  assert.deepEqual(Array.from(data.subarray(24, 48)), Array.from(hwcToChw(imgs[1]!)));
  const back = unpackBatch(data, shape);
  back.forEach((b, i) => assert.deepEqual(Array.from(b.data), Array.from(imgs[i]!.data)));
  // a reused buffer
  const into = new Float32Array(data.length);
  assert.equal(packBatch(imgs, into).data, into);
  assert.throws(() => packBatch(imgs, new Float32Array(5)), /expected 72/);
  assert.throws(() => packBatch([img(4, 2), img(2, 4)]), /share one size/);
  assert.throws(() => packBatch([]), /empty/);
  assert.throws(() => unpackBatch(data, [3, 1, 2, 4]), /\[N, 3, H, W\]/);
});

test('size checks', () => {
  assert.throws(() => writeChw({ data: new Uint8Array(5), width: 2, height: 1, channels: 3 }, new Float32Array(6), 0), /expected 6/);
  assert.throws(() => writeChw(img(2, 1), new Float32Array(6), 1), /overflows/);
  assert.throws(() => chwToHwc(new Float32Array(5), 1, 2), /overflows/);
});
