/**
 * The layering the README states (section "Architecture", the line that starts with
 * "Layer order:") holds for every import in src/ and web/src/: a folder imports only itself
 * and folders of lower layers (folders of one layer do not import each other; type-only
 * imports included), and no module imports itself back through a chain of imports that run
 * (`import type` is erased at compile time, so it cannot make a cycle at run time).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../src/util/paths.js';

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|^import\s+['"](\.{1,2}\/[^'"]+)['"]/gm;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.ts$/.test(name) && !/\.test\.ts$/.test(name) && !/\.d\.ts$/.test(name)) out.push(p);
  }
  return out;
}

interface Import {
  target: string;
  /** `import type …` / `export type …`: erased when compiled. */
  typeOnly: boolean;
}

/** The imports of a module's source, relative ones only (packages are not layers). */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: Import[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const target = path.resolve(path.dirname(file), (m[1] ?? m[2] ?? m[3])!.replace(/\.js$/, '.ts'));
    out.push({ target, typeOnly: /^\s*(?:import|export)\s+type\s/.test(m[0]) });
  }
  return out;
}

/** `src/train/x.ts` → 'train'; `src/index.ts` → 'index'; `web/src/x.ts` → 'web'. */
function folderOf(file: string): string {
  const rel = path.relative(packageRoot, file).split(path.sep);
  if (rel[0] === 'web') return 'web';
  return rel.length === 2 ? path.basename(rel[1]!, '.ts') : rel[1]!;
}

/** "Layer order: a → b, c → d" from the README: folder → rank. */
function layerOrder(): Map<string, number> {
  const readme = readFileSync(path.join(packageRoot, 'README.md'), 'utf8');
  const line = /^Layer order: (.+)$/m.exec(readme);
  assert.ok(line, 'README.md states the layer order in a line "Layer order: …"');
  const rank = new Map<string, number>();
  line[1]!.replace(/`/g, '').split('→').forEach((layer, i) => {
    for (const f of layer.split(',')) rank.set(f.trim(), i);
  });
  return rank;
}

const files = [...sources(path.join(packageRoot, 'src')), ...sources(path.join(packageRoot, 'web', 'src'))];
const imports = new Map(files.map((f) => [f, importsOf(f).filter((i) => i.target !== f)]));
/** Every import (for the layers). */
const graph = new Map([...imports].map(([f, list]) => [f, list.map((i) => i.target)]));
/** Imports that run (for cycles). */
const runtimeGraph = new Map([...imports].map(([f, list]) => [f, list.filter((i) => !i.typeOnly).map((i) => i.target)]));

test('the README names every folder of src/ in its layer order, and nothing else', () => {
  const rank = layerOrder();
  const folders = new Set(files.map(folderOf));
  for (const f of folders) assert.ok(rank.has(f), `src/${f} is not in the README's layer order`);
  for (const f of rank.keys()) assert.ok(folders.has(f), `the README's layer order names '${f}', which has no module`);
});

test('every import goes to the same folder or to a lower layer', () => {
  const rank = layerOrder();
  const bad: string[] = [];
  for (const [file, targets] of graph) {
    const a = folderOf(file);
    for (const t of targets) {
      const b = folderOf(t);
      if (a === b) continue;
      if (!(rank.get(b)! < rank.get(a)!)) bad.push(`${path.relative(packageRoot, file)} (${a}) imports ${path.relative(packageRoot, t)} (${b})`);
    }
  }
  assert.deepEqual(bad, []);
});

test('no import cycles between modules (imports that run)', () => {
  // Tarjan's strongly connected components over the module graph.
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>(), stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of runtimeGraph.get(v) ?? []) {
      if (!runtimeGraph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(path.relative(packageRoot, w));
      } while (w !== v);
      if (scc.length > 1) cycles.push(scc.sort());
    }
  };
  for (const v of runtimeGraph.keys()) if (!idx.has(v)) visit(v);
  assert.deepEqual(cycles, []);
});

test('the graph walk sees real imports (a check of the test itself)', () => {
  const driver = path.join(packageRoot, 'src', 'train', 'driver.ts');
  assert.ok(graph.get(driver)!.includes(path.join(packageRoot, 'src', 'train', 'trainer.ts')));
  assert.ok(graph.get(driver)!.includes(path.join(packageRoot, 'src', 'models', 'model-folder.ts')));
  assert.ok(files.length > 100);
  // A type-only import is seen as one (it counts for layers, not for cycles).
  const layout = path.join(packageRoot, 'src', 'data', 'tensor-layout.ts');
  assert.ok(imports.get(layout)!.some((i) => i.target.endsWith(path.join('data', 'image.ts')) && i.typeOnly));
});
