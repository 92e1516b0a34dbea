// precision-sensitive: scripts/test.sh runs this file again with ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2.
//
// cpuFeatures: /proc/cpuinfo's flags as libtorch and oneDNN see them, capped by their own
// switches — so that `ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2` makes an AVX-512/bf16
// machine behave as an AVX2-only one (no native bf16, bf16 emulated by libtorch without oneDNN).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuFeatures, describeBf16 } from './cpu.js';
import { engineAvailable } from './native.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cpuinfo = (flags: string) => `processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: ${flags}\nbugs\t\t: sysret_ss_attrs\n\nprocessor\t: 1\nflags\t\t: ${flags}\n`;
/** An AMD EPYC Zen 4 (this machine's kind) and a Zen 3 (AVX2 only, the failing machine's kind). */
const ZEN4 = cpuinfo('fpu sse4_1 sse4_2 fma avx avx2 avx512f avx512dq avx512ifma avx512cd avx512bw avx512vl avx512_bf16 avx512vbmi avx512_vnni');
const ZEN3 = cpuinfo('fpu sse4_1 sse4_2 fma avx avx2 bmi2 sha_ni');
const SKYLAKE_X = cpuinfo('fpu sse4_1 sse4_2 fma avx avx2 avx512f avx512dq avx512cd avx512bw avx512vl');

test('no switches: the hardware flags decide', () => {
  assert.deepEqual(
    { ...cpuFeatures({}, ZEN4), flags: undefined },
    { flags: undefined, avx512: true, avx2: true, nativeBf16: true, oneDnnBf16: true, oneDnnBf16Guard: false, switches: [], ignored: [] },
  );
  const zen3 = cpuFeatures({}, ZEN3);
  assert.deepEqual([zen3.avx512, zen3.avx2, zen3.nativeBf16, zen3.oneDnnBf16], [false, true, false, false]);
  // no AVX-512 in hardware: libtorch never gives bf16 to oneDNN, so the engine leaves oneDNN on (float32 backward keeps it)
  assert.equal(zen3.oneDnnBf16Guard, false);
  const skx = cpuFeatures({}, SKYLAKE_X);
  assert.deepEqual([skx.avx512, skx.nativeBf16, skx.oneDnnBf16], [true, false, true], 'AVX-512 without BF16: oneDNN emulates bf16');
  const none = cpuFeatures({}, '');
  assert.deepEqual([none.avx512, none.avx2, none.nativeBf16, none.oneDnnBf16, none.flags.size], [false, false, false, false, 0]);
  assert.deepEqual([skx.oneDnnBf16Guard, none.oneDnnBf16Guard], [false, false]);
});

test('ATEN_CPU_CAPABILITY and ONEDNN_MAX_CPU_ISA make a Zen 4 count as AVX2-only', () => {
  const both = cpuFeatures({ ATEN_CPU_CAPABILITY: 'avx2', ONEDNN_MAX_CPU_ISA: 'AVX2' }, ZEN4);
  assert.deepEqual([both.avx512, both.avx2, both.nativeBf16, both.oneDnnBf16], [false, true, false, false]);
  assert.deepEqual(both.switches, ['ATEN_CPU_CAPABILITY=avx2', 'ONEDNN_MAX_CPU_ISA=AVX2']);
  // Either switch alone already means: no native bf16.
  const aten = cpuFeatures({ ATEN_CPU_CAPABILITY: 'avx2' }, ZEN4);
  assert.deepEqual([aten.nativeBf16, aten.oneDnnBf16], [false, false]);
  const onednn = cpuFeatures({ ONEDNN_MAX_CPU_ISA: 'avx2' }, ZEN4);
  assert.deepEqual([onednn.nativeBf16, onednn.oneDnnBf16], [false, false], 'oneDNN reads its ISA names in any case');
  // oneDNN capped at AVX-512 without BF16: a Skylake-X — bf16 emulated, by oneDNN.
  const core = cpuFeatures({ ONEDNN_MAX_CPU_ISA: 'AVX512_CORE' }, ZEN4);
  assert.deepEqual([core.avx512, core.nativeBf16, core.oneDnnBf16], [true, false, true]);
  const full = cpuFeatures({ ONEDNN_MAX_CPU_ISA: 'AVX512_CORE_BF16', ATEN_CPU_CAPABILITY: 'avx512' }, ZEN4);
  assert.deepEqual([full.nativeBf16, full.oneDnnBf16], [true, true]);
  // AVX-512 hardware capped by a switch: the guard is on (libtorch would still pick oneDNN for bf16); uncapped or without AVX-512: off
  assert.deepEqual([both.oneDnnBf16Guard, aten.oneDnnBf16Guard, onednn.oneDnnBf16Guard, core.oneDnnBf16Guard, full.oneDnnBf16Guard], [true, true, true, false, false]);
  assert.equal(cpuFeatures({ DNNL_MAX_CPU_ISA: 'AVX2' }, ZEN4).nativeBf16, false, 'the older DNNL_ name');
  assert.equal(cpuFeatures({ ONEDNN_MAX_CPU_ISA: 'ALL', DNNL_MAX_CPU_ISA: 'AVX2' }, ZEN4).nativeBf16, true, 'ONEDNN_ wins over DNNL_');
});

