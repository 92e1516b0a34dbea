/** Shared option parsers, options generated from the library's option tables, and the Ctrl-C handling of long commands. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { constants as osConstants } from 'node:os';
import type { OptionDef, OptionTable, OptionValues } from '../train/options.js';

export function num(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`'${v}' is not a number`);
  return n;
}

/** A finite number > 0 (learning rates, weights that must be positive). */
export function positiveNum(v: string): number {
  const n = num(v);
  if (!(n > 0)) throw new InvalidArgumentError(`'${v}' must be a number greater than 0`);
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

/** A comma-separated list of numbers, or one number. */
export function numbers(v: string): number | number[] {
  const parts = v.split(',').map((p) => p.trim());
  const out = parts.map((p) => {
    const n = Number(p);
    if (p === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`'${v}' is not a number or a comma-separated list of numbers`);
    return n;
  });
  return out.length === 1 ? out[0]! : out;
}

function parserOf(def: OptionDef): ((v: string) => unknown) | undefined {
  const base = def.type === 'int' ? int : def.type === 'number' ? num : def.type === 'numbers' ? numbers : undefined;
  const min = def.min;
  const choices = def.choices;
  if (!base && !choices) return undefined;
  return (v: string) => {
    const parsed = base ? base(v) : v;
    if (choices && !choices.includes(parsed as string | number)) throw new InvalidArgumentError(`must be one of ${choices.join(', ')}`);
    for (const n of Array.isArray(parsed) ? parsed : [parsed]) {
      if (min !== undefined && typeof n === 'number' && n < min) throw new InvalidArgumentError(min === Number.MIN_VALUE ? 'must be greater than 0' : `must be ≥ ${min}`);
    }
    return parsed;
  };
}

/** The commander Option of one table entry (flags, help, parser, default). */
export function optionOf(def: OptionDef): Option {
  const arg = def.arg ? (def.optionalArg ? ` [${def.arg}]` : ` <${def.arg}>`) : '';
  const flags = `${def.short ? `-${def.short}, ` : ''}--${def.flag}${arg}`;
  const opt = new Option(flags, def.help);
  const parse = parserOf(def);
  if (parse) opt.argParser(parse);
  if (def.default !== undefined) opt.default(def.default);
  if (def.required) opt.makeOptionMandatory();
  return opt;
}

/** Add every option of a library option table to a command (in table order). */
export function addOptionTable(cmd: Command, table: OptionTable): Command {
  for (const def of Object.values(table)) cmd.addOption(optionOf(def));
  return cmd;
}

/** The parsed CLI values of a table's options, under the library's option keys (typed by the table). */
export function tableValues<T extends OptionTable>(table: T, parsed: Record<string, unknown>): OptionValues<T> {
  const out: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(table)) {
    let v = parsed[optionOf(def).attributeName()];
    if (v === true && def.optionalArg) v = def.bare;
    if (v !== undefined) out[key] = v;
  }
  return out as OptionValues<T>;
}

/** Exit status of a command stopped by a signal: 128 + its number (SIGINT 130, SIGTERM 143), as shells report it. */
export function signalExitCode(sig: NodeJS.Signals): number {
  return 128 + (osConstants.signals[sig] ?? 0);
}

/**
 * Run a long operation with an AbortSignal wired to Ctrl-C (SIGINT) and SIGTERM: the first
 * signal asks it to stop cleanly (e.g. save a checkpoint, or stop between tiles — inference
 * gives the event loop a turn between network runs so the signal is seen), a second one exits
 * at once. A command stopped by a signal exits with {@link signalExitCode} (130 / 143) whether it
 * then throws (the abort reason: "interrupted by SIGINT") or returns after stopping cleanly.
 */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stoppedBy) {
      console.error(`\n${sig} again: exiting now`);
      process.exit(signalExitCode(sig));
    }
    stoppedBy = sig;
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
    if (stoppedBy) process.exitCode = signalExitCode(stoppedBy);
  }
}
