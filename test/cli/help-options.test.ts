/**
 * Every option a help text or message names exists (`stylize --list` and `--init` once
 * did not):
 *  - in each command's help, every `--option` is that command's own, or belongs to the command
 *    the text names just before it (`perceptual export --help`); the top-level help may name
 *    any command's option (its command list describes them all);
 *  - anywhere in the sources (README and docs included), `perceptual <command> … --option`
 *    names an option of that command;
 *  - in the CLI's own sources, every `--option` in a string is an option of some command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { packageRoot } from '../../src/util/paths.js';

const root = packageRoot;
const program = buildProgram();
const commands = new Map(program.commands.map((c) => [c.name(), c] as const));
const ALWAYS = ['--help', '--version', '--verbose'];

function optionsOf(c: Command): Set<string> {
  const out = new Set(ALWAYS);
  for (const o of c.options) {
    if (o.long) out.add(o.long);
    // commander: `--no-x` alone also accepts… nothing else; `--x` and `--no-x` both declared are both listed.
  }
  return out;
}

const allOptions = new Set([...program.commands.flatMap((c) => [...optionsOf(c)]), ...optionsOf(program)]);

/** `--option` words in a text (not `--` alone, not inside a longer word). */
const mentions = (text: string): string[] => [...text.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)].map((m) => m[0]);

/**
 * `perceptual <command> … --option` references in a text (within one line). After a bare `--`
 * (`perceptual launch … -- train-style …`) a command name starts a new command's options.
 */
function commandReferences(text: string): Array<{ command: string; option: string; line: string }> {
  const out: Array<{ command: string; option: string; line: string }> = [];
  for (const line of text.split('\n')) {
    for (const m of line.matchAll(/\bperceptual ([a-z][a-z0-9-]*)((?: +(?!perceptual\b)[^\s`'"|;)]+)*)/g)) {
      let command = m[1]!;
      if (!commands.has(command)) continue;
      const words = m[2]!.trim().split(/ +/);
      for (let i = 0; i < words.length; i++) {
        const w = words[i]!;
        if (w === '--' && commands.has(words[i + 1] ?? '')) command = words[++i]!;
        else for (const option of mentions(w)) out.push({ command, option, line: line.trim() });
      }
    }
  }
  return out;
}

test('every option named in a help text exists', () => {
  assert.ok(commands.size >= 12, `${commands.size} commands`);
  const problems: string[] = [];
  for (const c of [program, ...program.commands]) {
    const help = c.helpInformation();
    const own = c === program ? allOptions : optionsOf(c);
    const referenced = new Set(commandReferences(help).filter((r) => optionsOf(commands.get(r.command)!).has(r.option)).map((r) => r.option));
    for (const option of mentions(help)) {
      if (!own.has(option) && !referenced.has(option)) problems.push(`${c === program ? 'perceptual' : c.name()} --help names ${option}, which it does not have`);
    }
  }
  assert.deepEqual(problems, []);
});

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|md)$/.test(e) && !e.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

test('`perceptual <command> … --option` in the sources and docs names an option of that command', () => {
  const files = [...walk(path.join(root, 'src')), ...walk(path.join(root, 'docs')), path.join(root, 'README.md')];
  const problems: string[] = [];
  for (const f of files) {
    for (const r of commandReferences(readFileSync(f, 'utf8'))) {
      if (!optionsOf(commands.get(r.command)!).has(r.option)) problems.push(`${path.relative(root, f)}: ${r.command} has no ${r.option} (${r.line})`);
    }
  }
  assert.deepEqual(problems, []);
});

test("every --option in the CLI's strings is an option of some command", () => {
  const problems: string[] = [];
  for (const f of walk(path.join(root, 'src', 'cli'))) {
    const source = readFileSync(f, 'utf8');
    // String literals only (comments may describe other programs' flags).
    for (const lit of source.matchAll(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g)) {
      for (const option of mentions(lit[0])) if (!allOptions.has(option)) problems.push(`${path.relative(root, f)}: ${option} in ${lit[0].slice(0, 80)}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the checks can fail: a help text naming a missing option is caught', () => {
  const c = buildProgram().commands.find((x) => x.name() === 'stylize')!;
  c.option('--demo-only', 'see `perceptual stylize --list` and --no-such-thing');
  const own = optionsOf(c);
  const bad = mentions(c.helpInformation()).filter((o) => !own.has(o));
  assert.deepEqual(bad.sort(), ['--list', '--no-such-thing']);
  assert.deepEqual(
    commandReferences('run `perceptual stylize photo.jpg --list` or perceptual export --out x; perceptual launch --nnodes 2 -- train-style --style s.jpg').map((r) => `${r.command} ${r.option}`),
    ['stylize --list', 'export --out', 'launch --nnodes', 'train-style --style'],
  );
});
