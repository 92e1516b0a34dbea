/**
 * The paper's Figure 5 comparison: for validation photos, the perceptual loss of a trained
 * feed-forward network's output against the Gatys optimisation of the same loss after 50,
 * 100, 300 and 500 L-BFGS iterations (from noise), and the time each takes.
 *
 * usage: node --import tsx bench/gatys-vs-feedforward.ts --model models/starry-night [--count 20] [--size 256] [--val DIR]
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { tidy, noGrad } from '../src/engine/index.js';
import { setupLoss } from '../src/losses/setup.js';
import { optimizeImage } from '../src/optimize/gatys.js';
import { EngineStyleModel } from '../src/infer/engine-model.js';
import { listImages } from '../src/data/image-folder.js';
import { loadImageResized, imageToTensor } from '../src/data/tensor-image.js';
import { repoRoot } from '../src/models/vgg/sources.js';

const args = process.argv.slice(2);
const get = (k: string, d?: string) => (args.includes(`--${k}`) ? args[args.indexOf(`--${k}`) + 1] : d);
const modelDir = get('model', 'models/starry-night')!;
const count = Number(get('count', '20'));
const size = Number(get('size', '256'));
const valDir = get('val', path.resolve(process.env.PERCEPTUAL_DATA ?? path.resolve(repoRoot(), '..', 'shared', 'data'), 'photos', 'val-256'))!;
const checkpoints = [50, 100, 300, 500];

const card = JSON.parse(await fs.readFile(path.join(modelDir, 'card.json'), 'utf8')) as {
  lossProfile: string;
  lambda: { content: number; style: number | number[]; tv: number };
  styleImage: string;
  styleSize?: number;
};
const stylePath = path.resolve(process.env.PERCEPTUAL_DATA ?? path.resolve(repoRoot(), '..', 'shared', 'data'), 'styles', card.styleImage);
const { loss, vgg } = await setupLoss({
  profile: card.lossProfile,
  task: 'style',
  overrides: { contentWeight: card.lambda.content, styleWeights: card.lambda.style, tvWeight: card.lambda.tv },
});
loss.setStyle(imageToTensor(await loadImageResized(stylePath, card.styleSize ?? size)));
const model = await EngineStyleModel.load(path.join(modelDir, 'weights.safetensors'), { precision: 'float32' });

const files = (await listImages(valDir)).slice(0, count);
const rows: Array<{ file: string; feedForward: number; ffSeconds: number; gatys: Record<number, { loss: number; seconds: number }> }> = [];
for (const file of files) {
  const img = await loadImageResized(file, size);
  const t0 = performance.now();
  const out = await model.stylize(img, { tileSize: 0 });
  const ffSeconds = (performance.now() - t0) / 1000;
  const feedForward = noGrad(() => tidy(() => loss.forward(imageToTensor(out), imageToTensor(img)).total.item()));
  const gatys: Record<number, { loss: number; seconds: number }> = {};
  await optimizeImage({
    loss,
    content: img,
    iterations: checkpoints.at(-1)!,
    onIteration: (i) => {
      if (checkpoints.includes(i.iteration)) gatys[i.iteration] = { loss: i.total, seconds: i.seconds };
    },
  });
  rows.push({ file: path.basename(file), feedForward, ffSeconds, gatys });
  console.error(`${path.basename(file)}: feed-forward ${feedForward.toPrecision(5)} (${ffSeconds.toFixed(2)} s); ` + checkpoints.map((c) => `L-BFGS ${c}: ${gatys[c]?.loss.toPrecision(5)}`).join(', '));
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`\nFigure 5 comparison: ${rows.length} photos from ${valDir} at ${size}px, model ${modelDir}, loss profile ${card.lossProfile}`);
console.log('| method | mean loss | loss / feed-forward | mean time (s) |');
console.log('|---|---|---|---|');
const ff = mean(rows.map((r) => r.feedForward));
console.log(`| feed-forward network | ${ff.toPrecision(5)} | 1.00 | ${mean(rows.map((r) => r.ffSeconds)).toFixed(3)} |`);
for (const c of checkpoints) {
  const l = mean(rows.map((r) => r.gatys[c]!.loss));
  console.log(`| Gatys, ${c} L-BFGS iterations | ${l.toPrecision(5)} | ${(l / ff).toFixed(2)} | ${mean(rows.map((r) => r.gatys[c]!.seconds)).toFixed(1)} |`);
}
model.dispose();
vgg.dispose();
