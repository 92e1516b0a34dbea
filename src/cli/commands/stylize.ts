/**
 * `perceptual stylize`: images (files or folders) through a style network.
 *
 * Order of work: every option value is checked by its parser, then the file plan, the output
 * folders and every input's header (`--max-pixels`) — all before the model loads. Each image
 * then runs streamed (8-bit in, 8-bit out, one row of tiles in between; see
 * `src/infer/core/run-image.ts`). Ctrl-C / SIGTERM stop between tiles: the image in progress is
 * not written (outputs of images finished before it are kept) and the exit status is 130 / 143.
 */
import type { Command } from 'commander';
import path from 'node:path';
import { loadStyleModel, type LoadedModel } from '../../infer/load-model.js';
import { loadImage, saveImage, DEFAULT_MAX_PIXELS, DEFAULT_QUALITY, type ImageHeader } from '../../data/image.js';
import { resizeLongerSide } from '../../data/tensor-image.js';
import {
  planImageJobs,
  prepareOutputFolders,
  readHeaders,
  tileProgress,
  checkOverlapOption,
  positiveInt,
  nonNegativeInt,
  qualityOpt,
  tileOpt,
  strengthOpt,
  shiftsOpt,
  edgePadOpt,
  runtimeOpt,
  deviceOpt,
  type ImageJob,
  type RuntimeOption,
} from '../image-jobs.js';
import { withInterrupt, precisionOpt } from '../options.js';
import { DEFAULT_SHIFTS, SHIFT_COUNTS, DEFAULT_EDGE_PAD } from '../../infer/core/index.js';
import { addVideoOptions, stylizeVideoIfVideo, type VideoCliOptions } from './stylize-video.js';

/** The parsed options of `stylize` (commander's camel-cased names). */
export interface StylizeCliOptions {
  style: string;
  out?: string;
  format?: string;
  maxSide?: number;
  strength: number;
  preserveColor?: boolean;
  tile?: number;
  overlap?: number;
  runtime: RuntimeOption;
  device: string;
  precision?: 'float32' | 'bf16';
  maxPixels: number;
  quality: number;
  shifts: number;
  edgePad: number;
}

export function register(program: Command): void {
  program
    .command('stylize')
    .description('stylise images with a trained style network (a shipped style name or a model path)')
    .argument('<inputs...>', 'images or folders of images (JPEG/PNG/WebP), or one video file (any format ffmpeg reads)')
    .requiredOption('-s, --style <name|path>', 'shipped style (a folder name in models/, e.g. starry-night), a model folder, .onnx or .safetensors')
    .option('-o, --out <file|dir>', 'output file (one input) or folder (default: stylized/)')
    .option('--format <ext>', 'output format for folders: jpg | png | webp (default: as the input)')
    .option('--max-side <px>', 'downscale inputs so the longer side is at most this', positiveInt)
    .option('--strength <s>', 'blend with the photo: 0 (photo) … 1 (fully stylised)', strengthOpt, 1)
    .option('--preserve-color', "keep the photo's colours (stylised luminance, original chroma)")
    .option('--tile <px>', 'tile size in input pixels, at least 32 (0: never tile; default: automatic for large images)', tileOpt)
    .option('--overlap <px>', 'tile overlap in input pixels, at most half the tile', nonNegativeInt)
    .option('--runtime <name>', 'auto | onnx | engine', runtimeOpt, 'auto')
    .option('--device <d>', 'cpu | cuda | cuda:N', deviceOpt, 'cpu')
    .option('--precision <p>', 'engine precision: float32 | bf16', precisionOpt)
    .option('--max-pixels <n>', 'refuse images with more pixels (checked from the header, before decoding: a decompression-bomb guard)', positiveInt, DEFAULT_MAX_PIXELS)
    .option('--quality <q>', 'JPEG/WebP quality, 1–100', qualityOpt, DEFAULT_QUALITY)
    .option('--shifts <n>', `average the network over n sub-stride shifts of the image (${SHIFT_COUNTS.join(', ')}): removes the grid its stride-4 layers print (and, on video, that grid's flicker), n× the time, and it softens the texture too`, shiftsOpt, DEFAULT_SHIFTS)
    .option('--edge-pad <px>', 'mirror the image outward by this many pixels for the network and crop them off after: the frame a network paints along its border falls outside the picture (0: off)', edgePadOpt, DEFAULT_EDGE_PAD)
    .action((inputs: string[], o: StylizeCliOptions) => stylizeCommand(inputs, o));
  addVideoOptions(program.commands.find((c) => c.name() === 'stylize')!); // one video file in: src/cli/commands/stylize-video.ts
}

export async function stylizeCommand(inputs: string[], o: StylizeCliOptions): Promise<void> {
  if (await stylizeVideoIfVideo(inputs, o as StylizeCliOptions & VideoCliOptions)) return;
  if ((o as Partial<VideoCliOptions>).denoise !== undefined) throw new Error('--denoise applies to video only (it averages each pixel over the frames before it)');
  checkOverlapOption(o.tile, o.overlap);
  await withInterrupt(async (signal) => {
    const jobs = await planImageJobs(inputs, { out: o.out, defaultDir: 'stylized', format: o.format });
    await prepareOutputFolders(jobs);
    const headers = await readHeaders(jobs, o.maxPixels);
    signal.throwIfAborted();
    const model = await loadStyleModel(o.style, { runtime: o.runtime, device: o.device, precision: o.precision });
    try {
      const failed = await stylizeImages(model, jobs, headers, o, signal);
      if (failed) {
        process.exitCode = 1;
        console.error(`${failed} of ${jobs.length} image(s) failed`);
      } else if (jobs.length > 1) console.log(`stylised ${jobs.length} images into ${path.dirname(jobs[0]!.output)}`);
    } finally {
      await model.dispose();
    }
  });
}

/** Stylise each job in turn; returns how many failed. One job: its error is the command's. Several: report and go on. */
async function stylizeImages(model: LoadedModel, jobs: readonly ImageJob[], headers: Map<ImageJob, ImageHeader | Error>, o: StylizeCliOptions, signal: AbortSignal): Promise<number> {
  let failed = 0;
  for (let k = 0; k < jobs.length; k++) {
    const job = jobs[k]!;
    signal.throwIfAborted();
    const label = jobs.length > 1 ? `[${k + 1}/${jobs.length}] ${job.input}` : job.input;
    const t0 = performance.now();
    try {
      const header = headers.get(job);
      if (header instanceof Error) throw header;
      let img = await loadImage(job.input, { maxPixels: o.maxPixels });
      if (o.maxSide && Math.max(img.width, img.height) > o.maxSide) img = await resizeLongerSide(img, o.maxSide);
      const { width, height } = img;
      const out = await model.stylize(img, {
        strength: o.strength,
        preserveColor: o.preserveColor,
        shifts: o.shifts,
        edgePad: o.edgePad,
        tileSize: o.tile,
        overlap: o.overlap,
        outputType: 'uint8',
        signal,
        onProgress: tileProgress(label),
      });
      await saveImage(out, job.output, { quality: o.quality, signal });
      const s = ((performance.now() - t0) / 1000).toFixed(2);
      console.log(`${label} → ${job.output} (${width}×${height}, ${s} s, ${model.runtime}${model.runtime === 'engine' ? ` ${model.precision}` : ''}${o.shifts > 1 ? `, ${o.shifts} shifts averaged` : ''})`);
    } catch (e) {
      if (signal.aborted || jobs.length === 1) throw e;
      failed++;
      console.error(`perceptual: ${(e as Error).message}`);
    }
  }
  return failed;
}
