/**
 * The `perceptual` CLI: one file per command under ./commands (assembled in ./program.ts), each
 * thin — parse, call the library, print. Errors are printed as one clear line (the stack only
 * with --verbose / DEBUG). Exit status: 0 done, 1 an error, 130 / 143 stopped by SIGINT /
 * SIGTERM (128 + the signal's number, as shells report it; see `withInterrupt`).
 */
import { buildProgram } from './program.js';

// `perceptual … | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

const program = buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (e) {
  const err = e as Error;
  if (program.opts().verbose || process.env.DEBUG) console.error(err.stack ?? err);
  else console.error(`perceptual: ${err.message}`);
  process.exitCode = process.exitCode || 1;
}
