import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { SrDataset, decodeRgb } from './sr-dataset.js';
import { degrade } from './degrade.js';
import { unpackBatch, hwcToChw } from './tensor-layout.js';
import type { RgbImage } from './image.js';

let dir: string;

async function photo(file: string, width: number, height: number, seed: number): Promise<void> {
  // smooth-ish content (gradients + noise), PNG so decoding is lossless and comparisons exact
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        data[(y * width + x) * 3 + c] = Math.min(255, ((x * (c + 1) * 3 + y * 2) & 255) * 0.8 + (s >>> 27));
      }
    }
  }
  await sharp(data, { raw: { width, height, channels: 3 } }).png().toFile(file);
}

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-sr-'));
  await photo(path.join(dir, 'a.png'), 64, 48, 1);
  await photo(path.join(dir, 'b.png'), 40, 72, 2);
  await photo(path.join(dir, 'c.png'), 32, 32, 3); // exactly the crop
  await photo(path.join(dir, 'd.png'), 50, 50, 4);
  await photo(path.join(dir, 'e.png'), 45, 39, 5);
  await photo(path.join(dir, 'small.png'), 31, 80, 6); // narrower than the crop
  const junk = Uint8Array.from({ length: 2000 }, (_, i) => (i * 31 + 7) & 255);
  await fs.writeFile(path.join(dir, 'corrupt.jpg'), junk);
  const jpeg = await sharp(path.join(dir, 'a.png')).jpeg().toBuffer();
  await fs.writeFile(path.join(dir, 'truncated.jpg'), jpeg.subarray(0, jpeg.length >> 1));
});

after(() => fs.rm(dir, { recursive: true, force: true }));

/** Where `crop` lies in `img` (exact match), or undefined. */
function locate(img: RgbImage, crop: RgbImage): [number, number] | undefined {
  for (let y = 0; y + crop.height <= img.height; y++) {
    search: for (let x = 0; x + crop.width <= img.width; x++) {
      for (let j = 0; j < crop.height; j++) {
        for (let i = 0; i < crop.width * 3; i++) {
          if (img.data[((y + j) * img.width + x) * 3 + i] !== crop.data[j * crop.width * 3 + i]) continue search;
        }
      }
      return [x, y];
    }
  }
  return undefined;
}

test('pairs: HR is a crop of the photo, LR is degrade(HR); small and unreadable files are skipped', async () => {
  const skips: Array<[string, string]> = [];
  const ds = await new SrDataset({ dir, factor: 4, crop: 32, batchSize: 5, seed: 9, onSkip: (f, r) => skips.push([path.basename(f), r]) }).init();
  assert.equal(ds.length, 8);
  const b = await ds.next();
  assert.deepEqual(b.hrShape, [5, 3, 32, 32]);
  assert.deepEqual(b.lrShape, [5, 3, 8, 8]);
  assert.equal(b.hr.length, 5 * 3 * 32 * 32);
  assert.equal(b.lr.length, 5 * 3 * 8 * 8);
  assert.deepEqual([...b.files].map((f) => path.basename(f)).sort(), ['a.png', 'b.png', 'c.png', 'd.png', 'e.png']);
  assert.deepEqual(b.position, { epoch: 1, index: 0 });
  const hrs = unpackBatch(b.hr, b.hrShape);
  const lrs = unpackBatch(b.lr, b.lrShape);
  for (let i = 0; i < 5; i++) {
    const full = await decodeRgb(b.files[i]!);
    const hr: RgbImage = { ...hrs[i]!, data: Uint8Array.from(hrs[i]!.data) };
    assert.ok(locate(full, hr), `${b.files[i]}: HR is a window of the photo`);
    assert.deepEqual(hwcToChw(lrs[i]!), hwcToChw(degrade(hr, { factor: 4, mode: 'paper' })));
  }
  skips.sort();
  assert.deepEqual(skips.map(([f]) => f), ['corrupt.jpg', 'small.png', 'truncated.jpg']);
  assert.equal(skips[1]![1], '31×80 is smaller than the 32×32 crop');
  assert.equal(ds.skipped, 3);
  ds.close();
});

test('resume: 3 batches, save the position, a new dataset from it yields the same 4th batch (same crops)', async () => {
  const opts = { dir, factor: 4, crop: 32, batchSize: 2, seed: 5 };
  const a = await new SrDataset(opts).init();
  for (let i = 0; i < 3; i++) await a.next();
  const saved = JSON.parse(JSON.stringify(a.position));
  const fourth = await a.next();
  a.close();
  const b = await new SrDataset({ ...opts, position: saved }).init();
  const r = await b.next();
  b.close();
  assert.deepEqual(r.files, fourth.files);
  assert.deepEqual(r.hr, fourth.hr);
  assert.deepEqual(r.lr, fourth.lr);
  assert.deepEqual(r.position, fourth.position);
});

test('crop positions are seeded per sample: same seed same crops, a new epoch new crops', async () => {
  const crops = async (seed: number) => {
    const ds = await new SrDataset({ dir, factor: 2, crop: 16, batchSize: 5, seed }).init();
    const e0 = await ds.next();
    const e1 = await ds.next();
    ds.close();
    const byFile = (b: typeof e0) => new Map(b.files.map((f, i) => [f, b.hr.subarray(i * 768, (i + 1) * 768).join()]));
    return [byFile(e0), byFile(e1)] as const;
  };
  const [a0, a1] = await crops(3);
  const [b0] = await crops(3);
  assert.deepEqual(a0, b0);
  const file = [...a0.keys()].find((f) => path.basename(f) === 'a.png')!;
  assert.notEqual(a0.get(file), a1.get(file), 'the same photo is cropped elsewhere in epoch 1');
});

test('worker threads and the main thread produce identical batches', async () => {
  const run = async (workers: number) => {
    const ds = await new SrDataset({ dir, factor: 4, crop: 32, batchSize: 3, seed: 21, workers }).init();
    const out = [await ds.next(), await ds.next()];
    ds.close();
    return out;
  };
  assert.deepEqual(await run(0), await run(2));
});

test("mode 'bicubic' differs from 'paper' (no blur)", async () => {
  const make = async (mode: 'paper' | 'bicubic') => {
    const ds = await new SrDataset({ dir, factor: 4, crop: 32, batchSize: 2, seed: 1, mode }).init();
    const b = await ds.next();
    ds.close();
    return b;
  };
  const p = await make('paper');
  const q = await make('bicubic');
  assert.deepEqual(p.hr, q.hr);
  assert.notDeepEqual(p.lr, q.lr);
  assert.ok(q.lr.every((v) => Number.isInteger(v)), 'LR is quantised like an 8-bit image');
});

test('option checks and stats', async () => {
  assert.throws(() => new SrDataset({ dir, factor: 4, crop: 30 }), /multiple of the factor/);
  assert.throws(() => new SrDataset({ dir, factor: 0 }), /factor/);
  const ds = await new SrDataset({ dir, factor: 4 }).init(); // default 288 crop: every photo too small
  await assert.rejects(ds.next(), /cannot fill a batch: all 8 images were skipped/);
  const ok = await new SrDataset({ dir, factor: 4, crop: 32, batchSize: 2 }).init();
  await ok.next();
  const s = ok.stats();
  assert.equal(s.batches, 1);
  assert.equal(s.samples, 2);
  ok.close();
});
