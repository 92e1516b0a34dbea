/**
 * `npm run bench:engine` — one training step (forward, backward, Adam) of Johnson's
 * transformation network (the paper's) plus a VGG-16 loss network truncated at relu4_3
 * (content relu3_3; style relu1_2, relu2_2, relu3_3, relu4_3; TV), at 256×256 batch 4:
 * this engine against python3-torch (bench/reference/train_step.py, the same network and
 * losses), same threads, in float32 and in bf16 autocast + channels_last. Weights are random:
 * this measures speed. Prints a table and the ratios; nothing is asserted.
 *
 * usage: npm run bench:engine -- [--size 256] [--batch 4] [--iters 5] [--skip-python]
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randn, tidy, autocast, Adam, getNumThreads, manualSeed, engineInfo, type Precision } from '../src/engine/index.js';
import { buildStyleNet } from '../src/models/transformer-net.js';
import { Vgg } from '../src/models/vgg/vgg.js';
import { PerceptualLoss } from '../src/losses/perceptual-loss.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const size = opt('size', 256), batch = opt('batch', 4), iters = opt('iters', 5);
const skipPython = args.includes('--skip-python');
const here = path.dirname(fileURLToPath(import.meta.url));
const threads = getNumThreads();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function ours(precision: Precision): number {
  manualSeed(0);
  const net = buildStyleNet('paper');
  const vgg = Vgg.random('vgg16', 'relu4_3');
  const cl = precision === 'bf16';
  if (cl) {
    net.toMemoryFormat('channels_last');
    vgg.toMemoryFormat('channels_last');
  }
  const loss = new PerceptualLoss(vgg, {
    contentLayers: ['relu3_3'],
    contentWeight: 1,
    styleLayers: ['relu1_2', 'relu2_2', 'relu3_3', 'relu4_3'],
    styleWeights: 5e-5,
    tvWeight: 1e-6,
    pixelWeight: 0,
  });
  const style = tidy(() => {
    const s = randn([1, 3, size, size]).abs().mul(100);
    return cl ? s.contiguous('channels_last') : s;
  });
  autocast(precision, () => loss.setStyle(style));
  const x = tidy(() => {
    const t = randn([batch, 3, size, size]).abs().mul(100);
    return cl ? t.contiguous('channels_last') : t;
  });
  const adam = new Adam(net.parameters(), { lr: 1e-3 });
  const step = () => {
    adam.zeroGrad();
    tidy(() => {
      const terms = autocast(precision, () => loss.forward(net.forward(x), x));
      terms.total.backward();
      terms.total.item();
    });
    adam.step();
  };
  step(); // warm-up (oneDNN primitive creation)
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    step();
    times.push((performance.now() - t0) / 1000);
  }
  net.dispose();
  vgg.dispose();
  loss.dispose();
  return median(times);
}

function python(precision: Precision): number | undefined {
  if (skipPython) return undefined;
  const r = spawnSync('/usr/bin/python3', [path.join(here, 'reference', 'train_step.py'), String(size), String(batch), String(threads), precision, String(iters)], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`python3-torch reference failed (${precision}):\n${r.stderr.slice(-2000)}`);
    return undefined;
  }
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { median_s: number }).median_s;
}

const info = engineInfo();
console.log(`engine benchmark: training step, paper transformation net + VGG-16 to relu4_3, ${size}×${size} batch ${batch}, ${threads} threads, libtorch ${info.libtorch}, median of ${iters}`);
const rows: Array<{ precision: Precision; ours: number; torch?: number }> = [];
for (const p of ['float32', 'bf16'] as const) {
  const o = ours(p);
  const t = python(p);
  rows.push({ precision: p, ours: o, torch: t });
  console.log(`  ${p.padEnd(8)} ours ${o.toFixed(3)} s   python3-torch ${t?.toFixed(3) ?? 'n/a'} s   ratio ${t ? (o / t).toFixed(3) : 'n/a'}`);
}
const f32 = rows.find((r) => r.precision === 'float32')!;
const bf = rows.find((r) => r.precision === 'bf16')!;
console.log('\n| setting | this engine (s) | python3-torch (s) | ratio |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.precision === 'bf16' ? 'bf16 autocast + channels_last' : 'float32'} | ${r.ours.toFixed(3)} | ${r.torch?.toFixed(3) ?? 'n/a'} | ${r.torch ? (r.ours / r.torch).toFixed(3) : 'n/a'} |`);
if (f32.torch) console.log(`| this engine's default (bf16) vs PyTorch's default (float32) | ${bf.ours.toFixed(3)} | ${f32.torch.toFixed(3)} | ${(bf.ours / f32.torch).toFixed(3)} |`);
