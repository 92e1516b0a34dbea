/**
 * A minimal, safe Python unpickler: enough of the pickle machine (protocols 0–5) to read a
 * PyTorch state dict, and nothing that can run code.
 *
 * Python's own unpickler imports and calls whatever the pickle names (`os.system` included),
 * which is why loading an untrusted `.pth` with `torch.load` is dangerous. Here a GLOBAL can
 * only resolve to an entry of the caller's allowlist, and REDUCE can only call the handlers that
 * allowlist provides (plain TypeScript functions building plain data), BUILD only sets a
 * dict's attributes or goes to the caller's `build` hook; every other global, and every opcode
 * that would instantiate arbitrary classes (NEWOBJ, INST, OBJ, EXT*), is refused with an error
 * naming it.
 *
 * Python values map to: None → null, bool → boolean, int → number (bigint beyond 2^53),
 * float → number, str → string, bytes → Uint8Array, tuple → frozen array, list → array,
 * dict → Map.
 */

export class PickleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleError';
  }
}

/** What an allowed global resolves to: a callable for REDUCE, or a plain value (e.g. a type tag). */
export type AllowedGlobal = { call: (args: readonly unknown[]) => unknown } | { value: unknown };

export interface UnpickleOptions {
  /** `"module.name"` → what the global stands for. Anything not listed is refused. */
  globals: Record<string, AllowedGlobal>;
  /**
   * BUILD (`obj.__setstate__(state)`) on something other than a dict: return true after updating
   * `obj` in place (the memo may hold it), false to refuse. Old PyTorch pickled tensors this way.
   */
  build?: (obj: unknown, state: unknown) => boolean;
  /** Resolves persistent ids (PyTorch uses them for tensor storages); without it they are refused. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Where the pickle starts in `bytes` (files can hold several pickles back to back). */
  start?: number;
  /** Used in error messages. */
  what?: string;
}

/** The value pushed for an allowed callable global; REDUCE calls it. */
class Callable {
  constructor(
    readonly qualname: string,
    readonly call: (args: readonly unknown[]) => unknown,
  ) {}
}

const MARK = Symbol('mark');

/** Instance attributes set by BUILD on a dict (e.g. a state dict's `_metadata`); kept out of the Map itself. */
export const pickleAttributes = new WeakMap<object, unknown>();

function toNumber(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Little-endian two's-complement integer of arbitrary length (LONG1 / LONG4). */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return toNumber(v);
}

