/** Bad input raises a TypeScript Error naming the op and the shapes; the process survives. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, zeros, randn, F, tidy, keep, scopeDepth } from '../../src/engine/index.js';

test('mismatched shapes name the op and both shapes', () => {
  assert.throws(() => zeros([2, 3]).add(zeros([4, 5])), /add\(\[2,3\] float32, \[4,5\] float32\).*size of tensor a \(3\) must match/s);
  assert.throws(() => zeros([2, 3]).matmul(zeros([4, 5])), /matmul\(\[2,3\] float32, \[4,5\] float32\)/);
  assert.throws(() => F.conv2d(zeros([1, 2, 8, 8]), zeros([4, 3, 3, 3])), /conv2d\(\[1,2,8,8\] float32, \[4,3,3,3\] float32.*expected input\[1, 2, 8, 8\] to have 3 channels/s);
  assert.throws(() => zeros([2, 2]).bmm(zeros([2, 2])), /bmm\(\[2,2\] float32, \[2,2\] float32\)/);
});

test('wrong dtype is an Error, not an abort', () => {
  const a = tensor(new Uint8Array([1, 2, 3]), [3]);
  assert.throws(() => F.conv2d(zeros([1, 1, 3, 3], { dtype: 'uint8' }), zeros([1, 1, 3, 3])), /conv2d\(\[1,1,3,3\] uint8, \[1,1,3,3\] float32/);
  assert.throws(() => a.sqrt().backward(), /backward/);
  assert.throws(() => zeros([2], { dtype: 'nonsense' as never }), /unknown dtype 'nonsense'/);
});

test('out-of-range dims', () => {
  assert.throws(() => zeros([2, 3]).sum([5]), /sum\(\[2,3\] float32, \[5\], false\).*Dimension out of range/s);
  assert.throws(() => zeros([2, 3]).transpose(0, 7), /transpose/);
  assert.throws(() => zeros([2, 3]).narrow(1, 2, 5), /narrow/);
});

test('disposed tensors are reported, not dereferenced', () => {
  const t = zeros([2, 2]);
  t.dispose();
  assert.equal(t.isDisposed, true);
  assert.throws(() => t.add(1), /add: argument 0 is a disposed tensor/);
  assert.throws(() => t.shape, /disposed/);
  t.dispose(); // idempotent
});

test('argument type errors', () => {
  assert.throws(() => tensor(new Float32Array(5), [2, 2]), /5 elements but shape \[2,2\] needs 4/);
  assert.throws(() => zeros([-1]), /non-negative integers/);
  assert.throws(() => zeros([2]).reshape([2.5] as never), /reshape: argument 1 element 0 must be an integer/);
  assert.throws(() => F.pad(zeros([1, 1, 2, 2]), [5, 5, 5, 5], 'reflect'), /pad\(.*reflect/);
  assert.throws(() => zeros([3], { requiresGrad: true }).mul(2).backward(), /gradient can be implicit only/);
  assert.throws(() => zeros([1]).item.call(zeros([2])), /exactly one element/);
});

test('tidy disposes intermediates, keeps returned and kept tensors, also on throw', () => {
  let inner: ReturnType<typeof zeros> | undefined;
  let kept: ReturnType<typeof zeros> | undefined;
  const out = tidy(() => {
    inner = randn([4]);
    kept = keep(randn([4]));
    return { a: inner.add(1), list: [inner.mul(2)] };
  });
  assert.equal(inner!.isDisposed, true);
  assert.equal(kept!.isDisposed, false);
  assert.equal(out.a.isDisposed, false);
  assert.equal(out.list[0]!.isDisposed, false);
  let leaked: ReturnType<typeof zeros> | undefined;
  assert.throws(() => tidy(() => {
    leaked = zeros([3]);
    throw new Error('boom');
  }), /boom/);
  assert.equal(leaked!.isDisposed, true);
  assert.equal(scopeDepth(), 0);
  assert.throws(() => tidy(() => Promise.resolve(1) as never), /synchronous/);
});
