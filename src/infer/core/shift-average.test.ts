/**
 * Shift averaging (./shift-average.ts) on networks whose output is known: the identity (the
 * content must come back exactly: the windows are aligned back right, borders included), and the
 * identity plus a lattice fixed to the window's origin, like the grid a stride-4 network prints
 * (each shift set must cancel exactly the lattice frequencies the file's formula says).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shiftAveraged, SHIFT_SETS, SHIFT_COUNTS } from './shift-average.js';
import { StyleModelCore } from './style-model-core.js';
import type { RunNetwork } from './types.js';
import type { RgbImage } from '../../data/image.js';

const H = 13, W = 18; // not multiples of 4 on purpose

function ramp(batch = 1): Float32Array {
  const x = new Float32Array(batch * 3 * H * W);
  for (let i = 0; i < x.length; i++) x[i] = (i * 37) % 251;
  return x;
}

/** Identity plus `amp·cos(2π(fx·x + fy·y))` in the window's own coordinates; optionally pads the output like a stride-4 network rounding up. */
function latticeNet(fx: number, fy: number, amp: number, roundUp = false): RunNetwork {
  return async (input, dims) => {
    const [n, c, h, w] = dims as [number, number, number, number];
    const oh = roundUp ? Math.ceil(h / 4) * 4 : h, ow = roundUp ? Math.ceil(w / 4) * 4 : w;
    const out = new Float32Array(n * c * oh * ow);
    for (let p = 0; p < n * c; p++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) out[p * oh * ow + y * ow + x] = input[p * h * w + y * w + x]! + amp * Math.cos(2 * Math.PI * (fx * x + fy * y));
      }
    }
    return { data: out, dims: [n, c, oh, ow] };
  };
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('identity network: every shift set gives the input back exactly (batch of 2, sizes not multiples of 4, output rounded up)', async () => {
  const x = ramp(2);
  for (const n of SHIFT_COUNTS) {
    for (const roundUp of [false, true]) {
      if (n === 1 && roundUp) continue; // one shift is the network itself: runImage crops its rounding
      const r = await shiftAveraged(latticeNet(0, 0, 0, roundUp), n)(x, [2, 3, H, W]);
      assert.deepEqual(r.dims, [2, 3, H, W]);
      assert.ok(maxAbsDiff(r.data, x) < 1e-4, `${n} shifts${roundUp ? ', output rounded up' : ''}: off by ${maxAbsDiff(r.data, x)}`);
    }
  }
});

test('a lattice fixed to the frame is cancelled exactly where Σ e^{2πi(fx·dx + fy·dy)} = 0 over the set, and kept where it is not', async () => {
  const x = ramp();
  for (const n of SHIFT_COUNTS.filter((k) => k > 1)) {
    for (const [a, b] of [[1, 0], [0, 1], [2, 0], [0, 2], [2, 2], [1, 1], [1, 3], [3, 2]] as const) {
      const fx = a / 4, fy = b / 4;
      let re = 0, im = 0;
      for (const [dx, dy] of SHIFT_SETS[n]!) {
        re += Math.cos(2 * Math.PI * (fx * dx + fy * dy));
        im += Math.sin(2 * Math.PI * (fx * dx + fy * dy));
      }
      const kept = Math.hypot(re, im) / n; // the fraction of the lattice's amplitude that survives
      const r = await shiftAveraged(latticeNet(fx, fy, 10), n)(x, [1, 3, H, W]);
      const left = maxAbsDiff(r.data, x);
      if (kept < 1e-9) assert.ok(left < 1e-3, `${n} shifts, frequency (${a}/4, ${b}/4): cancelled in theory, ${left} left`);
      else assert.ok(left > 10 * kept * 0.5, `${n} shifts, frequency (${a}/4, ${b}/4): ${kept} of it should stay, max ${left} left`);
    }
  }
  // All 16 offsets cancel every lattice frequency.
  for (const [a, b] of [[1, 0], [1, 1], [3, 2], [2, 2]]) {
    const r = await shiftAveraged(latticeNet(a! / 4, b! / 4, 10), 16)(x, [1, 3, H, W]);
    assert.ok(maxAbsDiff(r.data, x) < 1e-3);
  }
});

test('refused: a count without a set, and a network that changes the size (super-resolution)', async () => {
  assert.throws(() => shiftAveraged(latticeNet(0, 0, 0), 3), /shifts must be one of 1, 2, 4, 8, 16, got 3/);
  const sr: RunNetwork = async (_input, dims) => ({ data: new Float32Array(dims[0]! * 3 * dims[2]! * 2 * dims[3]! * 2), dims: [dims[0]!, 3, dims[2]! * 2, dims[3]! * 2] });
  await assert.rejects(shiftAveraged(sr, 4)(ramp(), [1, 3, H, W]), /shift averaging: the network's output for input \[1, 3, 16, 21\] has shape \[1, 3, 32, 42\]; it needs a network that keeps the size/);
});

test('StyleModelCore.stylize({ shifts }): the lattice of a frame-fixed network is gone, tiled or not; bad counts refused', async () => {
  const data = new Float32Array(40 * 36 * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13) % 256;
  const image: RgbImage = { data, width: 40, height: 36, channels: 3 };
  const core = new StyleModelCore(latticeNet(0.5, 0, 20));
  const plain = await core.stylize(image, { tileSize: 0 });
  assert.ok(maxAbsDiff(plain.data as Float32Array, data) > 19);
  for (const tileSize of [0, 32]) {
    const averaged = await core.stylize(image, { tileSize, shifts: 4 });
    assert.ok(maxAbsDiff(averaged.data as Float32Array, data) < 1e-3, `tile ${tileSize}`);
  }
  await assert.rejects(core.stylize(image, { shifts: 5 }), /shifts must be one of/);
});
