/**
 * Packs what scripts/device/train_styles_cuda.py needs to continue style runs on a lent GPU machine into one
 * folder that fits the device tool's 64 MiB (with the 31 MB repository): each run's weights (no Adam moments —
 * 3× the size; the twin warms up fresh ones), its run state, the style image exactly as the trainer sees it
 * (loadImageResized to styleSize, raw RGB), the validation photos as the trainer decodes them (raw RGB), the
 * quantised loss network up to conv4_3 (only the shards that hold it), and as many training photos as the budget
 * leaves, re-encoded as WebP.
 *
 *   node --import tsx scripts/device/bundle-style-runs.ts --out .device/bundle --budget-mb 34.3 \
 *     great-wave=runs/styles-rc/great-wave udnie=runs/styles-rc/udnie …
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { readCheckpointState } from '../../src/train/checkpoint.js';
import { readSafetensors, writeSafetensors } from '../../src/nn/safetensors.js';
import { loadImageResized } from '../../src/data/tensor-image.js';
import { ValidationSet } from '../../src/data/style-dataset.js';
import { listImages } from '../../src/data/image-folder.js';
import { buildStyleNet } from '../../src/models/transformer-net.js';
import type { NormKind } from '../../src/nn/layers/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string', default: '.device/bundle' },
    'budget-mb': { type: 'string', default: '34.3' },
    data: { type: 'string', default: '../shared/data' },
    'edge-pad': { type: 'string', default: '8' },
    quality: { type: 'string', default: '70' },
  },
});
const out = values.out!;
const data = values.data!;
const budget = Number(values['budget-mb']) * 1e6;
await fs.rm(out, { recursive: true, force: true });
await fs.mkdir(path.join(out, 'init'), { recursive: true });
await fs.mkdir(path.join(out, 'style'), { recursive: true });
await fs.mkdir(path.join(out, 'photos'), { recursive: true });
let used = 0;
const put = async (rel: string, buf: Uint8Array) => {
  await fs.writeFile(path.join(out, rel), buf);
  used += buf.length;
};

// The loss network: the shards of the quantised copy up to block4_conv3's bias. The float32 conv1–conv3
// (vgg19-keras, 9 MB) would leave room for 700 fewer photos; the twin reads them where they exist (--vgg-first),
// as src/models/vgg/combined.ts combines sources, float32 first.
const VGG = 'vgg19-full-uint8';
const LAST_WEIGHT = 'block4_conv3/bias';
{
  const src = path.join(data, VGG);
  const manifest = JSON.parse(await fs.readFile(path.join(src, 'model.json'), 'utf8'));
  await fs.mkdir(path.join(out, VGG), { recursive: true });
  await put(`${VGG}/model.json`, Buffer.from(JSON.stringify(manifest)));
  for (const group of manifest.weightsManifest) {
    let end = 0; // bytes of the group up to LAST_WEIGHT (manifest order)
    for (let off = 0, i = 0; i < group.weights.length && end === 0; i++) {
      const w = group.weights[i];
      const width = w.quantization ? { uint8: 1, uint16: 2, float16: 2 }[w.quantization.dtype as string]! : 4;
      off += w.shape.reduce((a: number, b: number) => a * b, 1) * width;
      if (w.name === LAST_WEIGHT) end = off;
    }
    for (let i = 0, start = 0; i < group.paths.length && start < end; i++) {
      const buf = await fs.readFile(path.join(src, group.paths[i]));
      await put(`${VGG}/${group.paths[i]}`, buf);
      start += buf.length;
    }
  }
}

const val = await ValidationSet.load({ dir: path.join(data, 'photos/val-256'), count: 8, size: 256 });
await put('val.u8', Buffer.concat(val.images.map((im) => Uint8Array.from(im.data))));

const runs = [];
for (const spec of positionals) {
  const [key, dir] = spec.split('=') as [string, string];
  const ckpt = path.join(dir, '256', 'checkpoint.safetensors');
  const state = await readCheckpointState(ckpt);
  const { tensors } = await readSafetensors(ckpt);
  const weights = new Map([...tensors].filter(([k]) => k.startsWith('model.')).map(([k, v]) => [k.slice('model.'.length), v]));
  await writeSafetensors(path.join(out, 'init', `${key}.safetensors`), weights, {});
  used += (await fs.stat(path.join(out, 'init', `${key}.safetensors`))).size;
  const cfg = state.config as Record<string, unknown>;
  const config = { ...cfg, edgePad: Number(values['edge-pad']) };
  const style = await loadImageResized(cfg.styleImage as string, cfg.styleSize as number);
  await put(`style/${key}.u8`, Uint8Array.from(style.data));
  const { optimizer: _optimizer, ...plain } = state; // the twin's Adam starts afresh
  runs.push({
    key,
    run: dir,
    iteration: state.iteration,
    seed: cfg.seed,
    config,
    state: JSON.stringify({ ...plain, config }),
    // the canonical architecture string and normalisation the preset stands for (the twin knows no presets)
    net: (({ arch, norm, padding }) => ({ arch, norm, padding }))(buildStyleNet(cfg.arch as string, cfg.norm ? { norm: cfg.norm as NormKind } : {}).config),
    init: `init/${key}.safetensors`,
    vgg: [VGG],
    styleRaw: `style/${key}.u8`,
    styleShape: [style.height, style.width, 3],
  });
}

// Training photos: every k-th of the sorted list until the budget is spent (spread over the whole set).
const all = await listImages(path.join(data, 'photos/train-256'));
const photos: string[] = [];
const stride = 2;
for (const pass of [0, 1]) {
  for (let i = pass; i < all.length && used < budget; i += stride) {
    const name = `${String(i).padStart(5, '0')}.webp`;
    const buf = await sharp(all[i]!).resize(256, 256, { fit: 'cover', position: 'centre', kernel: 'lanczos3' }).removeAlpha().webp({ quality: Number(values.quality) }).toBuffer();
    await put(`photos/${name}`, buf);
    photos.push(name);
  }
}
await fs.writeFile(path.join(out, 'plan.json'), JSON.stringify({ photos, valShape: [val.length, 256, 256, 3], runs }, null, 1));
console.log(`${out}: ${runs.length} runs, ${photos.length} of ${all.length} photos, ${(used / 1e6).toFixed(1)} MB`);
