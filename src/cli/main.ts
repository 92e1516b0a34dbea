/**
 * The `perceptual` CLI: one file per command under ./commands, each thin — parse, call the
 * library, print. Errors are printed as one clear line (the stack only with --verbose / DEBUG).
 */
import { Command } from 'commander';
import { registerDoctor } from './commands/doctor.js';
import { register as stylize } from './commands/stylize.js';
import { register as upscale } from './commands/upscale.js';
import { register as trainStyle } from './commands/train-style.js';
import { register as trainSr } from './commands/train-sr.js';
import { register as optimize } from './commands/optimize.js';
import { register as evalSr } from './commands/eval-sr.js';
import { register as weights } from './commands/weights.js';
import { register as exportCmd } from './commands/export.js';
import { register as importMl5 } from './commands/import-ml5.js';
import { register as bench } from './commands/bench.js';
import { register as serve } from './commands/serve.js';
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

for (const register of [stylize, upscale, trainStyle, trainSr, optimize, evalSr, weights, exportCmd, importMl5, bench, serve]) register(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  const err = e as Error;
  if (program.opts().verbose || process.env.DEBUG) console.error(err.stack ?? err);
  else console.error(`perceptual: ${err.message}`);
  process.exitCode = process.exitCode || 1;
}
