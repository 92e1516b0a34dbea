/**
 * Reading `torch.save` checkpoints holding a state dict, without PyTorch and without running the
 * pickle (see ./pickle.ts). Two containers exist:
 *
 * - zip (PyTorch ≥ 1.6): `<prefix>/data.pkl` (the pickle) and `<prefix>/data/<key>` (one raw,
 *   little-endian record per storage), plus `<prefix>/byteorder` in recent versions;
 * - legacy (older releases, e.g. the 2017 torchvision model-zoo files): back-to-back pickles —
 *   magic number, protocol version, sys info, the object, the list of storage keys — followed by
 *   each storage as an int64 element count and its raw bytes.
 *
 * In both, a tensor is pickled as `torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
 * …)` whose storage is a persistent id `('storage', torch.FloatStorage, key, location, numel)`.
 * Tensors are described first ({@link TorchTensorRef}) and only the storages actually needed are
 * decoded, so the classifier of a VGG checkpoint (~400 MB) is never copied.
 */
import { unzipSync } from 'fflate';
import { bfloat16BitsToNumber, float16BitsToNumber } from '../../../nn/safetensors.js';
import { PickleError, unpickle, type AllowedGlobal } from './pickle.js';

/** A torch storage class as named in the pickle (torch.FloatStorage, …). */
export class TorchStorageType {
  constructor(
    readonly name: string,
    readonly dtype: string,
    readonly bytes: number,
  ) {}
}

const STORAGE_TYPES: TorchStorageType[] = [
  new TorchStorageType('FloatStorage', 'float32', 4),
  new TorchStorageType('DoubleStorage', 'float64', 8),
  new TorchStorageType('HalfStorage', 'float16', 2),
  new TorchStorageType('BFloat16Storage', 'bfloat16', 2),
  new TorchStorageType('LongStorage', 'int64', 8),
  new TorchStorageType('IntStorage', 'int32', 4),
  new TorchStorageType('ShortStorage', 'int16', 2),
  new TorchStorageType('CharStorage', 'int8', 1),
  new TorchStorageType('ByteStorage', 'uint8', 1),
  new TorchStorageType('BoolStorage', 'bool', 1),
];

class StorageRef {
  constructor(
    readonly type: TorchStorageType,
    readonly key: string,
    readonly numel: number,
  ) {}
}

/** A tensor of the state dict, not yet read. */
export class TorchTensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
  get dtype(): string {
    return this.storage.type.dtype;
  }
}

/**
 * PyTorch before 0.3 pickled a tensor as `torch.FloatTensor()` followed by BUILD with
 * `(storage, offset, size, stride)`; this is the empty tensor until BUILD fills it in.
 */
class LegacyTensorShell {
  tensor?: TorchTensorRef;
}

/** The tensor a state-dict value stands for, whichever way it was pickled. */
export function asTensorRef(v: unknown): TorchTensorRef | undefined {
  if (v instanceof TorchTensorRef) return v;
  if (v instanceof LegacyTensorShell) return v.tensor;
  return undefined;
}

export class TorchCheckpointError extends Error {
  constructor(
    readonly file: string,
    reason: string,
    readonly tensor?: string,
  ) {
    super(`${file}: ${tensor !== undefined ? `tensor ${tensor}: ` : ''}${reason}`);
    this.name = 'TorchCheckpointError';
  }
}

export interface TorchCheckpoint {
  container: 'zip' | 'legacy';
  /** The unpickled top-level object: for a state dict, a Map from names to {@link TorchTensorRef}s. */
  root: unknown;
  /** Read tensors as float32 (floating-point storages only), decoding each storage once. */
  readFloat32(tensors: Array<{ name: string; ref: TorchTensorRef }>): Float32Array[];
}

function isIntArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0);
}

function rebuildTensor(args: readonly unknown[]): TorchTensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) throw new Error('storage argument is not a storage');
  if (typeof offset !== 'number' || !isIntArray(size) || !isIntArray(stride) || size.length !== stride.length) {
    throw new Error('malformed tensor (offset/size/stride)');
  }
  return new TorchTensorRef(storage, offset, [...size], [...stride]);
}

