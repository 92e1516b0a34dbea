/**
 * `perceptual stylize` end to end on a tiny random model (engine runtime): outputs, options,
 * progress lines, bad input. Runs the CLI from the sources (a stale dist/ cannot hide a change).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { manualSeed } from '../../src/engine/index.js';
import { buildStyleNet } from '../../src/models/transformer-net.js';
import { packageRoot } from '../../src/util/paths.js';

const root = packageRoot;
const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'cli', 'main.ts'), ...args], { encoding: 'utf8', cwd: root });

async function fixture() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'perceptual-stylize-'));
  const modelDir = path.join(dir, 'tiny');
  mkdirSync(modelDir);
  manualSeed(3);
  const net = buildStyleNet('c9s1-8,d16,R16,u8,c9s1-3', { norm: 'instance', padding: 'reflect' });
  await net.saveSafetensors(path.join(modelDir, 'weights.safetensors'), { config: JSON.stringify(net.config) });
  writeFileSync(path.join(modelDir, 'card.json'), JSON.stringify({ name: 'tiny', title: 'Tiny', task: 'style' }));
  const photo = path.join(dir, 'photo.png');
  await sharp({ create: { width: 70, height: 45, channels: 3, background: { r: 200, g: 80, b: 30 } } }).png().toFile(photo);
  return { dir, modelDir, photo };
}

test('stylize writes an image of the input size; strength 0 returns the photo', async () => {
  const { dir, modelDir, photo } = await fixture();
  const out = path.join(dir, 'out.jpg');
  const r = cli(['stylize', photo, '--style', modelDir, '-o', out, '--runtime', 'engine', '--precision', 'float32']);
  assert.equal(r.status, 0, r.stderr);
  const meta = await sharp(out).metadata();
  assert.deepEqual([meta.width, meta.height], [70, 45]);

  const same = path.join(dir, 'same.png');
  assert.equal(cli(['stylize', photo, '--style', modelDir, '-o', same, '--strength', '0', '--runtime', 'engine']).status, 0);
  const px = await sharp(same).raw().toBuffer();
  assert.deepEqual([px[0], px[1], px[2]], [200, 80, 30]);

  const folder = path.join(dir, 'many');
  const photo2 = path.join(dir, 'photo2.jpg');
  await sharp(photo).jpeg().toFile(photo2);
  const r2 = cli(['stylize', photo, photo2, '--style', modelDir, '-o', folder, '--runtime', 'engine', '--max-side', '32', '--format', 'webp', '--preserve-color']);
  assert.equal(r2.status, 0, r2.stderr);
  assert.ok(existsSync(path.join(folder, 'photo.webp')) && existsSync(path.join(folder, 'photo2.webp')));
  // One line per image, with what ran it; no training-style "loss" field.
  assert.match(r2.stdout, /^\[1\/2\] .*photo\.png → .*photo\.webp \(32×21, [\d.]+ s, engine (float32|bf16)\)$/m);
  assert.match(r2.stdout, /^\[2\/2\] .*photo2\.jpg → .*photo2\.webp \(32×21, [\d.]+ s, engine (float32|bf16)\)$/m);
  assert.doesNotMatch(r2.stdout + r2.stderr, /loss/);

  // Tiled: tile progress on stderr (a log, not a terminal: plain lines), the same size out.
  const tiled = path.join(dir, 'tiled.png');
  const r3 = cli(['stylize', photo, '--style', modelDir, '-o', tiled, '--runtime', 'engine', '--tile', '32', '--overlap', '8']);
  assert.equal(r3.status, 0, r3.stderr);
  assert.match(r3.stderr, /^.*photo\.png: tile 1\/6$/m);
  assert.match(r3.stderr, /^.*photo\.png: tile 6\/6 \([\d.]+ s a tile\)$/m);
  assert.doesNotMatch(r3.stderr, /loss/);
  assert.deepEqual([(await sharp(tiled).metadata()).width, (await sharp(tiled).metadata()).height], [70, 45]);
  assert.equal((await sharp(path.join(folder, 'photo.webp')).metadata()).width, 32);

  // --shifts: said in the summary; a count without a shift set is refused before any work.
  const shifted = path.join(dir, 'shifted.png');
  const r4 = cli(['stylize', photo, '--style', modelDir, '-o', shifted, '--runtime', 'engine', '--precision', 'float32', '--shifts', '2']);
  assert.equal(r4.status, 0, r4.stderr);
  assert.match(r4.stdout, /photo\.png → .*shifted\.png \(70×45, [\d.]+ s, engine float32, 2 shifts averaged\)$/m);
  const r5 = cli(['stylize', photo, '--style', modelDir, '-o', path.join(dir, 'no.png'), '--shifts', '3']);
  assert.notEqual(r5.status, 0);
  assert.match(r5.stderr, /--shifts.*'3' is not one of 1, 2, 4, 8, 16/);
  assert.equal(existsSync(path.join(dir, 'no.png')), false);
  const r6 = cli(['stylize', photo, '--style', modelDir, '-o', path.join(dir, 'no.png'), '--denoise']);
  assert.notEqual(r6.status, 0);
  assert.match(r6.stderr, /--denoise applies to video only/);
  assert.equal(existsSync(path.join(dir, 'no.png')), false);
});

test('bad input gives a clear error and a non-zero exit, never a crash', async () => {
  const { dir, modelDir, photo } = await fixture();
  const notImage = path.join(dir, 'notes.jpg');
  writeFileSync(notImage, 'this is not a JPEG');
  const r = cli(['stylize', notImage, '--style', modelDir, '-o', path.join(dir, 'x.jpg'), '--runtime', 'engine']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^perceptual: cannot read image .*notes\.jpg: .*unsupported image format/m);
  assert.ok(!existsSync(path.join(dir, 'x.jpg')));

  const big = cli(['stylize', photo, '--style', modelDir, '-o', path.join(dir, 'y.jpg'), '--max-pixels', '1000', '--runtime', 'engine']);
  assert.equal(big.status, 1);
  assert.match(big.stderr, /exceeds the limit of 1000/);

  const noModel = cli(['stylize', photo, '--style', 'no-such-style', '-o', path.join(dir, 'z.jpg')]);
  assert.equal(noModel.status, 1);
  assert.match(noModel.stderr, /no model 'no-such-style'.*available/);

  const badStrength = cli(['stylize', photo, '--style', modelDir, '--strength', '2']);
  assert.equal(badStrength.status, 1);
  assert.match(badStrength.stderr, /option '--strength <s>' argument '2' is invalid\. the strength must be a number from 0 to 1/);
});
