import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { evaluateSr, defaultDataRoot, SR_BENCH_SETS, type SrEvaluation, type Upscaler } from '../../eval/sr-benchmark.js';
import { renderSrTable, rowFromEvaluations, type SrTableRow } from '../../eval/paper-table.js';
import { loadModel, type LoadedModel } from '../../infer/load-model.js';
import { interpolate, upscaleImage, histogramMatchByDefault, INTERPOLATION_MODES, type InterpolationMode } from '../../infer/upscale.js';
import { withInterrupt, int, precisionOpt } from '../options.js';

function positive(v: string): number {
  const n = int(v);
  if (n < 1) throw new InvalidArgumentError(`'${v}' is not a positive integer`);
  return n;
}

/**
 * The folder of a set: a named set under the data root — which may be the `sr-bench` folder
 * itself or the folder holding it (what $PERCEPTUAL_DATA names) — or a folder with `HR/`.
 */
export function resolveSetDir(set: string, dataRoot: string): string {
  if ((SR_BENCH_SETS as readonly string[]).includes(set)) {
    for (const dir of [path.join(dataRoot, set), path.join(dataRoot, 'sr-bench', set)]) if (existsSync(path.join(dir, 'HR'))) return dir;
    throw new Error(`${set}: not found under ${dataRoot} (looked for ${set}/HR and sr-bench/${set}/HR); pass --data-root or set PERCEPTUAL_DATA`);
  }
  if (!existsSync(path.join(set, 'HR'))) throw new Error(`--set ${set}: not Set5, Set14 or BSD100, and not a folder with HR/ images`);
  return path.resolve(set);
}

