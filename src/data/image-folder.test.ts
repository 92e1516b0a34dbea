import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listImages, isImageFile, ImageFolderError } from './image-folder.js';

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-folder-'));
}

test('lists images recursively, by extension (any case), sorted, hidden files skipped', async (t) => {
  const dir = await tempDir();
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const files = ['b.JPG', 'a.png', 'sub/c.jpeg', 'sub/deeper/d.WebP', 'sub/z.jpg', 'notes.txt', '.hidden.jpg', '.git/x.jpg', 'B.jpg', 'sub/._e.jpg'];
  for (const f of files) {
    await fs.mkdir(path.dirname(path.join(dir, f)), { recursive: true });
    await fs.writeFile(path.join(dir, f), 'x'); // content is not looked at
  }
  await fs.mkdir(path.join(dir, 'folder.jpg')); // a folder with an image name is descended, not listed
  await fs.symlink(path.join(dir, 'a.png'), path.join(dir, 'link.png'));
  const got = await listImages(dir);
  const rel = got.map((f) => path.relative(dir, f).split(path.sep).join('/'));
  assert.deepEqual(rel, ['B.jpg', 'a.png', 'b.JPG', 'link.png', 'sub/c.jpeg', 'sub/deeper/d.WebP', 'sub/z.jpg']);
  assert.ok(got.every((f) => f.startsWith(dir)));
  const flat = await listImages(dir, { recursive: false });
  assert.equal(flat.length, 4);
});

test('clear errors: missing folder, a file, no images', async (t) => {
  const dir = await tempDir();
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  await assert.rejects(listImages(path.join(dir, 'nope')), (e: unknown) => e instanceof ImageFolderError && /does not exist/.test(e.message));
  await fs.writeFile(path.join(dir, 'a.jpg'), 'x');
  await assert.rejects(listImages(path.join(dir, 'a.jpg')), /is not a folder/);
  await fs.mkdir(path.join(dir, 'empty'));
  await fs.writeFile(path.join(dir, 'empty', 'readme.md'), 'x');
  await assert.rejects(listImages(path.join(dir, 'empty')), /contains no images \(looked for \.jpg, \.jpeg, \.png, \.webp, recursively\)/);
});

test('abort signal', async (t) => {
  const dir = await tempDir();
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  await fs.writeFile(path.join(dir, 'a.jpg'), 'x');
  await assert.rejects(listImages(dir, { signal: AbortSignal.abort() }), { name: 'AbortError' });
});

test('isImageFile', () => {
  assert.ok(isImageFile('x/y.JPEG'));
  assert.ok(!isImageFile('y.gif'));
  assert.ok(!isImageFile('jpg'));
});
