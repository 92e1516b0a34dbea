/**
 * Runs Debian's python3-torch (/usr/bin/python3; the `python3` on PATH may be another one
 * without torch) as an independent reference for cross-checks. Data goes in and out as JSON.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PYTHON = process.env.PERCEPTUAL_PYTHON ?? '/usr/bin/python3';

let cached: boolean | undefined;
/** True when the reference python has torch; tests skip (with a message) otherwise. */
export function hasTorch(): boolean {
  if (cached !== undefined) return cached;
  if (!existsSync(PYTHON)) return (cached = false);
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  return (cached = r.status === 0);
}

export const NO_TORCH = `python3-torch not found at ${PYTHON} (apt-get install python3-torch)`;

/**
 * Run `script` with the JSON `input` available as the variable `inp`; the script assigns its
 * result to `out` (JSON-serialisable; use .tolist() for tensors).
 */
export function runTorch<T = unknown>(script: string, input: unknown = {}): T {
  const wrapper = `import json, sys\nimport torch, numpy as np\ntorch.set_num_threads(2)\ninp = json.loads(sys.stdin.read())\nout = None\n${script}\nsys.stdout.write(json.dumps(out))\n`;
  const r = spawnSync(PYTHON, ['-c', wrapper], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python reference failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
