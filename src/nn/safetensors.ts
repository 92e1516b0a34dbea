/**
 * The safetensors file format (https://github.com/huggingface/safetensors), on plain typed arrays.
 *
 * Layout: an 8-byte little-endian unsigned header length N, N bytes of UTF-8 JSON
 * (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, …, "__metadata__": {string: string}}`,
 * padded with spaces so that the data starts 8-byte aligned), then the raw little-endian tensor
 * bytes; `data_offsets` are relative to the start of that data block.
 *
 * We use it as the project's canonical weights container because, unlike a pickle, reading it
 * cannot run code, and its header can be checked completely before any data is trusted.
 *
 * `dtype` in a {@link NamedTensor} is always the *on-disk* dtype. Half-precision dtypes (F16,
 * BF16) are widened to Float32Array on read and narrowed again on write, so decode → encode is a
 * byte-exact round trip and callers never handle 16-bit floats themselves.
 */
import { promises as fs } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-write.js';

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

export interface NamedTensor {
  /** On-disk dtype: F32, F64, F16, BF16, I64, I32, U8 or BOOL. */
  dtype: string;
  shape: number[];
  data: TensorData;
}

export type NamedTensors = Map<string, NamedTensor>;

export interface DecodedSafetensors {
  tensors: NamedTensors;
  /** The `__metadata__` string map ({} when the file has none). */
  metadata: Record<string, string>;
}

/** One entry of a parsed header, before any data is decoded (what {@link readSafetensorsHeader} returns). */
export interface SafetensorsHeaderEntry {
  dtype: string;
  shape: number[];
  /** [begin, end) relative to the start of the data block. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  entries: Map<string, SafetensorsHeaderEntry>;
  metadata: Record<string, string>;
  /** Absolute offset of the data block in the file (8 + header length). */
  dataStart: number;
}

/**
 * The reference implementation refuses headers above 100 MB; a larger "length" is far more
 * likely to be a corrupt or foreign file than a real header, and honouring it would allocate it.
 */
export const MAX_HEADER_BYTES = 100_000_000;

interface DtypeInfo {
  bytes: number;
  /** Which typed array the data is decoded to. */
  array: 'f32' | 'f64' | 'i64' | 'i32' | 'u8';
}

const DTYPES: Record<string, DtypeInfo> = {
  F64: { bytes: 8, array: 'f64' },
  F32: { bytes: 4, array: 'f32' },
  F16: { bytes: 2, array: 'f32' },
  BF16: { bytes: 2, array: 'f32' },
  I64: { bytes: 8, array: 'i64' },
  I32: { bytes: 4, array: 'i32' },
  U8: { bytes: 1, array: 'u8' },
  BOOL: { bytes: 1, array: 'u8' },
};

/** Element size of a supported safetensors dtype (undefined when unsupported). */
export function safetensorsDtypeSize(dtype: string): number | undefined {
  return DTYPES[dtype]?.bytes;
}

/** Error about one safetensors file; names the file (when known) and the tensor concerned. */
export class SafetensorsError extends Error {
  constructor(
    readonly file: string | undefined,
    reason: string,
    readonly tensor?: string,
  ) {
    super(`${file ?? 'safetensors data'}: ${tensor !== undefined ? `tensor "${tensor}": ` : ''}${reason}`);
    this.name = 'SafetensorsError';
  }
}

// Typed-array views read in platform byte order; the format is little-endian, so on a
// big-endian host we must go through DataView instead (never seen in practice, but cheap to honour).
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------
// Half-precision conversion (exported because other weight formats, e.g. TF.js float16
// quantisation, store the same encodings).

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE 754 binary16 bits → number (exact). */
export function float16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero / subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** number → binary16 bits, rounding to nearest-even (as numpy/torch do), overflow to ±Inf. */
export function numberToFloat16Bits(value: number): number {
  f32Scratch[0] = value;
  // Round from the float32 value, as numpy's float32 → float16 does: rounding from the
  // float64 directly could disagree on ties that the float32 rounding already broke.
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // Inf / NaN (kept quiet)
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    // Result is subnormal (or zero) in half precision.
    if (e < -10) return sign; // underflows to ±0 even after rounding
    mant |= 0x800000; // make the implicit bit explicit
    const shift = 14 - e; // 13 for the normal path, plus how far below the normal range
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let out = mant >>> shift;
    if (rest > half || (rest === half && out & 1)) out += 1; // carry into the exponent is correct
    return sign | out;
  }
  const rest = mant & 0x1fff;
  let out = (e << 10) | (mant >>> 13);
  if (rest > 0x1000 || (rest === 0x1000 && out & 1)) out += 1; // may carry to Inf, which is correct
  return sign | out;
}

