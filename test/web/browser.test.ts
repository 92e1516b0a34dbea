// The web app in real Chromium (Debian's, through playwright-core): it loads cross-origin
// isolated and names its backend; stylising in the page matches onnxruntime-node on the same
// model (one pass, tiled, with strength and preserve-colour); the webcam mode (Chromium's fake
// camera) produces stylised frames with a positive fps readout. Skips when Chromium is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { toBytes, type RgbImage } from '../../src/data/image.js';
import { NodeStyleModel, type StylizeOptions } from '../../src/infer/node/index.js';
import { startServer } from '../../src/serve/server.js';
import type { HookWindow, StylizeForTestOptions } from '../../web/src/test-hook-api.js';
import { encodePng, fixtureImage } from './fixture-image.js';
import { tinySrOnnx, tinyStyleOnnx } from './random-style-onnx.js';
import { ensureWebBuild, REPO, WEB_DIST } from './web-build.js';

const CHROMIUM = process.env.PERCEPTUAL_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO, 'test-artifacts');
const skip = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM}: install it with scripts/install-system-deps.sh browser (or set PERCEPTUAL_CHROMIUM)`;

function psnr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255) / (se / a.length));
}

/** Bound a promise: a hung browser must fail the test, not the CI run. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}


test('web app in Chromium: backend, parity with onnxruntime-node, webcam', { skip, timeout: 85_000 }, async (t) => {
  const t0 = Date.now();
  const built = ensureWebBuild(60_000);
  t.diagnostic(`web build: ${built ? 'rebuilt' : 'up to date'} (${Date.now() - t0} ms)`);

  // A models folder with one tiny random style network and a sample photo.
  const top = await mkdtemp(path.join(os.tmpdir(), 'perceptual-web-'));
  t.after(() => rm(top, { recursive: true, force: true }));
  const modelDir = path.join(top, 'models', 'tiny-random');
  await mkdir(modelDir, { recursive: true });
  const onnx = tinyStyleOnnx(3);
  const photo = fixtureImage(160, 120);
  await writeFile(path.join(modelDir, 'model.onnx'), onnx);
  await writeFile(path.join(modelDir, 'card.json'), JSON.stringify({ name: 'tiny-random', task: 'style', title: 'Tiny random' }));
  const photoFile = path.join(modelDir, 'fixture.png');
  await writeFile(photoFile, await encodePng(photo));
  const srOnnx = tinySrOnnx(5, 4);
  await mkdir(path.join(top, 'models', 'tiny-sr'));
  await writeFile(path.join(top, 'models', 'tiny-sr', 'model.onnx'), srOnnx);
  await writeFile(path.join(top, 'models', 'tiny-sr', 'card.json'), JSON.stringify({ name: 'tiny-sr', task: 'sr', title: 'Tiny SR', scale: 4 }));

  const server = await startServer({ webRoot: WEB_DIST, modelsDir: path.join(top, 'models'), host: '127.0.0.1', port: 0 });
  t.after(() => server.close());

  const reference = await NodeStyleModel.load(onnx, { threads: 1 });
  t.after(() => reference.dispose());
  const expected = async (options: StylizeOptions): Promise<Uint8Array> => toBytes(await reference.stylize(photo as RgbImage, options));

  const { chromium } = await import('playwright-core');
  const browser = await within(30_000, 'launching Chromium', chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
    timeout: 30_000,
  }));
  t.after(() => browser.close());
  // A fresh context is a fresh temporary profile (no cache, no permissions left over).
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  await context.grantPermissions(['camera'], { origin: server.url.replace(/\/$/, '') });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });

  // Two WebAssembly threads (the default on 2 cores is 1): the threaded path is what is tested.
  await page.goto(`${server.url}?threads=2&test`, { waitUntil: 'load' });
  await page.waitForFunction(() => document.body.dataset.ready === 'true' || !!(window as unknown as HookWindow).__perceptualError, null, { timeout: 30_000 });
  assert.equal(await page.evaluate(() => (window as unknown as HookWindow).__perceptualError ?? null), null, 'the page started');

  await t.test('the page is cross-origin isolated and shows its backend', async () => {
    const info = await page.evaluate(() => ({ isolated: crossOriginIsolated, badge: document.getElementById('backend')!.textContent }));
    assert.equal(info.isolated, true, 'COOP/COEP make SharedArrayBuffer (WebAssembly threads) available');
    // --disable-gpu: no WebGPU adapter, so WebAssembly with SIMD and (isolated) threads.
    assert.equal(info.badge, 'WASM · SIMD · 2 threads');
    t.diagnostic(`backend: ${info.badge}`);
  });

  const stylizeInPage = (options: StylizeForTestOptions) =>
    within(30_000, 'stylising in the page', page.evaluate(([url, o]) => (window as unknown as HookWindow).__perceptual.stylizeForTest(url, o), ['models/tiny-random/fixture.png', options] as const));

  await t.test('stylising in the page matches onnxruntime-node (PSNR ≥ 35 dB)', async () => {
    for (const [label, options] of [
      ['one pass', { tileSize: 0 }],
      ['tiled 64 px', { tileSize: 64 }],
      ['strength 0.6 + preserve colour', { strength: 0.6, preserveColor: true, tileSize: 0 }],
      ['default (what the UI does)', {}],
    ] as const) {
      const got = await stylizeInPage(options);
      assert.equal(got.width, photo.width);
      assert.equal(got.height, photo.height);
      const want = await expected(options);
      const db = psnr(got.rgb, want);
      t.diagnostic(`${label}: PSNR ${db.toFixed(1)} dB vs onnxruntime-node, ${got.ms.toFixed(0)} ms in the page`);
      assert.ok(db >= 35, `${label}: PSNR ${db.toFixed(2)} dB < 35`);
      // The network changed the image (a no-op would also "match" a broken reference).
      assert.ok(psnr(got.rgb, photo.data) < 20, `${label}: the result differs from the input`);
    }
    const time = await page.textContent('#time');
    assert.match(time ?? '', /Tiny random · 160×120 · \d+ ms/);
    assert.equal(await page.isEnabled('#download'), true);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-app.png'), fullPage: true });
  });

  await t.test('upscale ×4 through the UI: pick a file, see the result, download it', async () => {
    const sr = await NodeStyleModel.load(srOnnx, { threads: 1 });
    const want = toBytes(await sr.upscale(photo as RgbImage));
    await sr.dispose();
    await page.click('button[data-mode="upscale"]');
    assert.equal(await page.inputValue('#model'), new URL('models/tiny-sr/model.onnx', server.url).href);
    await page.setInputFiles('#file', photoFile);
    await page.waitForFunction(() => /Tiny SR · 640×480 · \d+ ms/.test(document.getElementById('time')!.textContent ?? ''), null, { timeout: 20_000 });
    const got = await page.evaluate(() => {
      const c = document.getElementById('result') as HTMLCanvasElement;
      return Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 !== 3));
    });
    const db = psnr(got, want);
    t.diagnostic(`upscale ×4 160×120 → 640×480: PSNR ${db.toFixed(1)} dB vs onnxruntime-node; ${await page.textContent('#time')}`);
    assert.ok(db >= 35, `upscale PSNR ${db.toFixed(2)} dB < 35`);
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.click('#download')]);
    assert.equal(download.suggestedFilename(), 'fixture-tiny-sr.png');
    await page.click('button[data-mode="image"]');
  });

  await t.test('webcam mode stylises the fake camera with an fps readout', async () => {
    await within(20_000, 'starting the camera', page.evaluate(() => (window as unknown as HookWindow).__perceptual.startWebcam()));
    await page.waitForFunction(() => {
      const s = (window as unknown as HookWindow).__perceptual.webcamStats();
      return s.frames >= 3 && s.fps > 0;
    }, null, { timeout: 25_000 });
    const readout = (await page.textContent('#fps')) ?? '';
    const fps = Number(/([\d.]+) fps/.exec(readout)?.[1]);
    assert.ok(fps > 0, `fps readout "${readout}"`);
    t.diagnostic(`webcam: ${readout}`);
    // The canvas shows the network's output, not the camera frame: compare with the raw frame.
    const diff = await page.evaluate(() => {
      const out = document.getElementById('webcam-canvas') as HTMLCanvasElement;
      const video = document.getElementById('video') as HTMLVideoElement;
      const raw = new OffscreenCanvas(out.width, out.height).getContext('2d')!;
      raw.drawImage(video, 0, 0, out.width, out.height);
      const a = raw.getImageData(0, 0, out.width, out.height).data;
      const b = out.getContext('2d')!.getImageData(0, 0, out.width, out.height).data;
      let sum = 0;
      for (let i = 0; i < a.length; i += 4) sum += Math.abs(a[i]! - b[i]!) + Math.abs(a[i + 1]! - b[i + 1]!) + Math.abs(a[i + 2]! - b[i + 2]!);
      return { width: out.width, height: out.height, meanAbs: sum / ((a.length / 4) * 3) };
    });
    assert.equal(Math.max(diff.width, diff.height), 256, 'frames are stylised at the chosen size (256 px)');
    assert.ok(diff.meanAbs > 10, `stylised frames differ from the camera's (mean |Δ| ${diff.meanAbs.toFixed(1)})`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-app-webcam.png') });
    await page.evaluate(() => (window as unknown as HookWindow).__perceptual.stopWebcam());
  });

  await t.test('without ?test the page has no test hook', async () => {
    const plain = await context.newPage();
    await plain.goto(`${server.url}?threads=2`, { waitUntil: 'load' });
    await plain.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 30_000 });
    assert.equal(await plain.evaluate(() => '__perceptual' in window), false);
    await plain.close();
  });

  assert.deepEqual(errors, [], 'no errors in the page');
  t.diagnostic(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
