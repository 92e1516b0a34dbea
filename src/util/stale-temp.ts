/**
 * Temp files left by killed processes. An atomic write (`writeFileAtomic`) puts its bytes in a
 * temporary sibling named after the writer's pid first; `kill -9` in the middle leaves that
 * file behind (`.checkpoint.safetensors.<pid>.<hex>.tmp`, `.out.jpg.<pid>.<hex>.tmp`, and the
 * older `out.jpg.tmp-<pid>`). The next run that writes into the same folder removes those whose
 * process no longer exists — never a live process's, so two runs sharing a folder are safe.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** The writer's pid of a temp-file name this project writes, else undefined. */
export function tempFileOwner(basename: string): number | undefined {
  const m = /^\.?.+\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(basename) ?? /^.+\.tmp-(\d+)$/.exec(basename);
  if (!m) return undefined;
  const pid = Number(m[1]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove the temp files of dead processes directly in `dir` (not below it). A missing folder
 * is nothing to clean. Returns the paths removed; files that cannot be removed are left as they
 * are (cleaning must never be why a run fails).
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const e of entries) {
    if (!e.isFile()) continue;
    const pid = tempFileOwner(e.name);
    if (pid === undefined || pid === process.pid || processAlive(pid)) continue;
    const file = path.join(dir, e.name);
    try {
      await fs.rm(file);
      removed.push(file);
    } catch {
      /* another run removed it first, or no permission: leave it */
    }
  }
  return removed;
}
