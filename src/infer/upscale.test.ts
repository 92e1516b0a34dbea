// Upscaling as users call it: interpolation sizes and resizers, and the paper's histogram
// matching — on by default for ℓfeat cards (through loadModel too), off for ℓpixel, overridable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { imresizeBicubic } from '../data/resize-matlab.js';
import { testImage, writeTinySrModel } from '../../test/helpers/sr-fixtures.js';
import type { RgbImage } from '../data/image.js';
import { matchHistogram } from './histogram-match.js';
import { loadModel } from './load-model.js';
import { interpolate, histogramMatchByDefault, upscaleImage, type SrModel } from './upscale.js';

test('interpolate: bicubic is the MATLAB resizer, lanczos is sharp; both exactly f·W × f·H', async () => {
  const img = testImage(13, 7);
  for (const f of [2, 3, 4]) {
    const b = await interpolate(img, f, 'bicubic');
    assert.deepEqual([b.width, b.height], [13 * f, 7 * f]);
    assert.deepEqual(Array.from(b.data), Array.from(imresizeBicubic(img, { scale: f, roundEachPass: true }).data));
    const l = await interpolate(img, f, 'lanczos');
    assert.deepEqual([l.width, l.height, l.data.length], [13 * f, 7 * f, 13 * f * 7 * f * 3]);
  }
  const one = await interpolate(img, 1, 'lanczos');
  assert.deepEqual(Array.from(one.data), Array.from(img.data));
  await assert.rejects(interpolate(img, 0, 'bicubic'), /factor must be a positive integer/);
  await assert.rejects(interpolate(img, 2.5, 'lanczos'), /factor must be a positive integer/);
  await assert.rejects(interpolate(img, 2, 'nearest' as 'bicubic'), /unknown interpolation mode 'nearest'/);
});

test('histogram matching by default: the card\'s histogramMatch, else on for loss feat only', () => {
  assert.equal(histogramMatchByDefault({ histogramMatch: true, loss: 'pixel' }), true);
  assert.equal(histogramMatchByDefault({ histogramMatch: false, loss: 'feat' }), false);
  assert.equal(histogramMatchByDefault({ loss: 'feat' }), true);
  assert.equal(histogramMatchByDefault({ loss: 'pixel' }), false);
  assert.equal(histogramMatchByDefault({}), false);
  assert.equal(histogramMatchByDefault(undefined), false);
});

/** Nearest ×2 with a colour cast: what histogram matching should undo. */
function castModel(card?: Record<string, unknown>): SrModel & { calls: unknown[] } {
  const calls: unknown[] = [];
  return {
    card,
    calls,
    async upscale(image: RgbImage, options = {}) {
      calls.push(options);
      const w = image.width * 2, h = image.height * 2;
      const data = new Float32Array(w * h * 3);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = 0.5 * image.data[((y >> 1) * image.width + (x >> 1)) * 3 + c]! + 60;
        }
      }
      return { data, width: w, height: h, channels: 3 };
    },
  };
}

test('upscaleImage: ℓfeat cards are histogram-matched to the LR input, ℓpixel cards are not; the option overrides', async () => {
  const img = testImage(16, 12);
  const raw = await castModel().upscale(img);
  const matched = matchHistogram(raw, img);
  const same = (a: RgbImage, b: RgbImage) => a.data.length === b.data.length && a.data.every((v, i) => v === b.data[i]);
  assert.ok(!same(raw, matched));

  const feat = castModel({ loss: 'feat', histogramMatch: true });
  assert.ok(same(await upscaleImage(feat, img), matched));
  assert.ok(same(await upscaleImage(feat, img, { histogramMatch: false }), raw));
  const pixel = castModel({ loss: 'pixel', histogramMatch: false });
  assert.ok(same(await upscaleImage(pixel, img), raw));
  assert.ok(same(await upscaleImage(pixel, img, { histogramMatch: true }), matched));
  // Nearest ×2 keeps the histogram, so matching removes the cast entirely.
  const up = await upscaleImage(feat, img);
  for (let i = 0; i < 30; i++) assert.equal(up.data[i], img.data[(Math.floor(Math.floor(i / 3) / 2)) * 3 + (i % 3)]);
  // The run options reach the model; histogramMatch does not.
  await upscaleImage(pixel, img, { tileSize: 8, factor: 2, histogramMatch: true });
  assert.deepEqual(pixel.calls.at(-1), { tileSize: 8, factor: 2 });
});

test('a model folder with an ℓfeat card, loaded by loadModel, is histogram-matched by default', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'perceptual-upscale-'));
  await writeTinySrModel(path.join(root, 'feat'), { loss: 'feat', histogramMatch: true });
  const model = await loadModel(path.join(root, 'feat'), { runtime: 'engine', precision: 'float32' });
  try {
    assert.equal(model.card.loss, 'feat');
    const img = testImage(10, 9);
    const raw = await model.upscale(img);
    assert.deepEqual([raw.width, raw.height], [40, 36]);
    const out = await upscaleImage(model, img);
    assert.deepEqual(Array.from(out.data), Array.from(matchHistogram(raw, img).data));
    const off = await upscaleImage(model, img, { histogramMatch: false });
    assert.deepEqual(Array.from(off.data), Array.from(raw.data));
  } finally {
    await model.dispose();
  }
});
