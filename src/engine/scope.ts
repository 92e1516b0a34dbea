/**
 * Deterministic memory release: every tensor created inside `tidy(fn)` is disposed when fn
 * returns, except the tensors it returns (which move to the enclosing scope) and those passed
 * to `keep()`. A training step wrapped in tidy frees all of its intermediates at once, instead
 * of waiting for the garbage collector to notice a few small JS objects holding large buffers.
 *
 * Scopes are synchronous on purpose: an `await` inside a scope would let unrelated code
 * register its tensors in it.
 */

export interface Trackable {
  dispose(): void;
  readonly isDisposed: boolean;
}

const stack: Set<Trackable>[] = [];
const kept = new WeakSet<Trackable>();

/** Called by every tensor constructor. */
export function track<T extends Trackable>(t: T): T {
  const top = stack[stack.length - 1];
  if (top) top.add(t);
  return t;
}

/** Exclude a tensor from every scope: its owner (a Module, an optimizer) disposes it. */
export function keep<T extends Trackable>(t: T): T {
  kept.add(t);
  for (const s of stack) s.delete(t);
  return t;
}

/** Number of scopes currently open (for tests). */
export function scopeDepth(): number {
  return stack.length;
}

function collect(value: unknown, out: Set<Trackable>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 4) return;
  if (typeof (value as Trackable).dispose === 'function' && 'isDisposed' in (value as object)) {
    out.add(value as Trackable);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collect(v, out, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, depth + 1);
}

/**
 * Run fn in a new scope. Tensors in its result (a tensor, or arrays / plain objects / Maps
 * holding tensors) survive and belong to the enclosing scope; all others created inside are
 * disposed — also when fn throws.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Trackable>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    for (const t of scope) if (!kept.has(t)) t.dispose();
    throw e;
  }
  stack.pop();
  if (result instanceof Promise) {
    for (const t of scope) if (!kept.has(t)) t.dispose();
    throw new Error('tidy(fn): fn returned a Promise; scopes are synchronous (await outside the tidy)');
  }
  const survivors = new Set<Trackable>();
  collect(result, survivors);
  const parent = stack[stack.length - 1];
  for (const t of scope) {
    if (survivors.has(t) || kept.has(t)) {
      if (parent && !kept.has(t)) parent.add(t);
    } else {
      t.dispose();
    }
  }
  return result;
}

/** Dispose every tensor found in a value (tensor, array, plain object, Map). */
export function dispose(value: unknown): void {
  const all = new Set<Trackable>();
  collect(value, all);
  for (const t of all) t.dispose();
}
