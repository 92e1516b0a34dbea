#!/usr/bin/env node
// Finds every *.test.ts under src/ and test/ (Node 20's test runner has no globs) and runs
// them with node:test through tsx. Extra arguments filter files by substring;
// --precision-sensitive keeps only the files marked `precision-sensitive:` in their first lines
// (scripts/test.sh runs those again as on a CPU without AVX-512/bf16).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
function walk(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (e.endsWith('.test.ts')) out.push(path.relative(root, p));
  }
  return out;
}
const args = process.argv.slice(2);
const precisionOnly = args.includes('--precision-sensitive');
const filters = args.filter((a) => a !== '--precision-sensitive');
const MARK = 'precision-sensitive:';
const files = ['src', 'test', 'web']
  .flatMap((d) => walk(path.join(root, d)))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .filter((f) => !precisionOnly || readFileSync(path.join(root, f), 'utf8').slice(0, 4000).includes(MARK))
  .sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// Say how the CPU is presented to libtorch/oneDNN, so that a log tells which pass it is.
const switches = ['ATEN_CPU_CAPABILITY', 'ONEDNN_MAX_CPU_ISA', 'DNNL_MAX_CPU_ISA'].filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]}`);
console.log(`[tests] ${files.length} file(s)${precisionOnly ? ' (precision-sensitive)' : ''}; CPU ${switches.length ? `switched to ${switches.join(' ')}` : 'as it is (no ATEN_CPU_CAPABILITY / ONEDNN_MAX_CPU_ISA)'}`);
const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--test', '--test-concurrency=1', ...files], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
