/**
 * The paper's Figure 5 comparison, for every shipped style: on validation photos at 256 px, the
 * perceptual loss of the feed-forward network's output against the Gatys optimisation of the
 * same loss after 50, 100, 300 and 500 L-BFGS iterations from noise; prints the table and draws
 * the figure (src/eval/figure5.ts).
 *
 * The loss is the `paper-vgg19` profile (VGG-19 to relu4_3) with the style's λs from its card when
 * it was trained with that profile, else the profile's defaults (said so). Where the profile or its
 * weights are missing, each style is measured with its own card's profile instead, with a message.
 *
 * Gatys at 256² with VGG to relu4_3 is ~0.6 s an iteration on 2 cores, so 8 photos × 6 styles ×
 * 500 iterations are hours: every run is stored in the results JSON as soon as it ends (key:
 * style image and size, photo, size, profile, λs, precision, seed — not the network, so retraining a
 * style re-measures only its cheap feed-forward side), later invocations skip what is stored,
 * and Ctrl-C keeps the interrupted run's checkpoints reached so far (L-BFGS from a fixed seed is
 * deterministic: the first 300 iterations of a 500-iteration run are a 300-iteration run). Work
 * goes photo by photo across all styles, so at any time every style has about as many photos.
 *
 * usage: node --import tsx bench/gatys-vs-feedforward.ts [--models all|a,b] [--count 8] [--size 256]
 *          [--iterations 50,100,300,500] [--profile paper-vgg19] [--precision float32]
 *          [--results bench/figure5-results.json] [--svg docs/figure5.svg] [--val DIR] [--report-only] [--clamp] [--shifts 4]
 *          [--photos 5-8]
 *
 * --photos a-b: the Gatys side runs only photos a…b (1-based, within --count); the report still covers
 * all --count photos. Two processes with different ranges can share one results file (each save merges
 * what the file holds: per Gatys run the longer one), which is how the 300/500 columns fill on 2 cores
 * (one single-threaded L-BFGS run per core: PERCEPTUAL_THREADS=1).
 *
 * Gatys runs unconstrained by default, as the paper's Figure 5 and jcjohnson/neural-style do: the
 * curve is the loss of pixels that may lie outside 0–255. --clamp measures the projected
 * optimisation instead (pixels kept in 0–255 after every iteration; its loss is its image's loss),
 * stored under its own keys. Measured once (starry-night, first val photo, 100 iterations): 2.87e5
 * unconstrained (its image, clamped: 5.01e5), 2.82e5 projected: the two curves are close, so the
 * cached unconstrained runs stay the reference.
 */
import path from 'node:path';
import os from 'node:os';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { tidy, noGrad, getNumThreads, type Precision } from '../src/engine/index.js';
import { setupLoss } from '../src/losses/setup.js';
import type { PerceptualLoss } from '../src/losses/perceptual-loss.js';
import type { Vgg } from '../src/models/vgg/vgg.js';
import { optimizeImage } from '../src/optimize/gatys.js';
import { loadStyleModel } from '../src/infer/load-model.js';
import { checkShifts } from '../src/infer/core/index.js';
import { listImages } from '../src/data/image-folder.js';
import { loadImageResized, imageToTensor } from '../src/data/tensor-image.js';
import { styleMeasureSpec, gatysKey, modelLabel, MEASURE_PROFILE, type StyleMeasureSpec, type StyleCardFields } from '../src/eval/style-measure.js';
import { figure5Row, figure5Table, figure5Svg, mergeFigure5Results, type StyleResults, type GatysRun, type Figure5Results } from '../src/eval/figure5.js';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import { packageRoot, sharedDataDir, shippedModelsDir } from '../src/util/paths.js';

