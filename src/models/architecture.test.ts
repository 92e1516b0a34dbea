import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArchitectureError, HALF_RB_STYLE_ARCH, PAPER_RB_STYLE_ARCH, HALF_RC_STYLE_ARCH, HALF_STYLE_ARCH, PAPER_RC_STYLE_ARCH, PAPER_STYLE_ARCH, analyzeArch, formatArch, parseArch } from './architecture.js';
import { manualSeed, noGrad, ones, tidy } from '../engine/index.js';
import { TransformerNet, buildStyleNet, startPadding } from './transformer-net.js';
import { buildSrNet } from './sr-net.js';
import { BatchNorm2d, Conv2d, ConvTranspose2d, InstanceNorm2d, ReLU, ReflectionPad2d, ResidualBlock, ScaledTanh, Sequential, Upsample } from '../nn/layers/index.js';
import type { Layer } from '../nn/module.js';

test('parses the paper architecture string', () => {
  const layers = parseArch(PAPER_STYLE_ARCH);
  assert.deepEqual(layers.slice(0, 3), [
    { kind: 'conv', kernel: 9, stride: 1, out: 32 },
    { kind: 'down', out: 64 },
    { kind: 'down', out: 128 },
  ]);
  assert.equal(layers.filter((l) => l.kind === 'residual').length, 5);
  assert.deepEqual(layers.slice(-3), [{ kind: 'up', out: 64 }, { kind: 'up', out: 32 }, { kind: 'conv', kernel: 9, stride: 1, out: 3 }]);
  assert.equal(formatArch(layers), PAPER_STYLE_ARCH);
  assert.deepEqual(analyzeArch(PAPER_STYLE_ARCH, layers), { outChannels: 3, down: 4, up: 4 });
});

test('RNxK shorthand, spaces, U, f and C tokens', () => {
  assert.equal(formatArch(parseArch('c9s1-16, d32, d64, R64x5, u32, u16, c9s1-3')), HALF_STYLE_ARCH);
  assert.deepEqual(parseArch('U2,f5s2-8,C8'), [
    { kind: 'upsample', scale: 2 },
    { kind: 'full', kernel: 5, stride: 2, out: 8 },
    { kind: 'convBlock', channels: 8 },
  ]);
});

test('bad architecture strings fail with a message naming the problem', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /empty architecture string/],
    ['c9s1-32,,c9s1-3', /empty layer at position 2/],
    ['c9s1-32,y64,c9s1-3', /layer 2 "y64" is not understood; expected cKsS-N/],
    ['c9s1-32,R64x,c9s1-3', /"R64x" is not understood/],
    ['c8s1-32', /kernel size must be odd/],
    ['c9s1-0', /filter count must be a positive integer, got 0/],
    ['c9s0-3', /stride must be a positive integer/],
    ['d64,R128,u3', /"R128" keeps its input's channel count, but its input has 64 channels/],
  ];
  for (const [arch, re] of bad) {
    assert.throws(
      () => analyzeArch(arch, parseArch(arch)),
      (e: unknown) => e instanceof ArchitectureError && re.test(e.message) && e.message.includes(`"${arch}"`),
      arch,
    );
  }
  assert.throws(() => buildStyleNet('c9s1-32,d64'), /last layer must have 3 filters/);
  assert.throws(() => buildStyleNet('c9s1-8,d16,c9s1-3'), /downsamples ÷2, which does not fit a style network/);
  assert.throws(() => buildSrNet(4, { arch: 'c9s1-8,u8,c9s1-3' }), /upsamples ×2 .* ×4 super-resolution/);
  assert.throws(() => buildSrNet(3), /factor must be one of 2, 4, 8/);
  assert.throws(() => buildStyleNet('paper', { padding: 'none' as never }), /'none' gives outputs smaller/);
  assert.throws(() => buildStyleNet('paper', { norm: 'layer' as never }), /unknown normalization 'layer'/);
});

const kinds = (seq: Sequential): string[] => [...seq].map((l: Layer) => l.constructor.name);

