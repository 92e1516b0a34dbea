/** Without the addon, importing the library works and whatever needs the engine says how to install it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');

test('a missing engine gives EngineNotInstalledError with install instructions; ONNX-only code still imports', () => {
  const script = `
    const lib = await import('./src/index.ts');
    const { zeros, engineAvailable } = await import('./src/engine/index.ts');
    if (typeof lib.loadStyleModel !== 'function') throw new Error('library did not import');
    console.log('available=' + engineAvailable());
    try { zeros([2]); } catch (e) { console.log(e.name + ': ' + e.message); }`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, PERCEPTUAL_ADDON: '/nonexistent/perceptual_native.node' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /available=false/);
  assert.match(r.stdout, /EngineNotInstalledError: the libtorch engine is not available/);
  assert.match(r.stdout, /apt-get install -y libtorch-dev/);
  assert.match(r.stdout, /LIBTORCH=/);
});
