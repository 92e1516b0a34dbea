/**
 * Where things are: the package root (computed once, here) and the shared data folder
 * (`$PERCEPTUAL_DATA`, else `../shared/data` next to the package) — the one place that reads
 * that variable.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root, from src/util or dist/util. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The shared data folder (photos, VGG weights, SR benchmark sets, ml5 checkpoints): `$PERCEPTUAL_DATA`, else `<package>/../shared/data`. */
export function sharedDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PERCEPTUAL_DATA ? path.resolve(env.PERCEPTUAL_DATA) : path.resolve(packageRoot, '..', 'shared', 'data');
}

/** The shipped models (`<package>/models`). */
export const shippedModelsDir = (): string => path.join(packageRoot, 'models');