/** Exactly the globals a state dict of plain tensors needs. */
const GLOBALS: Record<string, AllowedGlobal> = {
  'collections.OrderedDict': {
    call: (args) => {
      const m = new Map<unknown, unknown>();
      const items = args[0];
      if (Array.isArray(items)) for (const kv of items) if (Array.isArray(kv) && kv.length === 2) m.set(kv[0], kv[1]);
      return m;
    },
  },
  // v2 (PyTorch ≥ 0.4): (storage, offset, size, stride, requires_grad, backward_hooks[, metadata]);
  // v1 (older checkpoints): (storage, offset, size, stride).
  'torch._utils._rebuild_tensor_v2': { call: rebuildTensor },
  'torch._utils._rebuild_tensor': { call: rebuildTensor },
  // nn.Parameter saved directly: (data, requires_grad, backward_hooks) — the data is all we need.
  'torch._utils._rebuild_parameter': { call: (args) => args[0] },
  // A tuple subclass; some versions pickle tensor sizes as torch.Size((…)).
  'torch.Size': { call: (args) => Object.freeze([...((args[0] as unknown[] | undefined) ?? [])]) },
  // Pre-0.3 tensors: the empty tensor of a type, filled by BUILD (see LegacyTensorShell).
  ...Object.fromEntries(
    ['Float', 'Double', 'Half', 'BFloat16', 'Long', 'Int', 'Short', 'Char', 'Byte', 'Bool'].map((t) => [`torch.${t}Tensor`, { call: () => new LegacyTensorShell() }]),
  ),
  ...Object.fromEntries(STORAGE_TYPES.map((t) => [`torch.${t.name}`, { value: t }])),
};

function buildLegacyTensor(obj: unknown, state: unknown): boolean {
  if (!(obj instanceof LegacyTensorShell) || !Array.isArray(state)) return false;
  obj.tensor = rebuildTensor(state);
  return true;
}

