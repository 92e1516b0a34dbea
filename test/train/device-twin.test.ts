/**
 * The PyTorch twin that continues style runs on a lent GPU machine (scripts/device/train_styles_cuda.py) must
 * train exactly the objective of src/train/style-task.ts. On a shipped network (the-scream, an `rb` network, and
 * great-wave, an `rc` one), its style image and four photos, both compute the validation terms (content, style,
 * TV with the 8-px edge padding), the grid term and the stability term of a fixed shift; they must agree to
 * 1e-4 relative (float32 both; measured 2–3e-6 on the full runs). Needs python3-torch and the VGG-19 weights
 * of ../shared/data (skipped without them).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { hasTorch, NO_TORCH } from '../helpers/python-torch.js';
import { SYSTEM_PYTHON } from '../python-fixtures.js';
import { sharedDataDir } from '../../src/util/paths.js';
import { engineAvailable } from '../../src/engine/index.js';
import { lossProfile } from '../../src/losses/profiles.js';
import { readSafetensorsHeader } from '../../src/nn/safetensors.js';

const root = path.resolve(import.meta.dirname, '../..');
const data = sharedDataDir();
const vggF32 = path.join(data, 'vgg19-keras'), vggU8 = path.join(data, 'vgg19-full-uint8');
const skip = !engineAvailable() ? 'the libtorch engine is not built' : !hasTorch() ? NO_TORCH : !existsSync(path.join(vggU8, 'model.json')) ? `VGG-19 weights not found under ${data}` : false;

async function rgb(file: string, w: number, h: number): Promise<Buffer> {
  return sharp(file).resize(w, h, { fit: 'cover' }).removeAlpha().raw().toBuffer();
}

test('the GPU twin computes the loss terms of StyleTask (validation, grid, stability) to 1e-4', { skip, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'twin-'));
  try {
    const size = 128;
    const photos = await Promise.all(['assets/demo/motorcycle.jpg', 'models/udnie/sample.jpg', 'models/the-scream/sample.jpg', 'models/great-wave/sample.jpg'].map((f) => rgb(path.join(root, f), size, size)));
    writeFileSync(path.join(dir, 'val.u8'), Buffer.concat(photos));
    mkdirSync(path.join(dir, 'style'));
    const runs = [];
    for (const key of ['the-scream', 'great-wave']) {
      const card = JSON.parse(readFileSync(path.join(root, 'models', key, 'card.json'), 'utf8'));
      const style = await rgb(path.join(root, 'models', key, 'sample.jpg'), 96, 64); // any picture serves as the style target
      writeFileSync(path.join(dir, 'style', `${key}.u8`), style);
      const lossConfig = { ...lossProfile('paper-vgg19').style, contentWeight: card.lambda.content, styleWeights: card.lambda.style, tvWeight: card.lambda.tv };
      mkdirSync(path.join(dir, 'init'), { recursive: true });
      const init = path.join(dir, 'init', `${key}.safetensors`);
      copyFileSync(path.join(root, 'models', key, 'weights.safetensors'), init);
      // the architecture as the weights file records it (the twin takes canonical strings only)
      const { arch, norm, padding } = JSON.parse((await readSafetensorsHeader(init)).metadata.config!);
      const config = { profile: 'paper-vgg19', lossConfig, batchSize: 4, edgePad: 8, grid: { weight: 1e5, window: 64 }, stability: { weight: 600, noise: 3, shift: 3 } };
      runs.push({ key, init: `init/${key}.safetensors`, net: { arch, norm, padding }, config, vgg: [vggU8], styleRaw: `style/${key}.u8`, styleShape: [64, 96, 3], seed: 0, iteration: 0, state: '{}' });
    }
    writeFileSync(path.join(dir, 'plan.json'), JSON.stringify({ photos: [], valShape: [4, size, size, 3], runs }));
    const py = spawnSync(SYSTEM_PYTHON, [path.join(root, 'scripts/device/train_styles_cuda.py'), '--bundle', dir, '--validate-only', '--device', 'cpu', '--out', path.join(dir, 'out'), '--vgg-first', vggF32], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    const twin = JSON.parse(readFileSync(path.join(dir, 'out', 'results.json'), 'utf8')) as Array<{ key: string; val: Record<string, number>; grid: number; stability: number }>;
    for (const r of runs) {
      const ts = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts/device/check-twin.ts'), dir, r.key, `${vggF32}:${vggU8}`], { encoding: 'utf8', cwd: root, env: { ...process.env, PERCEPTUAL_THREADS: '1' } });
      assert.equal(ts.status, 0, ts.stderr);
      const ref = JSON.parse(ts.stdout.trim().split('\n').pop()!) as { val: Record<string, number>; grid: number; stability: number };
      const got = twin.find((t) => t.key === r.key)!;
      const close = (what: string, a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-4 * Math.max(Math.abs(b), 1e-3), `${r.key} ${what}: twin ${a}, StyleTask ${b}`);
      for (const k of ['content', 'style', 'tv', 'total']) close(k, got.val[k]!, ref.val[k]!);
      close('grid', got.grid, ref.grid);
      close('stability', got.stability, ref.stability);
      assert.ok(ref.val.style! > 0 && ref.grid > 0 && ref.stability > 0, 'terms are not trivially zero');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
