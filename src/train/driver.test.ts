/**
 * The training driver with a spec whose parts record what happens to them: everything it built
 * is released, in reverse order, when a run fails at any stage (the task cannot be built, the
 * loss diverges) and when it completes; a resume that changes the run's identity is refused
 * before anything is built; the model folder gets the spec's card plus the training record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { F, tensor, type Tensor } from '../engine/index.js';
import { buildStyleNet, type TransformerNet } from '../models/transformer-net.js';
import type { Vgg } from '../models/vgg/vgg.js';
import type { PerceptualLoss } from '../losses/perceptual-loss.js';
import { readModelFolder, type StyleCard } from '../models/model-folder.js';
import { trainModel, type DriverOptions, type TaskSpec } from './driver.js';
import { TrainingDivergedError, type TrainingTask } from './trainer.js';
import type { OptionTable } from './options.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'perceptual-driver-'));

type Batch = { x: Tensor };

class SpyTask implements TrainingTask<Batch> {
  readonly name = 'spy';
  readonly batchSize = 1;
  private index = 0;
  constructor(
    readonly model: TransformerNet,
    private readonly events: string[],
    private readonly nanAt = -1,
    start = 0,
  ) {
    this.index = start;
  }
  async nextBatch(): Promise<Batch> {
    this.index++;
    return { x: tensor(Float32Array.from({ length: 3 * 8 * 8 }, (_, k) => 100 + 50 * Math.sin(k + this.index)), [1, 3, 8, 8]) };
  }
  dataPosition() {
    return { epoch: 0, index: this.index };
  }
  losses(b: Batch) {
    let total = F.mseLoss(this.model.forward(b.x), b.x);
    if (this.index === this.nanAt) total = total.mul(Number.NaN);
    return { total, parts: { mse: total } };
  }
  releaseBatch(b: Batch) {
    b.x.dispose();
  }
  async validate() {
    return {};
  }
  async saveSamples() {}
  close() {
    this.events.push('task.close');
  }
}

const TABLE: OptionTable = {
  outDir: { flag: 'out', type: 'string', help: 'run folder', required: true },
  iterations: { flag: 'iterations', type: 'int', min: 1, default: 3, help: 'iterations' },
  lr: { flag: 'lr', type: 'number', min: Number.MIN_VALUE, default: 1e-3, help: 'lr' },
  seed: { flag: 'seed', type: 'int', min: 0, default: 0, help: 'seed' },
  batchSize: { flag: 'batch-size', type: 'int', min: 1, default: 1, help: 'batch' },
  device: { flag: 'device', type: 'string', default: 'cpu', help: 'device' },
  precision: { flag: 'precision', type: 'string', choices: ['float32', 'bf16'], help: 'precision' },
  checkpointEvery: { flag: 'checkpoint-every', type: 'int', min: 1, default: 2, help: 'c' },
  validateEvery: { flag: 'validate-every', type: 'int', min: 1, default: 100, help: 'v' },
  resume: { flag: 'resume', type: 'string', help: 'resume' },
  width: { flag: 'width', type: 'int', min: 1, default: 4, help: 'the network width (the run identity)' },
};

type SpyOptions = DriverOptions & { width: number };

function spec(events: string[], fail: { buildTask?: boolean; nanAt?: number } = {}): TaskSpec<SpyOptions, SpyTask> {
  return {
    operation: 'spy-train',
    options: TABLE,
    identityKeys: ['width'],
    configure: (o) => ({ task: 'spy', width: o.width }),
    buildModel: ({ o }) => {
      events.push('buildModel');
      const net = buildStyleNet(`c3s1-${o.width},c3s1-3`, { norm: 'instance', padding: 'zero' });
      const dispose = net.dispose.bind(net);
      net.dispose = () => {
        events.push('model.dispose');
        dispose();
      };
      return net;
    },
    buildLoss: async () => {
      events.push('buildLoss');
      const vgg = { dispose: () => events.push('vgg.dispose'), toMemoryFormat: () => {}, toDevice: () => {} } as unknown as Vgg;
      const loss = { dispose: () => events.push('loss.dispose') } as unknown as PerceptualLoss;
      return { vgg, loss, vggPath: '(spy)', ownsVgg: true };
    },
    buildTask: async ({ data }, { model }) => {
      if (fail.buildTask) throw new Error('no photos in the data folder');
      events.push('buildTask');
      return new SpyTask(model, events, fail.nanAt, data.position?.index ?? 0);
    },
    describe: () => 'spy run',
    card: async (_ctx, { record, name }) => ({ kind: 'style', task: 'style', name, title: 'Spy', ...record }) satisfies StyleCard,
  };
}

const released = ['task.close', 'loss.dispose', 'vgg.dispose', 'model.dispose'];

test('a run that completes writes the card with the training record and releases everything in reverse order', async () => {
  const events: string[] = [];
  const out = tmp();
  const r = await trainModel(spec(events), { outDir: out, quiet: true, precision: 'float32' });
  assert.equal(r.completed, true);
  assert.deepEqual(events, ['buildModel', 'buildLoss', 'buildTask', ...released]);
  const card = JSON.parse(readFileSync(path.join(r.modelDir!, 'card.json'), 'utf8'));
  assert.equal(card.name, path.basename(out));
  assert.equal(card.iterations, 3);
  assert.equal(card.lr, 1e-3);
  assert.equal(card.precision, 'float32');
  assert.equal(typeof card.trainedAt, 'string');
  assert.deepEqual(Object.keys(card.finalTrainLoss), ['total', 'mse']);
  assert.equal((await readModelFolder(r.modelDir!)).network?.arch, 'c3s1-4,c3s1-3');
});

test('a task that cannot be built releases the model, the loss network and the loss', async () => {
  const events: string[] = [];
  await assert.rejects(trainModel(spec(events, { buildTask: true }), { outDir: tmp(), quiet: true }), /no photos in the data folder/);
  assert.deepEqual(events, ['buildModel', 'buildLoss', 'loss.dispose', 'vgg.dispose', 'model.dispose']);
});

test('a diverging run releases everything and names precision only when it was not float32', async () => {
  const events: string[] = [];
  await assert.rejects(trainModel(spec(events, { nanAt: 2 }), { outDir: tmp(), quiet: true, precision: 'float32' }), (e: Error) => {
    assert.ok(e instanceof TrainingDivergedError);
    assert.equal(e.iteration, 2);
    assert.doesNotMatch(e.message, /float32/);
    return true;
  });
  assert.deepEqual(events, ['buildModel', 'buildLoss', 'buildTask', ...released]);
});

test('a resume that changes the run identity is refused before anything is built', async () => {
  const out = tmp();
  await trainModel(spec([]), { outDir: out, quiet: true, precision: 'float32', iterations: 2 });
  const events: string[] = [];
  await assert.rejects(
    trainModel(spec(events), { outDir: out, quiet: true, precision: 'float32', iterations: 4, width: 6, resume: 'auto' } as Partial<SpyOptions>),
    (e: Error) => e.message === `spy-train: resume: the checkpoint ${path.join(out, 'checkpoint.safetensors')} was trained with width=4, this run asks for 6`,
  );
  assert.deepEqual(events, []);
  // The same identity resumes: 2 + 2 iterations.
  const r = await trainModel(spec([]), { outDir: out, quiet: true, precision: 'float32', iterations: 4, resume: 'auto' });
  assert.equal(r.iteration, 4);
});

test('options are checked against the table, naming the operation and the option', async () => {
  await assert.rejects(trainModel(spec([]), { outDir: tmp(), quiet: true, width: 0 } as Partial<SpyOptions>), /^Error: spy-train: option 'width' must be ≥ 1, got 0$/);
  await assert.rejects(trainModel(spec([]), { quiet: true }), /^Error: spy-train: option 'outDir' is required \(run folder\)$/);
});
