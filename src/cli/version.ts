import { readFileSync } from 'node:fs';
import { packageRoot } from '../engine/native.js';
import path from 'node:path';

export function version(): string {
  try {
    return (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}
