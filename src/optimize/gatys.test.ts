/** The Gatys baseline on a tiny random loss network: the perceptual loss goes down under L-BFGS and Adam. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor } from '../engine/index.js';
import { Vgg } from '../models/vgg/vgg.js';
import { PerceptualLoss } from '../losses/perceptual-loss.js';
import { optimizeImage } from './gatys.js';
import type { RgbImage } from '../data/image.js';
import { imageToTensor } from '../data/tensor-image.js';

function image(w: number, h: number, f: (x: number, y: number, c: number) => number): RgbImage {
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = f(x, y, c);
  return { data, width: w, height: h, channels: 3 };
}

function setup() {
  const vgg = Vgg.random('vgg19', 'relu2_2', 1);
  const loss = new PerceptualLoss(vgg, { contentLayers: ['relu2_2'], contentWeight: 1, styleLayers: ['relu1_2', 'relu2_2'], styleWeights: 1e-3, tvWeight: 1e-6, pixelWeight: 0 });
  const style = image(24, 24, (x, y, c) => (((x >> 2) + (y >> 2)) % 2 ? 230 : 20) * (c === 1 ? 0.5 : 1));
  loss.setStyle(tensor(Float32Array.from({ length: 3 * 24 * 24 }, (_, i) => style.data[(i % 576) * 3 + Math.floor(i / 576)]!), [1, 3, 24, 24]));
  const content = image(20, 16, (x, y, c) => 40 + 8 * x + 5 * y + 30 * c);
  return { vgg, loss, content };
}

test('L-BFGS from noise lowers the loss and logs every iteration', async () => {
  const { loss, content } = setup();
  const seen: number[] = [];
  const r = await optimizeImage({ loss, content, iterations: 15, init: 'noise', onIteration: (i) => seen.push(i.iteration) });
  assert.deepEqual(seen, Array.from({ length: 15 }, (_, i) => i + 1));
  const first = r.history[0]!.total, last = r.history.at(-1)!.total;
  assert.ok(last < 0.5 * first, `loss ${first} → ${last}`);
  assert.equal(r.image.width, 20);
  assert.ok(Array.from(r.image.data).every((v) => v >= 0 && v <= 255));
});

test('Adam from the content image starts at the content image and lowers the style loss', async () => {
  const { loss, content } = setup();
  // No iteration: the result is the starting image, which is the content image (clamped to 0–255).
  const start = await optimizeImage({ loss, content, iterations: 0, init: 'content', optimizer: 'adam', lr: 2 });
  assert.deepEqual(Array.from(start.image.data), Array.from(content.data, (v) => Math.min(255, Math.max(0, v))));
  assert.deepEqual(start.history, []);
  const r = await optimizeImage({ loss, content, iterations: 20, init: 'content', optimizer: 'adam', lr: 2 });
  const fromNoise = await optimizeImage({ loss, content, iterations: 20, init: 'noise', optimizer: 'adam', lr: 2 });
  // After one Adam step of about lr = 2 per pixel the image is still near the content image:
  // its content loss is a small fraction of the one from noise.
  assert.ok(r.history[0]!.content < 0.05 * fromNoise.history[0]!.content, `content ${r.history[0]!.content} vs from noise ${fromNoise.history[0]!.content}`);
  assert.ok(r.history[0]!.style > 0);
  assert.ok(r.history.at(-1)!.style < 0.9 * r.history[0]!.style, `style ${r.history[0]!.style} → ${r.history.at(-1)!.style}`);
});

test('an aborted optimisation stops and returns the image so far', async () => {
  const { loss, content } = setup();
  const ac = new AbortController();
  const r = await optimizeImage({ loss, content, iterations: 100, signal: ac.signal, onIteration: (i) => i.iteration === 3 && ac.abort() });
  assert.equal(r.interrupted, true);
  // iteration 3's loss is known during step 4; the run stops before step 5 and reports the image after 4
  assert.equal(r.history.at(-1)!.iteration, 4);
});

test('imageLoss is the loss of the returned 0–255 image; with clampPixels it is also the last reported loss', async () => {
  const { loss, content } = setup();
  const lossOf = (im: RgbImage) => {
    const t = imageToTensor(im), c = imageToTensor(content);
    const r = loss.forward(t, c);
    const v = r.total.item();
    for (const x of [t, c, r.total, r.content, r.style, r.tv]) x.dispose();
    return v;
  };
  const free = await optimizeImage({ loss, content, iterations: 6, init: 'noise' });
  assert.ok(Math.abs(free.imageLoss - lossOf(free.image)) <= 1e-5 * free.imageLoss, `free: imageLoss ${free.imageLoss} vs ${lossOf(free.image)}`);
  const projected = await optimizeImage({ loss, content, iterations: 6, init: 'noise', clampPixels: true });
  assert.ok(Array.from(projected.image.data).every((v) => v >= 0 && v <= 255));
  const reported = projected.history.at(-1)!.total;
  assert.ok(Math.abs(projected.imageLoss - reported) <= 1e-5 * reported, `projected: image ${projected.imageLoss} vs reported ${reported}`);
  assert.ok(Math.abs(lossOf(projected.image) - reported) <= 1e-5 * reported);
});
