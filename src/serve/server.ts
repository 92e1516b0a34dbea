/**
 * `perceptual serve`: the built web app (web/dist) and the shipped models, over node:http.
 *
 * Only two trees are reachable: the app's files, and under `/models/` the files the app needs
 * from each model folder — its `.onnx`, `card.json` and sample images (not the training
 * weights), plus `/models/index.json`, generated from the folders on disk. Everything else is
 * 404. Every response carries COOP `same-origin` + COEP `require-corp`: they make the page
 * cross-origin isolated, which is what lets onnxruntime-web use SharedArrayBuffer and so
 * WebAssembly threads.
 *
 * Requests are answered only when their Host header names this server: localhost, 127.0.0.1,
 * [::1], the bound address (every local interface address when bound to 0.0.0.0 or ::) or a
 * host given in `allowedHosts` — with the bound port. Anything else is 403: that is what stops
 * DNS rebinding (a web page whose own host name is made to resolve to 127.0.0.1 and could then
 * read the app and the models from the browser).
 */
import { createReadStream, existsSync } from 'node:fs';
import http from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { listModels, SAMPLE_IMAGE } from '../infer/node/catalogue.js';
import { contentType } from './mime.js';
import { BadPathError, resolveInside, safeSegments } from './safe-path.js';
import { packageRoot } from '../util/paths.js';
import { MODEL_FILES } from '../models/model-folder.js';

/** The package's root folder (this file is `src/serve/server.ts` or `dist/serve/server.js`). */
export const PACKAGE_ROOT = packageRoot;
export const DEFAULT_WEB_ROOT = path.join(PACKAGE_ROOT, 'web', 'dist');
export const DEFAULT_MODELS_DIR = path.join(PACKAGE_ROOT, 'models');
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;

export interface ServerOptions {
  /** The built app (default web/dist). */
  webRoot?: string;
  /** The shipped models (default models/). */
  modelsDir?: string;
  /** Default 127.0.0.1: the app is for this machine unless asked otherwise. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /**
   * Host names (or addresses) requests may name in their Host header besides the local ones —
   * e.g. the machine's DNS name when serving on 0.0.0.0. `'*'` turns the check off (then any
   * web page can make the browser read the app through DNS rebinding).
   */
  allowedHosts?: string[];
}

export interface RunningServer {
  /** `http://host:port/`. */
  url: string;
  host: string;
  port: number;
  webRoot: string;
  modelsDir: string;
  /** The host names the Host header may carry (with `:port`). */
  allowedHosts: string[];
  close(): Promise<void>;
}

/** The app has not been built: says how to build it. */
export class WebAppMissingError extends Error {
  constructor(webRoot: string) {
    super(`the web app is not built: ${path.join(webRoot, 'index.html')} is missing — run npm run build:web`);
    this.name = 'WebAppMissingError';
  }
}

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
} as const;

