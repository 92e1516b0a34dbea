import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, noGrad, rand, tidy } from '../engine/index.js';
import { BicubicUpsample, Conv2d, ConvTranspose2d, PixelShuffle, ReLU, ResidualBlock } from '../nn/layers/index.js';
import { SR_PATCH, buildSrNet, fastSrArch, srArch } from './sr-net.js';
import { modelFromConfig } from './index.js';

test('×2/×4/×8 networks: log2(f) stride-½ layers and padded residual blocks', () => {
  assert.equal(srArch(4), 'c9s1-64,R64,R64,R64,R64,u64,u64,c9s1-3');
  for (const f of [2, 4, 8] as const) {
    const net = buildSrNet(f);
    const layers = [...net.model];
    assert.equal(net.startPad, 0);
    assert.equal(layers.filter((l) => l instanceof ConvTranspose2d).length, Math.log2(f));
    const blocks = layers.filter((l): l is ResidualBlock => l instanceof ResidualBlock);
    assert.equal(blocks.length, 4);
    assert.ok(blocks.every((b) => b.padding === 'zero' && b.crop === 0 && b.channels === 64));
    net.dispose();
  }
  // c9s1-64 + BN, 4 × (2 convs + 2 BN), 2 × (u64 + BN), c9s1-3
  const x4 = buildSrNet(4);
  assert.equal(x4.numParameters(), 3 * 64 * 81 + 64 + 128 + 4 * (2 * (64 * 64 * 9 + 64) + 2 * 128) + 2 * (64 * 64 * 9 + 64 + 128) + 64 * 3 * 81 + 3);
  x4.dispose();
});

test('output is f× the input for any size, in (0, 255)', () => {
  manualSeed(0);
  for (const [f, h, w] of [[2, 17, 23], [4, 18, 18], [8, 9, 11]] as const) {
    const net = buildSrNet(f);
    tidy(() => {
      const y = net.train().forward(rand([2, 3, h, w]).mul(255));
      assert.deepEqual(y.shape, [2, 3, f * h, f * w]);
      const e = noGrad(() => net.eval().forward(rand([1, 3, h, w]).mul(255)));
      assert.deepEqual(e.shape, [1, 3, f * h, f * w]);
      assert.ok(e.min().item() >= 0 && e.max().item() <= 255);
    });
    net.dispose();
  }
});

test('the paper\'s training geometry: 288/f → 288, and the config rebuilds the network', () => {
  manualSeed(1);
  const net = buildSrNet(4);
  const y = tidy(() => noGrad(() => net.eval().forward(rand([1, 3, SR_PATCH / 4, SR_PATCH / 4]).mul(255))));
  assert.deepEqual(y.shape, [1, 3, SR_PATCH, SR_PATCH]);
  const again = modelFromConfig(JSON.parse(JSON.stringify(net.config)));
  assert.equal(again.scale, 4);
  again.loadStateDict(net.stateDict());
  const x = rand([1, 3, 10, 12]).mul(255);
  const a = noGrad(() => net.forward(x)).toArray();
  const b = noGrad(() => again.eval().forward(x)).toArray();
  assert.deepEqual(b, a);
  net.dispose();
  again.dispose();
});

test("'fast' preset: residual to bicubic, all convolutions at the LR size, cheaper than the paper's (≥ 10× at ×4)", () => {
  assert.equal(fastSrArch(4), 'c5s1-64,c3s1-64,c3s1-64,c3s1-32,c3s1-48,x4');
  manualSeed(2);
  for (const f of [2, 4, 8] as const) {
    const net = buildSrNet(f, { net: 'fast' });
    assert.equal(net.config.residual, 'bicubic');
    assert.ok(net.skip instanceof BicubicUpsample);
    const layers = [...net.model];
    assert.ok(layers.at(-2) instanceof PixelShuffle, 'sub-pixel output before the ×255 rescale');
    assert.ok(!layers.some((l) => l instanceof ReLU && layers.indexOf(l) > layers.length - 4), 'no ReLU on the output layer');
    // An untrained network is exactly the bicubic upsampling (the output layer starts at zero).
    tidy(() => {
      const x = rand([1, 3, 9, 7]).mul(255);
      const y = noGrad(() => net.eval().forward(x));
      assert.deepEqual(y.shape, [1, 3, 9 * f, 7 * f]);
      assert.equal(y.sub(noGrad(() => net.skip!.forward(x))).abs().max().item(), 0);
    });
    // Multiply-adds per LR pixel vs the paper's network (whose last layers run at f² the pixels).
    const paper = buildSrNet(f);
    // ×2: 5.2×, ×4: 11.8×, ×8: 21× (the paper's last layers run at f² the pixels).
    const ratio = macsPerInputPixel(paper) / macsPerInputPixel(net);
    assert.ok(ratio > { 2: 5, 4: 11, 8: 20 }[f], `×${f}: ${macsPerInputPixel(paper)} vs ${macsPerInputPixel(net)} multiply-adds per LR pixel`);
    const again = modelFromConfig(JSON.parse(JSON.stringify(net.config)));
    assert.equal(again.config.residual, 'bicubic');
    for (const n of [net, paper, again]) n.dispose();
  }
  assert.throws(() => buildSrNet(4, { net: 'tiny' as 'fast' }), /unknown SR network 'tiny'/);
});

/** Multiply-adds per input pixel of the convolutions, from the weight shapes and each layer's resolution. */
function macsPerInputPixel(net: ReturnType<typeof buildSrNet>): number {
  let scale = 1;
  let macs = 0;
  const visit = (m: unknown): void => {
    if (m instanceof Conv2d) macs += scale * scale * m.outChannels * m.inChannels * m.kernelSize ** 2;
    else if (m instanceof ConvTranspose2d) {
      scale *= m.stride;
      macs += scale * scale * m.outChannels * m.inChannels * m.kernelSize ** 2;
    } else if (m instanceof PixelShuffle) scale *= m.upscaleFactor;
    else if (m instanceof ResidualBlock) {
      visit(m.conv1);
      visit(m.conv2);
    }
  };
  for (const l of net.model) visit(l);
  return macs;
}
