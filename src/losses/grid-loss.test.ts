import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, tidy, randn, manualSeed } from '../engine/index.js';
import { gridLoss, gridWindowFor, DEFAULT_GRID_WINDOW } from './grid-loss.js';

/** A [1, 1, h, w] image that repeats the 4×4 `pattern` (row-major) over the frame. */
function tiled(pattern: number[], h: number, w: number) {
  return tensor(Float32Array.from({ length: h * w }, (_, i) => pattern[(Math.floor(i / w) % 4) * 4 + ((i % w) % 4)]!), [1, 1, h, w]);
}

test('gridLoss of a pure grid is the variance of its 4×4 pattern; a flat image has none', () => {
  tidy(() => {
    // One bright pixel per block: mean 1/16, variance 1/16 − 1/256 = 15/256.
    const dot = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    assert.ok(Math.abs(gridLoss(tiled(dot, 8, 12)).item() - 15 / 256) < 1e-7);
    // Period-2 columns ±3: variance 9; on 255-scale images as the network draws them.
    const cols = Array.from({ length: 16 }, (_, k) => (k % 2 ? 3 : -3) + 128);
    assert.ok(Math.abs(gridLoss(tiled(cols, 16, 16)).item() - 9) < 1e-4);
    assert.equal(gridLoss(tensor(new Float32Array(64).fill(200), [1, 1, 8, 8])).item(), 0);
    // Rows and columns beyond whole blocks are left out: 9×10 is its 8×8 crop.
    assert.ok(Math.abs(gridLoss(tiled(dot, 9, 10)).item() - 15 / 256) < 1e-7);
  });
});

test('gridLoss equals Σ|DFT|²/(HW)² over the 15 grid frequencies (hand DFT), averaged over images and channels', () => {
  manualSeed(3);
  tidy(() => {
    const [n, c, h, w] = [2, 3, 12, 16];
    const y = randn([n, c, h, w]).mul(20).add(100);
    const v = y.toFloat32Array();
    let sum = 0;
    for (let p = 0; p < n * c; p++) {
      for (const fy of [0, 1, 2, 3]) {
        for (const fx of [0, 1, 2, 3]) {
          if (fy === 0 && fx === 0) continue;
          let re = 0, im = 0;
          for (let i = 0; i < h; i++) {
            for (let j = 0; j < w; j++) {
              const a = -2 * Math.PI * ((fy / 4) * i + (fx / 4) * j);
              re += v[p * h * w + i * w + j]! * Math.cos(a);
              im += v[p * h * w + i * w + j]! * Math.sin(a);
            }
          }
          sum += (re * re + im * im) / (h * w) ** 2;
        }
      }
    }
    const want = sum / (n * c);
    const got = gridLoss(y).item();
    assert.ok(Math.abs(got - want) <= 1e-4 * want, `${got} vs ${want}`);
    // A grid added on top raises it.
    const dot = tiled([400, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], h, w).expand([n, c, h, w]);
    assert.ok(gridLoss(y.add(dot)).item() > got);
  });
});

test('gridLoss refuses what it cannot measure', () => {
  tidy(() => {
    assert.throws(() => gridLoss(tensor(new Float32Array(9), [1, 1, 3, 3])), /no whole 4×4 block/);
    assert.throws(() => gridLoss(tensor(new Float32Array(16), [4, 4])), /expected \[N, C, H, W\]/);
    assert.throws(() => gridLoss(tensor(new Float32Array(16), [1, 1, 4, 4]), { period: 1 }), /period/);
    assert.throws(() => gridLoss(tensor(new Float32Array(64), [1, 1, 8, 8]), { window: 6 }), /multiple of the period/);
    assert.throws(() => gridLoss(tensor(new Float32Array(64), [1, 1, 8, 8]), { window: 16 }), /no whole 16×16 window/);
  });
});

test('the gradient of gridLoss is the grid alone: one gradient step of size N·C·16·B/2 removes it exactly and keeps each block mean', () => {
  manualSeed(5);
  tidy(() => {
    const [n, c, h, w] = [2, 3, 8, 12];
    const blocks = (h / 4) * (w / 4);
    const y = randn([n, c, h, w]).mul(30).add(120).add(tiled([5, -2, 0, 1, 0, 0, 3, 0, 0, 0, 0, 0, -4, 0, 0, 0], h, w).expand([n, c, h, w])).detach();
    y.requiresGrad_();
    gridLoss(y).backward();
    const g = y.grad!;
    const stepped = y.detach().sub(g.mul((n * c * 16 * blocks) / 2));
    assert.ok(gridLoss(stepped).item() < 1e-8, `${gridLoss(stepped).item()}`);
    // The step moves no 4×4 block's mean (it is a zero-mean pattern on every block).
    const blockMeans = (t: typeof y) => t.reshape([n, c, h / 4, 4, w / 4, 4]).mean([3, 5]).toFloat32Array();
    const before = blockMeans(y.detach()), after = blockMeans(stepped);
    for (let i = 0; i < before.length; i++) assert.ok(Math.abs(before[i]! - after[i]!) < 1e-3);
  });
});

test("gridLoss in windows: the mean of each window's own ℓ_grid; a grid whose sign flips between windows cancels only over the whole image", () => {
  tidy(() => {
    const dot = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const neg = dot.map((v) => -v);
    // Left 8 columns +grid, right 8 columns −grid (16×16 image).
    const data = new Float32Array(256);
    for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) data[i * 16 + j] = (j < 8 ? dot : neg)[(i % 4) * 4 + (j % 4)]!;
    const y = tensor(data, [1, 1, 16, 16]);
    assert.ok(gridLoss(y).item() < 1e-12);
    assert.ok(Math.abs(gridLoss(y, { window: 8 }).item() - 15 / 256) < 1e-7);
    // Windows equal to the image are the whole-image loss; a window of one block is 0 for any image.
    const r = tensor(Float32Array.from({ length: 256 }, (_, k) => (k * 37) % 17), [1, 1, 16, 16]);
    assert.ok(Math.abs(gridLoss(r, { window: 16 }).item() - gridLoss(r).item()) < 1e-6);
    // Four 8×8 windows: the mean of the four crops' own losses.
    let sum = 0;
    for (const [a, b] of [[0, 0], [0, 8], [8, 0], [8, 8]]) sum += gridLoss(r.narrow(2, a!, 8).narrow(3, b!, 8)).item();
    assert.ok(Math.abs(gridLoss(r, { window: 8 }).item() - sum / 4) < 1e-5);
    // Rows and columns beyond whole windows are left out.
    assert.ok(Math.abs(gridLoss(tensor(new Float32Array(20 * 18).fill(3), [1, 1, 20, 18]), { window: 8 }).item()) < 1e-12);
  });
});

test('gridWindowFor: the asked window, else the default cut to the image side in whole periods', () => {
  assert.equal(gridWindowFor(256), DEFAULT_GRID_WINDOW);
  assert.equal(gridWindowFor(256, 32), 32);
  assert.equal(gridWindowFor(66), 64);
  assert.equal(gridWindowFor(16), 16);
});
