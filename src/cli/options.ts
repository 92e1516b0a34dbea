/** Shared option parsers and the Ctrl-C handling of long commands. */
import { InvalidArgumentError } from 'commander';

export function num(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`'${v}' is not a number`);
  return n;
}

export function int(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`'${v}' is not a non-negative integer`);
  return n;
}

export function precisionOpt(v: string): 'float32' | 'bf16' {
  if (v !== 'float32' && v !== 'bf16') throw new InvalidArgumentError(`precision must be float32 or bf16`);
  return v;
}

/**
 * Run a long operation with an AbortSignal wired to Ctrl-C (SIGINT) and SIGTERM: the first
 * signal asks it to stop cleanly (e.g. save a checkpoint), a second one exits at once.
 */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  let count = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    count++;
    if (count > 1) {
      console.error(`\n${sig} again: exiting now`);
      process.exit(130);
    }
    console.error(`\n${sig}: stopping after the current step (press Ctrl-C again to exit at once)…`);
    ac.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(ac.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
