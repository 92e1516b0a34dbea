import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PickleError, pickleAttributes, unpickle, type AllowedGlobal } from './pickle.js';
import { pythonMissing, runPython } from '../../../../test/python-fixtures.js';

const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const ODICT: Record<string, AllowedGlobal> = { 'collections.OrderedDict': { call: () => new Map() } };

test('refuses globals outside the allowlist, naming them (the os.system exploit)', () => {
  // pickle.dumps of an object whose __reduce__ is (os.system, ('echo pwned',)), protocol 2.
  const evil = bytes('\x80\x02cposix\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.');
  assert.throws(() => unpickle(evil, { globals: ODICT, what: 'evil.pth' }), (e: Error) => {
    assert.ok(e instanceof PickleError);
    assert.match(e.message, /^evil\.pth: refusing to load global posix\.system: only collections\.OrderedDict are allowed/);
    return true;
  });
  // STACK_GLOBAL (protocol 4) goes through the same check.
  const evil4 = bytes('\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94.');
  assert.throws(() => unpickle(evil4, { globals: ODICT }), /refusing to load global builtins\.eval/);
});

test('refuses opcodes that instantiate classes or call non-allowlisted things', () => {
  // NEWOBJ on an allowed global must not become a constructor call.
  assert.throws(() => unpickle(bytes('\x80\x02ccollections\nOrderedDict\n)\x81.'), { globals: ODICT }), /opcode NEWOBJ is not supported/);
  // INST (protocol 0 instance creation) names module and class itself.
  assert.throws(() => unpickle(bytes('(ios\nsystem\n.'), { globals: ODICT }), /opcode INST is not supported/);
  // REDUCE on a plain value (not an allowed callable).
  assert.throws(() => unpickle(bytes('\x80\x02K\x01)R.'), { globals: {} }), /REDUCE on something that is not an allowed callable/);
  // BUILD on a non-dict without a build hook.
  assert.throws(() => unpickle(bytes('\x80\x02]}b.'), { globals: {} }), /BUILD is only allowed/);
  // Persistent ids without a resolver.
  assert.throws(() => unpickle(bytes('\x80\x02K\x01Q.'), { globals: {} }), /persistent ids are not allowed/);
});

test('corrupt input fails cleanly, never reads out of bounds', () => {
  assert.throws(() => unpickle(bytes('\x80\x02X\xff\x00\x00\x00ab'), { globals: {} }), /truncated/);
  assert.throws(() => unpickle(bytes('\x80\x02h\x05.'), { globals: {} }), /memo entry 5 missing/);
  assert.throws(() => unpickle(bytes('\x80\x02s.'), { globals: {} }), /stack underflow/);
  assert.throws(() => unpickle(bytes('\x80\x02K\x01K\x02.'), { globals: {} }), /unbalanced stack/);
  assert.throws(() => unpickle(bytes('\x80\x02'), { globals: {} }), /truncated/);
});

test('decodes the data opcodes: ints, longs, floats, strings (py2 and py3), containers, memo', () => {
  // {'a': (1, -2, 300, 2**40, True, None), b'k': [1.5], 'é': 'x'} built by hand, plus py2 SHORT_BINSTRING.
  const p = bytes(
    '\x80\x02}q\x00(X\x01\x00\x00\x00a(K\x01J\xfe\xff\xff\xffM\x2c\x01\x8a\x06\x00\x00\x00\x00\x00\x01\x88Nt' +
      'U\x02py]q\x01G?\xf8\x00\x00\x00\x00\x00\x00a' +
      'X\x02\x00\x00\x00\xc3\xa9h\x01u.',
  );
  const { value, end } = unpickle(p, { globals: {} });
  assert.equal(end, p.length);
  const m = value as Map<unknown, unknown>;
  assert.deepEqual(m.get('a'), [1, -2, 300, 2 ** 40, true, null]);
  assert.ok(Object.isFrozen(m.get('a')), 'tuples are frozen');
  assert.deepEqual(m.get('py'), [1.5]);
  assert.equal(m.get('é'), m.get('py'), 'memo returns the same object');
  // Negative and huge LONG1 values.
  assert.equal(unpickle(bytes('\x80\x02\x8a\x01\xff.'), { globals: {} }).value, -1);
  assert.equal(unpickle(bytes('\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.'), { globals: {} }).value, 0x1950a86a20f9469cfc6cn);
});

test('OrderedDict with BUILD attributes, several pickles back to back', () => {
  // OrderedDict() ; setitems ; BUILD {'_metadata': {}} ; then a second pickle: 7
  const p = bytes('\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x01\x00\x00\x00kK\x05s}X\x09\x00\x00\x00_metadata}sb.\x80\x02K\x07.');
  const first = unpickle(p, { globals: ODICT });
  const d = first.value as Map<unknown, unknown>;
  assert.deepEqual([...d], [['k', 5]]);
  assert.ok(pickleAttributes.get(d) instanceof Map);
  assert.equal(unpickle(p, { globals: {}, start: first.end }).value, 7);
});

test('matches Python\'s pickle for protocols 2–5', { skip: pythonMissing(['json']) }, () => {
  const out = runPython(`
import pickle, json, sys, collections
data = {'ints': [0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31, 2**53 - 1], 'float': [0.1, -2.5e300],
        'str': ['', 'ascii', 'ünï', 'x' * 300], 'nested': {'t': (1, (2, 3), ()), 'l': [[], [None, True, False]]},
        'od': collections.OrderedDict([('b', 1), ('a', 2)])}
shared = [1, 2]
data['shared'] = [shared, shared]
print(json.dumps({str(p): pickle.dumps(data, protocol=p).hex() for p in (2, 3, 4, 5)}))
`);
  const dumps = JSON.parse(out) as Record<string, string>;
  for (const [protocol, hex] of Object.entries(dumps)) {
    const { value } = unpickle(Uint8Array.from(Buffer.from(hex, 'hex')), { globals: ODICT, what: `protocol ${protocol}` });
    const m = value as Map<string, unknown>;
    assert.deepEqual(m.get('ints'), [0, 1, -1, 255, 256, 65535, 65536, -(2 ** 31), 2 ** 31, 2 ** 53 - 1], protocol);
    assert.deepEqual(m.get('float'), [0.1, -2.5e300], protocol);
    assert.deepEqual(m.get('str'), ['', 'ascii', 'ünï', 'x'.repeat(300)], protocol);
    const nested = m.get('nested') as Map<string, unknown>;
    assert.deepEqual(nested.get('t'), [1, [2, 3], []], protocol);
    assert.deepEqual(nested.get('l'), [[], [null, true, false]], protocol);
    assert.deepEqual([...(m.get('od') as Map<string, number>)], [['b', 1], ['a', 2]], protocol);
    const shared = m.get('shared') as unknown[][];
    assert.equal(shared[0], shared[1], `${protocol}: memoised object is shared`);
  }
});
