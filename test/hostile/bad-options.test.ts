/**
 * Issue 11, items 1 and 7: bad option values, through the library and the CLI, are Errors that
 * name the option — never a libtorch abort (SIGABRT, exit 134), never a silent default, never
 * poisoned weights. And a model used after dispose() says so instead of loading itself again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Adam, LBFGS, engineAvailable, tensor, tidy, type Tensor } from '../../src/engine/index.js';
import { loadModel } from '../../src/infer/load-model.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const noEngine = engineAvailable() ? false : 'the libtorch engine is not built';

function param(values: number[]): Tensor {
  const p = tensor(Float32Array.from(values), [values.length]);
  p.requiresGrad = true;
  return p;
}

test('Adam: every bad option is an Error naming the option (they aborted the process before)', { skip: noEngine }, () => {
  const p = param([1, 2, 3]);
  const cases: Array<[object, RegExp]> = [
    [{ lr: -1 }, /^RangeError: Adam: option lr must be a finite number > 0, got -1$/],
    [{ lr: 0 }, /^RangeError: Adam: option lr must be a finite number > 0, got 0$/],
    [{ lr: NaN }, /^RangeError: Adam: option lr must be a finite number > 0, got NaN$/],
    [{ lr: Infinity }, /^RangeError: Adam: option lr must be a finite number > 0, got Infinity$/],
    [{ lr: 'abc' }, /^TypeError: Adam: option lr must be a finite number > 0, got 'abc'$/],
    [{ betas: [2, 0.999] }, /^RangeError: Adam: option betas\[0\] must be a finite number ≥ 0 and < 1, got 2$/],
    [{ betas: [0.9, 1] }, /^RangeError: Adam: option betas\[1\] must be a finite number ≥ 0 and < 1, got 1$/],
    [{ betas: [0.9] }, /^TypeError: Adam: option betas must be \[beta1, beta2\], got \[0\.9\]$/],
    [{ eps: -1e-8 }, /^RangeError: Adam: option eps must be a finite number ≥ 0, got -1e-8$/],
    [{ weightDecay: -1 }, /^RangeError: Adam: option weightDecay must be a finite number ≥ 0, got -1$/],
    [{ weightDecay: NaN }, /^RangeError: Adam: option weightDecay must be a finite number ≥ 0, got NaN$/],
    [{ lR: 0.1 }, /^TypeError: Adam: unknown option 'lR' \(known: lr, betas, eps, weightDecay\)$/],
  ];
  for (const [options, want] of cases) assert.throws(() => new Adam([p], options as never), (e: Error) => want.test(`${e.name}: ${e.message}`), JSON.stringify(options));
  assert.throws(() => new Adam([], {}), /^Error: Adam: no parameters to optimise$/);
  const gone = param([1]);
  gone.dispose();
  assert.throws(() => new Adam([gone]), /^Error: Adam: parameter 0 was disposed$/);
  assert.throws(() => new Adam('x' as never), /^TypeError: Adam: parameters must be an array of Tensors, got 'x'$/);
  p.dispose();
});

test('adam.lr = NaN (or any invalid value) throws and leaves the optimizer and the weights as they were', { skip: noEngine }, () => {
  const p = param([1, 2, 3]);
  const adam = new Adam([p], { lr: 0.1 });
  for (const bad of [NaN, -0.5, 0, Infinity, 'abc']) {
    assert.throws(
      () => {
        adam.lr = bad as number;
      },
      (e: Error) => e.message === `Adam: lr must be a finite number > 0, got ${typeof bad === 'string' ? `'${bad}'` : String(bad)}`,
      String(bad),
    );
  }
  assert.equal(adam.lr, 0.1);
  // One step with the untouched lr: each weight moves by lr (Adam's first step is lr·sign(grad)).
  tidy(() => p.mul(p).sum().backward());
  adam.step();
  assert.deepEqual([...(p.toArray() as Float32Array)].map((v) => Math.round(v * 1e5) / 1e5), [0.9, 1.9, 2.9]);
  adam.lr = 0.01;
  assert.equal(adam.lr, 0.01);
  p.dispose();
});

test('LBFGS: bad options are Errors naming the option', { skip: noEngine }, () => {
  const p = param([1, 2]);
  const cases: Array<[object, RegExp]> = [
    [{ lr: -1 }, /^RangeError: LBFGS: option lr must be a finite number > 0, got -1$/],
    [{ maxIter: 0 }, /^RangeError: LBFGS: option maxIter must be an integer ≥ 1, got 0$/],
    [{ maxEval: 2.5 }, /^RangeError: LBFGS: option maxEval must be an integer ≥ 1, got 2\.5$/],
    [{ historySize: NaN }, /^RangeError: LBFGS: option historySize must be an integer ≥ 1, got NaN$/],
    [{ toleranceGrad: -1 }, /^RangeError: LBFGS: option toleranceGrad must be a finite number ≥ 0, got -1$/],
    [{ toleranceChange: 'x' }, /^TypeError: LBFGS: option toleranceChange must be a finite number ≥ 0, got 'x'$/],
    [{ lineSearch: 'backtracking' }, /^TypeError: LBFGS: option lineSearch must be 'strong_wolfe' or null, got 'backtracking'$/],
  ];
  for (const [options, want] of cases) assert.throws(() => new LBFGS([p], options as never), want, JSON.stringify(options));
  // The defaults (PyTorch's) still give a working optimizer: minimise (p − 3)².
  const opt = new LBFGS([p], { lineSearch: 'strong_wolfe' });
  opt.step(() => {
    opt.zeroGrad();
    const l = p.sub(3).square().sum();
    l.backward();
    return l;
  });
  assert.deepEqual([...(p.toArray() as Float32Array)].map((v) => Math.round(v * 1e4) / 1e4), [3, 3]);
  p.dispose();
});

test("loadModel: runtime 'tpu' and other bad options throw naming the allowed values", async () => {
  await assert.rejects(loadModel('starry-night', { runtime: 'tpu' as never }), /^RangeError: loadModel: option runtime must be one of 'auto', 'onnx', 'engine', got 'tpu'$/);
  await assert.rejects(loadModel('starry-night', { precision: 'f16' as never }), /^RangeError: loadModel: option precision must be one of 'float32', 'bf16', got 'f16'$/);
  await assert.rejects(loadModel('starry-night', { device: 42 as never }), /^TypeError: loadModel: option device must be a non-empty string, got 42$/);
  await assert.rejects(loadModel('starry-night', 'onnx' as never), /^TypeError: loadModel: options must be an object, got 'onnx'$/);
  await assert.rejects(loadModel(undefined as never), /^TypeError: loadModel: the model must be a name or a path, got undefined$/);
});

test('a model used after dispose() throws "… was disposed" instead of loading itself again', async () => {
  const model = await loadModel('starry-night', { runtime: 'onnx' });
  const image = { data: new Uint8Array(16 * 16 * 3).fill(128), width: 16, height: 16, channels: 3 as const };
  assert.equal((await model.stylize(image)).width, 16);
  await model.dispose();
  await assert.rejects(model.stylize(image), /^Error: stylize: model 'starry-night' was disposed$/);
  await assert.rejects(model.upscale(image), /^Error: upscale: model 'starry-night' was disposed$/);
  await model.dispose(); // twice is harmless
});

test('the CLI refuses a negative, zero or non-numeric --lr (train-style, train-sr, optimize) with a message, never an abort', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'perceptual-bad-lr-'));
  const commands: Array<[string, string[]]> = [
    ['train-style', ['--style', 'x.jpg', '--data', dir, '-o', path.join(dir, 'run')]],
    ['train-sr', ['--data', dir, '-o', path.join(dir, 'run')]],
    ['optimize', ['--content', 'x.jpg', '--style', 'x.jpg', '-o', path.join(dir, 'o.jpg'), '--optimizer', 'adam']],
  ];
  for (const [cmd, args] of commands) {
    for (const lr of ['-1', '0', 'NaN', 'abc']) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), cmd, ...args, '--lr', lr], { encoding: 'utf8', cwd: root, timeout: 60_000 });
      const where = `${cmd} --lr ${lr}`;
      assert.equal(r.signal, null, `${where}: killed by ${r.signal}`);
      assert.equal(r.status, 1, `${where}: exit ${r.status}\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`option '--lr <rate>' argument '${lr}' is invalid`), where);
    }
  }
});
