import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { StyleDataset, ValidationSet, decodeSquare } from './style-dataset.js';
import { SkipSample } from './batch-loader.js';

let dir: string;
let emptyDir: string;

/** Solid vertical or horizontal stripes red | green | blue, the middle stripe being the centre square. */
async function stripes(file: string, width: number, height: number): Promise<void> {
  const data = new Uint8Array(width * height * 3);
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  const lo = (long - short) / 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = width >= height ? x : y;
      const c = t < lo ? 0 : t < lo + short ? 1 : 2;
      data[(y * width + x) * 3 + c] = 255;
    }
  }
  await sharp(data, { raw: { width, height, channels: 3 } }).png().toFile(file);
}

async function noise(file: string, width: number, height: number, seed: number): Promise<void> {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) data[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
  const img = sharp(data, { raw: { width, height, channels: 3 } });
  await (file.endsWith('.png') ? img.png() : file.endsWith('.webp') ? img.webp() : img.jpeg({ quality: 90 })).toFile(file);
}

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-style-'));
  emptyDir = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-style-bad-'));
  await fs.mkdir(path.join(dir, 'sub'));
  for (let i = 0; i < 8; i++) await noise(path.join(dir, `photo${i}.jpg`), 40 + i * 7, 30 + i * 5, i + 1);
  await noise(path.join(dir, 'sub', 'nested.JPG'), 50, 50, 99);
  await noise(path.join(dir, 'pic.webp'), 33, 47, 98);
  await stripes(path.join(dir, 'wide.png'), 90, 30);
  await stripes(path.join(dir, 'tall.png'), 30, 90);
  await sharp({ create: { width: 24, height: 20, channels: 3, background: '#7f7f7f' } }).greyscale().png().toFile(path.join(dir, 'grey.png'));
  await sharp({ create: { width: 20, height: 20, channels: 4, background: { r: 200, g: 100, b: 50, alpha: 0.3 } } }).png().toFile(path.join(dir, 'alpha.png'));
  // Unreadable: random bytes named .jpg, and a JPEG cut in half.
  const junk = new Uint8Array(3000);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 13) & 255;
  await fs.writeFile(path.join(dir, 'corrupt.jpg'), junk);
  const good = await fs.readFile(path.join(dir, 'photo7.jpg'));
  await fs.writeFile(path.join(dir, 'truncated.jpg'), good.subarray(0, Math.floor(good.length / 2)));
  await fs.writeFile(path.join(emptyDir, 'a.jpg'), junk);
  await fs.writeFile(path.join(emptyDir, 'b.png'), 'not a png');
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rm(emptyDir, { recursive: true, force: true });
});

const FILES = 16; // 14 readable + corrupt + truncated

test('batches: shape, values, every readable file once per epoch, unreadable ones skipped and reported', async () => {
  const skips: Array<[string, string]> = [];
  const ds = await new StyleDataset({ dir, size: 32, batchSize: 7, seed: 3, onSkip: (f, r) => skips.push([f, r]) }).init();
  assert.equal(ds.length, FILES);
  const seen: string[] = [];
  for (let i = 0; i < 2; i++) {
    const b = await ds.next();
    assert.deepEqual(b.shape, [7, 3, 32, 32]);
    assert.equal(b.data.length, 7 * 3 * 32 * 32);
    assert.ok(b.data instanceof Float32Array);
    assert.ok(b.data.every((v) => v >= 0 && v <= 255 && Number.isInteger(v)));
    assert.equal(b.files.length, 7);
    seen.push(...b.files);
  }
  // 14 readable images fill exactly two batches of 7: epoch 0 is over.
  assert.deepEqual(ds.position, { epoch: 1, index: 0 });
  assert.equal(new Set(seen).size, 14);
  assert.deepEqual(skips.map(([f]) => path.basename(f)).sort(), ['corrupt.jpg', 'truncated.jpg']);
  assert.ok(skips.every(([, r]) => r.length > 0));
  assert.match(skips.find(([f]) => f.endsWith('truncated.jpg'))![1], /premature end|truncated/i); // libvips' reason, or ours when it has none
  assert.equal(ds.skipped, 2);
  const st = ds.stats();
  assert.equal(st.batches, 2);
  assert.equal(st.samples, 14);
  assert.equal(st.skipped, 2);
  assert.ok(st.waitMs >= 0 && st.decodeMs > 0);
  ds.close();
});

test('resume: 3 batches, save the position, a new dataset from it yields the same 4th batch', async () => {
  const opts = { dir, size: 24, batchSize: 4, seed: 11 };
  const a = await new StyleDataset(opts).init();
  for (let i = 0; i < 3; i++) await a.next();
  const saved = JSON.parse(JSON.stringify(a.position)); // what a checkpoint stores
  const fourth = await a.next();
  const fifth = await a.next();
  a.close();

  const b = await new StyleDataset({ ...opts, position: saved }).init();
  const r4 = await b.next();
  assert.deepEqual(r4.files, fourth.files);
  assert.deepEqual(r4.data, fourth.data);
  assert.deepEqual(r4.position, fourth.position);
  assert.deepEqual((await b.next()).files, fifth.files);
  b.close();
});

