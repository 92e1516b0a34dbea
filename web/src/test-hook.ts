/**
 * `window.__perceptual`: what the browser tests (test/web/browser.test.ts) and the benchmark
 * (bench/web.ts) drive; installed only when the page is opened with `?test` (main.ts loads this
 * module on demand, so a normal visit never runs it). Every call goes through the same path as the UI — decode, worker,
 * core, draw — so a test of the hook is a test of the page.
 */
import type { App } from './app.js';
import { decodeImage } from './canvas-image.js';
import type { InferenceClient } from './inference-client.js';
import type { PerceptualHook } from './test-hook-api.js';

export type { PerceptualHook, StylizeForTestOptions, HookWindow } from './test-hook-api.js';

declare global {
  interface Window {
    __perceptual?: PerceptualHook;
    __perceptualError?: string;
  }
}

export function installTestHook(app: App, client: InferenceClient): PerceptualHook {
  const find = (name?: string) => {
    const m = name ? app.models.find((x) => x.name === name) : app.models.find((x) => x.task === 'style');
    if (!m) throw new Error(`no model ${name ?? '(style)'} on this server`);
    return m;
  };
  const hook: PerceptualHook = {
    get backend() {
      return app.backend;
    },
    models: app.models.map((m) => ({ name: m.name, task: m.task, url: m.url })),
    async stylizeForTest(url, options = {}) {
      const model = find(options.model);
      const pixels = await decodeImage(url);
      const result = await app.setImage(pixels, url.split('/').pop() ?? 'image', { ...options, model });
      if (!result) throw new Error('nothing ran');
      const { data, width, height } = result.image;
      const rgb = new Array<number>(width * height * 3);
      for (let p = 0; p < width * height; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = data[p * 4 + c]!;
      return { width, height, rgb, ms: result.ms };
    },
    startWebcam: () => app.startWebcam(),
    stopWebcam: () => app.stopWebcam(),
    webcamStats: () => ({ running: app.webcam.running, frames: app.webcam.meter.frames, fps: app.webcam.meter.fps }),
    async benchmark({ size, runs, model }) {
      const m = find(model);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const data = new Uint8ClampedArray(size * size * 4);
        for (let p = 0; p < size * size; p++) {
          data[p * 4] = (p % size) & 255;
          data[p * 4 + 1] = Math.floor(p / size) & 255;
          data[p * 4 + 2] = (p * 7 + i) & 255;
          data[p * 4 + 3] = 255;
        }
        const r = await client.run({ type: 'stylize', model: m.url, image: { data, width: size, height: size }, tileSize: 0 }).result;
        times.push(r.ms);
      }
      return times;
    },
  };
  window.__perceptual = hook;
  return hook;
}
