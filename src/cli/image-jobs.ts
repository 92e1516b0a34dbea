/**
 * What the commands that map images to images (`stylize`, `upscale`) share:
 *  - the file plan: inputs are files or folders, the output is a file (exactly one input
 *    file) or a folder that mirrors the input folders' structure;
 *  - the checks made before any work — option values (the parsers below), output folders
 *    that cannot be written, image headers over `--max-pixels` — and the removal of temp files
 *    that killed runs left in the output folders;
 *  - tile progress and the per-image lines.
 */
import { existsSync, statSync, constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { listImages } from '../data/image-folder.js';
import { readImageHeader, checkQuality, type ImageHeader } from '../data/image.js';
import { MIN_TILE_SIZE, SHIFT_COUNTS } from '../infer/core/index.js';
import { MAX_EDGE_PAD } from '../models/edge-pad.js';
import { removeStaleTempFiles } from '../util/stale-temp.js';

const WRITABLE = /\.(jpe?g|png|webp)$/i;

export interface ImageJob {
  input: string;
  output: string;
}

export interface PlanOptions {
  /** Output file (one input) or folder; default `defaultDir`. */
  out?: string;
  /** Folder used when `out` is not given. */
  defaultDir: string;
  /** Output format for folder outputs ('png', '.jpg', …); default: the input's when writable, else PNG. */
  format?: string;
}

export async function planImageJobs(inputs: readonly string[], o: PlanOptions): Promise<ImageJob[]> {
  const files: Array<{ file: string; rel?: string }> = [];
  for (const i of inputs) {
    if (!existsSync(i)) throw new Error(`${i}: no such file or folder`);
    if (statSync(i).isDirectory()) for (const f of await listImages(i)) files.push({ file: f, rel: path.relative(i, f) });
    else files.push({ file: i });
  }
  if (files.length === 0) throw new Error('no input images');
  let format = o.format?.toLowerCase();
  if (format !== undefined) {
    format = format.startsWith('.') ? format : `.${format}`;
    if (!WRITABLE.test(format)) throw new Error(`--format must be jpg, png or webp, got '${o.format}'`);
  }
  const single = files.length === 1 && files[0]!.rel === undefined;
  const out = o.out;
  const outIsFile = out !== undefined && WRITABLE.test(out) && !(existsSync(out) && statSync(out).isDirectory());
  if (out !== undefined && !outIsFile && path.extname(out) && !(existsSync(out) && statSync(out).isDirectory())) {
    throw new Error(`-o ${out}: cannot write that format (use .jpg, .png or .webp), or give a folder`);
  }
  if (outIsFile && !single) throw new Error(`-o ${out} is a file name but there are ${files.length} inputs: give a folder`);
  const jobs = files.map(({ file, rel }) => {
    if (outIsFile) return { input: file, output: out! };
    const ext = format ?? (WRITABLE.test(file) ? path.extname(file).toLowerCase() : '.png');
    const base = (rel ?? path.basename(file)).replace(/\.[^./\\]+$/, '');
    return { input: file, output: path.join(out ?? o.defaultDir, `${base}${ext}`) };
  });
  const seen = new Map<string, string>();
  for (const j of jobs) {
    const key = path.resolve(j.output);
    const other = seen.get(key);
    if (other) throw new Error(`${other} and ${j.input} would both be written to ${j.output}`);
    if (path.resolve(j.input) === key) throw new Error(`${j.input} would be overwritten by its own output: choose another -o`);
    seen.set(key, j.input);
  }
  return jobs;
}

// ── Option parsers (commander calls them while parsing, so a bad value fails before any work) ──

/** An integer ≥ 1. */
export function positiveInt(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`'${v}' is not a positive integer`);
  return n;
}

/** An integer ≥ 0. */
export function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`'${v}' is not a non-negative integer`);
  return n;
}

/** JPEG/WebP quality: an integer 1–100. */
export function qualityOpt(v: string): number {
  const n = Number(v);
  try {
    return checkQuality(v.trim() === '' ? Number.NaN : n, 'the quality');
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** `--tile`: 0 (never tile) or at least the core's MIN_TILE_SIZE. */
export function tileOpt(v: string): number {
  const n = nonNegativeInt(v);
  if (n !== 0 && n < MIN_TILE_SIZE) {
    throw new InvalidArgumentError(`tiles of ${n} px are too small: the network's receptive field spans tens of pixels, so tiles below ${MIN_TILE_SIZE} px are mostly padded border and multiply the runs (use ${MIN_TILE_SIZE} or more, or 0 for no tiling)`);
  }
  return n;
}

/** `--strength`: a number from 0 to 1. */
export function strengthOpt(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0 && n <= 1)) throw new InvalidArgumentError(`the strength must be a number from 0 to 1`);
  return n;
}