const args = process.argv.slice(2);
const get = (k: string, d: string) => (args.includes(`--${k}`) ? args[args.indexOf(`--${k}`) + 1]! : d);
const count = Number(get('count', '8'));
const size = Number(get('size', '256'));
const checkpoints = get('iterations', '50,100,300,500').split(',').map(Number).sort((a, b) => a - b);
const wantedProfile = get('profile', MEASURE_PROFILE);
const precision = get('precision', 'float32') as Precision;
const resultsFile = path.resolve(get('results', path.join(packageRoot, 'bench', 'figure5-results.json')));
const svgFile = path.resolve(get('svg', path.join(packageRoot, 'docs', 'figure5.svg')));
const valDir = get('val', path.join(sharedDataDir(), 'photos', 'val-256'));
const reportOnly = args.includes('--report-only');
const clampPixels = args.includes('--clamp');
/** The network's output averaged over sub-stride shifts (src/infer/core/shift-average.ts); its own feed-forward key. */
const shifts = Number(get('shifts', '1'));
checkShifts(shifts);
const SEED = 0;
/** Points of the curve kept between checkpoints (every CURVE_STEP iterations). */
const CURVE_STEP = 10;
if (!checkpoints.length || checkpoints.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`--iterations: positive integers separated by commas, got ${get('iterations', '')}`);
if (!Number.isInteger(count) || count < 1) throw new Error(`--count: a positive integer, got ${get('count', '')}`);
const photoRange = get('photos', `1-${count}`);
const [firstPhoto, lastPhoto] = (/^(\d+)-(\d+)$/.exec(photoRange)?.slice(1).map(Number) ?? [NaN, NaN]) as [number, number];
if (!(firstPhoto >= 1 && firstPhoto <= lastPhoto && lastPhoto <= count)) throw new Error(`--photos: a range a-b with 1 ≤ a ≤ b ≤ --count (${count}), got ${photoRange}`);

const readResults = (): Figure5Results => (existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Figure5Results) : { version: 1, gatys: {}, feedForward: {} });
const results = readResults();
/** Feed-forward keys measured by this process (they replace the file's; the rest of the file's are kept). */
const ffMeasured = new Set<string>();
/** Merges with what the file holds now (another process may have added runs): per Gatys key the longer run. */
const save = () => writeFileAtomic(resultsFile, JSON.stringify(mergeFigure5Results(results, readResults(), ffMeasured), null, 1) + '\n');

const modelsArg = get('models', args.includes('--model') ? get('model', '') : 'all');
const root = shippedModelsDir();
const readCard = (d: string) => JSON.parse(readFileSync(path.join(d, 'card.json'), 'utf8')) as StyleCardFields & { task?: string };
const modelDirs = (modelsArg === 'all' ? readdirSync(root).map((d) => path.join(root, d)) : modelsArg.split(',').map((m) => (existsSync(m) ? path.resolve(m) : path.join(root, m))))
  .filter((d) => existsSync(path.join(d, 'card.json')) && readCard(d).task === 'style' && readCard(d).styleImage)
  .sort();
if (!modelDirs.length) throw new Error(`gatys-vs-feedforward: no style model with a card naming its style image in ${modelsArg === 'all' ? root : modelsArg}`);

interface Style extends StyleMeasureSpec { dir: string; name: string; card: StyleCardFields }
const styles: Style[] = modelDirs.map((dir) => {
  const card = readCard(dir);
  return { dir, name: modelLabel(dir, modelDirs), card, ...styleMeasureSpec(card, dir, size, wantedProfile) };
});

const photos = (await listImages(valDir)).slice(0, count);
if (photos.length < count) console.error(`note: ${valDir} has ${photos.length} photos, fewer than --count ${count}`);
const keyOf = (s: Style, photo: string) => gatysKey(s, photo, size, { precision, seed: SEED, init: 'noise', clampPixels });
/** Feed-forward results are keyed by style and loss (not photo): everything after the photo in the Gatys key. */
const ffKey = (s: Style) => `${s.name}|${keyOf(s, '').split('|').slice(2).join('|')}${shifts > 1 ? `|shifts${shifts}` : ''}`;

const controller = new AbortController();
process.once('SIGINT', () => {
  console.error('\ninterrupted: keeping what is done (rerun to continue)');
  controller.abort();
});
const cpu = `${os.cpus()[0]?.model.trim() ?? 'CPU'} ×${os.availableParallelism()}`;

/** VGG per profile, shared by all styles (a profile's network is the same for all of them). */
const vggs = new Map<string, Vgg>();
async function lossFor(s: Style): Promise<PerceptualLoss> {
  const { loss, vgg } = await setupLoss({ profile: s.profile, task: 'style', vgg: vggs.get(s.profile), overrides: s.overrides });
  vggs.set(s.profile, vgg);
  loss.setStyle(imageToTensor(await loadImageResized(s.styleImage, s.styleSize)));
  return loss;
}

