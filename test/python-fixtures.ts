/**
 * Running Debian's system Python to build test fixtures (torch.save files, Keras .h5 files,
 * reference safetensors) at test time, so that no third-party binary fixture lives in the repo
 * and the files come from the real producers rather than from our own writer.
 *
 * The `python3` on PATH may be a pyenv one without numpy/torch/h5py, hence the fixed default
 * path; PERCEPTUAL_PYTHON overrides it.
 */
import { spawnSync } from 'node:child_process';

export const SYSTEM_PYTHON = process.env.PERCEPTUAL_PYTHON ?? '/usr/bin/python3';

const cache = new Map<string, string | undefined>();

function installHint(module: string): string {
  return module === 'safetensors' ? 'pip install safetensors' : `apt-get install -y python3-${module}`;
}

/**
 * undefined when `SYSTEM_PYTHON` can import every module, else a skip message saying what is
 * missing and how to get it (node:test prints it as `# SKIP <message>`).
 */
export function pythonMissing(modules: string[]): string | undefined {
  const key = modules.join(',');
  if (!cache.has(key)) {
    const r = spawnSync(SYSTEM_PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8', timeout: 60_000 });
    cache.set(
      key,
      r.status === 0
        ? undefined
        : `${SYSTEM_PYTHON} cannot import ${modules.join(', ')} (${modules.map(installHint).join('; ')}): ${(r.error?.message ?? r.stderr ?? '').trim().split('\n').pop()}`,
    );
  }
  return cache.get(key);
}

/** Run a Python script with arguments; returns stdout, throws with stderr on failure. */
export function runPython(script: string, args: string[] = []): string {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', script, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python fixture script failed (${r.status ?? r.signal}): ${r.error?.message ?? ''}\n${r.stderr}`);
  return r.stdout;
}
