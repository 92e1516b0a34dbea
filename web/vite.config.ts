/**
 * Builds the browser app into web/dist (`npm run build:web`), which `perceptual serve` serves.
 *
 * - onnxruntime-web is resolved to its "extern wasm" build (the `onnxruntime-web-use-extern-wasm`
 *   export condition): the bundle then loads ORT's `.mjs`/`.wasm` at run time from `ort/`,
 *   where this config copies them from node_modules — served by us, never by a CDN, and not
 *   inlined or duplicated by the bundler.
 * - `base: './'` keeps every URL relative, so the app works under any path prefix.
 * - The dev server (`npx vite web`) sends the same COOP/COEP headers as `perceptual serve`
 *   (WebAssembly threads need them) and serves `ort/` and `models/` the same way.
 */
import { promises as fs, createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, defaultClientConditions, type Plugin } from 'vite';
import { createHandler } from '../src/serve/server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const ortDist = path.join(repo, 'node_modules', 'onnxruntime-web', 'dist');
/** The runtime that `ort.min.mjs` (the extern-wasm build of the default entry: WebAssembly + WebGPU via JSEP) loads. */
const ORT_FILES = ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

function ortRuntimeFiles(): Plugin {
  let outDir = '';
  return {
    name: 'perceptual:ort-runtime-files',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    configureServer(server) {
      const models = createHandler({ webRoot: path.join(here, 'dist'), modelsDir: path.join(repo, 'models') });
      server.middlewares.use((req, res, next) => {
        const url = (req.url ?? '').split('?')[0]!;
        const name = url.startsWith('/ort/') ? url.slice(5) : undefined;
        if (name && ORT_FILES.includes(name)) {
          res.setHeader('Content-Type', name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
          for (const [k, v] of Object.entries(ISOLATION)) res.setHeader(k, v);
          createReadStream(path.join(ortDist, name)).pipe(res);
        } else if (url.startsWith('/models/')) models(req, res);
        else next();
      });
    },
    async writeBundle(_options, bundle) {
      // The names ORT will ask for are in its bundled code: fail the build if they are not the files copied.
      const wanted = new Set<string>();
      // (The worker, where ORT lives, is emitted into this bundle as an asset, not a chunk.)
      for (const item of Object.values(bundle)) {
        const code = item.type === 'chunk' ? item.code : item.fileName.endsWith('.js') ? String(item.source) : '';
        for (const m of code.matchAll(/ort-wasm-simd-threaded[a-z.]*\.(?:mjs|wasm)/g)) wanted.add(m[0]);
      }
      if (wanted.size === 0) throw new Error('found no onnxruntime-web runtime file name in the bundle: has onnxruntime-web changed how it loads its .wasm?');
      const missing = [...wanted].filter((f) => !ORT_FILES.includes(f));
      if (missing.length) throw new Error(`the bundled onnxruntime-web loads ${missing.join(', ')}, which the build does not copy (update ORT_FILES in web/vite.config.ts)`);
      await fs.mkdir(path.join(outDir, 'ort'), { recursive: true });
      for (const f of ORT_FILES) {
        const src = path.join(ortDist, f);
        if (!existsSync(src)) throw new Error(`${src} is missing: run npm install (onnxruntime-web is a dev dependency)`);
        await fs.copyFile(src, path.join(outDir, 'ort', f));
      }
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  publicDir: false,
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions] },
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // ORT's JavaScript is ~400 kB minified and cannot be split further.
    chunkSizeWarningLimit: 1024,
  },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  server: { headers: ISOLATION, fs: { allow: [repo] } },
  preview: { headers: ISOLATION },
  plugins: [ortRuntimeFiles()],
});