test('values libtorch or oneDNN would ignore are reported, not applied', () => {
  const f = cpuFeatures({ ATEN_CPU_CAPABILITY: 'AVX2', ONEDNN_MAX_CPU_ISA: 'AVX3' }, ZEN4);
  assert.equal(f.nativeBf16, true);
  assert.deepEqual(f.switches, []);
  assert.equal(f.ignored.length, 2);
  assert.match(f.ignored[0]!, /^ATEN_CPU_CAPABILITY=AVX2 \(libtorch accepts default, avx2, avx512\)$/);
  assert.match(f.ignored[1]!, /^ONEDNN_MAX_CPU_ISA=AVX3 \(oneDNN accepts SSE41, /);
});

test('describeBf16 says which case applies', () => {
  assert.equal(describeBf16(cpuFeatures({}, ZEN4)), 'native bf16');
  assert.equal(describeBf16(cpuFeatures({}, ZEN3)), 'no native bf16 (the CPU has no AVX512-BF16/AMX-BF16; bf16 is emulated by libtorch without oneDNN)');
  assert.equal(describeBf16(cpuFeatures({ ATEN_CPU_CAPABILITY: 'avx2', ONEDNN_MAX_CPU_ISA: 'AVX2' }, ZEN4)), 'no native bf16 (switched off: ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2; bf16 is emulated by libtorch without oneDNN)');
  assert.equal(describeBf16(cpuFeatures({}, SKYLAKE_X)), 'no native bf16 (the CPU has no AVX512-BF16/AMX-BF16; bf16 is emulated by oneDNN)');
});

/** What a fresh process reports under these switches: default precision, oneDNN for bf16, a bf16 conv. */
function probe(env: Record<string, string>): { fastBf16: boolean; precision: string; oneDnnBf16: boolean; coretype: string; convDb: number } {
  const code = `
    import { cpuHasFastBf16, defaultPrecision, engineInfo, autocast, noGrad, tidy, manualSeed, randn, F } from ${JSON.stringify(path.join(here, 'index.ts'))};
    manualSeed(0);
    const [f32, bf] = noGrad(() => tidy(() => {
      const x = randn([1, 16, 24, 24]), w = randn([16, 16, 3, 3]).mul(0.1);
      return [F.conv2d(x, w, null, 1, 1).toArray(), autocast('bf16', () => F.conv2d(x.contiguous('channels_last'), w, null, 1, 1)).to('float32').toArray()];
    }));
    let se = 0, peak = 0;
    for (let i = 0; i < f32.length; i++) { se += (f32[i] - bf[i]) ** 2; peak = Math.max(peak, Math.abs(f32[i])); }
    console.log(JSON.stringify({ fastBf16: cpuHasFastBf16(), precision: defaultPrecision(), oneDnnBf16: engineInfo().oneDnnBf16, coretype: process.env.OPENBLAS_CORETYPE, convDb: 10 * Math.log10(peak * peak / (se / f32.length)) }));`;
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['ATEN_CPU_CAPABILITY', 'ONEDNN_MAX_CPU_ISA', 'DNNL_MAX_CPU_ISA', 'OPENBLAS_CORETYPE', 'PERCEPTUAL_PRECISION'].includes(k)));
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', env: { ...clean, ...env }, timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ReturnType<typeof probe>;
}

test('the engine applies the switches: float32 by default, bf16 through libtorch without oneDNN (no oneDNN error)', { skip: engineAvailable() ? false : 'the libtorch engine is not built' }, (t) => {
  const off = probe({ ATEN_CPU_CAPABILITY: 'avx2', ONEDNN_MAX_CPU_ISA: 'AVX2' });
  t.diagnostic(`switched off: ${JSON.stringify(off)}`);
  // OpenBLAS follows the switches too: AVX2 kernels (where the CPU has AVX2 at all).
  assert.deepEqual([off.fastBf16, off.precision, off.oneDnnBf16, off.coretype], [false, 'float32', !cpuFeatures({ ATEN_CPU_CAPABILITY: 'avx2', ONEDNN_MAX_CPU_ISA: 'AVX2' }).oneDnnBf16Guard, cpuFeatures({}).avx2 ? 'HASWELL' : undefined]);
  // bf16 still works (before: "could not create a primitive descriptor iterator") and is bf16: not float32-exact.
  assert.ok(off.convDb > 30 && off.convDb < 80, `bf16 conv ${off.convDb} dB`);
  const hw = cpuFeatures({}); // the hardware alone: the probe runs without the switches even when this test runs with them
  const own = probe({});
  t.diagnostic(`this CPU (${describeBf16(hw)}): ${JSON.stringify(own)}`);
  assert.deepEqual([own.fastBf16, own.precision, own.oneDnnBf16], [hw.nativeBf16, hw.nativeBf16 ? 'bf16' : 'float32', !hw.oneDnnBf16Guard]);
  assert.ok(own.convDb > 30 && own.convDb < 80, `bf16 conv ${own.convDb} dB`);
});
