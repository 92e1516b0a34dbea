// Reading ml5 checkpoints: tensor layouts, validation of untrusted folders, and the
// consent-gated download (served from 127.0.0.1, never the network).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { importMl5, importMl5FromUrl, ML5_VARIABLES } from '../../../src/models/ml5/index.js';
import { sharedDataDir } from '../../../src/util/paths.js';

const dataRoot = sharedDataDir();
const fixture = path.join(dataRoot, 'peer/ml5-wave');
const skip = existsSync(path.join(fixture, 'manifest.json')) ? false : `fixture not found: ${fixture} (set PERCEPTUAL_DATA to the data folder)`;

function rawVariable(name: string): { shape: number[]; data: Float32Array } {
  const manifest = JSON.parse(readFileSync(path.join(fixture, 'manifest.json'), 'utf8')) as Record<string, { filename: string; shape: number[] }>;
  const buf = readFileSync(path.join(fixture, manifest[name]!.filename));
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return { shape: manifest[name]!.shape, data: Float32Array.from({ length: buf.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true)) };
}

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'perceptual-ml5-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('canonical tensors: OIHW convs, [in, out, kh, kw] transposed convs, scale/shift from k+2/k+1', { skip }, async () => {
  const { tensors } = await importMl5(fixture);
  assert.equal(tensors.size, 16 * 3);
  assert.deepEqual(tensors.get('conv1.weight')!.shape, [32, 3, 9, 9]);
  assert.deepEqual(tensors.get('res5.conv2.weight')!.shape, [128, 128, 3, 3]);
  assert.deepEqual(tensors.get('deconv1.weight')!.shape, [128, 64, 3, 3]);
  assert.deepEqual(tensors.get('conv4.weight')!.shape, [3, 32, 9, 9]);

  // conv1: OIHW[o][i][y][x] = HWIO[y][x][i][o]
  const v0 = rawVariable('Variable');
  const c1 = tensors.get('conv1.weight')!.data;
  for (const [o, i, y, x] of [[0, 0, 0, 0], [31, 2, 8, 8], [5, 1, 3, 7], [17, 2, 6, 1]] as const) {
    assert.equal(c1[((o * 3 + i) * 9 + y) * 9 + x], v0.data[((y * 9 + x) * 3 + i) * 32 + o]);
  }
  // deconv1 (Variable_39 is [3, 3, 64 out, 128 in]): canonical [in][out][y][x] = raw[y][x][out][in]
  const v39 = rawVariable('Variable_39');
  assert.deepEqual(v39.shape, [3, 3, 64, 128]);
  const d1 = tensors.get('deconv1.weight')!.data;
  for (const [i, o, y, x] of [[0, 0, 0, 0], [127, 63, 2, 2], [40, 7, 1, 2]] as const) {
    assert.equal(d1[((i * 64 + o) * 3 + y) * 3 + x], v39.data[((y * 3 + x) * 64 + o) * 128 + i]);
  }
  // ml5's instanceNorm(y, id + 1) reads shift = id + 1, scale = id + 2.
  assert.deepEqual(tensors.get('conv1.norm.bias')!.data, rawVariable('Variable_1').data);
  assert.deepEqual(tensors.get('conv1.norm.weight')!.data, rawVariable('Variable_2').data);
  assert.deepEqual(tensors.get('conv4.norm.weight')!.data, rawVariable('Variable_47').data);
});

test('untrusted folders: unsafe file names, wrong sizes, non-finite values, missing variables', { skip }, async (t) => {
  const dir = await tempDir(t);
  const manifest = JSON.parse(readFileSync(path.join(fixture, 'manifest.json'), 'utf8')) as Record<string, { filename: string; shape: number[] }>;
  for (const name of ML5_VARIABLES) await copyFile(path.join(fixture, manifest[name]!.filename), path.join(dir, manifest[name]!.filename));
  const write = (m: unknown) => writeFile(path.join(dir, 'manifest.json'), JSON.stringify(m));

  await write({ ...manifest, Variable_5: { filename: '../Variable_5', shape: [64] } });
  await assert.rejects(importMl5(dir), /Variable_5 has an unsafe or missing filename "\.\.\/Variable_5"/);
  await write({ ...manifest, Variable_5: { filename: 'Variable_5', shape: [65] } });
  await assert.rejects(importMl5(dir), /Variable_5 \(Variable_5\) has 256 bytes, expected 260 for shape \[65\]/);
  const { Variable_47: _, ...without47 } = manifest;
  await write(without47);
  await assert.rejects(importMl5(dir), /variable Variable_47 is missing/);
  await write(manifest);
  const bad = new Float32Array(3);
  bad[1] = NaN;
  await writeFile(path.join(dir, 'Variable_46'), new Uint8Array(bad.buffer));
  await assert.rejects(importMl5(dir), /Variable_46 .*non-finite value at index 1/);
  await assert.rejects(importMl5(path.join(dir, 'nope')), /cannot read checkpoint manifest .*nope/);
});

