/**
 * The `perceptual` CLI: one file per command under ./commands, each thin — parse, call the
 * library, print. Errors are printed as one clear line (the stack only with --verbose / DEBUG).
 */
import { Command } from 'commander';
import { registerDoctor } from './commands/doctor.js';
import { version } from './version.js';

// `perceptual … | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

const program = new Command();
program
  .name('perceptual')
  .description('Perceptual losses for real-time style transfer and super-resolution (Johnson et al., ECCV 2016)')
  .version(version())
  .option('--verbose', 'print stack traces of errors')
  .showHelpAfterError();

registerDoctor(program);

const extra = [
  './commands/stylize.js',
  './commands/train-style.js',
  './commands/optimize.js',
  './commands/upscale.js',
  './commands/train-sr.js',
  './commands/eval-sr.js',
  './commands/weights.js',
  './commands/export.js',
  './commands/import-ml5.js',
  './commands/bench.js',
  './commands/serve.js',
];
// Commands register themselves; a command whose module is absent in this build is skipped.
for (const m of extra) {
  try {
    const mod = (await import(m)) as { register?: (p: Command) => void };
    mod.register?.(program);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || !String((e as Error).message).includes(m.slice(2, -3))) throw e;
  }
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  const err = e as Error;
  if (program.opts().verbose || process.env.DEBUG) console.error(err.stack ?? err);
  else console.error(`perceptual: ${err.message}`);
  process.exitCode = process.exitCode || 1;
}
