/**
 * URL path → file inside a root folder, or nothing. The one guard against directory traversal
 * for `perceptual serve`, which listens on a port other programs (and web pages, via DNS
 * rebinding) can reach.
 *
 * Each `/`-separated segment is percent-decoded on its own and refused if it is `.`/`..` or
 * decodes to a separator or NUL (`%2e%2e`, `..%2f`, `..%5c`); the joined path must lie inside
 * the root, and so must its real path (a symlink may not lead out of the root).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** Thrown for a path that is not valid percent-encoding (the server answers 400). */
export class BadPathError extends Error {}

/** Decoded, checked segments of a URL path (`/a/b%20c` → `['a', 'b c']`), or `undefined` if any is unsafe. */
export function safeSegments(urlPath: string): string[] | undefined {
  if (!urlPath.startsWith('/')) return undefined;
  const out: string[] = [];
  for (const raw of urlPath.slice(1).split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      throw new BadPathError(`malformed percent-encoding in ${urlPath}`);
    }
    if (seg === '') continue; // `//` and a trailing `/` add nothing
    if (seg === '.' || seg === '..' || /[/\\\0]/.test(seg)) return undefined;
    out.push(seg);
  }
  return out;
}

/**
 * The regular file `segments` name under `root`, or `undefined` if it does not exist, is not a
 * regular file, or resolves (through symlinks) outside `root`.
 */
export async function resolveInside(root: string, segments: readonly string[]): Promise<{ file: string; size: number; mtimeMs: number } | undefined> {
  const base = path.resolve(root);
  const file = path.resolve(base, ...segments);
  if (!isInside(base, file)) return undefined;
  try {
    const [realRoot, realFile] = await Promise.all([fs.realpath(base), fs.realpath(file)]);
    if (!isInside(realRoot, realFile)) return undefined;
    const st = await fs.stat(realFile);
    if (!st.isFile()) return undefined;
    return { file: realFile, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
