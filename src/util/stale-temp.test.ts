import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readdirSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempFileOwner, processAlive, removeStaleTempFiles } from './stale-temp.js';
import { atomicTempName } from './atomic-write.js';

/** A pid that is certainly dead: a child that has exited. */
const deadPid = (): number => Number(spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim());

test('tempFileOwner reads the pid of the temp names this project writes, and nothing else', () => {
  assert.equal(tempFileOwner(path.basename(atomicTempName('/x/checkpoint.safetensors', 4242))), 4242);
  assert.equal(tempFileOwner('.out.jpg.17.0a1b2c3d.tmp'), 17);
  assert.equal(tempFileOwner('runtime-choice.json.99.ffffffff.tmp'), 99);
  assert.equal(tempFileOwner('out.jpg.tmp-123'), 123);
  for (const name of ['out.jpg', 'notes.tmp', '.out.jpg.17.xyz.tmp', 'photo.123.jpg', '.a.0.0a1b2c3d.tmp', 'a.tmp-', 'a.tmp-12x']) assert.equal(tempFileOwner(name), undefined, name);
});

test('processAlive: this process yes, an exited child no', () => {
  assert.equal(processAlive(process.pid), true);
  assert.equal(processAlive(deadPid()), false);
});

test('removeStaleTempFiles removes dead processes’ temp files only, directly in the folder', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'perceptual-stale-'));
  const dead = deadPid();
  const stale = [`.checkpoint.safetensors.${dead}.0a1b2c3d.tmp`, `.out.png.${dead}.deadbeef.tmp`, `out.jpg.tmp-${dead}`];
  const kept = [`.out.png.${process.pid}.0a1b2c3d.tmp`, 'out.png', 'notes.tmp', 'sub'];
  for (const f of stale) writeFileSync(path.join(dir, f), 'x');
  for (const f of kept.slice(0, 3)) writeFileSync(path.join(dir, f), 'x');
  mkdirSync(path.join(dir, 'sub'));
  writeFileSync(path.join(dir, 'sub', `.deep.png.${dead}.0a1b2c3d.tmp`), 'x');
  const removed = await removeStaleTempFiles(dir);
  assert.deepEqual(removed.map((f) => path.basename(f)).sort(), [...stale].sort());
  assert.deepEqual(readdirSync(dir).sort(), [...kept].sort());
  assert.deepEqual(readdirSync(path.join(dir, 'sub')), [`.deep.png.${dead}.0a1b2c3d.tmp`], 'not recursive');
  assert.deepEqual(await removeStaleTempFiles(path.join(dir, 'missing')), []);
});
