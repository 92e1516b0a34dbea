/**
 * The PyTorch twin (train_styles_cuda.py) against the trainer it stands in for: on one bundle run's weights,
 * style image and validation photos, prints the loss terms src/train/style-task.ts computes — the validation
 * terms (content, style, tv with the edge padding), the grid term on those outputs and the stability term for a
 * fixed perturbation (shift (2, −1), no noise) — as JSON. The twin prints the same with `--validate-only`;
 * test/train/device-twin.test.ts compares them.
 *
 *   node --import tsx scripts/device/check-twin.ts BUNDLE KEY [VGG]
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { noGrad, tensor, tidy, type Tensor } from '../../src/engine/index.js';
import { TransformerNet } from '../../src/models/transformer-net.js';
import { setupLoss } from '../../src/losses/setup.js';
import type { PerceptualLossConfig } from '../../src/losses/perceptual-loss.js';
import { StyleTask } from '../../src/train/style-task.js';
import { gridLoss } from '../../src/losses/grid-loss.js';
import { perturbInput, stabilityLoss } from '../../src/losses/stability-loss.js';
import { reflectPad } from '../../src/nn/layers/index.js';
import type { StyleDataset } from '../../src/data/style-dataset.js';
import type { RgbImage } from '../../src/data/image.js';
import { packBatch } from '../../src/data/tensor-layout.js';
import { imageToTensor } from '../../src/data/tensor-image.js';

const [bundle, key, vggPath] = process.argv.slice(2) as [string, string, string | undefined];
const plan = JSON.parse(await fs.readFile(path.join(bundle, 'plan.json'), 'utf8'));
const run = plan.runs.find((r: { key: string }) => r.key === key);
if (!run) throw new Error(`no run '${key}' in ${bundle}/plan.json`);
const cfg = run.config;
const model = new TransformerNet({ kind: 'style', ...run.net }); // the canonical string the twin builds too
await model.loadSafetensors(path.join(bundle, run.init));
model.eval();
const vgg = vggPath ?? run.vgg.map((v: string) => path.join(bundle, v)).join(':');
const { loss } = await setupLoss({ profile: cfg.profile, task: 'style', vgg, overrides: cfg.lossConfig as PerceptualLossConfig });
const raw = (buf: Uint8Array, height: number, width: number): RgbImage => ({ data: buf, width, height, channels: 3 });
loss.setStyle(imageToTensor(raw(await fs.readFile(path.join(bundle, run.styleRaw)), run.styleShape[0], run.styleShape[1])));
const valBuf = await fs.readFile(path.join(bundle, 'val.u8'));
const [n, h, w] = plan.valShape as [number, number, number];
const images = Array.from({ length: n }, (_, i) => raw(valBuf.subarray(i * h * w * 3, (i + 1) * h * w * 3), h, w));
// validate() through the task itself, on the bundle's photos (the same pixels the trainer decodes)
const validation = {
  images,
  length: n,
  *batches(b: number) {
    for (let i = 0; i < n; i += b) yield { ...packBatch(images.slice(i, i + b)), files: [] };
  },
};
const task = new StyleTask({ model, loss, dataset: { batchSize: cfg.batchSize, close() {} } as unknown as StyleDataset, validation: validation as never, edgePad: cfg.edgePad });
const val = await task.validate();
const extra = noGrad(() =>
  tidy(() => {
    const first = packBatch(images.slice(0, 4));
    const x = tensor(first.data, first.shape);
    const p = cfg.edgePad as number;
    const fwd = (t: Tensor) => model.forward(reflectPad(t, p)).narrow(2, p, t.shape[2]!).narrow(3, p, t.shape[3]!);
    const y = fwd(x);
    const pert = { noise: 0, dx: 2, dy: -1 };
    return { grid: gridLoss(y, { window: cfg.grid?.window ?? 128 }).item(), stability: stabilityLoss(y, fwd(perturbInput(x, pert)), pert).item() };
  }),
);
console.log(JSON.stringify({ val, ...extra }));