test('the paper network has exactly the supplementary material\'s layers', () => {
  const net = buildStyleNet('paper');
  assert.equal(net.startPad, 40);
  assert.deepEqual(kinds(net.model), [
    'ReflectionPad2d',
    'Conv2d', 'BatchNorm2d', 'ReLU',
    'Conv2d', 'BatchNorm2d', 'ReLU',
    'Conv2d', 'BatchNorm2d', 'ReLU',
    'ResidualBlock', 'ResidualBlock', 'ResidualBlock', 'ResidualBlock', 'ResidualBlock',
    'ConvTranspose2d', 'BatchNorm2d', 'ReLU',
    'ConvTranspose2d', 'BatchNorm2d', 'ReLU',
    'Conv2d',
    'ScaledTanh',
  ]);
  const at = <T,>(i: number): T => net.model.at(i) as unknown as T;
  assert.deepEqual((at<ReflectionPad2d>(0)).padding, [40, 40, 40, 40]);
  const c1 = at<Conv2d>(1);
  assert.deepEqual([c1.inChannels, c1.outChannels, c1.kernelSize, c1.stride, c1.padding], [3, 32, 9, 1, 4]);
  const d1 = at<Conv2d>(4);
  assert.deepEqual([d1.outChannels, d1.kernelSize, d1.stride, d1.padding], [64, 3, 2, 1]);
  const r = at<ResidualBlock>(10);
  assert.deepEqual([r.channels, r.padding, r.crop, r.conv1.padding], [128, 'none', 2, 0]);
  const u = at<ConvTranspose2d>(15);
  assert.deepEqual([u.inChannels, u.outChannels, u.stride, u.padding, u.outputPadding], [128, 64, 2, 1, 1]);
  const out = at<Conv2d>(21);
  assert.deepEqual([out.outChannels, out.kernelSize, out.padding], [3, 9, 4]);
  assert.ok(at<ScaledTanh>(22) instanceof ScaledTanh);
  assert.ok(net.model.at(2) instanceof BatchNorm2d);
  assert.equal(net.numParameters(), 1679235);
  net.dispose();
});

test('padding and normalisation options follow fast-neural-style models.lua', () => {
  const refl = buildStyleNet('c9s1-8,d16,R16,u8,c9s1-3', { padding: 'reflect', norm: 'instance' });
  assert.equal(refl.startPad, 0);
  assert.deepEqual(kinds(refl.model), [
    'ReflectionPad2d', 'Conv2d', 'InstanceNorm2d', 'ReLU',
    'Conv2d', 'InstanceNorm2d', 'ReLU', // d: zero padding even with 'reflect'
    'ResidualBlock',
    'ConvTranspose2d', 'InstanceNorm2d', 'ReLU',
    'ReflectionPad2d', 'Conv2d',
    'ScaledTanh',
  ]);
  assert.equal((refl.model.at(7) as ResidualBlock).padding, 'reflect');
  assert.equal((refl.model.at(1) as Conv2d).padding, 0);
  const zero = buildStyleNet('c9s1-8,d16,R16,u8,c9s1-3', { padding: 'zero' });
  assert.equal((zero.model.at(0) as Conv2d).padding, 4);
  assert.equal((zero.model.at(6) as ResidualBlock).padding, 'zero');
  // U is only the upsampling, followed (as every non-final layer in models.lua) by norm + ReLU
  const up = buildStyleNet('c9s1-8,d16,U2,c3s1-8,c9s1-3', { norm: 'instance' });
  assert.deepEqual(kinds(up.model).slice(6, 12), ['Upsample', 'InstanceNorm2d', 'ReLU', 'Conv2d', 'InstanceNorm2d', 'ReLU']);
  assert.ok(up.model.at(6) instanceof Upsample);
  // C blocks: conv norm ReLU conv norm, then a ReLU; unpadded under 'reflect-start'
  const c = buildStyleNet('c9s1-8,C8,c9s1-3');
  assert.equal(c.startPad, 2);
  assert.deepEqual(kinds(c.model.at(4) as Sequential), ['Conv2d', 'BatchNorm2d', 'ReLU', 'Conv2d', 'BatchNorm2d']);
  assert.ok(c.model.at(5) instanceof ReLU);
  assert.ok(buildStyleNet('half-instance').model.at(2) instanceof InstanceNorm2d);
  for (const n of [refl, zero, up, c]) n.dispose();
});

test('reflect-start pad = Σ 2 px × downsampling factor over unpadded blocks', () => {
  assert.equal(startPadding('', parseArch(PAPER_STYLE_ARCH)), 40);
  assert.equal(startPadding('', parseArch('c9s1-8,R8,d8,R8,d8,R8,u8,u8,c9s1-3')), 2 + 4 + 8);
  assert.equal(startPadding('', parseArch('c9s1-8,u8,R8,c9s1-3')), 1);
  assert.throws(() => startPadding('x', parseArch('c9s1-8,u8,u8,R8,c9s1-3')), /fractional start pad/);
});

