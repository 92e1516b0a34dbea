/**
 * Issue 11, item 1: no input ends the process other than by a JavaScript Error. Every entry
 * point of the native addon — found by enumerating the addon (its exports, the members of the
 * classes it exports, its op table), so a new one without cases fails here — is called with bad
 * arguments (wrong types, wrong shapes, NaN and out-of-range options, disposed tensors; see
 * native-cases.ts) in a child process. A case that kills the child (an uncaught C++ exception is
 * SIGABRT) is reported as such and the child restarts after it; every other case must throw an
 * Error whose message names the entry point (and shapes/options where the case has them), or —
 * for the few entry points without arguments to get wrong — return normally.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { engineAvailable, native } from '../../src/engine/native.js';
import { buildCases, caseList, OP_BAD } from './native-cases.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const skip = engineAvailable() ? false : 'the libtorch engine is not built';

/** Every entry point of the addon, named as native-cases.ts keys them. */
function entryPoints(): string[] {
  const a = native() as unknown as Record<string, unknown>;
  const out: string[] = [];
  for (const [name, v] of Object.entries(a)) {
    out.push(name);
    if (typeof v === 'function' && v.prototype) {
      for (const m of Object.getOwnPropertyNames(v.prototype)) if (m !== 'constructor') out.push(`${name}#${m}`);
    }
  }
  for (const op of native().opNames()) out.push(`op:${op}`);
  return out.sort();
}

test('every native entry point (exports, class members, ops) has bad-argument cases', { skip }, () => {
  const entries = entryPoints();
  const table = buildCases(native().opNames());
  const opsWithoutCases = native().opNames().filter((op) => !(op in OP_BAD));
  assert.deepEqual(opsWithoutCases, [], 'ops missing from OP_BAD in test/hostile/native-cases.ts');
  const missing = entries.filter((e) => !table[e]?.length);
  assert.deepEqual(missing, [], 'entry points without cases in test/hostile/native-cases.ts');
  const stale = Object.keys(table).filter((k) => !entries.includes(k));
  assert.deepEqual(stale, [], 'cases for entry points the addon no longer has');
  assert.ok(entries.length > 100, `enumerated ${entries.length} entry points`);
});

interface Line {
  start?: number;
  result?: number;
  entry?: string;
  label?: string;
  threw?: boolean;
  isError?: boolean;
  message?: string;
  done?: number;
}

/** Runs the cases in child processes, restarting after a case that kills one. */
function runCases(count: number, env: NodeJS.ProcessEnv = process.env): { results: Map<number, Line>; crashes: string[]; runs: number } {
  const results = new Map<number, Line>();
  const crashes: string[] = [];
  let next = 0, runs = 0;
  while (next < count) {
    runs++;
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'native-cases.ts'), String(next), String(count)], { encoding: 'utf8', env, maxBuffer: 64 << 20, timeout: 120_000 });
    let lastStart: number | undefined;
    let last: Line | undefined;
    let done = false;
    for (const text of r.stdout.split('\n')) {
      if (!text.startsWith('{')) continue;
      const line = JSON.parse(text) as Line;
      if (line.start !== undefined) (lastStart = line.start), (last = line);
      if (line.result !== undefined) results.set(line.result, line);
      if (line.done !== undefined) done = true;
    }
    if (done && r.status === 0) break;
    if (lastStart === undefined || results.has(lastStart)) {
      assert.fail(`the case child failed before or between cases (status ${r.status}, signal ${r.signal}): ${r.stderr.slice(-2000)}`);
    }
    crashes.push(`${last!.entry} — ${last!.label}: the process died (${r.signal ?? `exit ${r.status}`})`);
    next = lastStart + 1;
  }
  return { results, crashes, runs };
}

test('the harness reports a case that aborts the process, and goes on after it', { skip }, () => {
  // The child inserts the aborting case at index 1: cases 0, 2 and 3 must still run.
  const { results, crashes, runs } = runCases(4, { ...process.env, PERCEPTUAL_HOSTILE_SELFTEST: 'abort' });
  assert.deepEqual(crashes, ['selftest — process.abort(): the process died (SIGABRT)']);
  assert.equal(runs, 2);
  assert.deepEqual([...results.keys()].sort(), [0, 2, 3]);
});

test('bad arguments to every native entry point throw an Error naming it (never an abort)', { skip, timeout: 240_000 }, (t) => {
  const list = caseList(buildCases(native().opNames()));
  const { results, crashes, runs } = runCases(list.length);
  const failures: string[] = [];
  list.forEach(([entry, cs], i) => {
    const got = results.get(i);
    if (!got) return; // a crash, listed in crashes
    const where = `${entry} — ${cs.label}`;
    if (cs.throws === false) {
      if (got.threw) failures.push(`${where}: expected to return, threw ${got.message}`);
      return;
    }
    if (!got.threw) failures.push(`${where}: returned instead of throwing`);
    else if (!got.isError) failures.push(`${where}: threw a non-Error ${got.message}`);
    else for (const frag of cs.throws) if (!got.message!.includes(frag)) failures.push(`${where}: message ${JSON.stringify(got.message)} lacks ${JSON.stringify(frag)}`);
  });
  t.diagnostic(`${list.length} cases over ${new Set(list.map(([e]) => e)).size} entry points, ${runs} child process(es)`);
  assert.deepEqual(crashes, [], 'cases that killed the process');
  assert.deepEqual(failures, []);
});
