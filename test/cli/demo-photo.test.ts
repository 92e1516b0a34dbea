// The demo needs nothing beside the repository (issue 11, item 10): scripts/demo.sh's default
// photo is in the repository, small, decodable, and its README gives the source, the licence and
// the checksum of exactly this file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test("scripts/demo.sh's default photo ships with its source, licence and checksum", async () => {
  const script = readFileSync(path.join(root, 'scripts/demo.sh'), 'utf8');
  const m = /photo="\$\{1:-([^}]+)\}"/.exec(script);
  assert.ok(m, 'demo.sh sets a default photo');
  const photo = path.join(root, m[1]!);
  assert.ok(!path.relative(root, photo).startsWith('..'), `the default photo ${m[1]} must be inside the repository`);
  assert.ok(statSync(photo).size <= 150 * 1024, `${m[1]} is ${statSync(photo).size} bytes`);
  const meta = await sharp(photo).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 410, 512]);
  const readme = readFileSync(path.join(path.dirname(photo), 'README.md'), 'utf8');
  const sha = createHash('sha256').update(readFileSync(photo)).digest('hex');
  assert.ok(readme.includes(sha), 'the README gives the SHA-256 of this very file');
  assert.match(readme, /No known copyright restrictions/);
  assert.match(readme, /flickr\.com\/commons\/usage/);
  assert.match(readme, /9157275815/);
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { files: string[] };
  assert.ok(pkg.files.some((f) => m[1]!.startsWith(f)), 'the npm package ships the photo too');
});
