import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import path from 'node:path';
import { loadModel, type LoadedModel } from '../../infer/load-model.js';
import { interpolate, upscaleImage, histogramMatchByDefault, INTERPOLATION_MODES, type InterpolationMode } from '../../infer/upscale.js';
import { loadImage, saveImage, DEFAULT_MAX_PIXELS } from '../../data/image.js';
import { planImageJobs } from '../image-jobs.js';
import { withInterrupt, int, precisionOpt } from '../options.js';

function positive(v: string): number {
  const n = int(v);
  if (n < 1) throw new InvalidArgumentError(`'${v}' is not a positive integer`);
  return n;
}

function modeOpt(v: string): InterpolationMode {
  if (!(INTERPOLATION_MODES as readonly string[]).includes(v)) throw new InvalidArgumentError(`the mode must be ${INTERPOLATION_MODES.join(' or ')}`);
  return v as InterpolationMode;
}

/** Tile progress on a terminal: one line rewritten in place. */
function tileProgress(label: string): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total) => {
    if (total > 1) process.stderr.write(`\r${label}: tile ${done}/${total}${done === total ? '\n' : ''}`);
  };
}

export function register(program: Command): void {
  program
    .command('upscale')
    .description('upscale images with a super-resolution network (Johnson et al. §4.2), or by bicubic / Lanczos interpolation to compare')
    .argument('<inputs...>', 'images or folders of images (JPEG/PNG/WebP/…)')
    .option('-m, --model <name|path>', 'shipped SR model name, model folder, .onnx or .safetensors')
    .option('--mode <mode>', `no network: ${INTERPOLATION_MODES.join(' | ')} (bicubic = MATLAB imresize, lanczos = Lanczos-3)`, modeOpt)
    .option('-x, --factor <f>', "upscaling factor (default: the model's; needed with --mode)", positive)
    .option('-o, --out <file|dir>', 'output file (one input) or folder (default: upscaled/)')
    .option('--format <ext>', 'output format for folders: jpg | png | webp (default: as the input)')
    .option('--histogram-match', "match the output's colour histogram to the input's (default: as the model card says; on for ℓfeat models)")
    .option('--no-histogram-match', 'do not match histograms, even for ℓfeat models')
    .option('--tile <px>', 'tile size in input pixels (0: never tile; default: automatic for large images)', int)
    .option('--overlap <px>', 'tile overlap in input pixels', int)
    .option('--runtime <name>', 'auto | onnx | engine', 'auto')
    .option('--device <d>', 'cpu | cuda', 'cpu')
    .option('--precision <p>', 'engine precision: float32 | bf16', precisionOpt)
    .option('--max-pixels <n>', 'refuse larger input images (decompression-bomb guard)', positive, DEFAULT_MAX_PIXELS)
    .option('--quality <q>', 'JPEG/WebP quality', positive, 92)
    .action(async (inputs: string[], o) => {
      if (o.model && o.mode) throw new Error('give either --model (a network) or --mode (interpolation), not both');
      if (!o.model && !o.mode) throw new Error(`give --model NAME|PATH (a super-resolution network) or --mode ${INTERPOLATION_MODES.join('|')}`);
      if (o.mode && o.factor === undefined) throw new Error(`--mode ${o.mode} needs the factor: -x 4`);
      if (o.mode && o.histogramMatch !== undefined) throw new Error('--histogram-match applies to network outputs only');
      if (o.runtime !== 'auto' && o.runtime !== 'onnx' && o.runtime !== 'engine') throw new Error('--runtime must be auto, onnx or engine');
      const jobs = await planImageJobs(inputs, { out: o.out, defaultDir: 'upscaled', format: o.format });

      let model: LoadedModel | undefined;
      if (o.model) {
        model = await loadModel(o.model, { runtime: o.runtime, device: o.device, precision: o.precision });
        if (model.card.task !== 'sr') {
          await model.dispose();
          throw new Error(`'${o.model}' is a ${model.card.task} model, not a super-resolution model (use \`perceptual stylize\`)`);
        }
        if (o.factor !== undefined && model.scale !== undefined && model.scale !== o.factor) {
          await model.dispose();
          throw new Error(`'${o.model}' upscales ×${model.scale}, not ×${o.factor}`);
        }
      }
      const match = model ? (o.histogramMatch ?? histogramMatchByDefault(model.card)) : false;
      const method = model ? `${model.card.name} (${model.runtime}${match ? ', histogram-matched' : ''})` : o.mode;
      let failed = 0;
      try {
        await withInterrupt(async (signal) => {
          for (let k = 0; k < jobs.length; k++) {
            const { input, output } = jobs[k]!;
            signal.throwIfAborted();
            const label = jobs.length > 1 ? `[${k + 1}/${jobs.length}] ${input}` : input;
            const t0 = performance.now();
            try {
              const img = await loadImage(input, { maxPixels: o.maxPixels });
              const out = model
                ? await upscaleImage(model, img, { factor: o.factor, histogramMatch: match, tileSize: o.tile, overlap: o.overlap, signal, onProgress: tileProgress(label) })
                : await interpolate(img, o.factor, o.mode);
              await saveImage(out, output, { quality: o.quality });
              const s = ((performance.now() - t0) / 1000).toFixed(2);
              console.log(`${label} → ${output} (${img.width}×${img.height} → ${out.width}×${out.height}, ${method}, ${s} s)`);
            } catch (e) {
              // One file: its error is the command's. Several: report it and go on with the rest.
              if (signal.aborted || jobs.length === 1) throw e;
              failed++;
              console.error(`perceptual: ${(e as Error).message}`);
            }
          }
        });
      } finally {
        await model?.dispose();
      }
      if (failed) {
        process.exitCode = 1;
        console.error(`${failed} of ${jobs.length} image(s) failed`);
      } else if (jobs.length > 1) console.log(`upscaled ${jobs.length} images into ${path.dirname(jobs[0]!.output)}`);
    });
}
