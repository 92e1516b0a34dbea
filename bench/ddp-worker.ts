/**
 * One worker of `npm run bench:ddp` (bench/ddp.ts starts it; not meant to be run by hand).
 *
 *   ddp-worker.ts train <size> <globalBatch> <steps> <precision>
 *     the paper's style network + the default loss profile (VGG-19 to relu3_3, random weights) on
 *     random images; data-parallel when launched with torchrun's environment: the same
 *     DataParallel path as the trainer (state check + broadcast, one bucketed all-reduce of the
 *     gradients, loss values and flags per step). Rank 0 prints {"stepSeconds": [...]}.
 *   ddp-worker.ts allreduce <floats> <reps>
 *     all-reduce (avg) timings over the group of the environment: one flat tensor, and the paper
 *     style network's gradient-shaped tensors as one bucketed list. Rank 0 prints the medians.
 */
import { randn, tidy, autocast, Adam, manualSeed, ProcessGroup, zeros, type Precision } from '../src/engine/index.js';
import { buildStyleNet } from '../src/models/transformer-net.js';
import { Vgg } from '../src/models/vgg/vgg.js';
import { PerceptualLoss } from '../src/losses/perceptual-loss.js';
import { LOSS_PROFILES } from '../src/losses/profiles.js';
import { FALLBACK_PROFILE } from '../src/losses/setup.js';
import { DataParallel, distributedEnv } from '../src/train/distributed.js';

const [mode, ...rest] = process.argv.slice(2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

if (mode === 'train') {
  const [size, globalBatch, steps] = rest.slice(0, 3).map(Number) as [number, number, number];
  const precision = rest[3] as Precision;
  const dp = await DataParallel.fromEnv();
  const batch = dp ? dp.localBatchSize(globalBatch) : globalBatch;
  const profile = LOSS_PROFILES[FALLBACK_PROFILE]; // train-style's default without conv4 weights (the bench's VGG is random)
  manualSeed(0);
  const net = buildStyleNet('paper');
  const vgg = Vgg.random(profile.arch, [...profile.style.contentLayers, ...profile.style.styleLayers]);
  const cl = precision === 'bf16';
  if (cl) {
    net.toMemoryFormat('channels_last');
    vgg.toMemoryFormat('channels_last');
  }
  const loss = new PerceptualLoss(vgg, profile.style);
  manualSeed(1 + (dp?.rank ?? 0)); // each rank its own images
  const style = tidy(() => randn([1, 3, size, size]).abs().mul(100));
  autocast(precision, () => loss.setStyle(style));
  const x = tidy(() => {
    const t = randn([batch, 3, size, size]).abs().mul(100);
    return cl ? t.contiguous('channels_last') : t;
  });
  const params = net.parameters();
  const adam = new Adam(params, { lr: 1e-3 });
  if (dp) await dp.setup(net, adam, { config: { size, globalBatch, precision }, iteration: 0 });
  const times: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const t0 = performance.now();
    adam.zeroGrad();
    const values = tidy(() => {
      const terms = autocast(precision, () => loss.forward(net.forward(x), x));
      terms.total.backward();
      return { total: terms.total.item() };
    });
    if (dp) await dp.reduceStep(params, values, false);
    adam.step();
    if (i > 0) times.push((performance.now() - t0) / 1000); // step 0 warms up (oneDNN primitives)
  }
  if (!dp || dp.isWriter) console.log(JSON.stringify({ stepSeconds: times, median: median(times), localBatch: batch }));
  await dp?.close();
} else if (mode === 'allreduce') {
  const [floats, reps] = rest.map(Number) as [number, number];
  const env = distributedEnv()!;
  const pg = await ProcessGroup.init({ masterAddr: env.masterAddr, masterPort: env.masterPort, rank: env.rank, worldSize: env.worldSize, timeoutMs: env.timeoutMs });
  const flat = zeros([floats]);
  const net = buildStyleNet('paper');
  const list = net.parameters().map((p) => zeros(p.shape));
  const time = async (what: typeof flat | typeof list) => {
    const ts: number[] = [];
    for (let i = 0; i < reps + 3; i++) {
      await pg.barrier();
      const t0 = performance.now();
      await pg.allReduce(what, { op: 'avg' });
      if (i >= 3) ts.push((performance.now() - t0) / 1000);
    }
    return median(ts);
  };
  const flatS = await time(flat);
  const listS = await time(list);
  if (env.rank === 0) console.log(JSON.stringify({ flat: flatS, list: listS, listFloats: list.reduce((s, t) => s + t.numel, 0), tensors: list.length }));
  await pg.destroy();
} else {
  throw new Error(`ddp-worker: unknown mode ${mode}`);
}
