/**
 * File in, file out: decode with sharp (`src/data/image.ts`), run the shared core, encode by
 * the output's extension. The CLI commands and scripts call these; the browser has its own
 * canvas-based equivalent (`web/src/canvas-image.ts`).
 */
import { loadImage, saveImage, type LoadImageOptions, type SaveImageOptions } from '../../data/image.js';
import type { StyleModelCore, StylizeOptions, UpscaleOptions } from '../core/index.js';

export interface FileOptions extends LoadImageOptions, SaveImageOptions {}

export interface FileResult {
  width: number;
  height: number;
  /** Milliseconds spent in the network and its pre/post-processing (not decoding/encoding). */
  ms: number;
}

/** Bytes are what is saved, so the network's output is taken as bytes (streamed: no float copy of a large image). */
export async function stylizeFile(model: StyleModelCore, input: string, output: string, options: StylizeOptions & FileOptions = {}): Promise<FileResult> {
  const image = await loadImage(input, options);
  const t0 = performance.now();
  const out = await model.stylize(image, { outputType: 'uint8', ...options });
  const ms = performance.now() - t0;
  await saveImage(out, output, options);
  return { width: out.width, height: out.height, ms };
}

export async function upscaleFile(model: StyleModelCore, input: string, output: string, options: UpscaleOptions & FileOptions = {}): Promise<FileResult> {
  const image = await loadImage(input, options);
  const t0 = performance.now();
  const out = await model.upscale(image, { outputType: 'uint8', ...options });
  const ms = performance.now() - t0;
  await saveImage(out, output, options);
  return { width: out.width, height: out.height, ms };
}
