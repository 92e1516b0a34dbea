/**
 * `npm run bench:engine` — one training step (forward, backward, Adam) of Johnson's
 * transformation network (the paper's) plus the loss network of the `paper-vgg19` profile —
 * the one the shipped styles train with: VGG-19 truncated at relu4_3 (content relu3_3; style
 * relu1_2, relu2_2, relu3_3, relu4_3; TV) — at 256×256 batch 4: this engine against
 * python3-torch (bench/reference/train_step.py, the same network and losses, built from the
 * layer names passed to it), same threads, in float32 and in bf16 autocast + channels_last.
 * Weights are random: this measures speed, and the profile's λs do not change it. Where the
 * profile does not exist yet, the paper's layer set on VGG-19 is used and said so.
 * Prints a table and the ratios; nothing is asserted.
 *
 * usage: npm run bench:engine -- [--size 256] [--batch 4] [--iters 5] [--profile paper-vgg19] [--interleave] [--skip-python]
 *        [--precision float32|bf16] (one of the two only: bf16 emulated on a CPU without AVX512-BF16 takes minutes a step)
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randn, tidy, autocast, Adam, getNumThreads, manualSeed, engineInfo, defaultPrecision, type Precision } from '../src/engine/index.js';
import { buildStyleNet } from '../src/models/transformer-net.js';
import { Vgg } from '../src/models/vgg/vgg.js';
import { PerceptualLoss, type PerceptualLossConfig } from '../src/losses/perceptual-loss.js';
import { LOSS_PROFILES } from '../src/losses/profiles.js';
import type { VggArch } from '../src/models/vgg/layers.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const size = opt('size', 256), batch = opt('batch', 4), iters = opt('iters', 5);
const skipPython = args.includes('--skip-python');
/** Alternate the two engines step by step (fair on a machine whose load changes); default: each runs its steps in a row. */
const interleave = args.includes('--interleave');
const onlyPrecision = args.includes('--precision') ? args[args.indexOf('--precision') + 1] : undefined;
if (onlyPrecision !== undefined && onlyPrecision !== 'float32' && onlyPrecision !== 'bf16') throw new Error(`bench:engine: --precision must be float32 or bf16, got ${onlyPrecision}`);
const profileName = args.includes('--profile') ? args[args.indexOf('--profile') + 1]! : 'paper-vgg19';

/** The loss network and layers under test: the profile's, or the paper's layers on VGG-19. */
const lossSetup: { arch: VggArch; config: PerceptualLossConfig; source: string } = (() => {
  const p = (LOSS_PROFILES as Record<string, { arch: VggArch; style: PerceptualLossConfig }>)[profileName];
  if (p) return { arch: p.arch, config: p.style, source: `profile ${profileName}` };
  console.error(`loss profile '${profileName}' does not exist (available: ${Object.keys(LOSS_PROFILES).join(', ')}); using the paper's layers on VGG-19 instead`);
  return {
    arch: 'vgg19',
    config: { contentLayers: ['relu3_3'], contentWeight: 1, styleLayers: ['relu1_2', 'relu2_2', 'relu3_3', 'relu4_3'], styleWeights: 5e-5, tvWeight: 1e-6, pixelWeight: 0 },
    source: "the paper's layers (no profile)",
  };
})();
const layerDepth = (n: string) => { const [b, p] = n.slice(4).split('_').map(Number); return b! * 10 + p!; };
const deepest = [...lossSetup.config.contentLayers, ...lossSetup.config.styleLayers].sort((a, b) => layerDepth(a) - layerDepth(b)).at(-1)!;
if (lossSetup.config.contentLayers.length !== 1 || (lossSetup.config.pixelWeight ?? 0) !== 0) {
  throw new Error(`bench:engine: the python3-torch reference takes one content layer and no pixel loss; ${lossSetup.source} has content ${lossSetup.config.contentLayers.join(',')}, pixel λ ${lossSetup.config.pixelWeight}`);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const threads = getNumThreads();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Build this engine's side for one precision: a step function (warmed up) and its disposal. */
function oursSetup(precision: Precision): { step: () => void; dispose: () => void } {
  manualSeed(0);
  const net = buildStyleNet('paper');
  const vgg = Vgg.random(lossSetup.arch, deepest);
  const cl = precision === 'bf16';
  if (cl) {
    net.toMemoryFormat('channels_last');
    vgg.toMemoryFormat('channels_last');
  }
  const loss = new PerceptualLoss(vgg, lossSetup.config);
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
  return { step, dispose: () => { net.dispose(); vgg.dispose(); loss.dispose(); } };
}

function ours(precision: Precision): number {
  const { step, dispose } = oursSetup(precision);
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    step();
    times.push((performance.now() - t0) / 1000);
  }
  dispose();
  return median(times);
}