/**
 * Run one pickle from `bytes` (at `options.start`) and return its value and the offset just
 * after its STOP opcode.
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): { value: unknown; end: number } {
  const what = options.what ?? 'pickle';
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const latin1 = new TextDecoder('latin1');
  let pos = options.start ?? 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (msg: string, at = pos): never => {
    throw new PickleError(`${what}: ${msg} (at byte ${at})`);
  };
  const need = (n: number): void => {
    if (n < 0 || pos + n > bytes.length) fail(`truncated: needs ${n} more bytes`);
  };
  const u8 = (): number => { need(1); return bytes[pos++]!; };
  const u16 = (): number => { need(2); const v = dv.getUint16(pos, true); pos += 2; return v; };
  const i32 = (): number => { need(4); const v = dv.getInt32(pos, true); pos += 4; return v; };
  const u32 = (): number => { need(4); const v = dv.getUint32(pos, true); pos += 4; return v; };
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) fail(`length ${v} exceeds the data`);
    return Number(v);
  };
  const take = (n: number): Uint8Array => { need(n); const b = bytes.subarray(pos, pos + n); pos += n; return b; };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated text argument');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const str = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch {
      return fail('invalid UTF-8 in a string');
    }
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('stack underflow (corrupt pickle)');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow (corrupt pickle)');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) fail('MARK missing (corrupt pickle)');
    stack = prev!;
    return items;
  };
  const resolveGlobal = (module: string, name: string): unknown => {
    const qualname = `${module}.${name}`;
    const g = options.globals[qualname];
    if (!g) {
      const allowed = Object.keys(options.globals);
      const list = allowed.length <= 3 ? allowed.join(', ') || 'no globals' : `${allowed.length} globals (${allowed.slice(0, 3).join(', ')}, …)`;
      fail(`refusing to load global ${qualname}: only ${list} are allowed; this reader accepts plain data (state dicts of tensors), never pickled code or classes`);
    }
    return 'call' in g! ? new Callable(qualname, g.call) : g!.value;
  };
  const asDict = (d: unknown, op: string): Map<unknown, unknown> => {
    if (!(d instanceof Map)) fail(`${op} on a non-dict`);
    return d as Map<unknown, unknown>;
  };
  const setItems = (d: Map<unknown, unknown>, items: unknown[]): void => {
    if (items.length % 2) fail('odd number of items for SETITEMS');
    for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
  };
  const asList = (l: unknown, op: string): unknown[] => {
    if (!Array.isArray(l) || Object.isFrozen(l)) fail(`${op} on a non-list`);
    return l as unknown[];
  };
  const persistent = (pid: unknown): unknown => {
    if (!options.persistentLoad) fail('persistent ids are not allowed here');
    return options.persistentLoad!(pid);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('unsupported pickle protocol', at);
        break;
      case 0x95: // FRAME: framing is only a read-ahead hint
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || metastack.length) fail('malformed pickle: STOP with an unbalanced stack', at);
        return { value: stack[0], end: pos };
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        if (stack.length) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;

      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(decodeLong(take(u8()))); break; // LONG1
      case 0x8b: { // LONG4
        const n = i32();
        if (n < 0) fail('negative LONG4 length', at);
        stack.push(decodeLong(take(n)));
        break;
      }
      case 0x49: { // INT (protocol 0 text; "01"/"00" are True/False)
        const s = line().trim();
        if (s === '01' || s === '00') stack.push(s === '01');
        else if (/^[-+]?\d+$/.test(s)) stack.push(toNumber(BigInt(s)));
        else fail(`bad INT ${JSON.stringify(s)}`, at);
        break;
      }
      case 0x4c: { // LONG (protocol 0 text)
        const s = line().trim().replace(/L$/, '');
        if (!/^[-+]?\d+$/.test(s)) fail(`bad LONG ${JSON.stringify(s)}`, at);
        stack.push(toNumber(BigInt(s)));
        break;
      }
      case 0x47: { // BINFLOAT (big-endian double)
        need(8);
        stack.push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      }

      case 0x58: stack.push(str(take(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(str(take(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(str(take(u64()))); break; // BINUNICODE8
      // Python 2 `str` (BINSTRING/SHORT_BINSTRING): old torch files have their keys this way.
      case 0x54: stack.push(latin1.decode(take(u32()))); break; // BINSTRING
      case 0x55: stack.push(latin1.decode(take(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(take(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(take(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: stack.push(take(u64()).slice()); break; // BINBYTES8

      case 0x29: stack.push(Object.freeze([])); break; // EMPTY_TUPLE
      case 0x74: { const items = popMark(); stack.push(Object.freeze(items)); break; } // TUPLE (popMark swaps `stack`: call it first)
      case 0x85: stack.push(Object.freeze([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(Object.freeze([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(Object.freeze([a, b, c])); break; } // TUPLE3
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: { const items = popMark(); stack.push(items); break; } // LIST
      case 0x61: { const v = pop(); asList(top(), 'APPEND').push(v); break; } // APPEND
      case 0x65: { const items = popMark(); asList(top(), 'APPENDS').push(...items); break; } // APPENDS
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x64: { const d = new Map(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); asDict(top(), 'SETITEM').set(k, v); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(asDict(top(), 'SETITEMS'), items); break; } // SETITEMS

      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings', at);
        stack.push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE: callable(*args)
        const args = pop();
        const fn = pop();
        if (!(fn instanceof Callable)) fail('REDUCE on something that is not an allowed callable', at);
        if (!Array.isArray(args)) fail(`REDUCE ${(fn as Callable).qualname}: arguments are not a tuple`, at);
        try {
          stack.push((fn as Callable).call(args as unknown[]));
        } catch (e) {
          if (e instanceof PickleError) throw e;
          fail(`${(fn as Callable).qualname}: ${(e as Error).message}`, at);
        }
        break;
      }
      case 0x62: { // BUILD: obj.__setstate__(state)
        const state = pop();
        const obj = top();
        if (obj instanceof Map && (state === null || state instanceof Map)) {
          // Attribute dict of a dict subclass, e.g. an OrderedDict state dict's _metadata.
          if (state) pickleAttributes.set(obj, state);
        } else if (!options.build?.(obj, state)) {
          fail('BUILD is only allowed on dicts and on objects the caller knows how to build', at);
        }
        break;
      }
      case 0x51: stack.push(persistent(pop())); break; // BINPERSID
      case 0x50: stack.push(persistent(line())); break; // PERSID

      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x70: memo.set(Number(line()), top()); break; // PUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: case 0x67: { // BINGET, LONG_BINGET, GET
        const key = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(line());
        if (!memo.has(key)) fail(`memo entry ${key} missing (corrupt pickle)`, at);
        stack.push(memo.get(key));
        break;
      }

      default: {
        const names: Record<number, string> = {
          0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX', 0x69: 'INST', 0x6f: 'OBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4',
          0x53: 'STRING', 0x56: 'UNICODE', 0x46: 'FLOAT', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
          0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET',
        };
        fail(`opcode ${names[op] ?? `0x${op.toString(16)}`} is not supported by this restricted unpickler (not a plain state dict?)`, at);
      }
    }
  }
}
