import { test } from 'node:test';
import assert from 'node:assert/strict';
import { figure5Row, figure5Table, figure5Svg, standing, equalLossIteration, mergeFigure5Results, type StyleResults, type Figure5Results } from './figure5.js';

const run = (losses: Record<number, number>) => ({
  iterations: Math.max(...Object.keys(losses).map(Number)),
  at: Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, { loss: v, seconds: Number(k) / 2 }])),
});

const results: StyleResults = {
  style: 'wave',
  network: '40000 it., paper-vgg19',
  feedForward: { a: { loss: 150, seconds: 0.1 }, b: { loss: 250, seconds: 0.3 }, c: { loss: 999, seconds: 9 } },
  gatys: {
    a: run({ 10: 900, 50: 300, 100: 100, 300: 60, 500: 50 }),
    b: run({ 10: 1100, 50: 500, 100: 300, 300: 140, 500: 110 }),
    // c stopped at 300: left out of every mean when 500 is asked for, so means stay over the same photos.
    c: run({ 10: 1, 50: 1, 100: 1, 300: 1 }),
  },
};

test('figure5Row: means over the photos that have every checkpoint (hand-computed)', () => {
  const r = figure5Row(results, [50, 100, 300, 500]);
  assert.equal(r.photos, 2);
  assert.equal(r.feedForward, 200);
  assert.equal(r.feedForwardSeconds, 0.2);
  assert.deepEqual(r.gatys[50], { loss: 400, seconds: 25 });
  assert.deepEqual(r.gatys[100], { loss: 200, seconds: 50 });
  assert.equal(r.gatys[500]!.loss, 80);
  assert.deepEqual(r.curve, [[10, 1000], [50, 400], [100, 200], [300, 100], [500, 80]]);
  // Asking only up to 300 brings photo c in.
  const short = figure5Row(results, [50, 100, 300]);
  assert.equal(short.photos, 3);
  assert.equal(short.gatys[300]!.loss, (60 + 140 + 1) / 3);
});

test('standing and the table say where the network is against the checkpoints', () => {
  const r = figure5Row(results, [50, 100, 300, 500]);
  // Network 200 = Gatys at 100: "between 50 and 100" (≤ the 100-iteration loss), goal met.
  assert.equal(standing(r, [50, 100, 300, 500]), 'between 50 and 100 it.');
  assert.equal(standing({ ...r, feedForward: 500 }, [50, 100, 300, 500]), 'worse than 50 it.');
  assert.equal(standing({ ...r, feedForward: 10 }, [50, 100, 300, 500]), 'better than 500 it.');
  const table = figure5Table([r, { ...r, style: 'late', feedForward: 250 }, figure5Row({ ...results, style: 'none', gatys: {} }, [50, 100, 300, 500])], [50, 100, 300, 500]);
  assert.match(table, /\| wave \(40000 it\., paper-vgg19\) \| 2 \| 200\.0 \| 400\.0 \(2\.00×\) \| 200\.0 \(1\.00×\) \| 100\.0 \(0\.50×\) \| 80\.00 \(0\.40×\) \| between 50 and 100 it\. \(equal loss at ≈ 100 it\.\) \| \*\*met\*\* \|/);
  assert.match(table, /\| late .* between 50 and 100 it\. \(equal loss at ≈ 84 it\.\) \| not met \(1\.25× the 100-it\. loss\) \|/);
  assert.match(table, /\| none .* \| 0 \| .* not measured yet/);
});

test('figure5Svg draws one panel per measured style with the network as a dashed horizontal line', () => {
  const r = figure5Row(results, [50, 100, 300, 500]);
  const svg = figure5Svg([r, figure5Row({ ...results, style: 'empty', gatys: {} }, [50, 100, 300, 500])], [50, 100, 300, 500], 'Figure 5 <test>');
  assert.match(svg, /^<svg [^>]*width="300"/);
  assert.match(svg, /Figure 5 &lt;test&gt;/);
  assert.equal((svg.match(/<polyline /g) ?? []).length, 1);
  assert.equal((svg.match(/<circle /g) ?? []).length, 4);
  const line = /<line class="network" x1="([\d.]+)" x2="([\d.]+)" y1="([\d.]+)" y2="([\d.]+)"/.exec(svg);
  assert.ok(line && line[3] === line[4], 'horizontal');
  // The network (200) sits exactly on the Gatys point at 100 iterations (200): same y.
  const c100 = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)][1]!;
  assert.equal(c100[2], line![3]);
  assert.match(figure5Svg([], [50], 'x'), /no complete results yet/);
});

test('equalLossIteration: where the Gatys curve reaches the network, interpolated on log loss (hand-computed)', () => {
  const r = figure5Row(results, [50, 100, 300, 500]); // curve 10: 1000, 50: 400, 100: 200, 300: 100, 500: 80
  assert.equal(equalLossIteration(r), 100); // exactly on a point
  // √(400·200) is halfway between 50 and 100 on the log scale.
  assert.ok(Math.abs(equalLossIteration({ ...r, feedForward: Math.sqrt(400 * 200) })! - 75) < 1e-9);
  // 250: 50 + 50·ln(400/250)/ln 2 = 83.90
  assert.ok(Math.abs(equalLossIteration({ ...r, feedForward: 250 })! - (50 + (50 * Math.log(1.6)) / Math.log(2))) < 1e-9);
  assert.equal(equalLossIteration({ ...r, feedForward: 2000 }), 0);
  assert.equal(equalLossIteration({ ...r, feedForward: 10 }), undefined);
});

test('mergeFigure5Results: two processes filling one file keep each other\'s runs, the longer of two, and their own feed-forward losses', () => {
  const g = (iterations: number, loss: number) => ({ iterations, at: { [iterations]: { loss, seconds: iterations } }, cpu: 'x', finishedAt: 't' });
  const mine: Figure5Results = {
    version: 1,
    gatys: { 'p1': g(500, 10), 'p2': g(100, 20), 'p3': g(300, 30) },
    feedForward: { wave: { a: { loss: 1, seconds: 0 } }, scream: { a: { loss: 2, seconds: 0 } } },
  };
  const onDisk: Figure5Results = {
    version: 1,
    // p1 shorter on disk (kept mine), p2 longer on disk (taken), p4 only on disk (taken); p3 only mine.
    gatys: { 'p1': g(100, 11), 'p2': g(500, 21), 'p4': g(500, 40) },
    // wave was re-measured here (mine wins), udnie only on disk (kept); scream not measured here: the file's.
    feedForward: { wave: { a: { loss: 9, seconds: 0 } }, udnie: { a: { loss: 3, seconds: 0 } }, scream: { a: { loss: 7, seconds: 0 } } },
  };
  const merged = mergeFigure5Results(mine, onDisk, new Set(['wave']));
  assert.deepEqual(Object.fromEntries(Object.entries(merged.gatys).map(([k, r]) => [k, [r.iterations, r.at[r.iterations]!.loss]])), {
    p1: [500, 10], p2: [500, 21], p3: [300, 30], p4: [500, 40],
  });
  assert.deepEqual(Object.fromEntries(Object.entries(merged.feedForward).map(([k, v]) => [k, v.a!.loss])), { wave: 1, scream: 7, udnie: 3 });
});