function makePersistentLoad(seen: Map<string, StorageRef>) {
  return (pid: unknown): StorageRef => {
    // ('storage', storage_type, key, location, numel) — the legacy format adds view_metadata.
    if (!Array.isArray(pid) || pid[0] !== 'storage' || !(pid[1] instanceof TorchStorageType) || typeof pid[2] !== 'string' || typeof pid[4] !== 'number') {
      throw new PickleError(`unexpected persistent id ${JSON.stringify(pid, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
    }
    if (pid.length > 5 && pid[5] !== null) {
      throw new PickleError(`storage ${pid[2]} is a legacy storage view, which is not supported; re-save the state dict with a current PyTorch`);
    }
    const ref = seen.get(pid[2]) ?? new StorageRef(pid[1], pid[2], pid[4]);
    if (ref.type !== pid[1]) throw new PickleError(`storage ${pid[2]} is referenced with two different types`);
    seen.set(pid[2], ref);
    return ref;
  };
}

/** Decode `count` elements of a floating-point storage's raw little-endian bytes to float32. */
function toFloat32(bytes: Uint8Array, type: TorchStorageType, count: number): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  switch (type.dtype) {
    case 'float32': for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true); break;
    case 'float64': for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, true); break;
    case 'float16': for (let i = 0; i < count; i++) out[i] = float16BitsToNumber(dv.getUint16(2 * i, true)); break;
    case 'bfloat16': for (let i = 0; i < count; i++) out[i] = bfloat16BitsToNumber(dv.getUint16(2 * i, true)); break;
    default: throw new Error(`dtype ${type.dtype} is not floating point`);
  }
  return out;
}

/**
 * Slice a tensor out of its storage. Only contiguous (row-major) tensors are accepted — that
 * is what `state_dict()` of a freshly built network holds; a transposed view would need a
 * gather, and silently reading it as contiguous would scramble the weights.
 */
function sliceTensor(file: string, name: string, ref: TorchTensorRef, storageBytes: Uint8Array): Float32Array {
  const count = ref.shape.reduce((a, b) => a * b, 1);
  let expected = 1;
  for (let d = ref.shape.length - 1; d >= 0; d--) {
    if (ref.shape[d]! !== 1 && ref.stride[d] !== expected) {
      throw new TorchCheckpointError(file, `is not contiguous (shape [${ref.shape.join(', ')}], stride [${ref.stride.join(', ')}]); save it with .contiguous()`, name);
    }
    expected *= ref.shape[d]!;
  }
  const type = ref.storage.type;
  if (count > 0 && ref.offset + count > ref.storage.numel) {
    throw new TorchCheckpointError(file, `elements ${ref.offset}..${ref.offset + count} lie outside its storage of ${ref.storage.numel}`, name);
  }
  if (storageBytes.length < ref.storage.numel * type.bytes) {
    throw new TorchCheckpointError(file, `storage ${ref.storage.key} has ${storageBytes.length} bytes, expected ${ref.storage.numel * type.bytes} (truncated file?)`, name);
  }
  if (!['float32', 'float64', 'float16', 'bfloat16'].includes(type.dtype)) {
    throw new TorchCheckpointError(file, `has dtype ${type.dtype}, expected a floating-point tensor`, name);
  }
  const start = ref.offset * type.bytes;
  return toFloat32(storageBytes.subarray(start, start + count * type.bytes), type, count);
}

function openZip(file: string, bytes: Uint8Array): TorchCheckpoint {
  let records: Record<string, Uint8Array>;
  try {
    records = unzipSync(bytes, { filter: (f) => /^[^/]+\/(data\.pkl|byteorder)$/.test(f.name) });
  } catch (e) {
    throw new TorchCheckpointError(file, `not a readable zip archive: ${(e as Error).message}`);
  }
  const pkl = Object.keys(records).filter((n) => n.endsWith('/data.pkl'));
  if (pkl.length !== 1) {
    throw new TorchCheckpointError(file, pkl.length ? `holds ${pkl.length} data.pkl records` : 'is a zip without <name>/data.pkl: not a PyTorch checkpoint');
  }
  const prefix = pkl[0]!.slice(0, -'data.pkl'.length);
  const byteorder = records[`${prefix}byteorder`];
  if (byteorder && new TextDecoder().decode(byteorder).trim() !== 'little') {
    throw new TorchCheckpointError(file, 'was saved on a big-endian machine; only little-endian checkpoints are supported');
  }
  const seen = new Map<string, StorageRef>();
  const { value } = unpickle(records[pkl[0]!]!, { globals: GLOBALS, build: buildLegacyTensor, persistentLoad: makePersistentLoad(seen), what: pkl[0]! });
  return {
    container: 'zip',
    root: value,
    readFloat32(tensors) {
      const wanted = new Set(tensors.map((t) => `${prefix}data/${t.ref.storage.key}`));
      const storages = unzipSync(bytes, { filter: (f) => wanted.has(f.name) });
      return tensors.map(({ name, ref }) => {
        const record = storages[`${prefix}data/${ref.storage.key}`];
        if (!record) throw new TorchCheckpointError(file, `storage record data/${ref.storage.key} is missing from the archive`, name);
        return sliceTensor(file, name, ref, record);
      });
    },
  };
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

function openLegacy(file: string, bytes: Uint8Array): TorchCheckpoint {
  const what = 'legacy torch.save pickle';
  const magic = unpickle(bytes, { globals: {}, what });
  if (magic.value !== LEGACY_MAGIC) throw new TorchCheckpointError(file, 'is a pickle but not a PyTorch checkpoint (wrong magic number)');
  const protocol = unpickle(bytes, { globals: {}, start: magic.end, what });
  if (protocol.value !== 1001) throw new TorchCheckpointError(file, `has unsupported legacy protocol version ${String(protocol.value)}`);
  const sysInfo = unpickle(bytes, { globals: {}, start: protocol.end, what });
  if (sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false) {
    throw new TorchCheckpointError(file, 'was saved on a big-endian machine; only little-endian checkpoints are supported');
  }
  const seen = new Map<string, StorageRef>();
  const main = unpickle(bytes, { globals: GLOBALS, build: buildLegacyTensor, persistentLoad: makePersistentLoad(seen), start: sysInfo.end, what });
  const keys = unpickle(bytes, { globals: {}, start: main.end, what });
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) {
    throw new TorchCheckpointError(file, 'storage key list is malformed');
  }
  // Storages follow in key order: int64 element count, then the raw data.
  const located = new Map<string, Uint8Array>();
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = keys.end;
  for (const key of keys.value as string[]) {
    const ref = seen.get(key);
    if (!ref) throw new TorchCheckpointError(file, `storage ${key} is listed but never referenced`);
    if (pos + 8 > bytes.length) throw new TorchCheckpointError(file, `storage ${key} is cut off (truncated file?)`);
    const numel = dv.getBigInt64(pos, true);
    if (numel !== BigInt(ref.numel)) throw new TorchCheckpointError(file, `storage ${key} holds ${numel} elements, the pickle says ${ref.numel}`);
    const n = ref.numel * ref.type.bytes;
    if (pos + 8 + n > bytes.length) throw new TorchCheckpointError(file, `storage ${key} is cut off (truncated file?)`);
    located.set(key, bytes.subarray(pos + 8, pos + 8 + n));
    pos += 8 + n;
  }
  return {
    container: 'legacy',
    root: main.value,
    readFloat32(tensors) {
      return tensors.map(({ name, ref }) => {
        const record = located.get(ref.storage.key);
        if (!record) throw new TorchCheckpointError(file, `storage ${ref.storage.key} is missing from the file`, name);
        return sliceTensor(file, name, ref, record);
      });
    },
  };
}

/**
 * Parse a `torch.save` file held in memory (either container). Refuses anything that is not
 * plain data: classes, functions and unknown globals produce an error naming them.
 */
export function openTorchCheckpoint(file: string, bytes: Uint8Array): TorchCheckpoint {
  try {
    if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return openZip(file, bytes);
    if (bytes[0] === 0x80) return openLegacy(file, bytes);
    if (bytes.length > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar') {
      throw new TorchCheckpointError(file, 'is a tar-based checkpoint from PyTorch < 0.1.10, which is not supported; re-save it with a current PyTorch');
    }
  } catch (e) {
    if (e instanceof PickleError) throw new TorchCheckpointError(file, e.message);
    throw e;
  }
  throw new TorchCheckpointError(file, 'is neither a zip nor a pickle: not a PyTorch checkpoint');
}