const pythonArgs = (precision: Precision, n: number) => [path.join(here, 'reference', 'train_step.py'), String(size), String(batch), String(threads), precision, String(n), 'paper', lossSetup.arch, lossSetup.config.contentLayers[0]!, lossSetup.config.styleLayers.join(',')];

/**
 * --interleave: python3-torch as a step server (train_step.py with ITERS 0) and this engine
 * alternate one step each, so a machine whose load changes during the run slows both alike;
 * the medians are of the alternated steps. Returns [ours, torch].
 */
async function interleaved(precision: Precision): Promise<[number, number | undefined]> {
  const child = spawn('/usr/bin/python3', pythonArgs(precision, 0), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const r = await lines.next();
    if (r.done) throw new Error(`python3-torch reference (${precision}) ended: ${stderr.slice(-2000)}`);
    return r.value;
  };
  const { step, dispose } = oursSetup(precision);
  try {
    if ((await next()).trim() !== 'ready') throw new Error(`python3-torch reference (${precision}): expected "ready"`);
    const o: number[] = [], t: number[] = [];
    for (let i = 0; i < iters; i++) {
      const t0 = performance.now();
      step();
      o.push((performance.now() - t0) / 1000);
      child.stdin.write('step\n');
      t.push((JSON.parse(await next()) as { s: number }).s);
    }
    return [median(o), median(t)];
  } finally {
    dispose();
    child.stdin.end();
    await new Promise((r) => child.once('exit', r));
  }
}

function python(precision: Precision): number | undefined {
  if (skipPython) return undefined;
  const r = spawnSync('/usr/bin/python3', pythonArgs(precision, iters), { encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`python3-torch reference failed (${precision}):\n${r.stderr.slice(-2000)}`);
    return undefined;
  }
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { median_s: number }).median_s;
}

const info = engineInfo();
console.log(`engine benchmark: training step, paper transformation net + ${lossSetup.arch.toUpperCase().replace('VGG', 'VGG-')} to ${deepest} (${lossSetup.source}: content ${lossSetup.config.contentLayers.join(',')}, style ${lossSetup.config.styleLayers.join(',')}), ${size}×${size} batch ${batch}, ${threads} threads, libtorch ${info.libtorch}, median of ${iters}${interleave ? ', steps alternated with python3-torch' : ''}`);
const rows: Array<{ precision: Precision; ours: number; torch?: number }> = [];
for (const p of (['float32', 'bf16'] as const).filter((q) => onlyPrecision === undefined || q === onlyPrecision)) {
  const [o, t] = interleave && !skipPython ? await interleaved(p) : [ours(p), python(p)];
  rows.push({ precision: p, ours: o, torch: t });
  console.log(`  ${p.padEnd(8)} ours ${o.toFixed(3)} s   python3-torch ${t?.toFixed(3) ?? 'n/a'} s   ratio ${t ? (o / t).toFixed(3) : 'n/a'}`);
}
const f32 = rows.find((r) => r.precision === 'float32');
const bf = rows.find((r) => r.precision === 'bf16');
console.log('\n| setting | this engine (s) | python3-torch (s) | ratio |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.precision === 'bf16' ? 'bf16 autocast + channels_last' : 'float32'} | ${r.ours.toFixed(3)} | ${r.torch?.toFixed(3) ?? 'n/a'} | ${r.torch ? (r.ours / r.torch).toFixed(3) : 'n/a'} |`);
// The engine's default is bf16 only where the CPU has it natively (defaultPrecision); PyTorch's is float32.
if (f32?.torch && bf && defaultPrecision() === 'bf16') console.log(`| this engine's default (bf16) vs PyTorch's default (float32) | ${bf.ours.toFixed(3)} | ${f32.torch.toFixed(3)} | ${(bf.ours / f32.torch).toFixed(3)} |`);
