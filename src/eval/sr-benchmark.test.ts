import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bicubicUpscale, bicubicUpscaler, evaluateSr, srSetDir, type SrEvaluation } from './sr-benchmark.js';
import { PAPER_SR_X4, renderSrTable, rowFromEvaluations } from './paper-table.js';
import { sharedDataDir } from '../util/paths.js';

const dataRoot = sharedDataDir();
const benchDir = path.join(dataRoot, 'sr-bench');
const haveBench = fs.existsSync(benchDir);
const skipMsg = `sr-bench data not found at ${benchDir} (set PERCEPTUAL_DATA)`;

const paperBicubic = PAPER_SR_X4.find((r) => r.method === 'Bicubic')!.scores;
const results: SrEvaluation[] = [];

for (const set of ['Set5', 'Set14', 'BSD100'] as const) {
  test(`bicubic ×4 baseline on ${set} reproduces the paper's bicubic row (PSNR ±0.05 dB, SSIM ±0.005)`, async (t) => {
    if (!haveBench) {
      t.skip(skipMsg);
      return;
    }
    let calls = 0;
    const r = await evaluateSr({ set, factor: 4, upscale: bicubicUpscaler(4), dataRoot, onProgress: () => void calls++ });
    results.push(r);
    const ref = paperBicubic[set]!;
    console.log(
      `${set} bicubic ×4: PSNR ${r.psnr.toFixed(4)} dB (paper ${ref.psnr}, Δ ${(r.psnr - ref.psnr).toFixed(4)}), ` +
        `SSIM ${r.ssim.toFixed(4)} (paper ${ref.ssim}, Δ ${(r.ssim - ref.ssim!).toFixed(4)}), ${r.images.length} images`,
    );
    assert.equal(calls, r.images.length);
    assert.ok(Math.abs(r.psnr - ref.psnr) <= 0.05, `${set} PSNR ${r.psnr} vs ${ref.psnr}`);
    assert.ok(Math.abs(r.ssim - ref.ssim!) <= 0.005, `${set} SSIM ${r.ssim} vs ${ref.ssim}`);
    if (set === 'Set14') {
      const grey = r.images.filter((i) => i.greyscale).map((i) => i.name);
      assert.deepEqual(grey, ['img_003.png']); // the 1-channel PNG (img_010 is RGB with R=G=B)
    }
  });
}

test('results table: our bicubic row beside the paper rows (Markdown + JSON)', (t) => {
  if (results.length === 0) {
    t.skip(skipMsg);
    return;
  }
  const { markdown, json } = renderSrTable([rowFromEvaluations('Bicubic (this repo)', results)]);
  console.log(`\n${markdown}`);
  assert.match(markdown, /\| Bicubic \(this repo\) \| ours \| 28\.4\d \/ 0\.81\d\d \|/);
  assert.equal(json.rows.at(-1)!.source, 'ours');
});

test("greyscale 'y' option scores Set14's 1-channel image on Y instead of its grey values", async (t) => {
  if (!haveBench) {
    t.skip(skipMsg);
    return;
  }
  const opts = { set: 'Set14', factor: 4, upscale: bicubicUpscaler(4), dataRoot, every: 2 } as const;
  const raw = await evaluateSr(opts);
  const y = await evaluateSr({ ...opts, greyscale: 'y' });
  assert.equal(raw.subset, '1 in 2 images (7 of 14)');
  const i = raw.images.findIndex((r) => r.name === 'img_003.png');
  assert.ok(i >= 0);
  // Y compresses 0–255 to 16–235, so the same error scores 20·log10(255/219) ≈ 1.3 dB higher.
  assert.ok(Math.abs(y.images[i]!.psnr - raw.images[i]!.psnr - 20 * Math.log10(255 / 219)) < 0.05);
  for (let k = 0; k < raw.images.length; k++) if (k !== i) assert.equal(y.images[k]!.psnr, raw.images[k]!.psnr);
});

test('a folder with HR/ only: LR inputs are made like the pack\'s (same scores as with the shipped LR)', async (t) => {
  if (!haveBench) {
    t.skip(skipMsg);
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'perceptual-srbench-'));
  try {
    fs.mkdirSync(path.join(tmp, 'HR'));
    for (const f of ['img_002.png', 'img_005.png']) fs.copyFileSync(path.join(srSetDir('Set5', dataRoot), 'HR', f), path.join(tmp, 'HR', f));
    const own = await evaluateSr({ set: tmp, factor: 4, upscale: bicubicUpscaler(4) });
    const shipped = await evaluateSr({ set: 'Set5', factor: 4, upscale: bicubicUpscaler(4), dataRoot });
    assert.equal(own.set, path.basename(tmp));
    assert.deepEqual(own.images.map((r) => r.psnr), shipped.images.filter((r) => ['img_002.png', 'img_005.png'].includes(r.name)).map((r) => r.psnr));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('abort: before the start and between images → AbortError', async (t) => {
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(evaluateSr({ set: 'Set5', factor: 4, upscale: bicubicUpscaler(4), dataRoot, signal: ac.signal }), { name: 'AbortError' });
  if (!haveBench) {
    t.skip(skipMsg);
    return;
  }
  const ac2 = new AbortController();
  let seen = 0;
  await assert.rejects(
    evaluateSr({ set: 'Set5', factor: 4, upscale: bicubicUpscaler(4), dataRoot, signal: ac2.signal, onProgress: () => (seen++, ac2.abort()) }),
    { name: 'AbortError', message: /SR evaluation of Set5 aborted/ },
  );
  assert.equal(seen, 1);
});

test('clear errors: wrong output size, missing folder, bad factor', async (t) => {
  await assert.rejects(evaluateSr({ set: '/nonexistent/sr-set', factor: 4, upscale: bicubicUpscaler(4) }), /no HR folder at \/nonexistent\/sr-set\/HR/);
  await assert.rejects(evaluateSr({ set: 'Set5', factor: 0, upscale: bicubicUpscaler(4) }), /factor must be a positive integer/);
  assert.throws(() => bicubicUpscale({ data: new Uint8Array(3), width: 1, height: 1, channels: 3 }, 1.5), /positive integer/);
  if (!haveBench) {
    t.skip(skipMsg);
    return;
  }
  await assert.rejects(
    evaluateSr({ set: 'Set5', factor: 4, upscale: async (lr) => bicubicUpscale(lr, 2), dataRoot }),
    /upscaler returned 256×256 for img_001\.png, but the HR image is 512×512/,
  );
});
