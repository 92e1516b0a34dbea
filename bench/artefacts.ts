/**
 * `npm run bench:artefacts` — the grid-artefact figure (src/metrics/artefacts.ts) of every shipped
 * style's output, of ml5's "wave" network (imported from the shared peer checkpoint) and of the
 * photo itself, all on the same photo at its own size (the figure compares only at equal size):
 * by default the issue's 712×474 chicago photo. Further image files (e.g. Gatys results) may be
 * listed; they are measured as they are. Prints a table; with --json also writes it.
 *
 * Goal (issue 13): every shipped style at most ml5 "wave"'s figure on the same photo. Beside it, the
 * share of near-black pixels (darkFraction): the dark patches instance-norm networks paint early on.
 *
 * usage: npm run bench:artefacts -- [--photo FILE] [--size PX (longer side; default: as it is)] [--models all|a,b] [--ml5 DIR|none] [--shifts 2,4] [--json FILE] [image …]
 */
import path from 'node:path';
import { modelLabel } from '../src/eval/style-measure.js';
import os from 'node:os';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { loadImage, type RgbImage } from '../src/data/image.js';
import { loadImageResized } from '../src/data/tensor-image.js';
import { gridArtefacts, darkFraction, ARTEFACT_DEFAULTS } from '../src/metrics/artefacts.js';
import { loadStyleModel } from '../src/infer/load-model.js';
import { checkShifts } from '../src/infer/core/index.js';
import { importMl5 } from '../src/models/ml5/index.js';
import { sharedDataDir, shippedModelsDir } from '../src/util/paths.js';

const args = process.argv.slice(2);
const flags = new Map<string, string>();
const extra: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i]!.startsWith('--')) flags.set(args[i]!.slice(2), args[++i] ?? '');
  else extra.push(args[i]!);
}
const photoFile = flags.get('photo') ?? path.join(sharedDataDir(), 'content', 'chicago.jpg');
const ml5Dir = flags.get('ml5') ?? path.join(sharedDataDir(), 'peer', 'ml5-wave');
const modelsArg = flags.get('models') ?? 'all';
/** Also measure each shipped style averaged over these sub-stride shift counts (src/infer/core/shift-average.ts), e.g. `--shifts 2,4`. */
const shiftCounts = (flags.get('shifts') ?? '').split(',').filter(Boolean).map(Number);
shiftCounts.forEach(checkShifts);

/** Shipped style models: folders of models/ whose card says task "style". */
function styleModels(): string[] {
  const root = shippedModelsDir();
  const all = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(root, d.name, 'card.json')))
    .filter((d) => (JSON.parse(readFileSync(path.join(root, d.name, 'card.json'), 'utf8')) as { task?: string }).task === 'style')
    .map((d) => path.join(root, d.name))
    .sort();
  if (modelsArg === 'all') return all;
  return modelsArg.split(',').filter(Boolean).map((m) => (existsSync(m) ? m : path.join(root, m)));
}

const photo = flags.has('size') ? await loadImageResized(photoFile, Number(flags.get('size'))) : await loadImage(photoFile);
const rows: Array<{ what: string; figure: number; dark: number; note?: string }> = [];
const measure = (what: string, img: RgbImage, note?: string) => {
  const f = gridArtefacts(img);
  rows.push({ what, figure: f.figure, dark: darkFraction(img), note });
  console.error(`${what}: ${f.figure.toFixed(1)}  (${f.peaks.map((p) => p.ratio.toFixed(0)).join(' ')})`);
};

measure(`the photo (${path.basename(photoFile)})`, photo);
/** Stylise at the photo's own size, untiled, float output rounded to bytes as saved. */
async function stylize(model: string, shifts = 1): Promise<RgbImage> {
  const m = await loadStyleModel(model, { runtime: 'onnx' });
  try {
    return await m.stylize(photo, { tileSize: 0, outputType: 'uint8', shifts });
  } finally {
    await m.dispose();
  }
}
let ml5Figure: number | undefined;
if (ml5Dir !== 'none') {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'artefacts-ml5-'));
  try {
    const file = path.join(tmp, 'ml5-wave.onnx');
    writeFileSync(file, (await importMl5(ml5Dir)).toOnnx());
    measure(`ml5 "${path.basename(ml5Dir)}" network`, await stylize(file));
    ml5Figure = rows.at(-1)!.figure;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
const modelDirs = styleModels();
const label = (dir: string) => modelLabel(dir, modelDirs);
for (const dir of modelDirs) {
  const card = JSON.parse(readFileSync(path.join(dir, 'card.json'), 'utf8')) as { iterations?: number; lossProfile?: string };
  measure(label(dir), await stylize(dir), `${card.iterations ?? '?'} it., ${card.lossProfile ?? '?'}`);
  for (const n of shiftCounts) measure(`${label(dir)}, ${n} shifts averaged`, await stylize(dir, n), `${card.iterations ?? '?'} it., ${card.lossProfile ?? '?'}`);
}
for (const file of extra) {
  const img = await loadImage(file);
  if (img.width !== photo.width || img.height !== photo.height) console.error(`note: ${file} is ${img.width}×${img.height}, the photo ${photo.width}×${photo.height}: figures compare only at equal size`);
  measure(path.basename(file), img);
}

console.log(`\nGrid-artefact figure on ${path.basename(photoFile)} (${photo.width}×${photo.height}); luminance, Hann window, peak ±${ARTEFACT_DEFAULTS.peakRadius} bin over the median of ±${ARTEFACT_DEFAULTS.neighbourhoodRadius} bins, geometric mean of 15 frequencies; ${os.cpus()[0]?.model ?? 'CPU'}`);
console.log(`| image | figure | ${ml5Figure ? '/ ml5 wave | ' : ''}dark patches (max channel ≤ 12) | model |`);
console.log(`|---|---|${ml5Figure ? '---|' : ''}---|---|`);
for (const r of rows) console.log(`| ${r.what} | ${r.figure.toFixed(1)} | ${ml5Figure ? `${(r.figure / ml5Figure).toFixed(2)} | ` : ''}${(100 * r.dark).toFixed(2)} % | ${r.note ?? ''} |`);
if (flags.has('json')) writeFileSync(flags.get('json')!, JSON.stringify({ photo: photoFile, width: photo.width, height: photo.height, options: ARTEFACT_DEFAULTS, rows }, null, 2) + '\n');