if (!reportOnly) {
  // Feed-forward side: cheap, always recomputed (the network may have been retrained).
  for (const s of styles) {
    const loss = await lossFor(s);
    const model = await loadStyleModel(s.dir, { runtime: 'onnx' });
    const ff: Record<string, { loss: number; seconds: number }> = {};
    for (const photo of photos) {
      const img = await loadImageResized(photo, size);
      const t0 = performance.now();
      const out = await model.stylize(img, { tileSize: 0, shifts });
      const seconds = (performance.now() - t0) / 1000;
      ff[path.basename(photo)] = { loss: noGrad(() => tidy(() => loss.forward(imageToTensor(out), imageToTensor(img)).total.item())), seconds };
    }
    results.feedForward[ffKey(s)] = ff;
    ffMeasured.add(ffKey(s));
    await model.dispose();
    loss.dispose();
  }
  await save();
  // Gatys side: photo by photo across the styles, skipping what is stored.
  const last = checkpoints.at(-1)!;
  outer: for (const photo of photos.slice(firstPhoto - 1, lastPhoto)) {
    for (const s of styles) {
      if (controller.signal.aborted) break outer;
      const key = keyOf(s, photo);
      if ((results.gatys[key]?.iterations ?? 0) >= last) continue;
      const loss = await lossFor(s);
      const at: GatysRun['at'] = {};
      const img = await loadImageResized(photo, size);
      let done = 0;
      const t0 = performance.now();
      await optimizeImage({
        loss, content: img, init: 'noise', iterations: last, seed: SEED, precision, clampPixels, signal: controller.signal,
        onIteration: (i) => {
          done = i.iteration;
          if (checkpoints.includes(i.iteration) || i.iteration % CURVE_STEP === 0 || i.iteration === 1) at[String(i.iteration)] = { loss: i.total, seconds: i.seconds };
          if (i.iteration % 50 === 0) process.stderr.write(`\r${s.name} ${path.basename(photo)}: ${i.iteration}/${last} L-BFGS, loss ${i.total.toPrecision(5)}, ${(i.seconds / i.iteration).toFixed(2)} s/it   `);
        },
      });
      loss.dispose();
      // An interrupted run keeps its iterations done so far (valid as a shorter run), unless a longer one is stored.
      if (done > (results.gatys[key]?.iterations ?? 0)) {
        results.gatys[key] = { iterations: done, at, cpu, threads: getNumThreads(), finishedAt: new Date().toISOString() };
        await save();
      }
      process.stderr.write(`\r${s.name} ${path.basename(photo)}: ${done} L-BFGS iterations in ${((performance.now() - t0) / 1000).toFixed(0)} s, loss ${at[String(done)]?.loss.toPrecision(5) ?? '?'}${' '.repeat(20)}\n`);
    }
  }
}
for (const v of vggs.values()) v.dispose();

// Report from the results file: every style, the photos it has.
const rows = styles.map((s) => {
  const ff = results.feedForward[ffKey(s)] ?? {};
  const gatys: StyleResults['gatys'] = {};
  for (const photo of photos) {
    const run = results.gatys[keyOf(s, photo)];
    if (run) gatys[path.basename(photo)] = run;
  }
  const network = `${s.card.iterations ?? '?'} it., ${s.card.lossProfile ?? '?'}${shifts > 1 ? `, ${shifts} shifts averaged` : ''}`;
  return figure5Row({ style: s.name, network, feedForward: ff, gatys }, checkpoints);
});
const profiles = [...new Set(styles.map((s) => s.profile))].join(', ');
console.log(`\nFigure 5: perceptual loss (${profiles}; ${[...new Set(styles.map((s) => s.lambdaNote))].join('; ')}) of the network's output and of Gatys L-BFGS from noise (${precision}), ${size} px, up to ${count} photos of ${path.relative(process.cwd(), valDir) || valDir}; ${cpu}; results: ${path.relative(process.cwd(), resultsFile)}`);
console.log(figure5Table(rows, checkpoints));
const secs = rows.filter((r) => r.photos && r.gatys[checkpoints.at(-1)!]);
if (secs.length) console.log(`\nmean time: network ${(secs.reduce((a, r) => a + r.feedForwardSeconds, 0) / secs.length).toFixed(3)} s; Gatys ${checkpoints.map((c) => `${c} it. ${(secs.reduce((a, r) => a + (r.gatys[c]?.seconds ?? 0), 0) / secs.length).toFixed(0)} s`).join(', ')}`);
await writeFileAtomic(svgFile, figure5Svg(rows, checkpoints, `Feed-forward network vs Gatys L-BFGS (${profiles}, ${size} px)`));
console.log(`figure: ${path.relative(process.cwd(), svgFile)}`);