export function shiftsOpt(v: string): number {
  const n = Number(v);
  if (!SHIFT_COUNTS.includes(n)) throw new InvalidArgumentError(`'${v}' is not one of ${SHIFT_COUNTS.join(', ')}`);
  return n;
}

/** `--edge-pad`: whole pixels, 0 (off) to MAX_EDGE_PAD. */
export function edgePadOpt(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !(Number.isInteger(n) && n >= 0 && n <= MAX_EDGE_PAD)) throw new InvalidArgumentError(`'${v}' is not a whole number of pixels from 0 to ${MAX_EDGE_PAD}`);
  return n;
}

export const RUNTIMES = ['auto', 'onnx', 'engine'] as const;
export type RuntimeOption = (typeof RUNTIMES)[number];

export function runtimeOpt(v: string): RuntimeOption {
  if (!(RUNTIMES as readonly string[]).includes(v)) throw new InvalidArgumentError(`the runtime must be ${RUNTIMES.join(', ')}`);
  return v as RuntimeOption;
}

/** `--device`: cpu, cuda or cuda:N. */
export function deviceOpt(v: string): string {
  if (!/^(cpu|cuda(:\d+)?)$/.test(v)) throw new InvalidArgumentError(`the device must be cpu, cuda or cuda:N`);
  return v;
}

/** `--overlap` against `--tile` (at most half the tile), once both are known. */
export function checkOverlapOption(tile: number | undefined, overlap: number | undefined): void {
  if (overlap === undefined || tile === undefined || tile === 0) return;
  if (overlap > tile / 2) throw new Error(`--overlap ${overlap} must be at most half of --tile ${tile} (${Math.floor(tile / 2)})`);
}

// ── Before any work ──

/**
 * Check that every output folder can be written (the nearest existing folder above it is a
 * writable folder), and remove the temp files killed runs left there. Throws naming `-o`.
 */
export async function prepareOutputFolders(jobs: readonly ImageJob[]): Promise<void> {
  const dirs = [...new Set(jobs.map((j) => path.dirname(path.resolve(j.output))))];
  for (const dir of dirs) {
    let existing = dir;
    while (!existsSync(existing)) existing = path.dirname(existing);
    if (!statSync(existing).isDirectory()) throw new Error(`-o: cannot write into ${dir}: ${existing} is a file, not a folder`);
    try {
      await fs.access(existing, fsConstants.W_OK);
    } catch (e) {
      throw new Error(`-o: cannot write into ${dir}: ${existing} is not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    if (existing === dir) await removeStaleTempFiles(dir);
  }
}

/**
 * Read every input's header (nothing is decoded) and apply the pixel limit. One input: its
 * error is the command's, thrown now. Several: each failure is kept for its job, to be
 * reported in turn while the others run.
 */
export async function readHeaders(jobs: readonly ImageJob[], maxPixels: number): Promise<Map<ImageJob, ImageHeader | Error>> {
  const out = new Map<ImageJob, ImageHeader | Error>();
  for (const job of jobs) {
    try {
      out.set(job, await readImageHeader(job.input, { maxPixels }));
    } catch (e) {
      if (jobs.length === 1) throw e;
      out.set(job, e as Error);
    }
  }
  return out;
}

// ── Progress ──

/**
 * Tile progress of one image on stderr: a line rewritten in place on a terminal; otherwise
 * (logs, CI) the first tile, the second (the first measured time a tile takes, so a log says
 * early how long the image will take, however fast the tiles are), then a line at most every
 * `everyMs`, and the end.
 */
export function tileProgress(label: string, stream: NodeJS.WriteStream = process.stderr, everyMs = 1000): (done: number, total: number) => void {
  let first = 0;
  let last = 0;
  return (done, total) => {
    if (total <= 1) return;
    const now = performance.now();
    if (done === 1) first = now;
    const perTile = done > 1 ? ` (${((now - first) / (done - 1) / 1000).toFixed(2)} s a tile)` : '';
    if (stream.isTTY) {
      stream.write(`\r${label}: tile ${done}/${total}${perTile}${done === total ? '\n' : ''}`);
      return;
    }
    if (done <= 2 || done === total || now - last >= everyMs) {
      stream.write(`${label}: tile ${done}/${total}${perTile}\n`);
      last = now;
    }
  };
}
