import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAPER_SR_X4, PEER_SR_X4, renderSrTable, rowFromEvaluations } from './paper-table.js';
import type { SrEvaluation } from './sr-benchmark.js';

const evaluation = (set: string, psnr: number, ssim: number, subset?: string): SrEvaluation => ({
  set, factor: 4, dir: `/x/${set}`, psnr, ssim, images: [{ name: 'a.png', width: 8, height: 8, greyscale: false, psnr, ssim }], ...(subset ? { subset } : {}),
});

test('the reference rows are the paper\'s Table 1 (×4) and the peer measurements', () => {
  const byName = Object.fromEntries(PAPER_SR_X4.map((r) => [r.method, r.scores]));
  assert.deepEqual(byName['Bicubic'], { Set5: { psnr: 28.43, ssim: 0.8054 }, Set14: { psnr: 25.99, ssim: 0.7025 }, BSD100: { psnr: 25.94, ssim: 0.6688 } });
  assert.equal(byName['SRCNN']!.Set5!.psnr, 30.48);
  assert.equal(byName['Ours (ℓfeat)']!.BSD100!.ssim, 0.6317);
  assert.equal(PEER_SR_X4.find((r) => r.method.includes('slim'))!.scores.Set14!.ssim, undefined);
});

test('renderSrTable: paper and peer rows first, ours last, in Markdown and JSON', () => {
  const ours = rowFromEvaluations('Ours ℓfeat (repro)', [evaluation('Set5', 27.1234, 0.76789), evaluation('BSD100', 24.9, 0.63, '1 in 5 images (20 of 100)')]);
  const { markdown, json } = renderSrTable([ours]);
  const lines = markdown.split('\n');
  assert.equal(lines[0], '| Method (×4) | Source | Set5 | Set14 | BSD100 |');
  assert.equal(json.rows.length, PAPER_SR_X4.length + PEER_SR_X4.length + 1);
  assert.match(markdown, /\| Bicubic \| paper: Johnson et al\. 2016, Table 1 \| 28\.43 \/ 0\.8054 \| 25\.99 \/ 0\.7025 \| 25\.94 \/ 0\.6688 \|/);
  assert.match(markdown, /\| UpscalerJS esrgan-slim \| .* \| 28\.60 \/ – \|/);
  assert.match(markdown, /\| Ours ℓfeat \(repro\) \| ours \| 27\.12 \/ 0\.7679 \| – \| 24\.90 \/ 0\.6300 \(1 in 5 images \(20 of 100\)\) \|/);
  assert.match(markdown, /Y channel/);
  assert.deepEqual(json.rows.at(-1), ours);
  assert.equal(JSON.parse(JSON.stringify(json)).rows.at(-1).scores.Set5.count, 1);
  // Reference rows can be left out; they are never added for another factor.
  assert.equal(renderSrTable([ours], { includePaper: false, includePeers: false }).json.rows.length, 1);
  const x2 = renderSrTable([{ ...ours, factor: 2 }]);
  assert.equal(x2.json.rows.length, 1);
  assert.match(x2.markdown, /Method \(×2\)/);
});

test('mixed factors are refused', () => {
  assert.throws(() => rowFromEvaluations('x', [evaluation('Set5', 1, 1), { ...evaluation('Set14', 1, 1), factor: 3 }]), /mixed factors ×4 and ×3/);
  assert.throws(() => rowFromEvaluations('x', []), /no evaluations/);
  const r = rowFromEvaluations('x', [evaluation('Set5', 1, 1)]);
  assert.throws(() => renderSrTable([r, { ...r, factor: 2 }]), /mixed factors/);
});
