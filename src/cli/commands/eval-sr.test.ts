// `perceptual eval-sr`, in-process: our bicubic reproduces the published Set5 number (skipped
// without the sr-bench data), JSON/Markdown with the paper's rows, a folder set and a model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultDataRoot } from '../../eval/sr-benchmark.js';
import { runCommand, writeTestImage, writeTinySrModel } from '../../../test/helpers/sr-fixtures.js';
import * as evalSr from './eval-sr.js';
import { resolveSetDir } from './eval-sr.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'perceptual-eval-sr-'));
const bench = path.join(defaultDataRoot(), 'sr-bench');
const haveSet5 = existsSync(path.join(bench, 'Set5', 'HR'));
const run = (...args: string[]) => runCommand(evalSr, ['eval-sr', ...args]);

test('--model bicubic on Set5 reproduces the published 28.42 dB; JSON and Markdown carry the paper rows', { skip: !haveSet5 && `no sr-bench data at ${bench}` }, async () => {
  const json = path.join(root, 'bicubic.json'), md = path.join(root, 'bicubic.md');
  // --data-root may name the sr-bench folder itself or the folder holding it.
  const r = await run('--model', 'bicubic', '--set', 'Set5', '--data-root', bench, '--json', json, '--md', md);
  assert.match(r.stdout, /\| Bicubic \(ours\) \| .* \| 28\.4\d \/ 0\.8\d{3} \|/);
  const out = JSON.parse(readFileSync(json, 'utf8'));
  const ours = out.rows.find((x: { source: string }) => x.source === 'ours');
  assert.ok(Math.abs(ours.scores.Set5.psnr - 28.42) <= 0.05, `Set5 bicubic PSNR ${ours.scores.Set5.psnr}`);
  assert.equal(ours.scores.Set5.count, 5);
  assert.deepEqual(out.sets, ['Set5']);
  assert.ok(out.rows.some((x: { method: string; source: string }) => x.method === 'Ours (ℓfeat)' && x.source === 'paper'));
  assert.equal(out.evaluations[0].images.length, 5);
  assert.equal(out.settings.factor, 4);
  const text = readFileSync(md, 'utf8');
  assert.match(text, /^# Bicubic \(ours\): ×4 super-resolution on Set5\n/);
  assert.match(text, /\| Ours \(ℓpixel\) \| paper: Johnson et al\. 2016, Table 1 \| 28\.40 \/ 0\.8062 \|/);
  await run('--model', 'bicubic', '--set', 'Set5', '--data-root', path.dirname(bench), '--json', json);
  assert.equal(JSON.parse(readFileSync(json, 'utf8')).rows.at(-1).scores.Set5.psnr, ours.scores.Set5.psnr);
});

test('a folder set and a model folder: one row per method (with --with-bicubic), histogram matching as the card says', async () => {
  const set = path.join(root, 'MySet');
  await writeTestImage(path.join(set, 'HR', 'a.png'), 48, 40, 1);
  await writeTestImage(path.join(set, 'HR', 'b.png'), 36, 44, 2);
  const model = path.join(root, 'tiny-feat');
  await writeTinySrModel(model, { loss: 'feat', histogramMatch: true });
  const json = path.join(root, 'model.json');
  const r = await run('--model', model, '--set', set, '--with-bicubic', '--runtime', 'engine', '--precision', 'float32', '--json', json);
  assert.match(r.stdout, /\| Method \(×4\) \| Source \| MySet \|/);
  assert.match(r.stdout, /\| Bicubic \(ours\) \|/);
  assert.match(r.stdout, /\| tiny tiny-feat \+ hist\. match \| ours: tiny-feat, engine \| \d+\.\d\d \/ /);
  assert.match(r.stderr, /MySet: PSNR/);
  const out = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(out.settings.histogramMatch, true);
  assert.equal(out.settings.runtime, 'engine');
  assert.deepEqual(out.evaluations.map((e: { set: string; images: unknown[] }) => [e.set, e.images.length]), [['MySet', 2]]);
  const off = await run('--model', model, '--set', set, '--no-histogram-match', '--runtime', 'engine', '--precision', 'float32', '--label', 'raw');
  assert.match(off.stdout, /\| raw \| ours: tiny-feat, engine \|/);
});

test('errors: unknown set, missing data, a style model', async () => {
  assert.throws(() => resolveSetDir(path.join(root, 'nowhere'), root), /not Set5, Set14 or BSD100, and not a folder with HR/);
  assert.throws(() => resolveSetDir('Set14', path.join(root, 'empty')), /Set14: not found under .*empty .*--data-root or set PERCEPTUAL_DATA/);
  await assert.rejects(run('--model', 'bicubic', '--set', 'Set5', '--data-root', path.join(root, 'empty')), /not found under/);
  const style = path.join(root, 'tiny-style');
  await writeTinySrModel(style, { task: 'style' });
  await assert.rejects(run('--model', style, '--set', path.join(root, 'MySet'), '--runtime', 'engine'), /is a style model, not a super-resolution model/);
  await assert.rejects(run('--model', 'bicubic', '--set', path.join(root, 'MySet'), '--histogram-match'), /applies to network outputs only/);
});
