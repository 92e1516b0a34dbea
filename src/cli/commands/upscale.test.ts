// `perceptual upscale`, in-process: interpolation modes (sizes, MATLAB bicubic pixels), folders,
// a model folder (ℓfeat card → histogram-matched unless --no-histogram-match), clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { loadImage } from '../../data/image.js';
import { interpolate } from '../../infer/upscale.js';
import { runCommand, testImage, writeTestImage, writeTinySrModel } from '../../../test/helpers/sr-fixtures.js';
import * as upscale from './upscale.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'perceptual-upscale-cli-'));
const small = path.join(root, 'in', 'small.png');
await writeTestImage(small, 37, 23);
const run = (...args: string[]) => runCommand(upscale, ['upscale', ...args]);
const size = async (file: string) => {
  const m = await sharp(file).metadata();
  return [m.width, m.height];
};

test('--mode bicubic / lanczos: f·W × f·H; bicubic is the MATLAB resizer pixel for pixel', async () => {
  for (const mode of ['bicubic', 'lanczos']) {
    for (const f of [2, 4]) {
      const out = path.join(root, `out-${mode}-${f}.png`);
      const r = await run(small, '--mode', mode, '-x', String(f), '-o', out);
      assert.equal(r.exitCode, 0);
      assert.match(r.stdout, new RegExp(`37×23 → ${37 * f}×${23 * f}, ${mode}`));
      assert.deepEqual(await size(out), [37 * f, 23 * f]);
    }
  }
  const want = await interpolate(testImage(37, 23), 4, 'bicubic');
  assert.deepEqual(Array.from((await loadImage(path.join(root, 'out-bicubic-4.png'))).data), Array.from(want.data));
});

test('folders in, folder out (structure and --format), and one bad file among good ones', async () => {
  const dir = path.join(root, 'many');
  await writeTestImage(path.join(dir, 'a.jpg'), 20, 10, 2);
  await writeTestImage(path.join(dir, 'sub', 'b.png'), 11, 13, 3);
  const out = path.join(root, 'many-out');
  const r = await run(dir, '--mode', 'lanczos', '-x', '2', '-o', out, '--format', 'png');
  assert.equal(r.exitCode, 0);
  assert.deepEqual(await size(path.join(out, 'a.png')), [40, 20]);
  assert.deepEqual(await size(path.join(out, 'sub', 'b.png')), [22, 26]);
  assert.match(r.stdout, /\[2\/2\]/);

  writeFileSync(path.join(dir, 'broken.png'), 'not a png');
  const out2 = path.join(root, 'many-out2');
  const r2 = await run(dir, '--mode', 'bicubic', '-x', '2', '-o', out2);
  assert.equal(r2.exitCode, 1);
  assert.match(r2.stderr, /cannot read image .*broken\.png/);
  assert.match(r2.stderr, /1 of 3 image\(s\) failed/);
  assert.ok(existsSync(path.join(out2, 'a.jpg')) && existsSync(path.join(out2, 'sub', 'b.png')));
});

test('bad input: not an image, truncated, too many pixels, missing; bad option combinations', async () => {
  const o = path.join(root, 'never.png');
  const text = path.join(root, 'text.png');
  writeFileSync(text, 'hello, I am not an image');
  await assert.rejects(run(text, '--mode', 'bicubic', '-x', '4', '-o', o), /cannot read image .*text\.png: .*unsupported image format/);
  const truncated = path.join(root, 'truncated.png');
  const bytes = readFileSync(small);
  writeFileSync(truncated, bytes.subarray(0, bytes.length - 60));
  await assert.rejects(run(truncated, '--mode', 'bicubic', '-x', '4', '-o', o), /cannot read image .*truncated\.png/);
  const jpeg = path.join(root, 'truncated.jpg');
  await sharp(small).jpeg().toFile(path.join(root, 'full.jpg'));
  const jb = readFileSync(path.join(root, 'full.jpg'));
  writeFileSync(jpeg, jb.subarray(0, jb.length >> 1));
  await assert.rejects(run(jpeg, '--mode', 'lanczos', '-x', '4', '-o', o), /cannot read image .*truncated\.jpg: .*premature end/i);
  await assert.rejects(run(small, '--mode', 'bicubic', '-x', '4', '--max-pixels', '500', '-o', o), /37×23 = 851 pixels exceeds the limit of 500/);
  await assert.rejects(run(path.join(root, 'missing.png'), '--mode', 'bicubic', '-x', '4'), /missing\.png: no such file or folder/);
  assert.ok(!existsSync(o));

  await assert.rejects(run(small, '-o', o), /give --model NAME\|PATH .* or --mode bicubic\|lanczos/);
  await assert.rejects(run(small, '--mode', 'bicubic', '-o', o), /needs the factor: -x 4/);
  await assert.rejects(run(small, '--mode', 'nearest', '-x', '2', '-o', o), /the mode must be bicubic or lanczos/);
  await assert.rejects(run(small, '--mode', 'bicubic', '-x', '0', '-o', o), /not a positive integer/);
  await assert.rejects(run(small, '--mode', 'bicubic', '-x', '2', '-m', 'x', '-o', o), /either --model .* or --mode/);
  await assert.rejects(run(small, '--mode', 'bicubic', '-x', '2', '-o', path.join(root, 'out.gif')), /cannot write that format/);
  await assert.rejects(run(small, path.join(root, 'out-bicubic-2.png'), '--mode', 'bicubic', '-x', '2', '-o', path.join(root, 'x.png')), /file name but there are 2 inputs/);
});