/** The request handler, for embedding (tests, Vite's dev server). */
export function createHandler(options: { webRoot: string; modelsDir: string }): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const { webRoot, modelsDir } = options;
  return (req, res) => {
    handle(req, res, webRoot, modelsDir).catch((e) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${(e as Error).message}\n`);
      else res.destroy(e as Error);
    });
  };
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, webRoot: string, modelsDir: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
  }
  const urlPath = (req.url ?? '/').split(/[?#]/, 1)[0]!;
  let segments: string[] | undefined;
  try {
    segments = safeSegments(urlPath);
  } catch (e) {
    if (e instanceof BadPathError) return send(res, 400, 'text/plain; charset=utf-8', 'bad request\n');
    throw e;
  }
  if (!segments) return notFound(res);

  if (segments[0] === 'models') {
    if (segments.length === 2 && segments[1] === 'index.json') {
      const { models } = await listModels(modelsDir);
      return send(res, 200, contentType('index.json'), `${JSON.stringify({ models }, null, 1)}\n`, { 'Cache-Control': 'no-cache' });
    }
    // `models/<folder>/<file>` with a file the app uses; nothing deeper, nothing else.
    const file = segments[2];
    if (segments.length !== 3 || !file || !(file.endsWith('.onnx') || file === MODEL_FILES.card || SAMPLE_IMAGE.test(file))) return notFound(res);
    return sendFile(req, res, modelsDir, segments.slice(1));
  }
  return sendFile(req, res, webRoot, segments.length === 0 ? ['index.html'] : segments);
}

async function sendFile(req: http.IncomingMessage, res: http.ServerResponse, root: string, segments: string[]): Promise<void> {
  const found = await resolveInside(root, segments);
  if (!found) return notFound(res);
  // Revalidate every time (the app's index.html and the models change between builds) but
  // answer 304 when nothing changed, so the 20–30 MB of WebAssembly is not sent again.
  const etag = `"${found.size.toString(36)}-${Math.floor(found.mtimeMs).toString(36)}"`;
  const headers = { ...ISOLATION_HEADERS, 'Content-Type': contentType(found.file), 'Cache-Control': 'no-cache', ETag: etag };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': String(found.size) });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const stream = createReadStream(found.file);
    stream.on('error', (e) => {
      res.destroy(e);
      resolve();
    });
    res.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
}

function notFound(res: http.ServerResponse): void {
  send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
}

function send(res: http.ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  const buf = Buffer.from(body);
  res.writeHead(status, { ...ISOLATION_HEADERS, ...extra, 'Content-Type': type, 'Content-Length': String(buf.length) });
  res.end(res.req.method === 'HEAD' ? undefined : buf);
}

/** Host names every server answers to. */
export const LOCAL_HOST_NAMES = ['localhost', '127.0.0.1', '[::1]'] as const;

/** A host as it appears in a Host header: lower case, IPv6 addresses in brackets. */
function hostName(address: string): string {
  const a = address.toLowerCase();
  return isIP(a) === 6 ? `[${a}]` : a;
}

/**
 * The Host-header check of a server bound to `boundHost:port`: the names it accepts and a
 * predicate on the header's value. Exported for tests.
 */
export function hostCheck(boundHost: string, port: number, allowedHosts: readonly string[] = []): { names: string[]; allows(hostHeader: string | undefined): boolean } {
  if (!Array.isArray(allowedHosts)) throw new TypeError(`serve: option allowedHosts must be an array of host names, got ${JSON.stringify(allowedHosts)}`);
  for (const h of allowedHosts) {
    if (typeof h !== 'string' || h === '' || /[\s/@]/.test(h)) throw new TypeError(`serve: option allowedHosts must hold host names, got ${JSON.stringify(h)}`);
  }
  if (allowedHosts.includes('*')) return { names: ['*'], allows: () => true };
  const names = new Set<string>([...LOCAL_HOST_NAMES, hostName(boundHost), ...allowedHosts.map(hostName)]);
  if (boundHost === '0.0.0.0' || boundHost === '::') {
    for (const list of Object.values(os.networkInterfaces())) for (const i of list ?? []) names.add(hostName(i.address.replace(/%.*$/, '')));
  }
  return {
    names: [...names],
    allows(header) {
      if (!header) return false;
      const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(header.trim().toLowerCase());
      if (!m) return false;
      const headerPort = m[2] === undefined ? 80 : Number(m[2]);
      return headerPort === port && names.has(m[1]!.replace(/\.$/, ''));
    },
  };
}

/** Start serving; resolves once listening. Throws {@link WebAppMissingError} when the app is not built. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const webRoot = path.resolve(options.webRoot ?? DEFAULT_WEB_ROOT);
  const modelsDir = path.resolve(options.modelsDir ?? DEFAULT_MODELS_DIR);
  const host = options.host ?? DEFAULT_HOST;
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be an integer 0–65535, got ${port}`);
  // Checked before anything else, so a bad option fails before the port is taken.
  hostCheck(host, 0, options.allowedHosts);
  if (!existsSync(path.join(webRoot, 'index.html'))) throw new WebAppMissingError(webRoot);

  const handler = createHandler({ webRoot, modelsDir });
  let check: ReturnType<typeof hostCheck> | undefined;
  let accepted: string[] = [];
  const server = http.createServer((req, res) => {
    if (!check?.allows(req.headers.host)) {
      const named = req.headers.host === undefined ? 'no Host header' : `Host '${req.headers.host}'`;
      return send(res, 403, 'text/plain; charset=utf-8', `forbidden: ${named} is not this server (it answers to ${accepted.join(', ')}); to allow another name, start it with --allow-host <name> (option allowedHosts)\n`);
    }
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  check = hostCheck(host, addr.port, options.allowedHosts);
  accepted = check.names.map((n) => (n === '*' ? n : `${n}:${addr.port}`));
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${urlHost}:${addr.port}/`,
    host: addr.address,
    port: addr.port,
    webRoot,
    modelsDir,
    allowedHosts: accepted,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        // Keep-alive connections (a browser's) would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}
