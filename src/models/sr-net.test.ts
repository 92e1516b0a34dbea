import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, noGrad, rand, tidy } from '../engine/index.js';
import { ConvTranspose2d, ResidualBlock } from '../nn/layers/index.js';
import { SR_PATCH, buildSrNet, srArch } from './sr-net.js';
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
