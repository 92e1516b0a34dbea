// precision-sensitive: scripts/test.sh runs this file again with ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { autocast, manualSeed, noGrad, rand, tidy, type Tensor } from '../engine/index.js';
import { Vgg, VggLayerError } from '../models/vgg/vgg.js';
import { buildStyleNet } from '../models/transformer-net.js';
import type { Conv2d } from '../nn/layers/index.js';
import { LOSS_PROFILES, PerceptualLoss, createPerceptualLoss, featureLoss, gram, gramLoss, lossProfile, pixelLoss, tvLoss, type PerceptualLossConfig } from './index.js';
import { sharedDataDir } from '../util/paths.js';

const dataDir = sharedDataDir();
const sharedVgg19 = path.join(dataDir, 'vgg19-keras');
const NO_VGG19 = existsSync(sharedVgg19) ? false : `shared VGG-19 weights not found at ${sharedVgg19} (set PERCEPTUAL_DATA)`;

const near = (a: number, b: number, tol = 1e-5): void => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);
const image = (n: number, h: number, w: number): Tensor => rand([n, 3, h, w]).mul(255);

const CONFIG: PerceptualLossConfig = {
  contentLayers: ['relu2_2'],
  contentWeight: 2,
  styleLayers: ['relu1_2', 'relu4_3'],
  styleWeights: [3, 0.5],
  tvWeight: 1e-3,
  pixelWeight: 0.1,
};

test('terms equal the weighted single losses; total is their sum', () => {
  const vgg = Vgg.random('vgg16', 'relu4_3', 1);
  const loss = new PerceptualLoss(vgg, CONFIG);
  assert.deepEqual(loss.layers, ['relu1_2', 'relu2_2', 'relu4_3'], 'network order, one pass');
  tidy(() => {
    manualSeed(2);
    const style = image(1, 40, 36); // the style image may have any size
    const out = image(2, 32, 32);
    const target = image(2, 32, 32);
    loss.setStyle(style);
    assert.deepEqual(loss.styleTarget('relu4_3')!.shape, [1, 512, 512]);
    const t = loss.forward(out, target);
    for (const v of Object.values(t)) assert.equal(v.dtype, 'float32');

    const f = vgg.forward(out, ['relu1_2', 'relu2_2', 'relu4_3']);
    const ft = vgg.forward(target, ['relu2_2']);
    const fs = vgg.forward(style, ['relu1_2', 'relu4_3']);
    near(t.content.item(), 2 * featureLoss(f.get('relu2_2')!, ft.get('relu2_2')!).item());
    const style12 = gramLoss(gram(f.get('relu1_2')!), gram(fs.get('relu1_2')!)).item();
    const style43 = gramLoss(gram(f.get('relu4_3')!), gram(fs.get('relu4_3')!)).item();
    near(t.style.item(), 3 * style12 + 0.5 * style43);
    near(t.tv.item(), 1e-3 * tvLoss(out).item());
    near(t.pixel.item(), 0.1 * pixelLoss(out, target).item());
    near(t.total.item(), t.content.item() + t.style.item() + t.tv.item() + t.pixel.item());
    assert.ok(t.style.item() > 0 && t.content.item() > 0);
  });
  loss.dispose();
  vgg.dispose();
});

test('content targets carry no gradient; the loss network stays frozen', () => {
  const vgg = Vgg.random('vgg16', 'relu2_2', 3);
  const loss = new PerceptualLoss(vgg, { ...CONFIG, styleLayers: [], styleWeights: [], tvWeight: 0 });
  tidy(() => {
    const out = image(1, 16, 16).requiresGrad_();
    const target = image(1, 16, 16).requiresGrad_();
    loss.forward(out, target).total.backward();
    assert.ok(out.grad!.abs().sum().item() > 0);
    // Only the pixel term reaches the target: d/dtarget of λ·mean((out − target)²) is
    // −2λ(out − target)/numel. A content target computed with gradient would add to it.
    const expected = out.sub(target).mul((-2 * CONFIG.pixelWeight) / out.numel);
    assert.ok(target.grad!.sub(expected).abs().max().item() < 1e-7);
    assert.ok(vgg.parameters().every((p) => !p.requiresGrad && p.grad === null));
  });
  loss.dispose();
  vgg.dispose();
});

test('gradients flow from each loss term to the first convolution of the transformation network', () => {
  manualSeed(4);
  const vgg = Vgg.random('vgg16', 'relu3_3', 5);
  const net = buildStyleNet('c9s1-4,d8,R8,u4,c9s1-3', { norm: 'instance' });
  const first = net.model.at(1) as Conv2d;
  const only = (k: 'content' | 'style' | 'tv' | 'pixel'): PerceptualLossConfig => ({
    contentLayers: ['relu3_3'],
    contentWeight: k === 'content' ? 1 : 0,
    styleLayers: ['relu1_2', 'relu3_3'],
    styleWeights: k === 'style' ? 1e3 : 0,
    tvWeight: k === 'tv' ? 1 : 0,
    pixelWeight: k === 'pixel' ? 1 : 0,
  });
  const x = image(2, 24, 24);
  const style = image(1, 24, 24);
  for (const k of ['content', 'style', 'tv', 'pixel'] as const) {
    const loss = new PerceptualLoss(vgg, only(k));
    if (loss.needsStyle) loss.setStyle(style);
    net.zeroGrad();
    tidy(() => {
      const terms = loss.forward(net.forward(x), loss.needsTarget ? x : undefined);
      assert.ok(terms[k].item() > 0, `${k} > 0`);
      near(terms.total.item(), terms[k].item());
      terms.total.backward();
      const g = first.weight.grad;
      assert.ok(g && g.abs().sum().item() > 0, `${k}: non-zero gradient on the first conv weight`);
    });
    loss.dispose();
  }
  net.dispose();
  vgg.dispose();
});

