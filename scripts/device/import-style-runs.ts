/**
 * Puts the checkpoints that train_styles_cuda.py wrote on the GPU machine back into their runs, so that
 * `bash scripts/train-shipped-styles.sh start` (or runs/rc/start.sh) continues them on the CPU. Each file is
 * loaded as `train-style --resume` would load it (format, state fields, finite weights) before anything is
 * replaced; the run's previous checkpoint is kept beside it (checkpoint.before-device-<iteration>.safetensors),
 * and an event in its log.jsonl records the GPU stretch. Stop the training first (the workers would overwrite it).
 *
 *   node --import tsx scripts/device/import-style-runs.ts DEVICE_FILES_DIR [BUNDLE=.device/bundle]
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { loadCheckpoint, readCheckpointState } from '../../src/train/checkpoint.js';

const [filesDir, bundle = '.device/bundle'] = process.argv.slice(2);
if (!filesDir) {
  console.error('usage: import-style-runs.ts DEVICE_FILES_DIR [BUNDLE]');
  process.exit(2);
}
const plan = JSON.parse(await fs.readFile(path.join(bundle, 'plan.json'), 'utf8')) as { runs: Array<{ key: string; run: string; iteration: number }> };
let imported = 0;
for (const r of plan.runs) {
  const file = path.join(filesDir, `${r.key}.safetensors`);
  try {
    await fs.access(file);
  } catch {
    console.log(`${r.key}: no checkpoint came back (${file}); run left as it is`);
    continue;
  }
  const ckpt = await loadCheckpoint(file); // throws, naming the field, on anything train-style --resume would refuse
  for (const t of ckpt.model.values()) t.dispose();
  for (const s of ckpt.optimizer.state) {
    s?.expAvg.dispose();
    s?.expAvgSq.dispose();
  }
  const target = path.join(r.run, '256', 'checkpoint.safetensors');
  const current = await readCheckpointState(target);
  if (current.iteration !== r.iteration) {
    console.log(`${r.key}: ${target} is at iteration ${current.iteration}, the bundle was made at ${r.iteration} — the CPU run went on meanwhile; not replaced (rebundle, or copy by hand)`);
    continue;
  }
  const backup = path.join(r.run, '256', `checkpoint.before-device-${current.iteration}.safetensors`);
  await fs.copyFile(target, backup);
  await fs.copyFile(file, `${target}.tmp`);
  await fs.rename(`${target}.tmp`, target);
  const device = (ckpt.extra as { device?: Record<string, unknown> } | undefined)?.device ?? {};
  await fs.appendFile(path.join(r.run, '256', 'log.jsonl'), JSON.stringify({ kind: 'event', event: 'device', iteration: ckpt.iteration, time: current.elapsed, ...device, ...(ckpt.extra?.lastVal ? { val: ckpt.extra.lastVal } : {}) }) + '\n');
  console.log(`${r.key}: ${current.iteration} → ${ckpt.iteration} iterations (${JSON.stringify(device)}); previous checkpoint kept as ${backup}`);
  imported++;
}
console.log(`${imported} of ${plan.runs.length} runs imported`);
