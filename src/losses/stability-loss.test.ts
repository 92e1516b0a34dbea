import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, tidy, manualSeed } from '../engine/index.js';
import { drawPerturbation, perturbInput, stabilityLoss } from './stability-loss.js';

/** [1, 1, 3, 4] with value 10·row + column. */
const grid = () => tensor(Float32Array.from({ length: 12 }, (_, i) => 10 * Math.floor(i / 4) + (i % 4)), [1, 1, 3, 4]);

test('perturbInput without noise is the crop seen from the moved frame', () => {
  tidy(() => {
    const x = grid();
    // (dx, dy) = (1, 2): pixel (i, j) of x̃ is pixel (i + 2, j + 1) of x → row 2, columns 1–3.
    assert.deepEqual([...perturbInput(x, { noise: 0, dx: 1, dy: 2 }).toFloat32Array()], [21, 22, 23]);
    // (−2, −1): x̃(i, j) = x(i − 1, j − 2) → rows 0–1, columns 0–1, placed at (1, 2).
    assert.deepEqual([...perturbInput(x, { noise: 0, dx: -2, dy: -1 }).toFloat32Array()], [0, 1, 10, 11]);
    assert.throws(() => perturbInput(x, { noise: 0, dx: 4, dy: 0 }), /leaves nothing/);
  });
});

test('stabilityLoss: zero for a shift-equivariant map, hand values otherwise', () => {
  tidy(() => {
    const x = grid();
    for (const p of [{ noise: 0, dx: 1, dy: 1 }, { noise: 0, dx: -1, dy: 2 }, { noise: 0, dx: 0, dy: 0 }]) {
      // f = identity is equivariant: f(x̃) equals the shifted f(x) exactly.
      assert.equal(stabilityLoss(x, perturbInput(x, p), p).item(), 0);
    }
    // f(x̃) = x̃ + 3 on 2 of 6 overlap pixels: (2·9)/6 = 3.
    const p = { noise: 0, dx: 1, dy: 1 };
    const yp = perturbInput(x, p).add(tensor(Float32Array.from([3, 0, 0, 0, 0, 3]), [1, 1, 2, 3]));
    assert.equal(stabilityLoss(x, yp, p).item(), 3);
    // Averaged over the batch: a second image with zero error halves it.
    const x2 = tensor(Float32Array.from([...x.toFloat32Array(), ...x.toFloat32Array()]), [2, 1, 3, 4]);
    const yp2 = tensor(Float32Array.from([...yp.toFloat32Array(), ...perturbInput(x, p).toFloat32Array()]), [2, 1, 2, 3]);
    assert.equal(stabilityLoss(x2, yp2, p).item(), 1.5);
    assert.throws(() => stabilityLoss(x, x, p), /expected 2×3/);
  });
});

test('perturbInput noise has the σ it is given; drawPerturbation stays within ±shift', () => {
  manualSeed(0);
  tidy(() => {
    const x = tensor(new Float32Array(64 * 64).fill(100), [1, 1, 64, 64]);
    const d = perturbInput(x, { noise: 3, dx: 0, dy: 0 }).sub(100);
    const std = Math.sqrt(d.square().mean().item());
    assert.ok(Math.abs(std - 3) < 0.1, `σ ${std}`);
  });
  let u = 0;
  const seq = () => (u = (u + 0.137) % 1);
  const seen = new Set<number>();
  for (let k = 0; k < 200; k++) {
    const p = drawPerturbation(seq, 2, 3);
    assert.ok(Math.abs(p.dx) <= 3 && Math.abs(p.dy) <= 3);
    seen.add(p.dx);
  }
  assert.equal(seen.size, 7);
  assert.deepEqual(drawPerturbation(seq, 1, 0), { noise: 1, dx: 0, dy: 0 });
  assert.throws(() => drawPerturbation(seq, 1, 1.5), /whole number/);
});
