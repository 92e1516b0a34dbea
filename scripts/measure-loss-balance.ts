/**
 * The measurement behind the default λs of the VGG-19 loss profiles (README "Loss profiles"):
 * per style layer j, the style distance ‖G_j(x) − G_j(y_s)‖²_F of validation photos x to each
 * painting y_s (what a network must remove), and the same distances and the relu3_3 / relu4_2
 * content loss of a shipped network's outputs (what a trained network leaves).
 *
 *   node --import tsx scripts/measure-loss-balance.ts [--size 256] [--count 4] [--model models/starry-night]
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { keep, noGrad, tidy, type Tensor } from '../src/engine/index.js';
import { Vgg } from '../src/models/vgg/vgg.js';
import { defaultVggWeights } from '../src/models/vgg/sources.js';
import { gram } from '../src/losses/gram.js';
import { loadImageResized, imageToTensor } from '../src/data/tensor-image.js';
import { decodeSquare } from '../src/data/style-dataset.js';
import { modelFromConfig } from '../src/models/index.js';
import { readSafetensorsHeader } from '../src/nn/safetensors.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1]! : dflt; };
const size = Number(opt('size', '256'));
const count = Number(opt('count', '4'));
const modelDir = opt('model', 'models/starry-night');
const data = path.resolve(process.env.PERCEPTUAL_DATA ?? path.join('..', 'shared', 'data'));
const styleLayers = ['relu1_1', 'relu1_2', 'relu2_1', 'relu2_2', 'relu3_1', 'relu3_3', 'relu4_1', 'relu4_3', 'relu5_1'];
const contentLayers = ['relu3_3', 'relu4_2'];

const found = await defaultVggWeights('vgg19');
if (!found) throw new Error('no VGG-19 weights found');
const vgg = await Vgg.fromWeights(found.path, { upTo: 'relu5_1' });
const photos = (await fs.readdir(path.join(data, 'photos', 'val-256'))).filter((f) => /\.jpe?g$/i.test(f)).sort().slice(0, count);
const xs: Tensor[] = [];
for (const f of photos) xs.push(imageToTensor(await decodeSquare(path.join(data, 'photos', 'val-256', f), size)));

const net = modelFromConfig(JSON.parse((await readSafetensorsHeader(path.join(modelDir, 'weights.safetensors'))).metadata.config!));
await net.loadSafetensors(path.join(modelDir, 'weights.safetensors'));
net.train(false);

function grams(t: Tensor): Map<string, Tensor> {
  const f = vgg.forward(t, [...styleLayers]);
  return new Map(styleLayers.map((l) => [l, gram(f.get(l)!)]));
}
const dist = (a: Tensor, b: Tensor) => a.sub(b).square().sum().item() / a.shape[0]!;

const styles = (await fs.readdir(path.join(data, 'styles'))).filter((f) => f.endsWith('.jpg')).sort();
// The painting at the training's style size (its longer side = the photo side).
const styleImages = new Map<string, Awaited<ReturnType<typeof loadImageResized>>>();
for (const s of styles) styleImages.set(s, await loadImageResized(path.join(data, 'styles', s), size));
console.log(`photos: ${photos.length} at ${size}px; weights ${found.path}`);
console.log(`| style (at ${size}px) | ` + styleLayers.join(' | ') + ' |');
console.log('|---|' + styleLayers.map(() => '---').join('|') + '|');
noGrad(() => {
  // The photos' and the network outputs' Grams once, then one row per painting.
  const photoGrams = xs.map((xi) => tidy(() => { const g = grams(xi); for (const t of g.values()) keep(t); return g; }));
  const outGrams = xs.map((xi) => tidy(() => { const g = grams(net.forward(xi)); for (const t of g.values()) keep(t); return g; }));
  const content: string[] = [];
  for (const l of contentLayers) {
    let sum = 0;
    for (const xi of xs) sum += tidy(() => vgg.forward(net.forward(xi), [l]).get(l)!.sub(vgg.forward(xi, [l]).get(l)!).square().mean().item());
    content.push(`${l} ${(sum / xs.length).toExponential(2)}`);
  }
  for (const s of styles) {
    tidy(() => {
      const gs = grams(imageToTensor(styleImages.get(s)!));
      const row = (all: Map<string, Tensor>[]) => styleLayers.map((l) => (all.reduce((a, g) => a + dist(g.get(l)!, gs.get(l)!), 0) / all.length).toExponential(2));
      console.log(`| ${s} photo→painting | ${row(photoGrams).join(' | ')} |`);
      if (s.startsWith(path.basename(modelDir))) console.log(`| ${s} ${path.basename(modelDir)} output→painting | ${row(outGrams).join(' | ')} |`);
    });
  }
  console.log(`content loss of ${path.basename(modelDir)}'s outputs against the photos: ${content.join(', ')}`);
});
