/**
 * Per-step cost of style training for candidate networks (README "Shipped styles"): forward,
 * loss (VGG-19 to relu4_3, profile paper-vgg19), backward and Adam on random photos, as the
 * trainer does it (bf16 autocast + channels_last where the CPU has bf16). Reports wall seconds
 * and CPU seconds (user + system of this process) per step: on a shared machine the CPU time
 * is the stable figure.
 *
 *   node --import tsx scripts/bench-style-step.ts [--size 128] [--steps 4] [--arch half-instance,paper-instance-rc]
 */
import { Adam, autocast, defaultPrecision, manualSeed, rand, tidy } from '../src/engine/index.js';
import { buildStyleNet } from '../src/models/transformer-net.js';
import { setupLoss } from '../src/losses/setup.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1]! : dflt; };
const size = Number(opt('size', '128'));
const steps = Number(opt('steps', '4'));
const archs = opt('arch', 'half-instance,half-instance-rc,paper-instance-rc').split(',');
const profile = opt('profile', 'paper-vgg19');
const precision = defaultPrecision('cpu');

const { vgg, loss } = await setupLoss({ profile, task: 'style' });
if (precision === 'bf16') vgg.toMemoryFormat('channels_last');
loss.setStyle(rand([1, 3, Math.round(size * 1.5), Math.round(size * 1.5)]).mul(255));
console.log(`| network (${size}², batch 4, ${profile}, ${precision}) | wall s/step | CPU s/step |`);
console.log('|---|---|---|');
for (const arch of archs) {
  manualSeed(0);
  const net = buildStyleNet(arch);
  if (precision === 'bf16') net.toMemoryFormat('channels_last');
  const adam = new Adam(net.parameters(), { lr: 1e-3 });
  const step = () => {
    adam.zeroGrad();
    tidy(() => {
      let x = rand([4, 3, size, size]).mul(255);
      if (precision === 'bf16') x = x.contiguous('channels_last');
      const t = autocast(precision, () => loss.forward(net.forward(x), x));
      t.total.backward();
      return t.total.item();
    });
    adam.step();
  };
  step(); // warm-up
  const c0 = process.cpuUsage(), w0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const c = process.cpuUsage(c0), w = (performance.now() - w0) / 1000;
  console.log(`| ${arch} | ${(w / steps).toFixed(2)} | ${((c.user + c.system) / 1e6 / steps).toFixed(2)} |`);
  net.dispose();
}
loss.dispose();
vgg.dispose();
