/**
 * Downloading an ml5 style-transfer checkpoint (e.g. a folder of ml5js/ml5-data-and-models)
 * into a local folder, then importing it.
 *
 * Network access is opt-in: the caller must pass `consent: true` (the CLI asks the user),
 * because these models are third-party files under their own licences and the download is
 * several megabytes. Only the manifest and the 48 variables the network uses are fetched
 * (some published folders also hold Adam optimiser slots, three times the size).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { decodeVariable, parseManifest, variableByteLength, type Manifest } from './checkpoint.js';
import { importMl5, type Ml5Import } from './import.js';
import { ML5_VARIABLES } from './network.js';
import { writeFileAtomic } from '../../util/atomic-write.js';

export interface Ml5DownloadOptions {
  /** Must be `true`: the user agreed to download third-party model files. */
  consent: boolean;
  /** Per-request timeout (default 60 s). */
  timeoutMs?: number;
  /** Refuse a checkpoint larger than this in total (default 256 MiB; ml5's are ~6.7 MB). */
  maxTotalBytes?: number;
  /** Parallel requests (default 4). */
  concurrency?: number;
}

const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * Fetch `<url>/manifest.json` and the variables it lists into `folder` (created if needed),
 * then {@link importMl5} it. `url` is the checkpoint folder's URL (http or https).
 */
export async function importMl5FromUrl(url: string, folder: string, options: Ml5DownloadOptions): Promise<Ml5Import> {
  if (options?.consent !== true) {
    throw new Error(`importMl5FromUrl: not downloading ${url} without consent; pass { consent: true } once the user has agreed to fetch this third-party model (nothing was fetched)`);
  }
  let base: URL;
  try {
    base = new URL(url.endsWith('/') ? url : `${url}/`);
  } catch {
    throw new Error(`importMl5FromUrl: ${url} is not a valid URL`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error(`importMl5FromUrl: only http(s) URLs are supported, got ${base.protocol} in ${url}`);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxTotal = options.maxTotalBytes ?? 256 * 1024 * 1024;
  const concurrency = Math.max(1, options.concurrency ?? 4);

  const manifestUrl = new URL('manifest.json', base);
  const manifestBytes = await fetchBytes(manifestUrl, timeoutMs, MAX_MANIFEST_BYTES);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(manifestBytes));
  } catch (e) {
    throw new Error(`${manifestUrl}: not valid JSON (${(e as Error).message})`);
  }
  const full = parseManifest(json, manifestUrl.href);
  const manifest: Manifest = {};
  let total = 0;
  for (const name of ML5_VARIABLES) {
    const entry = full[name];
    if (!entry) throw new Error(`${manifestUrl}: variable ${name} is missing (not an ml5 style-transfer checkpoint?)`);
    manifest[name] = entry;
    total += variableByteLength(entry);
  }
  if (total > maxTotal) throw new Error(`${manifestUrl}: the checkpoint is ${total} bytes, over the limit of ${maxTotal} (raise maxTotalBytes to allow it)`);

  await fs.mkdir(folder, { recursive: true });
  const queue = [...ML5_VARIABLES];
  let failed = false;
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined && !failed; name = queue.shift()) {
      const entry = manifest[name]!;
      const fileUrl = new URL(encodeURIComponent(entry.filename), base);
      const bytes = await fetchBytes(fileUrl, timeoutMs, variableByteLength(entry));
      decodeVariable(bytes, name, entry, fileUrl.href); // size and finiteness, before anything is written
      await writeFileAtomic(path.join(folder, entry.filename), bytes);
    }
  };
  // Settle every worker before reporting, so nothing is still writing into `folder` when we throw.
  const results = await Promise.allSettled(
    Array.from({ length: concurrency }, () =>
      worker().catch((e: unknown) => {
        failed = true;
        throw e;
      }),
    ),
  );
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  // The manifest goes last, so a folder with a manifest is a complete download.
  await writeFileAtomic(path.join(folder, 'manifest.json'), new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`));
  return importMl5(folder);
}

async function fetchBytes(url: URL, timeoutMs: number, maxBytes: number): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (e) {
    throw new Error(`cannot download ${url}: ${(e as Error).message}`);
  }
  if (!response.ok) throw new Error(`cannot download ${url}: HTTP ${response.status} ${response.statusText}`);
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new Error(`cannot download ${url}: ${declared} bytes, more than the ${maxBytes} expected`);
  }
  // Read incrementally so a lying or missing Content-Length cannot make us buffer without bound.
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw new Error(`cannot download ${url}: more than the ${maxBytes} bytes expected`);
      }
      chunks.push(value);
    }
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