test('config is JSON-serialisable and rebuilds the same network', () => {
  const net = buildStyleNet('c9s1-4, d8, R8x2, u4, c9s1-3', { norm: 'instance' });
  const json = JSON.parse(JSON.stringify(net.config));
  assert.deepEqual(json, { kind: 'style', arch: 'c9s1-4,d8,R8,R8,u4,c9s1-3', norm: 'instance', padding: 'reflect-start' });
  const again = TransformerNet.fromConfig(json);
  assert.deepEqual(
    again.namedParameters().map(([n, t]) => `${n}:${t.shape}`),
    net.namedParameters().map(([n, t]) => `${n}:${t.shape}`),
  );
  const sr = buildSrNet(2);
  assert.deepEqual(JSON.parse(JSON.stringify(sr.config)), { kind: 'sr', factor: 2, arch: 'c9s1-64,R64,R64,R64,R64,u64,c9s1-3', norm: 'batch', padding: 'zero' });
  assert.throws(() => TransformerNet.fromConfig({ kind: 'gan' }), /kind must be 'style' or 'sr'/);
  assert.throws(() => TransformerNet.fromConfig({ kind: 'sr', arch: 'c9s1-3', norm: 'batch', padding: 'zero' }), /needs a numeric factor/);
  assert.throws(() => TransformerNet.fromConfig(null), /must be an object/);
  for (const n of [net, again, sr]) n.dispose();
});

test('xS: pixel shuffle ×S divides the channels by S², multiplies the size by S, and ends a network without norm or ReLU', () => {
  const layers = parseArch('c5s1-16,c3s1-12,x2');
  assert.deepEqual(layers[2], { kind: 'shuffle', scale: 2 });
  assert.equal(formatArch(layers), 'c5s1-16,c3s1-12,x2');
  assert.deepEqual(analyzeArch('c5s1-16,c3s1-12,x2', layers), { outChannels: 3, down: 1, up: 2 });
  assert.throws(() => analyzeArch('c3s1-10,x2', parseArch('c3s1-10,x2')), /"x2" needs a multiple of 4 channels, its input has 10/);
  assert.throws(() => parseArch('c3s1-12,x0'), /scale must be a positive integer/);
  const net = new TransformerNet({ kind: 'sr', factor: 2, arch: 'c5s1-16,c3s1-12,x2', norm: 'batch', padding: 'zero' });
  const kinds = [...net.model].map((m) => m.constructor.name);
  // conv, BN, ReLU, conv (the output layer: nothing after it but the shuffle), shuffle, tanh
  assert.deepEqual(kinds, ['Conv2d', 'BatchNorm2d', 'ReLU', 'Conv2d', 'PixelShuffle', 'ScaledTanh']);
  assert.throws(() => new TransformerNet({ kind: 'style', arch: 'c3s1-3', norm: 'none', padding: 'zero', residual: 'bicubic' }), /residual 'bicubic' is for super-resolution/);
  net.dispose();
});

test('rcN: resize-convolution token parses, formats, chains and builds as nearest ×2 + 3×3 conv', () => {
  const layers = parseArch(PAPER_RC_STYLE_ARCH);
  assert.deepEqual(layers.slice(-3), [{ kind: 'resize', out: 64, mode: 'nearest' }, { kind: 'resize', out: 32, mode: 'nearest' }, { kind: 'conv', kernel: 9, stride: 1, out: 3 }]);
  assert.equal(formatArch(layers), PAPER_RC_STYLE_ARCH);
  assert.deepEqual(analyzeArch(PAPER_RC_STYLE_ARCH, layers), { outChannels: 3, down: 4, up: 4 });
  assert.equal(HALF_RC_STYLE_ARCH, HALF_STYLE_ARCH.replace('u32,u16', 'rc32,rc16'));
  assert.throws(() => parseArch('c9s1-8,rc0,c9s1-3'), /"rc0": filter count must be a positive integer/);
  assert.throws(() => parseArch('c9s1-8,rcx,c9s1-3'), /layer 2 "rcx" is not understood; expected .*rcN/);

  const net = buildStyleNet('half-instance-rc');
  assert.equal(net.config.norm, 'instance');
  const k = kinds(net.model);
  const i = k.indexOf('Upsample');
  // nearest ×2, conv (zero-padded under 'reflect-start', like c layers), then norm + ReLU once
  assert.deepEqual(k.slice(i, i + 4), ['Upsample', 'Conv2d', 'InstanceNorm2d', 'ReLU']);
  assert.ok(!k.includes('ConvTranspose2d'));
  assert.equal((net.model.at(i + 1) as Conv2d).padding, 1);
  // Same parameter count as the transposed-convolution network (3×3 kernels, same channels).
  const u = buildStyleNet('half-instance');
  assert.equal(net.numParameters(), u.numParameters());
  // reflect padding puts a ReflectionPad2d between the upsampling and the convolution
  const refl = buildStyleNet('c9s1-8,d16,R16,rc8,c9s1-3', { padding: 'reflect' });
  const rk = kinds(refl.model);
  assert.deepEqual(rk.slice(rk.indexOf('Upsample'), rk.indexOf('Upsample') + 3), ['Upsample', 'ReflectionPad2d', 'Conv2d']);
  for (const n of [net, u, refl]) n.dispose();
});

