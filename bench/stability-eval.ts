/**
 * The feed-forward side of the Figure-5 comparison for a few models: each model's perceptual
 * loss (mean over validation photos at its training size, the same profile and λs for all, as
 * bench/gatys-vs-feedforward.ts measures it) — to check that a stability fine-tune
 * (`train-style --stability-weight`) does not cost more than 5 % of it.
 *
 *   node --import tsx bench/stability-eval.ts --models models/starry-night,runs/ft/model [--count 8] [--size 128] [--profile vgg19-conv3]
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { noGrad, tidy } from '../src/engine/index.js';
import { setupLoss } from '../src/losses/setup.js';
import { loadStyleModel } from '../src/infer/load-model.js';
import { listImages } from '../src/data/image-folder.js';
import { loadImageResized, imageToTensor } from '../src/data/tensor-image.js';
import { styleMeasureSpec, MEASURE_PROFILE, type StyleCardFields } from '../src/eval/style-measure.js';
import { sharedDataDir } from '../src/util/paths.js';

const { values: a } = parseArgs({ options: { models: { type: 'string' }, count: { type: 'string', default: '8' }, size: { type: 'string', default: '128' }, profile: { type: 'string', default: MEASURE_PROFILE } } });
if (!a.models) throw new Error('--models a,b: model folders');
const size = Number(a.size), count = Number(a.count);
const photos = (await listImages(path.join(sharedDataDir(), 'photos', 'val-256'))).slice(0, count);
const dirs = a.models.split(',').map((m) => (existsSync(m) ? m : path.join('models', m)));
const first = JSON.parse(readFileSync(path.join(dirs[0]!, 'card.json'), 'utf8')) as StyleCardFields;
// One loss for every model: the first model's spec (its style image, profile, λs).
const spec = styleMeasureSpec(first, dirs[0]!, size, a.profile);
const { loss, vgg } = await setupLoss({ profile: spec.profile, task: 'style', overrides: spec.overrides });
loss.setStyle(imageToTensor(await loadImageResized(spec.styleImage, spec.styleSize)));
console.log(`loss: ${spec.lambdaNote}; ${photos.length} photos from val-256 at ${size} px`);
console.log('| model | total | content | style | tv |\n|---|---|---|---|---|');
const base: number[] = [];
for (const d of dirs) {
  const model = await loadStyleModel(d, { runtime: 'engine', precision: 'float32' });
  const sums = { total: 0, content: 0, style: 0, tv: 0 };
  for (const p of photos) {
    const img = await loadImageResized(p, size);
    const out = await model.stylize(img, { tileSize: 0 });
    const t = noGrad(() => tidy(() => {
      const r = loss.forward(imageToTensor(out), imageToTensor(img));
      return { total: r.total.item(), content: r.content.item(), style: r.style.item(), tv: r.tv.item() };
    }));
    for (const k of Object.keys(sums) as Array<keyof typeof sums>) sums[k] += t[k] / photos.length;
  }
  await model.dispose();
  if (!base.length) base.push(sums.total);
  console.log(`| ${d} | ${sums.total.toExponential(4)} (${(sums.total / base[0]!).toFixed(3)}×) | ${sums.content.toExponential(3)} | ${sums.style.toExponential(3)} | ${sums.tv.toExponential(2)} |`);
}
loss.dispose();
vgg.dispose();
