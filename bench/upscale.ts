/**
 * `npm run bench:upscale -- [--model models/sr-x4-bicubic] [--side 256] [--iters 5] [--threads N] [--md FILE]`:
 * the upscaling time of one SR model on every runtime, against python3-torch running the same
 * network (src/eval/upscale-bench.ts).
 */
import { parseArgs } from 'node:util';
import { promises as fs } from 'node:fs';
import { defaultThreads } from '../src/engine/index.js';
import { runUpscaleBench } from '../src/eval/upscale-bench.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/sr-x4-bicubic' },
    side: { type: 'string', default: '256' },
    iters: { type: 'string', default: '5' },
    threads: { type: 'string' },
    md: { type: 'string' },
    'skip-python': { type: 'boolean', default: false },
  },
});
const threads = values.threads ? Number(values.threads) : defaultThreads();
const report = await runUpscaleBench({ modelDir: values.model, side: Number(values.side), iters: Number(values.iters), threads, skipPython: values['skip-python'] });
console.log(`\n${report.markdown}`);
if (values.md) await fs.writeFile(values.md, `${report.markdown}\n`);
