/**
 * `perceptual import-ml5 FOLDER|URL [-o models/<name>]`: an ml5.js / deeplearn.js
 * style-transfer checkpoint as a model folder of this project (model.onnx + card.json), so
 * peer models run through the same path as our own. A URL is downloaded only with
 * `--yes-download`: these are third-party files under their own licences.
 */
import type { Command } from 'commander';
import { existsSync, promises as fs, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importMl5, importMl5FromUrl, type Ml5Import } from '../../models/ml5/index.js';
import { writeModelFolder, MODEL_FILES, type ImportedCard } from '../../models/model-folder.js';
import { OrtModel } from '../../runtime/ort-session.js';

const isUrl = (s: string): boolean => /^https?:\/\//i.test(s);

/** Folder or URL → a model name: the last path component. */
function defaultName(source: string): string {
  const last = (isUrl(source) ? new URL(source).pathname : path.resolve(source)).split(/[\\/]/).filter(Boolean).pop() ?? 'ml5-model';
  return last.replace(/[^A-Za-z0-9._-]+/g, '-');
}

/** 'ml5-wave' → 'Wave (ml5.js)'. */
function defaultTitle(name: string): string {
  const words = name.replace(/^ml5[-_]?/i, '').replace(/[-_]+/g, ' ').trim() || name;
  return `${words.charAt(0).toUpperCase()}${words.slice(1)} (ml5.js)`;
}

export function register(program: Command): void {
  program
    .command('import-ml5')
    .description('import an ml5.js style-transfer checkpoint (folder or URL) as an ONNX model folder (model.onnx + card.json)')
    .argument('<source>', 'checkpoint folder (manifest.json + Variable* files) or its http(s) URL')
    .option('-o, --out <dir>', 'model folder to write (default: models/<name>)')
    .option('--name <name>', 'model name (default: the checkpoint folder name)')
    .option('--title <title>', 'display title (default: from the name)')
    .option('--yes-download', 'agree to download the third-party checkpoint when <source> is a URL')
    .option('--padding <how>', "TF 'SAME' padding as explicit Pad nodes (all providers) or auto_pad (smaller, CPU/wasm)", 'explicit')
    .action(async (source: string, o: { out?: string; name?: string; title?: string; yesDownload?: boolean; padding: string }) => {
      if (o.padding !== 'explicit' && o.padding !== 'auto_pad') throw new Error(`--padding must be explicit or auto_pad, got ${o.padding}`);
      const name = o.name ?? defaultName(source);
      const out = o.out ?? path.join('models', name);
      let imported: Ml5Import;
      let tmp: string | undefined;
      let licence: string;
      if (isUrl(source)) {
        if (!o.yesDownload) {
          throw new Error(
            `not downloading ${source}: it is a third-party model (about 7 MB) under its own licence. ` +
              'Check the licence of its repository, then run the same command with --yes-download to agree (nothing was fetched).',
          );
        }
        tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-ml5-'));
        console.log(`downloading ${source} …`);
        imported = await importMl5FromUrl(source, tmp, { consent: true });
        licence = `third-party checkpoint downloaded from ${source}; check the licence of the repository it comes from before redistributing this model`;
      } else {
        if (!existsSync(source) || !statSync(source).isDirectory()) throw new Error(`${source}: not a folder (or an http(s) URL)`);
        imported = await importMl5(source);
        licence = existsSync(path.join(source, 'LICENSE'))
          ? `third-party checkpoint; its licence is in LICENSE (copied from ${path.resolve(source)})`
          : `third-party checkpoint from ${path.resolve(source)}; no LICENSE was found next to it: check its licence before redistributing`;
      }
      try {
        const bytes = imported.toOnnx({ padding: o.padding, name: `ml5-${name}` });
        // Load it once so a broken model never lands in the models folder.
        const model = await OrtModel.load(bytes);
        try {
          await model.run(new Float32Array(3 * 16 * 16).fill(128), [1, 3, 16, 16]);
        } finally {
          await model.dispose();
        }
        const card: ImportedCard = {
          kind: 'imported',
          name,
          title: o.title ?? defaultTitle(name),
          task: 'style',
          source: isUrl(source) ? source : path.resolve(source),
          origin: 'ml5.js / deeplearn.js style-transfer checkpoint (Engstrom\'s fast-style-transfer network), imported by perceptual import-ml5',
          licence,
          // Not a network config: this network is not a TransformerNet.
          architecture: `ml5 / fast-style-transfer: instance norm (ε 1e-3), TF 'SAME' padding (${o.padding}), output 150·tanh + 127.5 clipped to 0–255`,
        };
        const licenceFile = path.join(source, MODEL_FILES.licence);
        await writeModelFolder(out, { card, onnx: bytes, copy: !tmp && existsSync(licenceFile) ? [[licenceFile, MODEL_FILES.licence]] : [] });
        console.log(`${source} → ${out}/model.onnx + card.json (${(bytes.length / 1e6).toFixed(1)} MB, task style)`);
      } finally {
        if (tmp) await fs.rm(tmp, { recursive: true, force: true });
      }
    });
}