/** bfloat16 bits → number (exact: bf16 is the top half of a float32). */
export function bfloat16BitsToNumber(h: number): number {
  u32Scratch[0] = (h & 0xffff) << 16;
  return f32Scratch[0]!;
}

/** number → bfloat16 bits, rounding to nearest-even (as torch does); NaN stays NaN. */
export function numberToBfloat16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) | 0x40) & 0xffff; // quiet NaN
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

// ---------------------------------------------------------------------------------------------
// Decoding

function elementCount(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Parse and fully validate a header. `headerBytes` is the JSON (without the 8-byte length);
 * `dataLength` is the size of the data block that follows it.
 */
function parseHeader(
  headerBytes: Uint8Array,
  dataLength: number,
  file: string | undefined,
): { entries: Map<string, SafetensorsHeaderEntry>; metadata: Record<string, string> } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError(file, 'header is not valid UTF-8 (not a safetensors file?)');
  }
  // The spec requires the JSON to start with '{'; checking it first gives a clearer message
  // for foreign files than a JSON syntax error would.
  if (!text.startsWith('{')) throw new SafetensorsError(file, 'header does not start with "{" (not a safetensors file?)');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(file, `header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(json)) throw new SafetensorsError(file, 'header is not a JSON object');

  const metadata: Record<string, string> = {};
  const entries = new Map<string, SafetensorsHeaderEntry>();
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(raw)) throw new SafetensorsError(file, '__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') throw new SafetensorsError(file, `__metadata__["${k}"] is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (!isPlainObject(raw)) throw new SafetensorsError(file, 'header entry is not an object', name);
    const { dtype, shape, data_offsets: offsets } = raw;
    if (typeof dtype !== 'string') throw new SafetensorsError(file, 'missing "dtype"', name);
    const info = DTYPES[dtype];
    if (!info) {
      throw new SafetensorsError(file, `unsupported dtype ${dtype} (supported: ${Object.keys(DTYPES).join(', ')})`, name);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      throw new SafetensorsError(file, `"shape" must be an array of non-negative integers, got ${JSON.stringify(shape)}`, name);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
      throw new SafetensorsError(file, `"data_offsets" must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) {
      throw new SafetensorsError(file, `data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes; truncated file?)`, name);
    }
    const expected = elementCount(shape as number[]) * info.bytes;
    if (end - begin !== expected) {
      throw new SafetensorsError(
        file,
        `shape [${(shape as number[]).join(', ')}] × ${dtype} (${info.bytes} bytes) needs ${expected} bytes but data_offsets span ${end - begin}`,
        name,
      );
    }
    entries.set(name, { dtype, shape: [...(shape as number[])], dataOffsets: [begin, end] });
  }

  // Like the reference implementation, require the tensors to tile the data block exactly:
  // an overlap would alias two tensors, and a hole means bytes nobody accounts for (often a
  // duplicated JSON key whose first occurrence JSON.parse silently dropped).
  const sorted = [...entries].sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1]);
  let cursor = 0;
  let previous: string | undefined;
  for (const [name, e] of sorted) {
    const [begin, end] = e.dataOffsets;
    if (begin < cursor) throw new SafetensorsError(file, `data overlaps tensor "${previous}" (begins at ${begin}, "${previous}" ends at ${cursor})`, name);
    if (begin > cursor) throw new SafetensorsError(file, `${begin - cursor} unaccounted bytes before this tensor's data (offset ${cursor}..${begin})`, name);
    cursor = end;
    previous = name;
  }
  if (cursor !== dataLength) {
    throw new SafetensorsError(file, `data block is ${dataLength} bytes but the tensors cover ${cursor} (trailing garbage?)`);
  }
  return { entries, metadata };
}

