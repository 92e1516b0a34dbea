/**
 * The `perceptual` command tree: every command registered on a fresh commander program.
 * `main.ts` parses argv with it; tests read its help texts (every option they name exists).
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
import { register as launch } from './commands/launch.js';
import { version } from './version.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('perceptual')
    .description('Perceptual losses for real-time style transfer and super-resolution (Johnson et al., ECCV 2016)')
    .version(version())
    .option('--verbose', 'print stack traces of errors')
    .showHelpAfterError();
  registerDoctor(program);
  for (const register of [stylize, upscale, trainStyle, trainSr, optimize, evalSr, weights, exportCmd, importMl5, bench, serve, launch]) register(program);
  return program;
}
