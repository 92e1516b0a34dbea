/**
 * Listing the images of a training/validation folder.
 *
 * The list is the root of every "seeded and resumable" guarantee in the data pipeline: a
 * shuffle with a fixed seed only reproduces the same batches if it permutes the same list in
 * the same order. So the order must not depend on the file system (readdir order differs
 * between ext4, APFS, NTFS and even between two copies of one folder) nor on the locale
 * (`localeCompare` differs between ICU builds): we sort by the relative path with '/'
 * separators, comparing UTF-16 code units.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** Extensions we decode (sharp reads more, but these are what photo datasets contain). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp'];

export interface ListImagesOptions {
  /** Descend into sub-folders (default true: datasets like ImageNet/flowers nest by class). */
  recursive?: boolean;
  signal?: AbortSignal;
}

/** The folder is missing, is not a folder, or holds no images. */
export class ImageFolderError extends Error {
  constructor(readonly dir: string, reason: string) {
    super(`image folder ${dir}: ${reason}`);
    this.name = 'ImageFolderError';
  }
}

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/**
 * The image files under `dir`, as paths joined onto `dir` (so they are absolute when `dir` is),
 * sorted by relative path (code-unit order) for determinism. Hidden files and folders (".…",
 * e.g. macOS "._x.jpg" resource forks, which have an image extension but are not images) are
 * ignored. Symbolic links are followed for files but not for folders (a link cycle would
 * otherwise never end).
 */
export async function listImages(dir: string, options: ListImagesOptions = {}): Promise<string[]> {
  const recursive = options.recursive ?? true;
  const { signal } = options;
  let stat;
  try {
    stat = await fs.stat(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ImageFolderError(dir, code === 'ENOENT' ? 'does not exist' : (e as Error).message);
  }
  if (!stat.isDirectory()) throw new ImageFolderError(dir, 'is not a folder');

  const found: string[] = []; // relative paths with '/' separators
  const walk = async (rel: string): Promise<void> => {
    signal?.throwIfAborted();
    const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (recursive) await walk(childRel);
      } else if (isImageFile(entry.name)) {
        if (entry.isFile()) found.push(childRel);
        else if (entry.isSymbolicLink()) {
          const target = await fs.stat(path.join(dir, childRel)).catch(() => undefined);
          if (target?.isFile()) found.push(childRel);
        }
      }
    }
  };
  await walk('');
  if (found.length === 0) {
    throw new ImageFolderError(dir, `contains no images (looked for ${IMAGE_EXTENSIONS.join(', ')}${recursive ? ', recursively' : ''})`);
  }
  found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return found.map((rel) => path.join(dir, ...rel.split('/')));
}
