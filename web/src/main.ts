/**
 * Start-up: the inference worker and its backend, the model list, the page, the test hook.
 * URL parameters: `?backend=wasm|webgpu` forces a backend, `?threads=N` the WebAssembly threads.
 */
import { App } from './app.js';
import { fetchCatalogue } from './catalogue.js';
import { InferenceClient } from './inference-client.js';

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const backend = params.get('backend');
  const threads = params.get('threads');
  const client = new InferenceClient();
  // ORT's runtime files sit in ort/ next to index.html (copied there at build time).
  const init = await client.init(new URL('ort/', document.baseURI).href, backend === 'wasm' || backend === 'webgpu' ? backend : 'auto', threads ? Number(threads) : undefined);
  const models = await fetchCatalogue(new URL('models/index.json', document.baseURI).href);
  const app = new App(client, models, init.backend);
  // The tests' and the benchmark's handle (`window.__perceptual`), only when the page is opened
  // with `?test`: a separate chunk that a normal visit never loads.
  if (params.has('test')) (await import('./test-hook.js')).installTestHook(app, client);
  // Warm the first style model so the first image does not also pay for compiling the session.
  const first = models.find((m) => m.task === 'style');
  if (first) {
    app.status(`Loading ${first.title}…`);
    const loaded = await client.load({ model: first.url, task: 'style' });
    app.setBackend(loaded.backend);
    app.status(`Ready: ${models.length} model(s), running on ${loaded.backend}. Drop an image or start the camera.`);
  }
  document.body.dataset.ready = 'true';
}

main().catch((e: Error) => {
  const status = document.getElementById('status');
  if (status) {
    status.textContent = `Could not start: ${e.message}`;
    status.classList.add('error');
  }
  window.__perceptualError = e.message;
  console.error(e);
});