/** Serve `root` over http on 127.0.0.1; records request paths; `override` can replace responses. */
async function serve(root: string, override?: (p: string) => { status: number; body: Uint8Array; chunked?: boolean } | undefined): Promise<{ url: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer(async (req, res) => {
    const p = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
    requests.push(p);
    const o = override?.(p);
    if (o) {
      // Chunked: no Content-Length, so only the streaming size check can catch an oversized body.
      if (o.chunked) res.writeHead(o.status).end(o.body);
      else res.writeHead(o.status, { 'content-length': o.body.byteLength }).end(o.body);
      return;
    }
    const file = path.join(root, path.basename(p));
    try {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(await readFile(file));
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/models/wave`, requests, server };
}

/** fetch keeps connections alive; close them too, or server.close() waits for them. */
function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

test('importMl5FromUrl needs consent, then downloads exactly the manifest and the 48 variables', { skip }, async (t) => {
  const { url, requests, server } = await serve(fixture);
  t.after(() => close(server));
  const dir = await tempDir(t);
  const target = path.join(dir, 'wave');

  await assert.rejects(importMl5FromUrl(url, target, { consent: false }), /without consent; pass \{ consent: true \}.*nothing was fetched/);
  await assert.rejects(importMl5FromUrl(url, target, {} as { consent: boolean }), /without consent/);
  assert.equal(requests.length, 0, 'no request may be made without consent');
  await assert.rejects(importMl5FromUrl('file:///etc', target, { consent: true }), /only http\(s\) URLs/);

  const imported = await importMl5FromUrl(url, target, { consent: true });
  assert.equal(requests.length, 1 + 48);
  assert.equal(requests[0], '/models/wave/manifest.json');
  assert.ok(requests.every((p) => p.startsWith('/models/wave/')));
  assert.equal((await readdir(target)).length, 49, 'manifest + 48 variables, no temporary files left');

  const local = await importMl5(fixture);
  assert.equal(imported.tensors.size, local.tensors.size);
  for (const [name, tensor] of local.tensors) assert.deepEqual(imported.tensors.get(name), tensor, name);
});

test('importMl5FromUrl reports HTTP errors and truncated or oversized files with their URL', { skip }, async (t) => {
  const dir = await tempDir(t);
  const missing = await serve(fixture, (p) => (p.endsWith('/Variable_7') ? { status: 404, body: new Uint8Array() } : undefined));
  t.after(() => close(missing.server));
  await assert.rejects(importMl5FromUrl(missing.url, path.join(dir, 'a'), { consent: true }), /cannot download http:\/\/127\.0\.0\.1:\d+\/models\/wave\/Variable_7: HTTP 404/);

  const short = await serve(fixture, (p) => (p.endsWith('/Variable_8') ? { status: 200, body: new Uint8Array(12) } : undefined));
  t.after(() => close(short.server));
  await assert.rejects(importMl5FromUrl(short.url, path.join(dir, 'b'), { consent: true }), /Variable_8 \(Variable_8\) has 12 bytes, expected 512/);

  const long = await serve(fixture, (p) => (p.endsWith('/Variable_8') ? { status: 200, body: new Uint8Array(4096) } : undefined));
  t.after(() => close(long.server));
  await assert.rejects(importMl5FromUrl(long.url, path.join(dir, 'c'), { consent: true }), /Variable_8: 4096 bytes, more than the 512 expected/);
  const chunked = await serve(fixture, (p) => (p.endsWith('/Variable_8') ? { status: 200, body: new Uint8Array(4096), chunked: true } : undefined));
  t.after(() => close(chunked.server));
  await assert.rejects(importMl5FromUrl(chunked.url, path.join(dir, 'd'), { consent: true }), /Variable_8: more than the 512 bytes expected/);
  // A failed download leaves no manifest, so the folder is never mistaken for a checkpoint.
  assert.equal(existsSync(path.join(dir, 'c', 'manifest.json')), false);
});
