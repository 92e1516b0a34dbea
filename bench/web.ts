/**
 * Inference speed of the web app in headless Chromium on the WebAssembly backend (not a test):
 *
 *   node --import tsx bench/web.ts [--runs N] [--webcam-seconds S] [--big 1024] [--threads T] [--no-node]
 *
 * (`--big 0` / `--webcam-seconds 0` skip those parts; `--threads` sets ORT's WebAssembly threads, default all cores.)
 *
 * Model: the first shipped style model under models/, else the paper's transformation network
 * (test/web/random-style-onnx.ts `paperStyleOnnx`) with random weights — the cost of a network
 * depends on its architecture, not on its weights. Figures:
 *  - repeated 256×256 stylisations through the page's worker (median; the first run, which
 *    includes ORT's per-shape warm-up, is reported separately) → frames per second;
 *  - the webcam mode on Chromium's fake camera at 256 px: the page's own fps readout;
 *  - one 1024×1024 image (cold = the first at that size, then warm);
 *  - for comparison, the same model in onnxruntime-node on this machine.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { listModels } from '../src/infer/node/catalogue.js';
import { NodeStyleModel } from '../src/infer/node/index.js';
import { DEFAULT_MODELS_DIR, startServer } from '../src/serve/server.js';
import type { HookWindow } from '../web/src/test-hook-api.js';
import { paperStyleOnnx } from '../test/web/random-style-onnx.js';
import { ensureWebBuild, WEB_DIST } from '../test/web/web-build.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const runs = arg('runs', 6);
const webcamSeconds = arg('webcam-seconds', 8);
const big = arg('big', 1024);
const threads = arg('threads', 0);
const withNode = !process.argv.includes('--no-node');
const chromiumPath = process.env.PERCEPTUAL_CHROMIUM ?? '/usr/bin/chromium';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

const tmp = await mkdtemp(path.join(os.tmpdir(), 'perceptual-bench-web-'));
const cleanup: (() => Promise<unknown>)[] = [() => rm(tmp, { recursive: true, force: true })];
try {
  // The model: shipped, or the paper's architecture with random weights.
  const shipped = (await listModels(DEFAULT_MODELS_DIR)).models.find((m) => m.task === 'style');
  let modelsDir = DEFAULT_MODELS_DIR;
  let modelName: string;
  let modelFile: string;
  if (shipped) {
    modelName = shipped.name;
    modelFile = path.join(DEFAULT_MODELS_DIR, shipped.model);
    console.log(`model: shipped style "${shipped.title}" (${shipped.model})`);
  } else {
    modelsDir = path.join(tmp, 'models');
    modelName = 'johnson-random';
    modelFile = path.join(modelsDir, modelName, 'model.onnx');
    await mkdir(path.dirname(modelFile), { recursive: true });
    await writeFile(modelFile, paperStyleOnnx(1));
    await writeFile(path.join(modelsDir, modelName, 'card.json'), JSON.stringify({ name: modelName, task: 'style', title: 'Johnson et al. (random weights)' }));
    console.log('model: no shipped style model; the paper\'s transformation network with random weights (1.68 M parameters)');
  }

  const t0 = Date.now();
  console.log(`web build: ${ensureWebBuild() ? 'rebuilt' : 'up to date'} (${Date.now() - t0} ms)`);
  const server = await startServer({ webRoot: WEB_DIST, modelsDir, port: 0 });
  cleanup.push(() => server.close());

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
    timeout: 30_000,
  });
  cleanup.push(() => browser.close());
  const page = await browser.newPage();
  page.setDefaultTimeout(300_000);
  await page.goto(`${server.url}?test&backend=wasm${threads ? `&threads=${threads}` : ''}`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true' || !!(window as unknown as HookWindow).__perceptualError, null, { timeout: 60_000 });
  const startError = await page.evaluate(() => (window as unknown as HookWindow).__perceptualError ?? null);
  if (startError) throw new Error(`the page did not start: ${startError}`);
  const env = await page.evaluate(() => ({ backend: (window as unknown as HookWindow).__perceptual.backend, ua: navigator.userAgent.match(/Chrome\/[\d.]+/)?.[0], cores: navigator.hardwareConcurrency }));
  console.log(`browser: headless ${env.ua}, backend ${env.backend}, ${env.cores} logical cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}`);

  const bench = (size: number, n: number) => page.evaluate(([s, k, m]) => (window as unknown as HookWindow).__perceptual.benchmark({ size: s, runs: k, model: m }), [size, n, modelName] as const);
  const rows: [string, string][] = [];

  const small = await bench(256, runs);
  const warm = median(small.slice(1));
  rows.push(['256×256, repeated (page → worker → page)', `${fmt(warm)} median of ${small.length - 1} → ${(1000 / warm).toFixed(2)} fps (first ${fmt(small[0]!)})`]);

  if (webcamSeconds > 0) {
    await page.evaluate(() => (window as unknown as HookWindow).__perceptual.startWebcam());
    await page.waitForTimeout(webcamSeconds * 1000);
    const cam = await page.evaluate(() => (window as unknown as HookWindow).__perceptual.webcamStats());
    const readout = await page.textContent('#fps');
    await page.evaluate(() => (window as unknown as HookWindow).__perceptual.stopWebcam());
    rows.push([`webcam mode, 256 px frames (fake camera, ${webcamSeconds} s)`, `${cam.fps.toFixed(2)} fps over ${cam.frames} frames (readout: ${readout})`]);
  }

  if (big > 0) {
    const large = await bench(big, 2);
    rows.push([`${big}×${big}, one image`, `${fmt(large[1]!)} warm (first at this size ${fmt(large[0]!)})`]);
  }

  if (withNode) {
    const node = await NodeStyleModel.load(modelFile, { threads: os.availableParallelism() });
    cleanup.push(() => node.dispose());
    const img = (s: number) => ({ data: new Uint8Array(s * s * 3).map((_, i) => (i * 31) & 255), width: s, height: s, channels: 3 as const });
    const time = async (s: number) => {
      const t = performance.now();
      await node.stylize(img(s), { tileSize: 0 });
      return performance.now() - t;
    };
    const n256: number[] = [];
    for (let i = 0; i < runs; i++) n256.push(await time(256));
    rows.push([`onnxruntime-node, 256×256 (${os.availableParallelism()} threads)`, `${fmt(median(n256.slice(1)))} median → ${(1000 / median(n256.slice(1))).toFixed(2)} fps`]);
    if (big > 0) {
      const nBig = [await time(big), await time(big)];
      rows.push([`onnxruntime-node, ${big}×${big}`, `${fmt(nBig[1]!)} warm (first ${fmt(nBig[0]!)})`]);
    }
  }

  const w = Math.max(...rows.map(([k]) => k.length));
  console.log('');
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
} finally {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
}
