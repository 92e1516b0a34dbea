// perceptual serve: the app and the models' public files with COOP/COEP and the right types;
// traversal (encoded or not, via symlinks), other model files, other methods: refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { hostCheck, startServer, WebAppMissingError, type RunningServer } from './server.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw request: unlike fetch, http.request sends the path exactly as written (no `..` folding). */
function request(server: RunningServer, rawPath: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: server.host, port: server.port, path: rawPath, method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('latin1') }));
    });
    req.setTimeout(5000, () => req.destroy(new Error(`timeout on ${rawPath}`)));
    req.on('error', reject);
    req.end();
  });
}

async function fixture(t: import('node:test').TestContext, allowedHosts?: string[]): Promise<{ server: RunningServer; top: string }> {
  const top = await mkdtemp(path.join(os.tmpdir(), 'perceptual-serve-'));
  t.after(() => rm(top, { recursive: true, force: true }));
  const web = path.join(top, 'web');
  const models = path.join(top, 'models');
  await mkdir(path.join(web, 'assets'), { recursive: true });
  await mkdir(path.join(web, 'ort'), { recursive: true });
  await mkdir(path.join(models, 'candy'), { recursive: true });
  await mkdir(path.join(models, 'x4'), { recursive: true });
  await mkdir(path.join(models, 'broken'), { recursive: true });
  await writeFile(path.join(top, 'secret.txt'), 'TOP SECRET');
  await writeFile(path.join(web, 'index.html'), '<!doctype html><title>app</title>');
  await writeFile(path.join(web, 'assets', 'app.js'), 'console.log(1)');
  await writeFile(path.join(web, 'ort', 'ort-wasm-simd-threaded.jsep.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d]));
  await writeFile(path.join(web, 'ort', 'ort-wasm-simd-threaded.jsep.mjs'), 'export {}');
  await symlink(path.join(top, 'secret.txt'), path.join(web, 'assets', 'link.txt'));
  await writeFile(path.join(models, 'candy', 'card.json'), JSON.stringify({ name: 'candy', task: 'style', title: 'Candy', author: 'x' }));
  await writeFile(path.join(models, 'candy', 'model.onnx'), 'ONNX');
  await writeFile(path.join(models, 'candy', 'weights.safetensors'), 'WEIGHTS');
  await writeFile(path.join(models, 'candy', 'sample.jpg'), 'JPEG');
  await writeFile(path.join(models, 'x4', 'card.json'), JSON.stringify({ name: 'x4', task: 'sr', title: 'Photo ×4', scale: 4 }));
  await writeFile(path.join(models, 'x4', 'model.onnx'), 'ONNX');
  await writeFile(path.join(models, 'broken', 'card.json'), '{"task": "paint"}');
  await writeFile(path.join(models, 'broken', 'model.onnx'), 'ONNX');
  const server = await startServer({ webRoot: web, modelsDir: models, port: 0, allowedHosts });
  t.after(() => server.close());
  return { server, top };
}

test('serves the app and the models with cross-origin isolation and the right types', async (t) => {
  const { server } = await fixture(t);
  assert.equal(server.host, '127.0.0.1');
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const index = await request(server, '/');
  assert.equal(index.status, 200);
  assert.match(index.body, /<title>app<\/title>/);
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(index.headers['cross-origin-opener-policy'], 'same-origin');
  assert.equal(index.headers['cross-origin-embedder-policy'], 'require-corp');
  for (const [p, type] of [
    ['/assets/app.js', 'text/javascript; charset=utf-8'],
    ['/ort/ort-wasm-simd-threaded.jsep.wasm', 'application/wasm'],
    ['/ort/ort-wasm-simd-threaded.jsep.mjs', 'text/javascript; charset=utf-8'],
    ['/models/candy/model.onnx', 'application/octet-stream'],
    ['/models/candy/card.json', 'application/json; charset=utf-8'],
    ['/models/candy/sample.jpg', 'image/jpeg'],
  ] as const) {
    const r = await request(server, p);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers['content-type'], type, p);
    assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp', p);
  }
  const list = await request(server, '/models/index.json');
  assert.equal(list.status, 200);
  const { models } = JSON.parse(list.body) as { models: { name: string; task: string; model: string; samples: string[]; scale?: number; author?: string }[] };
  assert.deepEqual(models.map((m) => [m.name, m.task, m.model]), [['candy', 'style', 'candy/model.onnx'], ['x4', 'sr', 'x4/model.onnx']]);
  assert.deepEqual(models[0]!.samples, ['candy/sample.jpg']);
  assert.equal(models[0]!.author, 'x');
  assert.equal(models[1]!.scale, 4);

  // HEAD: headers only. Conditional GET: 304 when unchanged.
  const head = await request(server, '/assets/app.js', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '14');
  assert.equal(head.body, '');
  const again = await request(server, '/assets/app.js', { headers: { 'If-None-Match': String(head.headers.etag) } });
  assert.equal(again.status, 304);
});

test('refuses directory traversal, other files, directories and other methods', async (t) => {
  const { server } = await fixture(t);
  const traversals = [
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E%2Fsecret.txt',
    '/assets/..%2f..%2fsecret.txt',
    '/..%5csecret.txt',
    '/models/..%2f..%2fsecret.txt',
    '/models/candy/..%2f..%2f..%2fsecret.txt',
    '/models/../../secret.txt',
    '/models/%2e%2e/%2e%2e/secret.txt',
    '/assets/link.txt', // a symlink out of the web root
    '/assets/app.js%00.png',
    '//etc/passwd',
    '/etc/passwd',
  ];
  for (const p of traversals) {
    const r = await request(server, p);
    assert.ok(r.status === 404 || r.status === 400, `${p} → ${r.status}`);
    assert.doesNotMatch(r.body, /TOP SECRET|root:/, p);
  }
  for (const p of ['/models/candy/weights.safetensors', '/models/candy', '/models/candy/', '/models/', '/assets', '/assets/', '/missing.html', '/models/none/model.onnx', '/models/candy/x/model.onnx']) {
    assert.equal((await request(server, p)).status, 404, p);
  }
  assert.equal((await request(server, '/%E0%A4%A')).status, 400);
  const post = await request(server, '/', { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
});

test('a missing web build says how to build it', async (t) => {
  const top = await mkdtemp(path.join(os.tmpdir(), 'perceptual-serve-'));
  t.after(() => rm(top, { recursive: true, force: true }));
  await assert.rejects(startServer({ webRoot: path.join(top, 'dist'), modelsDir: top, port: 0 }), (e: Error) => {
    assert.ok(e instanceof WebAppMissingError);
    assert.match(e.message, /web app is not built: .*index\.html is missing — run npm run build:web/);
    return true;
  });
  await assert.rejects(startServer({ webRoot: top, port: 70000 }), /port must be an integer/);
});

/** A request with no Host header at all (HTTP/1.0), which http.request cannot send. */
function requestWithoutHost(server: RunningServer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, server.host, () => socket.end('GET / HTTP/1.0\r\n\r\n'));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}

test('answers only requests whose Host names this server (DNS rebinding): 403 for any other name or port', async (t) => {
  const { server } = await fixture(t);
  const p = server.port;
  assert.deepEqual(server.allowedHosts, [`localhost:${p}`, `127.0.0.1:${p}`, `[::1]:${p}`]);
  for (const host of [`localhost:${p}`, `127.0.0.1:${p}`, `[::1]:${p}`, `LOCALHOST:${p}`, `localhost.:${p}`]) {
    const r = await request(server, '/', { headers: { Host: host } });
    assert.equal(r.status, 200, host);
  }
  for (const host of [`evil.example:${p}`, `localhost.evil.example:${p}`, `127.0.0.1.nip.io:${p}`, 'evil.example', `localhost:${p + 1}`, 'localhost', `127.0.0.2:${p}`, `[::2]:${p}`, `localhost:${p}@evil.example`]) {
    for (const path of ['/', '/models/index.json', '/models/candy/model.onnx']) {
      const r = await request(server, path, { headers: { Host: host } });
      assert.equal(r.status, 403, `${host} ${path}`);
      assert.doesNotMatch(r.body, /ONNX|candy|<title>/, `${host} ${path}`);
    }
  }
  const r = await request(server, '/', { headers: { Host: `evil.example:${p}` } });
  assert.equal(r.body, `forbidden: Host 'evil.example:${p}' is not this server (it answers to localhost:${p}, 127.0.0.1:${p}, [::1]:${p}); to allow another name, start it with --allow-host <name> (option allowedHosts)\n`);
  assert.match(await requestWithoutHost(server), /^HTTP\/1\.1 403 [^]*forbidden: no Host header/);
});

test('allowedHosts adds names; "*" turns the check off; bad entries are refused before binding', async (t) => {
  const { server } = await fixture(t, ['My.Box', 'fe80::1']);
  const p = server.port;
  assert.equal((await request(server, '/', { headers: { Host: `my.box:${p}` } })).status, 200);
  assert.equal((await request(server, '/', { headers: { Host: `[fe80::1]:${p}` } })).status, 200);
  assert.equal((await request(server, '/', { headers: { Host: `other.box:${p}` } })).status, 403);
  const open = await fixture(t, ['*']);
  assert.deepEqual(open.server.allowedHosts, ['*']);
  assert.equal((await request(open.server, '/', { headers: { Host: 'anything.example:1' } })).status, 200);
  await assert.rejects(startServer({ webRoot: '/nonexistent', port: 0, allowedHosts: ['a b'] }), /serve: option allowedHosts must hold host names, got "a b"/);
});

test('bound to 0.0.0.0, the machine\'s interface addresses are accepted too', () => {
  const c = hostCheck('0.0.0.0', 8080);
  assert.ok(c.allows('127.0.0.1:8080'));
  assert.ok(c.allows('0.0.0.0:8080'));
  for (const list of Object.values(os.networkInterfaces())) {
    for (const i of list ?? []) if (i.family === 'IPv4') assert.ok(c.allows(`${i.address}:8080`), i.address);
  }
  assert.equal(c.allows('evil.example:8080'), false);
  assert.equal(hostCheck('127.0.0.1', 80).allows('localhost'), true, 'no port in the header means 80');
});