test('zero weights skip their terms; misuse fails clearly', () => {
  const vgg = Vgg.random('vgg16', 'relu2_2', 6);
  const tvOnly = new PerceptualLoss(vgg, { contentLayers: ['relu2_2'], contentWeight: 0, styleLayers: ['relu1_2'], styleWeights: 0, tvWeight: 1, pixelWeight: 0 });
  assert.deepEqual(tvOnly.layers, []);
  assert.ok(!tvOnly.needsStyle && !tvOnly.needsTarget);
  tidy(() => {
    const t = tvOnly.forward(image(1, 8, 8));
    assert.equal(t.content.item(), 0);
    assert.equal(t.style.item(), 0);
    assert.ok(t.tv.item() > 0);
  });
  const full = new PerceptualLoss(vgg, { ...CONFIG, styleLayers: ['relu1_2'], styleWeights: 1 });
  assert.throws(() => full.forward(image(1, 8, 8), image(1, 8, 8)), /call setStyle/);
  full.setStyle(image(1, 8, 8));
  assert.throws(() => full.forward(image(1, 8, 8)), /target is needed/);
  assert.throws(() => full.forward(image(1, 8, 8), image(1, 8, 10)), /differ in shape/);
  assert.throws(() => full.setStyle(image(2, 8, 8)), /one RGB image/);
  assert.throws(() => new PerceptualLoss(vgg, { ...CONFIG, styleLayers: ['relu1_2'], styleWeights: [1, 2] }), /2 style weights for 1 style layers/);
  assert.throws(() => new PerceptualLoss(vgg, { ...CONFIG, styleLayers: ['relu1_2'], styleWeights: -1 }), /non-negative/);
  assert.throws(() => new PerceptualLoss(vgg, { ...CONFIG, styleLayers: ['relu2_3'], styleWeights: 1 }), /no layer 'relu2_3'/);
  assert.throws(() => new PerceptualLoss(vgg, CONFIG), (e: unknown) => e instanceof VggLayerError && /relu4_3 is deeper than this loss network was built/.test(e.message));
  full.dispose();
  tvOnly.dispose();
  vgg.dispose();
});

test('under bf16 autocast the terms stay float32 and close to the float32 values', () => {
  const vgg = Vgg.random('vgg16', 'relu3_3', 7);
  const loss = new PerceptualLoss(vgg, { ...CONFIG, styleLayers: ['relu1_2', 'relu3_3'], styleWeights: 1 });
  tidy(() => {
    manualSeed(8);
    const out = image(2, 16, 16);
    const target = image(2, 16, 16);
    loss.setStyle(image(1, 16, 16));
    const ref = noGrad(() => loss.forward(out, target));
    const low = noGrad(() => autocast('bf16', () => loss.forward(out, target)));
    for (const k of ['total', 'content', 'style'] as const) {
      assert.equal(low[k].dtype, 'float32');
      const a = low[k].item();
      const b = ref[k].item();
      assert.ok(Number.isFinite(a) && Math.abs(a - b) <= 0.05 * Math.abs(b), `${k}: bf16 ${a} vs float32 ${b}`);
    }
  });
  loss.dispose();
  vgg.dispose();
});

test('profiles: paper (VGG-16) and vgg19-conv3, with their documented weights', () => {
  const paper = lossProfile('paper');
  assert.equal(paper.arch, 'vgg16');
  assert.deepEqual(paper.style.contentLayers, ['relu3_3']);
  assert.deepEqual(paper.style.styleLayers, ['relu1_2', 'relu2_2', 'relu3_3', 'relu4_3']);
  assert.deepEqual(paper.style.styleWeights, [5 / 64 ** 2, 5 / 128 ** 2, 5 / 256 ** 2, 5 / 512 ** 2]);
  assert.deepEqual(paper.sr.contentLayers, ['relu2_2']);
  const v19 = LOSS_PROFILES['vgg19-conv3'];
  assert.deepEqual([v19.style.contentWeight, v19.style.styleWeights, v19.style.tvWeight], [1, 2e-5, 1e-6]);
  assert.deepEqual(v19.style.styleLayers, ['relu1_2', 'relu2_2', 'relu3_3']);
  assert.throws(() => lossProfile('gatys19'), /unknown loss profile 'gatys19' \(available: paper, paper-vgg19, gatys, vgg19-conv3\)/);

  const vgg16 = Vgg.random('vgg16', 'relu4_3', 9);
  const l = createPerceptualLoss(vgg16, 'paper', 'style', { tvWeight: 0 });
  assert.equal(l.config.tvWeight, 0);
  assert.throws(() => createPerceptualLoss(vgg16, 'vgg19-conv3', 'sr'), /meant for vgg19, but the loss network is vgg16/);
  vgg16.dispose();
});

test('with the shared partial VGG-19: vgg19-conv3 works, the paper\'s relu4_3 is refused naming the file', { skip: NO_VGG19 }, async () => {
  const vgg = await Vgg.fromWeights(sharedVgg19);
  for (const task of ['style', 'sr'] as const) createPerceptualLoss(vgg, 'vgg19-conv3', task).dispose();
  assert.throws(
    () => new PerceptualLoss(vgg, LOSS_PROFILES.paper.style),
    (e: unknown) => e instanceof VggLayerError && e.layer === 'relu4_3' && e.message.includes(path.join(sharedVgg19, 'model.json')),
  );
  vgg.dispose();
});
