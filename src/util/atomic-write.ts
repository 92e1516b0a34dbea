/**
 * The one atomic file write of the project: the bytes go to a temporary sibling file (same
 * folder, so the rename cannot degrade into a copy across filesystems), are fsynced, then the
 * temporary file is renamed over the target. A crash, a kill or a full disk during the write
 * therefore leaves either the previous file or the new one — never a truncated file that a
 * later run would trip over — and a failed write removes its temporary file and throws an
 * Error that names the target.
 *
 * Temporary files are named `.<basename>.<pid>.<random>.tmp`, so that a process killed with
 * SIGKILL leaves names a later run can recognise and remove (util/stale-temp.ts).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** The temporary sibling of `file` that {@link writeFileAtomic} writes first. */
export function atomicTempName(file: string, pid = process.pid): string {
  const dir = path.dirname(path.resolve(file));
  return path.join(dir, `.${path.basename(file)}.${pid}.${randomBytes(4).toString('hex')}.tmp`);
}

export class AtomicWriteError extends Error {
  constructor(
    readonly file: string,
    override readonly cause: unknown,
  ) {
    const code = (cause as NodeJS.ErrnoException)?.code;
    const hint = code === 'ENOSPC' ? ' (the disk is full)' : code === 'EACCES' || code === 'EPERM' ? ' (permission denied)' : '';
    super(`cannot write ${file}${hint}: ${(cause as Error)?.message ?? String(cause)}; the previous file, if any, is unchanged`);
    this.name = 'AtomicWriteError';
  }
}

export interface WriteFileAtomicOptions {
  /** Create the folder first (default true). */
  mkdir?: boolean;
}

/** Write `data` to `file` atomically (temp + fsync + rename); see the module comment. */
export async function writeFileAtomic(file: string, data: Uint8Array | string, options: WriteFileAtomicOptions = {}): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const tmp = atomicTempName(file);
  let handle: FileHandle | undefined;
  try {
    if (options.mkdir ?? true) await fs.mkdir(dir, { recursive: true });
    handle = await fs.open(tmp, 'wx');
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, file);
  } catch (e) {
    await handle?.close().catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw new AtomicWriteError(file, e);
  }
  // Persist the rename itself; not every platform allows fsync on a folder, and the data is
  // already safe, so this is best effort.
  try {
    const d = await fs.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* best effort */
  }
}
