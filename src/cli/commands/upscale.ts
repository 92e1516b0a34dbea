/**
 * `perceptual upscale`: images through a super-resolution network (or plain interpolation).
 * The same order of work as `stylize`: option values, the file plan, output folders and input
 * headers are checked before the model loads, and each output's size (input × factor) against
 * `--max-pixels` before it runs; images run streamed to 8-bit outputs; Ctrl-C / SIGTERM stop
 * between tiles with exit status 130 / 143 and no file for the image in progress.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import path from 'node:path';
import { loadModel, type LoadedModel } from '../../infer/load-model.js';
import { interpolate, upscaleImage, histogramMatchByDefault, INTERPOLATION_MODES, type InterpolationMode } from '../../infer/upscale.js';
import { loadImage, saveImage, checkPixelLimit, DEFAULT_MAX_PIXELS, DEFAULT_QUALITY } from '../../data/image.js';
import { planImageJobs, prepareOutputFolders, readHeaders, tileProgress, checkOverlapOption, positiveInt, nonNegativeInt, qualityOpt, tileOpt, runtimeOpt, deviceOpt } from '../image-jobs.js';
import { withInterrupt, precisionOpt } from '../options.js';

function modeOpt(v: string): InterpolationMode {
  if (!(INTERPOLATION_MODES as readonly string[]).includes(v)) throw new InvalidArgumentError(`the mode must be ${INTERPOLATION_MODES.join(' or ')}`);
  return v as InterpolationMode;
}

export function register(program: Command): void {
  program
    .command('upscale')
    .description('upscale images with a super-resolution network (Johnson et al. §4.2), or by bicubic / Lanczos interpolation to compare')
    .argument('<inputs...>', 'images or folders of images (JPEG/PNG/WebP/…)')
    .option('-m, --model <name|path>', 'shipped SR model name, model folder, .onnx or .safetensors')
    .option('--mode <mode>', `no network: ${INTERPOLATION_MODES.join(' | ')} (bicubic = MATLAB imresize, lanczos = Lanczos-3)`, modeOpt)
    .option('-x, --factor <f>', "upscaling factor (default: the model's; needed with --mode)", positiveInt)
    .option('-o, --out <file|dir>', 'output file (one input) or folder (default: upscaled/)')
    .option('--format <ext>', 'output format for folders: jpg | png | webp (default: as the input)')
    .option('--histogram-match', "match the output's colour histogram to the input's (default: as the model card says; on for ℓfeat models)")
    .option('--no-histogram-match', 'do not match histograms, even for ℓfeat models')
    .option('--tile <px>', 'tile size in input pixels, at least 32 (0: never tile; default: automatic for large images)', tileOpt)
    .option('--overlap <px>', 'tile overlap in input pixels, at most half the tile', nonNegativeInt)
    .option('--runtime <name>', 'auto | onnx | engine', runtimeOpt, 'auto')
    .option('--device <d>', 'cpu | cuda | cuda:N', deviceOpt, 'cpu')
    .option('--precision <p>', 'engine precision: float32 | bf16', precisionOpt)
    .option('--max-pixels <n>', 'refuse inputs with more pixels (checked from the header, before decoding) and outputs with more', positiveInt, DEFAULT_MAX_PIXELS)
    .option('--quality <q>', 'JPEG/WebP quality, 1–100', qualityOpt, DEFAULT_QUALITY)
    .action(async (inputs: string[], o) => {
      if (o.model && o.mode) throw new Error('give either --model (a network) or --mode (interpolation), not both');
      if (!o.model && !o.mode) throw new Error(`give --model NAME|PATH (a super-resolution network) or --mode ${INTERPOLATION_MODES.join('|')}`);
      if (o.mode && o.factor === undefined) throw new Error(`--mode ${o.mode} needs the factor: -x 4`);
      if (o.mode && o.histogramMatch !== undefined) throw new Error('--histogram-match applies to network outputs only');
      checkOverlapOption(o.tile, o.overlap);
      await withInterrupt(async (signal) => {
        const jobs = await planImageJobs(inputs, { out: o.out, defaultDir: 'upscaled', format: o.format });
        await prepareOutputFolders(jobs);
        const headers = await readHeaders(jobs, o.maxPixels);
        signal.throwIfAborted();

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
        const factor: number | undefined = o.factor ?? model?.scale;
        // Output sizes, before any work (an unknown factor is checked by the core once the first tile tells it).
        if (factor !== undefined) {
          for (const job of jobs) {
            const h = headers.get(job);
            if (h instanceof Error) continue;
            try {
              checkPixelLimit(`the ×${factor} output`, h!.width * factor, h!.height * factor, o.maxPixels);
            } catch (e) {
              const err = new Error(`${job.input}: ${(e as Error).message}`);
              if (jobs.length > 1) headers.set(job, err);
              else {
                await model?.dispose();
                throw err;
              }
            }
          }
        }
        const match = model ? (o.histogramMatch ?? histogramMatchByDefault(model.card)) : false;
        const method = model ? `${model.card.name} (${model.runtime}${match ? ', histogram-matched' : ''})` : o.mode;
        let failed = 0;
        try {
          for (let k = 0; k < jobs.length; k++) {
            const { input, output } = jobs[k]!;
            signal.throwIfAborted();
            const label = jobs.length > 1 ? `[${k + 1}/${jobs.length}] ${input}` : input;
            const t0 = performance.now();
            try {
              const header = headers.get(jobs[k]!);
              if (header instanceof Error) throw header;
              const img = await loadImage(input, { maxPixels: o.maxPixels });
              const out = model
                ? await upscaleImage(model, img, {
                    factor: o.factor,
                    histogramMatch: match,
                    tileSize: o.tile,
                    overlap: o.overlap,
                    maxOutputPixels: o.maxPixels,
                    outputType: 'uint8',
                    signal,
                    onProgress: tileProgress(label),
                  })
                : await interpolate(img, o.factor, o.mode);
              await saveImage(out, output, { quality: o.quality, signal });
              const s = ((performance.now() - t0) / 1000).toFixed(2);
              console.log(`${label} → ${output} (${img.width}×${img.height} → ${out.width}×${out.height}, ${method}, ${s} s)`);
            } catch (e) {
              // One file: its error is the command's. Several: report it and go on with the rest.
              if (signal.aborted || jobs.length === 1) throw e;
              failed++;
              console.error(`perceptual: ${(e as Error).message}`);
            }
          }
        } finally {
          await model?.dispose();
        }
        if (failed) {
          process.exitCode = 1;
          console.error(`${failed} of ${jobs.length} image(s) failed`);
        } else if (jobs.length > 1) console.log(`upscaled ${jobs.length} images into ${path.dirname(jobs[0]!.output)}`);
      });
    });
}
