/**
 * Reading a deeplearn.js `CheckpointLoader` folder, the format ml5.js style-transfer models
 * are published in: `manifest.json` maps each variable name to `{filename, shape}`, and each
 * file is the variable's raw little-endian float32 values in row-major order, no header.
 *
 * Everything here is validated as untrusted input (these folders are downloaded from the
 * web): file names must be plain names inside the folder, sizes must match shapes exactly,
 * and values must be finite.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface ManifestEntry {
  filename: string;
  shape: number[];
}

/** Variable name → where its data are and what shape they have. */
export type Manifest = Record<string, ManifestEntry>;

export interface CheckpointVariable {
  shape: number[];
  data: Float32Array;
}

/** A tensor file may not be larger than this (the largest ml5 variable is 0.6 MB). */
export const MAX_VARIABLE_BYTES = 256 * 1024 * 1024;

/** A plain file name: no directories, no `..`, nothing a shell or URL would reinterpret. */
const SAFE_FILENAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Validate a parsed `manifest.json`; `source` names it in errors. */
export function parseManifest(json: unknown, source: string): Manifest {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${source}: a manifest must be a JSON object of variables`);
  const out: Manifest = {};
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    const entry = value as { filename?: unknown; shape?: unknown } | null;
    if (typeof entry !== 'object' || entry === null) throw new Error(`${source}: variable ${name} is not an object`);
    const { filename, shape } = entry;
    if (typeof filename !== 'string' || !SAFE_FILENAME.test(filename) || filename.includes('..')) {
      throw new Error(`${source}: variable ${name} has an unsafe or missing filename ${JSON.stringify(filename)} (plain names inside the folder only)`);
    }
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new Error(`${source}: variable ${name} has a bad shape ${JSON.stringify(shape)}`);
    }
    const bytes = 4 * shape.reduce((a: number, b: number) => a * b, 1);
    if (bytes > MAX_VARIABLE_BYTES) throw new Error(`${source}: variable ${name} would be ${bytes} bytes, over the ${MAX_VARIABLE_BYTES}-byte limit`);
    out[name] = { filename, shape: [...(shape as number[])] };
  }
  return out;
}

/** Bytes expected in the file of one variable. */
export function variableByteLength(entry: ManifestEntry): number {
  return 4 * entry.shape.reduce((a, b) => a * b, 1);
}

/** Decode one variable file (little-endian float32), checking its size and that every value is finite. */
export function decodeVariable(bytes: Uint8Array, name: string, entry: ManifestEntry, source: string): CheckpointVariable {
  const expected = variableByteLength(entry);
  if (bytes.byteLength !== expected) {
    throw new Error(`${source}: variable ${name} (${entry.filename}) has ${bytes.byteLength} bytes, expected ${expected} for shape [${entry.shape.join(', ')}]`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Float32Array(expected / 4);
  for (let i = 0; i < data.length; i++) {
    const v = view.getFloat32(i * 4, true);
    if (!Number.isFinite(v)) throw new Error(`${source}: variable ${name} (${entry.filename}) has a non-finite value at index ${i}`);
    data[i] = v;
  }
  return { shape: [...entry.shape], data };
}

export async function readManifest(folder: string): Promise<Manifest> {
  const file = path.join(folder, 'manifest.json');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read checkpoint manifest ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseManifest(json, file);
}

/** Read the named variables (all of the manifest's when `names` is omitted). */
export async function readCheckpoint(folder: string, names?: readonly string[]): Promise<Map<string, CheckpointVariable>> {
  const manifest = await readManifest(folder);
  const wanted = names ?? Object.keys(manifest);
  const out = new Map<string, CheckpointVariable>();
  for (const name of wanted) {
    const entry = manifest[name];
    if (!entry) throw new Error(`${path.join(folder, 'manifest.json')}: variable ${name} is missing`);
    const file = path.join(folder, entry.filename);
    let bytes: Uint8Array;
    try {
      bytes = await fs.readFile(file);
    } catch (e) {
      throw new Error(`cannot read checkpoint variable ${name} from ${file}: ${(e as Error).message}`);
    }
    out.set(name, decodeVariable(bytes, name, entry, file));
  }
  return out;
}
