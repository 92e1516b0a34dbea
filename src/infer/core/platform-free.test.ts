// The core must run unchanged in Node and in the browser: walk its import graph (value imports;
// `import type` is erased) and check that it never reaches node:*, a package, or the DOM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Value import specifiers of a TS module (static `import … from`, `export … from`, bare `import '…'`, dynamic `import('…')`). */
function valueImports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
  const out: string[] = [];
  for (const m of code.matchAll(/\b(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g)) {
    if (!m[2]) out.push(m[4]!);
  }
  for (const m of code.matchAll(/\bimport\s*\(?\s*['"]([^'"]+)['"]/g)) out.push(m[1]!);
  return out;
}

test('src/infer/core reaches no node:*, no package and no DOM global through value imports', () => {
  const seen = new Set<string>();
  const queue = [path.join(here, 'index.ts')];
  const problems: string[] = [];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const spec of valueImports(source)) {
      if (!spec.startsWith('.')) {
        problems.push(`${path.relative(here, file)} imports ${spec}`);
        continue;
      }
      queue.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
    }
    const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    for (const g of ['document', 'window', 'navigator', 'process', 'Buffer', 'require']) {
      if (new RegExp(`\\b${g}\\s*[.(\\[]`).test(code)) problems.push(`${path.relative(here, file)} uses ${g}`);
    }
  }
  assert.deepEqual(problems, []);
  // Sanity: the walk followed the shared modules, not just this folder.
  const names = [...seen].map((f) => path.relative(path.join(here, '..', '..'), f)).sort();
  for (const f of ['data/color.ts', 'data/tensor-layout.ts', 'infer/tiling.ts', 'infer/core/style-model-core.ts']) assert.ok(names.includes(f), `${f} in ${names.join(', ')}`);
  assert.ok(!names.includes('data/image.ts'), 'image.ts (sharp) is reached by type imports only');
});
