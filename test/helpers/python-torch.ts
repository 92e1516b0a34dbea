/**
 * Debian's python3-torch as an independent reference for cross-checks, on top of the shared
 * Python runner (../python-fixtures.ts). Data goes in and out as JSON.
 */
import { spawnSync } from 'node:child_process';
import { SYSTEM_PYTHON, pythonMissing } from '../python-fixtures.js';

/** True when the reference python has torch and numpy; tests skip (with NO_TORCH) otherwise. */
export function hasTorch(): boolean {
  return pythonMissing(['torch', 'numpy']) === undefined;
}

export const NO_TORCH = `python3-torch not usable at ${SYSTEM_PYTHON} (apt-get install python3-torch)`;

/**
 * Run `script` with the JSON `input` available as the variable `inp`; the script assigns its
 * result to `out` (JSON-serialisable; use .tolist() for tensors).
 */
export function runTorch<T = unknown>(script: string, input: unknown = {}): T {
  const wrapper = `import json, sys\nimport torch, numpy as np\ntorch.set_num_threads(2)\ninp = json.loads(sys.stdin.read())\nout = None\n${script}\nsys.stdout.write(json.dumps(out))\n`;
  const r = spawnSync(SYSTEM_PYTHON, ['-c', wrapper], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python reference failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
