import type { Command } from 'commander';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { loadStyleModel } from '../../infer/load-model.js';
import { loadImage, saveImage, DEFAULT_MAX_PIXELS } from '../../data/image.js';
import { resizeLongerSide } from '../../data/tensor-image.js';
import { planImageJobs } from '../image-jobs.js';
import { createProgress } from '../../train/progress.js';
import { withInterrupt, num, int, precisionOpt } from '../options.js';

export function register(program: Command): void {
  program
    .command('stylize')
    .description('stylise images with a trained style network (a shipped style name or a model path)')
    .argument('<inputs...>', 'images or folders of images (JPEG/PNG/WebP)')
    .requiredOption('-s, --style <name|path>', 'shipped style name (see `perceptual stylize --list`… or models/), model folder, .onnx or .safetensors')
    .option('-o, --out <file|dir>', 'output file (one input) or folder', undefined)
    .option('--format <ext>', 'output format for folders: jpg | png | webp (default: as the input)')
    .option('--max-side <px>', 'downscale inputs so the longer side is at most this', int)
    .option('--strength <s>', 'blend with the photo: 0 (photo) … 1 (fully stylised)', num, 1)
    .option('--preserve-color', "keep the photo's colours (stylised luminance, original chroma)")
    .option('--tile <px>', 'tile size in input pixels (0: never tile; default: automatic for large images)', int)
    .option('--overlap <px>', 'tile overlap in input pixels', int)
    .option('--runtime <name>', 'auto | onnx | engine', 'auto')
    .option('--device <d>', 'cpu | cuda', 'cpu')
    .option('--precision <p>', 'engine precision: float32 | bf16', precisionOpt)
    .option('--max-pixels <n>', 'refuse larger images (decompression-bomb guard)', int, DEFAULT_MAX_PIXELS)
    .option('--quality <q>', 'JPEG/WebP quality', int, 92)
    .action(async (inputs: string[], o) => {
      if (!(o.strength >= 0 && o.strength <= 1)) throw new Error(`--strength must be between 0 and 1, got ${o.strength}`);
      if (o.runtime !== 'auto' && o.runtime !== 'onnx' && o.runtime !== 'engine') throw new Error(`--runtime must be auto, onnx or engine`);
      const jobs = (await planImageJobs(inputs, { out: o.out, defaultDir: 'stylized', format: o.format })).map((j) => [j.input, j.output] as const);
      const model = await loadStyleModel(o.style, { runtime: o.runtime, device: o.device, precision: o.precision });
      const progress = createProgress({ label: 'stylize', lineEvery: 1, quiet: jobs.length === 1 });
      let failed = 0;
      try {
        await withInterrupt(async (signal) => {
          progress.start(jobs.length, 0);
          for (let k = 0; k < jobs.length; k++) {
            const [input, output] = jobs[k]!;
            signal.throwIfAborted();
            const t0 = performance.now();
            try {
              let img = await loadImage(input, { maxPixels: o.maxPixels });
              if (o.maxSide && Math.max(img.width, img.height) > o.maxSide) img = await resizeLongerSide(img, o.maxSide);
              const out = await model.stylize(img, { strength: o.strength, preserveColor: o.preserveColor, tileSize: o.tile, overlap: o.overlap, signal });
              await fs.mkdir(path.dirname(path.resolve(output)), { recursive: true });
              await saveImage(out, output, { quality: o.quality });
              const ms = performance.now() - t0;
              if (jobs.length === 1) console.log(`${input} → ${output} (${img.width}×${img.height}, ${(ms / 1000).toFixed(2)} s, ${model.runtime}${model.runtime === 'engine' ? ` ${model.precision}` : ''})`);
              progress.update(k + 1, { loss: 0, imagesPerSecond: 1000 / ms });
            } catch (e) {
              if (signal.aborted) throw e;
              failed++;
              console.error(`perceptual: ${(e as Error).message}`);
            }
          }
          progress.stop();
        });
      } finally {
        await model.dispose();
      }
      if (failed) {
        process.exitCode = 1;
        console.error(`${failed} of ${jobs.length} image(s) failed`);
      } else if (jobs.length > 1) console.log(`stylised ${jobs.length} images into ${path.dirname(jobs[0]![1])}`);
    });
}