/** Read the 8-byte header length and check it against what the file can hold. */
function headerLength(prefix: Uint8Array, totalLength: number, file: string | undefined): number {
  if (totalLength < 8) throw new SafetensorsError(file, `only ${totalLength} bytes; a safetensors file starts with an 8-byte header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n < 2n) throw new SafetensorsError(file, `header length ${n} is too small for a JSON object`);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(file, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
  if (n > BigInt(totalLength - 8)) throw new SafetensorsError(file, `header length ${n} runs past the end of the file (${totalLength} bytes; truncated?)`);
  return Number(n);
}

function decodeData(bytes: Uint8Array, dtype: string, count: number): TensorData {
  const info = DTYPES[dtype]!;
  // Copy into a fresh buffer: it guarantees alignment for the typed array and lets the caller
  // drop the (possibly huge) file buffer.
  const copy = bytes.slice();
  if (dtype === 'F16' || dtype === 'BF16') {
    const out = new Float32Array(count);
    const dv = new DataView(copy.buffer);
    const conv = dtype === 'F16' ? float16BitsToNumber : bfloat16BitsToNumber;
    for (let i = 0; i < count; i++) out[i] = conv(dv.getUint16(2 * i, true));
    return out;
  }
  if (LITTLE_ENDIAN || info.bytes === 1) {
    switch (info.array) {
      case 'f32': return new Float32Array(copy.buffer, 0, count);
      case 'f64': return new Float64Array(copy.buffer, 0, count);
      case 'i64': return new BigInt64Array(copy.buffer, 0, count);
      case 'i32': return new Int32Array(copy.buffer, 0, count);
      case 'u8': return copy;
    }
  }
  const dv = new DataView(copy.buffer);
  switch (info.array) {
    case 'f32': return Float32Array.from({ length: count }, (_, i) => dv.getFloat32(4 * i, true));
    case 'f64': return Float64Array.from({ length: count }, (_, i) => dv.getFloat64(8 * i, true));
    case 'i64': return BigInt64Array.from({ length: count }, (_, i) => dv.getBigInt64(8 * i, true));
    case 'i32': return Int32Array.from({ length: count }, (_, i) => dv.getInt32(4 * i, true));
    default: return copy;
  }
}

/**
 * Decode a complete safetensors file held in memory. `file` is only used in error messages.
 * Everything is validated before any tensor is decoded.
 */
export function decodeSafetensors(bytes: Uint8Array, file?: string): DecodedSafetensors {
  const n = headerLength(bytes, bytes.length, file);
  const dataStart = 8 + n;
  const { entries, metadata } = parseHeader(bytes.subarray(8, dataStart), bytes.length - dataStart, file);
  const tensors: NamedTensors = new Map();
  for (const [name, e] of entries) {
    const [begin, end] = e.dataOffsets;
    tensors.set(name, {
      dtype: e.dtype,
      shape: e.shape,
      data: decodeData(bytes.subarray(dataStart + begin, dataStart + end), e.dtype, elementCount(e.shape)),
    });
  }
  return { tensors, metadata };
}

/** Read and decode a safetensors file; errors name the file and the tensor. */
export async function readSafetensors(file: string): Promise<DecodedSafetensors> {
  const bytes = await fs.readFile(file);
  return decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
}

/**
 * Read only the header (names, dtypes, shapes, metadata) of a safetensors file, validated
 * against the file size, without reading the tensor data — cheap enough for a `doctor` scan
 * of multi-hundred-megabyte files.
 */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const handle = await fs.open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const prefix = new Uint8Array(8);
    await handle.read(prefix, 0, Math.min(8, size), 0);
    const n = headerLength(prefix, size, file);
    const headerBytes = new Uint8Array(n);
    await handle.read(headerBytes, 0, n, 8);
    const { entries, metadata } = parseHeader(headerBytes, size - 8 - n, file);
    return { entries, metadata, dataStart: 8 + n };
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

function checkDataMatches(name: string, t: NamedTensor): DtypeInfo {
  const info = DTYPES[t.dtype];
  if (!info) throw new SafetensorsError(undefined, `cannot write dtype ${t.dtype} (supported: ${Object.keys(DTYPES).join(', ')})`, name);
  if (!Array.isArray(t.shape) || !t.shape.every(isCount)) {
    throw new SafetensorsError(undefined, `shape must be non-negative integers, got ${JSON.stringify(t.shape)}`, name);
  }
  const ok =
    info.array === 'f32' ? t.data instanceof Float32Array || t.data instanceof Float64Array
    : info.array === 'f64' ? t.data instanceof Float64Array || t.data instanceof Float32Array
    : info.array === 'i64' ? t.data instanceof BigInt64Array
    : info.array === 'i32' ? t.data instanceof Int32Array
    : t.data instanceof Uint8Array;
  if (!ok) throw new SafetensorsError(undefined, `dtype ${t.dtype} cannot be written from a ${t.data.constructor.name}`, name);
  const count = elementCount(t.shape);
  if (t.data.length !== count) {
    throw new SafetensorsError(undefined, `shape [${t.shape.join(', ')}] has ${count} elements but data has ${t.data.length}`, name);
  }
  return info;
}

function encodeData(t: NamedTensor, out: Uint8Array): void {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const src = t.data;
  const n = src.length;
  switch (t.dtype) {
    case 'F16':
      for (let i = 0; i < n; i++) dv.setUint16(2 * i, numberToFloat16Bits(Number(src[i])), true);
      return;
    case 'BF16':
      for (let i = 0; i < n; i++) dv.setUint16(2 * i, numberToBfloat16Bits(Number(src[i])), true);
      return;
    case 'F32':
      if (LITTLE_ENDIAN && src instanceof Float32Array) out.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
      else for (let i = 0; i < n; i++) dv.setFloat32(4 * i, Number(src[i]), true);
      return;
    case 'F64':
      if (LITTLE_ENDIAN && src instanceof Float64Array) out.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
      else for (let i = 0; i < n; i++) dv.setFloat64(8 * i, Number(src[i]), true);
      return;
    case 'I64':
      for (let i = 0; i < n; i++) dv.setBigInt64(8 * i, (src as BigInt64Array)[i]!, true);
      return;
    case 'I32':
      for (let i = 0; i < n; i++) dv.setInt32(4 * i, (src as Int32Array)[i]!, true);
      return;
    default: // U8, BOOL
      out.set(src as Uint8Array);
  }
}

/**
 * Encode tensors (and an optional string→string metadata map) as safetensors bytes.
 *
 * Tensors are laid out by decreasing element size (stable, so otherwise in the Map's order),
 * as the reference writer does: with an 8-aligned data block every tensor is then aligned to
 * its element size, which lets zero-copy readers map it directly.
 */
export function encodeSafetensors(tensors: NamedTensors, metadata?: Record<string, string>): Uint8Array {
  const items = [...tensors].map(([name, t]) => ({ name, t, info: checkDataMatches(name, t) }));
  if (tensors.has('__metadata__')) throw new SafetensorsError(undefined, 'the name "__metadata__" is reserved', '__metadata__');
  items.sort((a, b) => b.info.bytes - a.info.bytes);

  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(undefined, `metadata "${k}" must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  const placed = items.map((item) => {
    const size = item.t.data.length * item.info.bytes;
    const begin = offset;
    offset += size;
    header[item.name] = { dtype: item.t.dtype, shape: item.t.shape, data_offsets: [begin, offset] };
    return { ...item, begin, size };
  });

  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded); // the spec pads with spaces, which JSON ignores
  const dataStart = 8 + padded;
  for (const p of placed) encodeData(p.t, out.subarray(dataStart + p.begin, dataStart + p.begin + p.size));
  return out;
}

/**
 * Write a safetensors file atomically: the bytes go to a temporary file in the same folder
 * (same filesystem, so the rename cannot degrade into a copy), are fsynced, then renamed over
 * `file`. A crash or a full disk therefore leaves either the old file or the new one, never a
 * truncated file that a later run would try to load.
 */
export async function writeSafetensors(file: string, tensors: NamedTensors, metadata?: Record<string, string>): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata);
  try {
    await writeFileAtomic(file, bytes);
  } catch (e) {
    throw new SafetensorsError(file, `write failed: ${(e as Error).message}`);
  }
}
