/**
 * Reflection padding that is exact for any run-time size, as `reflectPad` in
 * src/nn/layers/padding.ts computes it (numpy's `np.pad(mode='reflect')`).
 *
 * Why not one ONNX `Pad(mode='reflect')`: onnxruntime refuses a reflect pad of `p ≥ n` on an
 * axis of length `n` ("pre-pad exceeds maximum allowed") and any reflect pad of a 1-px axis,
 * while our networks are dynamic in H/W and the paper's 40-px start pad must run on a 37-px
 * image. The engine pads in steps of at most `n − 1` (each step reflects about the border
 * reached so far) and replicates a 1-px axis; this graph does the same with the step sizes
 * computed from the run-time shape:
 *
 *   1. `Expand` turns a 1-px axis into `before + 1 + after` copies of itself (replication,
 *      "nothing to mirror"); any other axis is left as it is;
 *   2. a fixed number of `Pad(reflect)` steps, each padding `min(remaining, n_k − 1)` per side,
 *      where `n_k` is the size reached so far. The number of steps is the one the smallest
 *      reflectable size (n = 2) needs, an upper bound for every size; on the usual large
 *      inputs the first step pads everything and the others pad 0.
 *
 * Cost: one `Expand` copy plus one copy per step, against a single copy for a plain Pad; a
 * `Gather` with mirror-periodic indices (the other exact formulation) measured 3–6× slower
 * along W here, because onnxruntime gathers the last axis element by element.
 */
import type { OnnxGraphBuilder, Value } from './graph-builder.js';
import type { Pads2d } from './layers.js';

/** Steps of at most `n − 1` per side that pad `before`/`after` starting from a size-2 axis. */
export function reflectSteps(before: number, after: number): number {
  let n = 2;
  let steps = 0;
  while (before + after > 0) {
    const b = Math.min(before, n - 1);
    const a = Math.min(after, n - 1);
    before -= b;
    after -= a;
    n += a + b;
    steps++;
  }
  return steps;
}

/** Reflection-pad H and W of an NCHW tensor by `[top, left, bottom, right]`, for any H, W ≥ 1. */
export function reflectPadExact(g: OnnxGraphBuilder, x: Value, pads: Pads2d): Value {
  const [top, left, bottom, right] = pads;
  for (const p of pads) if (!Number.isInteger(p) || p < 0) throw new Error(`reflectPadExact: pads must be non-negative integers, got [${pads.join(', ')}]`);
  if (top + left + bottom + right === 0) return x;
  const i64 = (v: number) => g.int64Constant([v], [1], 'rpad');
  const one = i64(1);

  // Per axis (H, W): size n (a [1] tensor), s = min(n − 1, 1) (0 on a 1-px axis), replicated size.
  const hw = g.node('Shape', [x], { start: 2, end: 4 });
  const axes = [
    { before: top, after: bottom, n: g.node('Slice', [hw, g.int64Constant([0], [1]), one]) },
    { before: left, after: right, n: g.node('Slice', [hw, one, g.int64Constant([2], [1])]) },
  ].map((a) => {
    const s = g.node('Min', [g.node('Sub', [a.n, one]), one]);
    const notS = g.node('Sub', [one, s]);
    // n + (1 − s)·(before + after): the length after replicating a 1-px axis, n otherwise.
    const size = g.node('Add', [a.n, g.node('Mul', [notS, i64(a.before + a.after)])]);
    // What is left to reflect: nothing on a 1-px axis (Expand has padded it), all of it otherwise.
    return { ...a, size, remBefore: g.node('Mul', [s, i64(a.before)]), remAfter: g.node('Mul', [s, i64(a.after)]) };
  });

  const ones2 = g.int64Constant([1, 1], [2], 'rpad');
  let y = g.node('Expand', [x, g.node('Concat', [ones2, axes[0]!.size, axes[1]!.size], { axis: 0 })]);

  const steps = Math.max(reflectSteps(top, bottom), reflectSteps(left, right));
  const zeros2 = g.int64Constant([0, 0], [2], 'rpad');
  for (let k = 0; k < steps; k++) {
    const stepPads = axes.map((a) => {
      const limit = g.node('Sub', [a.size, one]);
      const b = g.node('Min', [a.remBefore, limit]);
      const e = g.node('Min', [a.remAfter, limit]);
      a.remBefore = g.node('Sub', [a.remBefore, b]);
      a.remAfter = g.node('Sub', [a.remAfter, e]);
      a.size = g.node('Add', [a.size, g.node('Add', [b, e])]);
      return { b, e };
    });
    // ONNX pads: [N, C, H, W] begins, then [N, C, H, W] ends.
    const p = g.node('Concat', [zeros2, stepPads[0]!.b, stepPads[1]!.b, zeros2, stepPads[0]!.e, stepPads[1]!.e], { axis: 0 });
    y = g.node('Pad', [y, p], { mode: 'reflect' });
  }
  return y;
}
