#!/usr/bin/env node
// The `perceptual` command. Runs the compiled CLI (dist/), or the TypeScript sources through
// tsx in a development checkout that has not been built.
import { existsSync } from 'node:fs';

const dist = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(dist)) {
  await import(dist.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