test('the order is a seeded shuffle: same seed same order, another seed or epoch another order', async () => {
  const order = async (seed: number, n: number) => {
    const ds = await new StyleDataset({ dir, size: 8, batchSize: 7, seed }).init();
    const files: string[] = [];
    for (let i = 0; i < n; i++) files.push(...(await ds.next()).files);
    ds.close();
    return files;
  };
  const a = await order(1, 4);
  assert.deepEqual(await order(1, 4), a);
  assert.notDeepEqual(await order(2, 2), a.slice(0, 14));
  assert.notDeepEqual(a.slice(0, 14), a.slice(14), 'epoch 1 is shuffled differently from epoch 0');
  assert.deepEqual([...a.slice(0, 14)].sort(), [...a.slice(14)].sort());
});

test('centre square crop: the middle stripe fills the output (wide and tall)', async () => {
  for (const name of ['wide.png', 'tall.png']) {
    const img = await decodeSquare(path.join(dir, name), 16);
    assert.equal(img.width, 16);
    assert.equal(img.height, 16);
    // away from the crop edges (resampling reaches a few pixels across them) it is pure green
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        const along = name === 'wide.png' ? x : y;
        if (along < 4 || along >= 12) continue;
        const i = (y * 16 + x) * 3;
        assert.deepEqual([img.data[i], img.data[i + 1], img.data[i + 2]], [0, 255, 0], `${name} at ${x},${y}`);
      }
    }
  }
});

test('greyscale and alpha images become 3-channel RGB', async () => {
  const g = await decodeSquare(path.join(dir, 'grey.png'), 8);
  assert.equal(g.data.length, 8 * 8 * 3);
  assert.ok(Math.abs(g.data[0]! - 127) <= 1 && g.data[0] === g.data[1] && g.data[1] === g.data[2]);
  // Alpha is dropped, not composited; libvips resizes premultiplied, so an alpha of 0.3 costs ±2 levels of precision.
  const a = await decodeSquare(path.join(dir, 'alpha.png'), 8);
  Array.from(a.data.subarray(0, 3)).forEach((v, i) => assert.ok(Math.abs(v - [200, 100, 50][i]!) <= 2, `${v}`));
  await assert.rejects(decodeSquare(path.join(dir, 'corrupt.jpg'), 8), (e) => e instanceof SkipSample);
});

test('a folder of only unreadable files: a clear error from next()', async () => {
  const skips: string[] = [];
  const ds = await new StyleDataset({ dir: emptyDir, size: 8, onSkip: (f) => skips.push(f) }).init();
  await assert.rejects(ds.next(), /cannot fill a batch: all 2 images were skipped/);
  assert.equal(skips.length, 2);
});

test('missing folder, and use before init()', async () => {
  await assert.rejects(new StyleDataset({ dir: path.join(dir, 'nope') }).init(), /does not exist/);
  const ds = new StyleDataset({ dir });
  await assert.rejects(ds.next(), /call init\(\)/);
  assert.throws(() => new StyleDataset({ dir, size: 0 }), /size/);
});

test('abort via the constructor signal', async () => {
  const ac = new AbortController();
  const ds = await new StyleDataset({ dir, size: 8, signal: ac.signal }).init();
  await ds.next();
  ac.abort();
  await assert.rejects(ds.next(), { name: 'AbortError' });
  await assert.rejects(new StyleDataset({ dir }).init({ signal: AbortSignal.abort() }), { name: 'AbortError' });
});

test('ValidationSet: the first K readable images in sorted order', async () => {
  const skips: string[] = [];
  const v = await ValidationSet.load({ dir, count: 3, size: 16, onSkip: (f) => skips.push(path.basename(f)) });
  // sorted: alpha.png, corrupt.jpg (skipped), grey.png, photo0.jpg, …
  assert.deepEqual(v.files.map((f) => path.basename(f)), ['alpha.png', 'grey.png', 'photo0.jpg']);
  assert.deepEqual(skips, ['corrupt.jpg']);
  const b = v.batch();
  assert.deepEqual(b.shape, [3, 3, 16, 16]);
  assert.deepEqual(Array.from(b.data.subarray(256 * 2 + 5, 256 * 2 + 6)), [v.images[0]!.data[5 * 3 + 2]]); // item 0, blue plane, pixel 5
  assert.deepEqual(Array.from(b.data.subarray(768 + 256, 768 + 257)), [v.images[1]!.data[1]]); // item 1, green plane, pixel 0
  assert.deepEqual([...v.batches(2)].map((x) => x.shape[0]), [2, 1]);
  const more = await ValidationSet.load({ dir, count: 100, size: 8 });
  assert.equal(more.length, 14);
  await assert.rejects(ValidationSet.load({ dir: emptyDir }), /none of the 2 images could be read/);
});