export function register(program: Command): void {
  program
    .command('eval-sr')
    .description('PSNR/SSIM of a super-resolution model on Set5/Set14/BSD100 (Y channel, factor-px border), beside the paper\'s Table 1')
    .requiredOption('-m, --model <name|path|bicubic>', `SR model (name, folder, .onnx, .safetensors), or ${INTERPOLATION_MODES.join(' | ')} for interpolation`)
    .option('--set <sets>', 'comma-separated: Set5, Set14, BSD100, or folders holding HR/ (and LR_x<f>/) images', SR_BENCH_SETS.join(','))
    .option('-x, --factor <f>', "upscaling factor (default: the model's; 4 for interpolation)", positive)
    .option('--data-root <dir>', 'folder holding the sets, or holding sr-bench/ (default: $PERCEPTUAL_DATA, else ../shared/data next to the package)')
    .option('--json <file>', 'write the table, the per-image scores and the settings as JSON')
    .option('--md <file>', 'write the table as Markdown')
    .option('--label <text>', 'row name in the table (default: the model\'s title)')
    .option('--with-bicubic', 'add a row for our bicubic baseline on the same images (checks the protocol: ≈ the paper\'s Bicubic row)')
    .option('--every <k>', 'evaluate every k-th image only (a quick, deterministic subset)', positive, 1)
    .option('--histogram-match', 'match output histograms to the LR input (default: as the model card says; on for ℓfeat models)')
    .option('--no-histogram-match', 'do not match histograms, even for ℓfeat models')
    .option('--tile <px>', 'tile size in input pixels (0: never tile)', int)
    .option('--runtime <name>', 'auto | onnx | engine', 'auto')
    .option('--device <d>', 'cpu | cuda', 'cpu')
    .option('--precision <p>', 'engine precision: float32 | bf16', precisionOpt)
    .action(async (o) => {
      if (o.runtime !== 'auto' && o.runtime !== 'onnx' && o.runtime !== 'engine') throw new Error('--runtime must be auto, onnx or engine');
      const dataRoot = path.resolve(o.dataRoot ?? defaultDataRoot());
      const sets = String(o.set).split(',').map((s) => s.trim()).filter(Boolean);
      if (sets.length === 0) throw new Error('--set: no set given');
      const dirs = sets.map((s) => resolveSetDir(s, dataRoot));
      const mode = (INTERPOLATION_MODES as readonly string[]).includes(o.model) && !existsSync(o.model) ? (o.model as InterpolationMode) : undefined;
      if (mode && o.histogramMatch !== undefined) throw new Error('--histogram-match applies to network outputs only');

      let model: LoadedModel | undefined;
      let factor: number;
      let upscale: Upscaler;
      let label: string;
      let match = false;
      if (mode) {
        factor = o.factor ?? 4;
        upscale = (lr) => interpolate(lr, factor, mode);
        label = o.label ?? (mode === 'bicubic' ? 'Bicubic (ours)' : 'Lanczos-3 (ours)');
      } else {
        model = await loadModel(o.model, { runtime: o.runtime, device: o.device, precision: o.precision });
        if (model.card.task !== 'sr') {
          await model.dispose();
          throw new Error(`'${o.model}' is a ${model.card.task} model, not a super-resolution model`);
        }
        factor = o.factor ?? model.scale ?? 4;
        match = o.histogramMatch ?? histogramMatchByDefault(model.card);
        const m = model;
        upscale = (lr) => upscaleImage(m, lr, { factor, histogramMatch: match, tileSize: o.tile });
        label = o.label ?? `${model.card.title}${match ? ' + hist. match' : ''}`;
      }

      const methods = [{ label, upscale, note: model ? `${model.card.name}, ${model.runtime}` : 'MATLAB-compatible resizer, measured here' }];
      if (o.withBicubic && mode !== 'bicubic') {
        methods.unshift({ label: 'Bicubic (ours)', upscale: (lr) => interpolate(lr, factor, 'bicubic'), note: 'MATLAB-compatible resizer, measured here' });
      }
      const rows: SrTableRow[] = [];
      const evaluations: SrEvaluation[] = [];
      try {
        await withInterrupt(async (signal) => {
          for (const m of methods) {
            const own: SrEvaluation[] = [];
            for (let i = 0; i < dirs.length; i++) {
              const t0 = performance.now();
              const tty = process.stderr.isTTY;
              const e = await evaluateSr({
                set: dirs[i]!,
                factor,
                upscale: m.upscale,
                every: o.every,
                signal,
                onProgress: tty ? (f, info) => process.stderr.write(`\r${m.label}, ${sets[i]}: ${info ? info.index + 1 : '?'}/${info?.count ?? '?'} (${(100 * f).toFixed(0)}%)`) : undefined,
              });
              if (tty) process.stderr.write('\r\x1b[K');
              own.push(e);
              console.error(`${m.label}, ${e.set}: PSNR ${e.psnr.toFixed(2)} dB, SSIM ${e.ssim.toFixed(4)} (${e.images.length} images${e.subset ? `, ${e.subset}` : ''}, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
            }
            rows.push(rowFromEvaluations(m.label, own, m.note));
            if (m.upscale === upscale) evaluations.push(...own);
          }
        });
      } finally {
        await model?.dispose();
      }

      const named = evaluations.map((e) => e.set).filter((s) => (SR_BENCH_SETS as readonly string[]).includes(s));
      // Named sets keep the paper's column order; other folders get a column each.
      const columns = [...SR_BENCH_SETS.filter((s) => named.includes(s)), ...evaluations.map((e) => e.set).filter((s) => !(SR_BENCH_SETS as readonly string[]).includes(s))];
      const table = renderSrTable(rows, { sets: columns as typeof SR_BENCH_SETS[number][] });
      console.log(table.markdown);
      const settings = {
        model: mode ?? model?.files.folder ?? o.model,
        card: model ? { name: model.card.name, title: model.card.title, loss: model.card.loss, degradation: model.card.degradation, iterations: model.card.iterations } : undefined,
        runtime: model?.runtime,
        factor,
        histogramMatch: match,
        every: o.every,
        dataRoot,
        date: new Date().toISOString(),
      };
      if (o.json) {
        await fs.mkdir(path.dirname(path.resolve(o.json)), { recursive: true });
        await fs.writeFile(o.json, JSON.stringify({ ...table.json, settings, evaluations }, null, 2) + '\n');
      }
      if (o.md) {
        await fs.mkdir(path.dirname(path.resolve(o.md)), { recursive: true });
        const head = `# ${label}: ×${factor} super-resolution on ${evaluations.map((e) => e.set).join(', ')}\n\n` +
          `Evaluated ${settings.date.slice(0, 10)} with \`perceptual eval-sr\`${model ? ` (model \`${model.card.name}\`, ${model.runtime} runtime, histogram matching ${match ? 'on' : 'off'})` : ''}.\n\n`;
        await fs.writeFile(o.md, head + table.markdown);
      }
    });
}
