/**
 * The project's error module: the errors that say which file and which field of it are wrong,
 * shared by every reader of untrusted files (model folders, cards, checkpoints). Errors of one
 * subsystem that carry more (the engine's op errors, safetensors, images, VGG weights) live
 * with that subsystem and are re-exported from the package entry.
 */

/** A file, or a field in it, that is not what it must be. `field` is a dotted path ('data.imageSize'). */
export class FileFieldError extends Error {
  constructor(
    readonly file: string,
    readonly field: string | undefined,
    readonly reason: string,
  ) {
    super(`${file}${field ? `: ${field}` : ''}: ${reason}`);
    this.name = 'FileFieldError';
  }
}

/** JSON.parse with errors that name the file (and, for empty or null content, say so). */
export function parseJsonFile(file: string, text: string, what = 'JSON'): unknown {
  if (text.trim() === '') throw new FileFieldError(file, undefined, `the file is empty (expected ${what})`);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new FileFieldError(file, undefined, `not valid JSON (expected ${what}): ${(e as Error).message}`);
  }
}

/** The value must be a plain JSON object. */
export function expectObject(file: string, field: string | undefined, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FileFieldError(file, field, `expected a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as Record<string, unknown>;
}

/** An integer ≥ min. */
export function expectInteger(file: string, field: string, value: unknown, min = 0): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new FileFieldError(file, field, `expected an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A finite number ≥ min. */
export function expectNumber(file: string, field: string, value: unknown, min = -Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new FileFieldError(file, field, `expected a finite number${min > -Infinity ? ` ≥ ${min}` : ''}, got ${JSON.stringify(value)}`);
  }
  return value;
}