test('--model: ×4 output, ℓfeat card histogram-matched unless --no-histogram-match; wrong factor or task refused', async () => {
  const feat = path.join(root, 'models', 'tiny-feat');
  await writeTinySrModel(feat, { loss: 'feat', histogramMatch: true });
  const a = path.join(root, 'net-default.png'), b = path.join(root, 'net-off.png'), c = path.join(root, 'net-tiled.png');
  const r = await run(small, '-m', feat, '--runtime', 'engine', '--precision', 'float32', '-o', a);
  assert.match(r.stdout, /37×23 → 148×92, tiny-feat \(engine, histogram-matched\)/);
  assert.deepEqual(await size(a), [148, 92]);
  const r2 = await run(small, '-m', feat, '-x', '4', '--no-histogram-match', '--runtime', 'engine', '--precision', 'float32', '-o', b);
  assert.doesNotMatch(r2.stdout, /histogram-matched/);
  const da = (await loadImage(a)).data, db = (await loadImage(b)).data;
  assert.ok(da.some((v, i) => v !== db[i]), 'histogram matching changes the output');
  // Matched to the input's histogram: each channel's mean is near the input's. Not equal: the
  // quantile mapping interpolates between the input's distinct values, which biases by up to
  // half a step (the green gradient here moves in steps of 9).
  const mean = (d: ArrayLike<number>, c: number) => Array.from(d).filter((_, i) => i % 3 === c).reduce((s, v) => s + v, 0) / (d.length / 3);
  const input = testImage(37, 23).data;
  for (let ch = 0; ch < 3; ch++) {
    const [m, off, want] = [mean(da, ch), mean(db, ch), mean(input, ch)];
    assert.ok(Math.abs(m - want) < 5 && Math.abs(m - want) < Math.abs(off - want), `channel ${ch}: matched ${m}, unmatched ${off}, input ${want}`);
  }
  // Tiling (batch norm in eval mode: tiles agree with the whole image away from tile seams).
  await run(small, '-m', feat, '--tile', '32', '--overlap', '8', '--no-histogram-match', '--runtime', 'engine', '--precision', 'float32', '-o', c);
  assert.deepEqual(await size(c), [148, 92]);

  await assert.rejects(run(small, '-m', feat, '-x', '2', '--runtime', 'engine', '-o', path.join(root, 'n.png')), /upscales ×4, not ×2/);
  const style = path.join(root, 'models', 'tiny-style');
  await writeTinySrModel(style, { task: 'style' });
  await assert.rejects(run(small, '-m', style, '--runtime', 'engine', '-o', path.join(root, 'n.png')), /is a style model, not a super-resolution model/);
  mkdirSync(path.join(root, 'empty-model'));
  await assert.rejects(run(small, '-m', path.join(root, 'empty-model'), '-o', path.join(root, 'n.png')), /no model\.onnx or weights\.safetensors/);
  await assert.rejects(run(small, '--mode', 'bicubic', '-x', '2', '--no-histogram-match', '-o', path.join(root, 'n.png')), /applies to network outputs only/);
});
