/** `perceptual serve`: the web app and the shipped models on http://127.0.0.1:8080/ (see src/serve/server.ts). */
import type { Command } from 'commander';
import { DEFAULT_HOST, DEFAULT_MODELS_DIR, DEFAULT_PORT, DEFAULT_WEB_ROOT, startServer } from '../../serve/server.js';
import { listModels } from '../../infer/node/catalogue.js';

interface ServeOptions {
  host: string;
  port: string;
  models: string;
  web: string;
  allowHost: string[];
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the web app (stylise/upscale images and webcam video in the browser) and the shipped models')
    .option('--host <host>', 'address to bind (use 0.0.0.0 to allow other machines)', DEFAULT_HOST)
    .option('--port <port>', 'port to listen on (0: any free port)', String(DEFAULT_PORT))
    .option('--models <dir>', 'folder of models (<name>/card.json + model.onnx)', DEFAULT_MODELS_DIR)
    .option('--web <dir>', 'the built web app', DEFAULT_WEB_ROOT)
    .option('--allow-host <name>', "answer requests for this host name too (repeatable; the default is only localhost, 127.0.0.1, [::1] and the bound address, against DNS rebinding; '*' allows any)", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .action(async (opts: ServeOptions) => {
      const port = Number(opts.port);
      if (!/^\d+$/.test(opts.port) || port > 65535) throw new Error(`--port must be an integer 0–65535, got ${opts.port}`);
      const server = await startServer({ host: opts.host, port, webRoot: opts.web, modelsDir: opts.models, allowedHosts: opts.allowHost });
      const { models, skipped } = await listModels(server.modelsDir);
      console.log(`perceptual: serving ${server.url}  (app ${server.webRoot}, ${models.length} model(s) from ${server.modelsDir})`);
      console.log(`perceptual: answering requests for ${server.allowedHosts.join(', ')}`);
      for (const s of skipped) console.log(`perceptual: skipped models/${s.name}: ${s.reason}`);
      if (models.length === 0) console.log('perceptual: no models found: the page will have nothing to run (add models/<name>/{card.json, model.onnx})');
      console.log('press Ctrl-C to stop');
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
