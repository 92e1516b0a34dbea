/**
 * The built web app for the browser test and the benchmark: rebuilt with Vite only when a
 * source is newer than web/dist/index.html, so repeated runs skip the build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/util/paths.js';

export const REPO = packageRoot;
export const WEB_DIST = path.join(REPO, 'web', 'dist');

/** What the bundle is made of: the app, the shared core and what it imports, ORT's version. */
const SOURCES = ['web/index.html', 'web/vite.config.ts', 'web/src', 'src/infer/core', 'src/infer/tiling.ts', 'src/data/color.ts', 'src/data/tensor-layout.ts', 'node_modules/onnxruntime-web/package.json'];

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(p).map((e) => newestMtime(path.join(p, e))));
}

/** Build web/dist unless it is up to date; returns whether it built. Throws with Vite's output on failure. */
export function ensureWebBuild(timeoutMs = 120_000): boolean {
  const index = path.join(WEB_DIST, 'index.html');
  const built = existsSync(index) && existsSync(path.join(WEB_DIST, 'ort')) ? statSync(index).mtimeMs : 0;
  const newest = Math.max(...SOURCES.map((s) => newestMtime(path.join(REPO, s))));
  if (built > newest) return false;
  const vite = path.join(REPO, 'node_modules', 'vite', 'bin', 'vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], { cwd: REPO, encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`npm run build:web failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`);
  return true;
}
