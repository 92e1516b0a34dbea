/**
 * The train-style / train-sr options are generated from the library's option tables: every
 * flag of the old hand-written commands still exists with the same default, values parse into
 * the library's option keys, and bad values are refused by the CLI with the flag's name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { register as registerStyle } from './commands/train-style.js';
import { register as registerSr } from './commands/train-sr.js';
import { STYLE_TRAIN_OPTIONS, SR_TRAIN_OPTIONS } from '../train/options.js';
import { tableValues } from './options.js';

function command(name: 'train-style' | 'train-sr'): Command {
  const program = new Command();
  program.exitOverride();
  (name === 'train-style' ? registerStyle : registerSr)(program);
  const cmd = program.commands.find((c) => c.name() === name)!;
  cmd.exitOverride();
  cmd.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  cmd.action(() => {}); // parse only
  return cmd;
}

function parse(name: 'train-style' | 'train-sr', args: string[]): Record<string, unknown> {
  const cmd = command(name);
  cmd.parse(args, { from: 'user' });
  return tableValues(name === 'train-style' ? STYLE_TRAIN_OPTIONS : SR_TRAIN_OPTIONS, cmd.opts());
}

test('train-style keeps every flag of the hand-written command, with the same defaults', () => {
  const flags = command('train-style').options.map((o) => o.long);
  for (const f of ['--style', '--data', '--val', '--out', '--arch', '--norm', '--profile', '--vgg', '--content-weight', '--style-weight', '--tv-weight', '--image-size', '--style-size', '--batch-size', '--iterations', '--lr', '--seed', '--precision', '--device', '--checkpoint-every', '--validate-every', '--val-count', '--resume']) {
    assert.ok(flags.includes(f), f);
  }
  const o = parse('train-style', ['--style', 's.jpg', '--data', 'd']);
  // The old command's defaults (options added since, e.g. by other tasks' work, are not listed).
  const old = {
    styleImage: 's.jpg', dataDir: 'd', valCount: 8, batchSize: 4, lr: 1e-3, seed: 0, device: 'cpu',
    checkpointEvery: 500, validateEvery: 1000, outDir: 'runs/style', arch: 'half-instance', imageSize: 256, iterations: 40000,
  };
  assert.deepEqual(Object.fromEntries(Object.keys(old).map((k) => [k, o[k]])), old);
  // profile: chosen at run time from the weights found (or the resumed checkpoint's), so no static default.
  for (const k of ['profile', 'valDir', 'norm', 'vgg', 'contentWeight', 'styleWeight', 'tvWeight', 'styleSize', 'precision', 'resume']) assert.equal(o[k], undefined, `${k} has no default`);
});

test('train-sr keeps its flags and defaults; -x and --resume without a value work', () => {
  const flags = command('train-sr').options.map((o) => o.long);
  for (const f of ['--factor', '--data', '--loss', '--degradation', '--val', '--val-count', '--val-crop', '--out', '--model-dir', '--name', '--title', '--net', '--arch', '--profile', '--vgg', '--tv-weight', '--patch', '--batch-size', '--iterations', '--lr', '--seed', '--precision', '--device', '--workers', '--checkpoint-every', '--validate-every', '--resume']) {
    assert.ok(flags.includes(f), f);
  }
  const o = parse('train-sr', ['-x', '4', '--data', 'd', '--resume']);
  assert.equal(o.factor, 4);
  assert.equal(o.resume, 'auto');
  assert.equal(o.loss, 'feat');
  assert.equal(o.degradation, 'paper');
  assert.equal(o.net, 'paper');
  assert.equal(o.patch, 288);
  assert.equal(o.iterations, 200000);
  assert.equal(o.outDir, 'runs/sr');
  assert.equal(parse('train-sr', ['-x', '2', '--data', 'd', '--resume', 'x.safetensors']).resume, 'x.safetensors');
});

test('values parse to the library types; --style-weight takes one number or one per layer', () => {
  assert.equal(parse('train-style', ['--style', 's', '--data', 'd', '--style-weight', '2e-5']).styleWeight, 2e-5);
  assert.deepEqual(parse('train-style', ['--style', 's', '--data', 'd', '--style-weight', '1,2,3,4']).styleWeight, [1, 2, 3, 4]);
  assert.equal(parse('train-style', ['--style', 's', '--data', 'd', '--image-size', '128']).imageSize, 128);
});

test('bad values are refused by the CLI, naming the flag', () => {
  const bad: Array<[string, string[], RegExp]> = [
    ['train-style', ['--style', 's', '--data', 'd', '--lr', '-1'], /option '--lr <rate>' argument '-1' is invalid\. must be greater than 0/],
    ['train-style', ['--style', 's', '--data', 'd', '--lr', 'abc'], /'abc' is not a number/],
    ['train-style', ['--style', 's', '--data', 'd', '--norm', 'layer'], /must be one of batch, instance/],
    ['train-style', ['--data', 'd'], /required option '--style <image>' not specified/],
    ['train-sr', ['-x', '3', '--data', 'd'], /argument '3' is invalid\. must be one of 2, 4, 8/],
    ['train-sr', ['-x', '4', '--data', 'd', '--loss', 'gram'], /must be one of feat, pixel/],
  ];
  for (const [name, args, message] of bad) {
    assert.throws(() => parse(name as 'train-style', args), message, args.join(' '));
  }
});
