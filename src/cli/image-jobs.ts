/**
 * The file plan of commands that map images to images (`upscale`, and the same rules as
 * `stylize`): inputs are files or folders, the output is a file (exactly one input file) or a
 * folder that mirrors the input folders' structure. Decided up front, so that a wrong `-o`
 * fails before any work is done.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { listImages } from '../data/image-folder.js';

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