test('rcN has no checkerboard: a constant input gives a constant interior, where a stride-2 transposed conv gives a period-2 grid', () => {
  manualSeed(3);
  const rc = buildStyleNet('c9s1-8,d8,rc8,c9s1-3', { norm: 'instance' });
  const tc = buildStyleNet('c9s1-8,d8,u8,c9s1-3', { norm: 'instance' });
  const layerOf = (n: TransformerNet, kind: string) => {
    const k = kinds(n.model);
    return k.indexOf(kind);
  };
  noGrad(() =>
    tidy(() => {
      const x = ones([1, 8, 6, 6]);
      // rc: Upsample then Conv2d; compare the 8×8 interior of the 12×12 output
      const i = layerOf(rc, 'Upsample');
      const yr = (rc.model.at(i + 1) as Conv2d).forward((rc.model.at(i) as Upsample).forward(x));
      const yt = (tc.model.at(layerOf(tc, 'ConvTranspose2d')) as ConvTranspose2d).forward(x);
      assert.deepEqual(yr.shape, [1, 8, 12, 12]);
      assert.deepEqual(yt.shape, [1, 8, 12, 12]);
      const spread = (y: typeof yr) => {
        const v = y.narrow(2, 2, 8).narrow(3, 2, 8).contiguous().toArray() as Float32Array;
        let worst = 0;
        for (let c = 0; c < 8; c++) {
          const plane = v.subarray(c * 64, c * 64 + 64);
          worst = Math.max(worst, Math.max(...plane) - Math.min(...plane));
        }
        return worst;
      };
      assert.ok(spread(yr) < 1e-5, `resize-conv interior varies by ${spread(yr)}`);
      assert.ok(spread(yt) > 1e-2, `transposed conv interior should show the stride-2 pattern, varies by ${spread(yt)}`);
    }),
  );
  rc.dispose();
  tc.dispose();
});

test('rbN: the bilinear resize-convolution token parses, formats and builds as bilinear ×2 + 3×3 conv', () => {
  const layers = parseArch(PAPER_RB_STYLE_ARCH);
  assert.deepEqual(layers.slice(-3), [{ kind: 'resize', out: 64, mode: 'bilinear' }, { kind: 'resize', out: 32, mode: 'bilinear' }, { kind: 'conv', kernel: 9, stride: 1, out: 3 }]);
  assert.equal(formatArch(layers), PAPER_RB_STYLE_ARCH);
  assert.deepEqual(analyzeArch(PAPER_RB_STYLE_ARCH, layers), { outChannels: 3, down: 4, up: 4 });
  assert.equal(HALF_RB_STYLE_ARCH, HALF_RC_STYLE_ARCH.replace('rc32,rc16', 'rb32,rb16'));
  assert.throws(() => parseArch('c9s1-8,rb0,c9s1-3'), /"rb0": filter count must be a positive integer/);
  assert.throws(() => parseArch('c9s1-8,rx8,c9s1-3'), /layer 2 "rx8" is not understood; expected .*rbN/);
  const net = buildStyleNet('half-instance-rb');
  const mods = [...net.model];
  const ups = mods.filter((m): m is Upsample => m instanceof Upsample);
  assert.deepEqual(ups.map((u) => [u.scaleFactor, u.mode]), [[2, 'bilinear'], [2, 'bilinear']]);
  const k = kinds(net.model);
  const i = k.indexOf('Upsample');
  assert.deepEqual(k.slice(i, i + 4), ['Upsample', 'Conv2d', 'InstanceNorm2d', 'ReLU']);
  net.dispose();
});
