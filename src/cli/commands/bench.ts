/**
 * `perceptual bench`: the paper's speed table and the runtime comparison, measured on this
 * machine (src/eval/speed-bench.ts); `--choose` instead measures which runtime to use for a
 * model at each size bucket and caches the answer (src/infer/runtime-choice.ts).
 */
import type { Command } from 'commander';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { int } from '../options.js';
import { BENCH_SECTIONS, type BenchSection } from '../../eval/bench-sections.js';
import { MODEL_FILES } from '../../models/model-folder.js';

function sectionsOpt(v: string): BenchSection[] {
  const list = v.split(',').map((x) => x.trim());
  for (const x of list) if (!(BENCH_SECTIONS as readonly string[]).includes(x)) throw new InvalidArgumentError(`unknown section '${x}' (use ${BENCH_SECTIONS.join(', ')})`);
  return list as BenchSection[];
}

export function register(program: Command): void {
  program
    .command('bench')
    .description("benchmark: the paper's speed table (feed-forward vs Gatys) and our runtimes vs PyTorch, onnxruntime, TensorFlow.js-wasm, with peak memory")
    .option('--quick', 'fewer sizes and iterations (256² and 512², Gatys 100 iterations at 256², a 2048² tiled image)')
    .option('--json <file>', 'write the results as JSON')
    .option('--md <file>', 'write the tables as Markdown')
    .option('--threads <n>', 'threads for every row (default: the usable cores)', int)
    .option('--model <dir>', 'a trained model folder of the paper\'s architecture (default: random weights); with --choose, the model to choose for')
    .option('--data <dir>', 'shared data folder (photos, ml5 checkpoint); default PERCEPTUAL_DATA or ../shared/data')
    .option('--skip-gatys', 'leave out the Gatys optimisation (the slowest part)')
    .option('--skip-python', 'leave out the PyTorch rows')
    .option('--only <sections>', `comma-separated sections to run: ${BENCH_SECTIONS.join(', ')} (default: all)`, sectionsOpt)
    .option('--choose', 'only measure which runtime to use for --model at 256²/512²/1024² and cache it (~/.cache/perceptual/runtime-choice.json)')
    .action(async (o: { quick?: boolean; json?: string; md?: string; threads?: number; model?: string; data?: string; skipGatys?: boolean; skipPython?: boolean; choose?: boolean; only?: BenchSection[] }) => {
      if (o.threads !== undefined) {
        if (o.threads < 1) throw new Error('--threads must be at least 1');
        // Read by the engine and by every row's child process.
        process.env.PERCEPTUAL_THREADS = String(o.threads);
      }
      if (o.choose) return choose(o.model, o.quick ?? false);
      const { runSpeedBench } = await import('../../eval/speed-bench.js');
      const report = await runSpeedBench({ quick: o.quick, threads: o.threads, dataDir: o.data, modelDir: o.model, skipGatys: o.skipGatys, skipPython: o.skipPython, only: o.only });
      // JSON has no Infinity (an identical output's PSNR): written as the string "Infinity".
      const finite = (_k: string, v: unknown) => (v === Infinity ? 'Infinity' : v);
      if (o.json) await writeText(o.json, `${JSON.stringify({ ...report, markdown: undefined }, finite, 2)}\n`);
      if (o.md) await writeText(o.md, `${report.markdown}\n`);
      console.log(`\n${report.markdown}`);
    });
}

async function writeText(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await fs.writeFile(file, text);
}

async function choose(model: string | undefined, quick: boolean): Promise<void> {
  const { measureAndCacheAllBuckets, defaultCacheFile } = await import('../../infer/runtime-choice.js');
  let folder = model;
  let tmp: string | undefined;
  if (!folder) {
    // No model given: decide for the paper's network (random weights: speed does not depend on them).
    const { prepareBenchNetwork } = await import('../../eval/speed-bench.js');
    const { probeLikeImage } = await import('../../eval/speed-bench-inputs.js');
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'perceptual-choose-'));
    await prepareBenchNetwork(tmp, probeLikeImage(256), undefined);
    folder = tmp;
  }
  try {
    const cardFile = path.join(folder, MODEL_FILES.card);
    const card = existsSync(cardFile) ? (JSON.parse(await fs.readFile(cardFile, 'utf8')) as Record<string, unknown>) : {};
    const entries = await measureAndCacheAllBuckets({ card, folder, budgetMsPerBucket: quick ? 5_000 : 20_000 });
    for (const [key, e] of Object.entries(entries)) console.log(`${key.split(' | ').pop()}²: ${e.runtime} ${e.precision} — ${e.reason}`);
    console.log(`cached in ${defaultCacheFile()}`);
  } finally {
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  }
}
