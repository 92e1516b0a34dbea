/**
 * What this CPU runs natively, as libtorch and oneDNN will see it: /proc/cpuinfo's flags,
 * capped by libtorch's and oneDNN's own switches —
 *
 * - `ATEN_CPU_CAPABILITY` = `default` | `avx2` | `avx512` (libtorch's kernels; libtorch reads
 *   exactly these lower-case values and ignores anything else with a warning), and
 * - `ONEDNN_MAX_CPU_ISA` (or the older `DNNL_MAX_CPU_ISA`) = `SSE41` … `AVX2` … `AVX512_CORE`,
 *   `AVX512_CORE_BF16`, `AVX512_CORE_AMX`, `ALL` (oneDNN's convolutions and matmuls).
 *
 * So `ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2` makes an AVX-512/bf16 machine count as
 * an AVX2-only one: no native bf16 (so float32 by default), and bf16 work (when asked for) runs
 * the way libtorch runs it on a CPU without AVX-512 — see {@link CpuFeatures.oneDnnBf16}.
 * Only platform-free parsing here; the engine applies the result when it loads (native.ts).
 */
import { readFileSync } from 'node:fs';

/** oneDNN's ISA names, lowest first (oneDNN 2.x/3.x `dnnl_cpu_isa_t`). */
const ONEDNN_ISAS = ['SSE41', 'AVX', 'AVX2', 'AVX2_VNNI', 'AVX2_VNNI_2', 'AVX512_CORE', 'AVX512_CORE_VNNI', 'AVX512_CORE_BF16', 'AVX10_1_512', 'AVX512_CORE_FP16', 'AVX512_CORE_AMX', 'AVX512_CORE_AMX_FP16', 'AVX10_1_512_AMX', 'AVX10_1_512_AMX_FP16'] as const;
const ISA_AVX512_CORE = ONEDNN_ISAS.indexOf('AVX512_CORE');
const ISA_AVX512_CORE_BF16 = ONEDNN_ISAS.indexOf('AVX512_CORE_BF16');

/** The ATEN_CPU_CAPABILITY values libtorch 1.13 accepts on x86-64. */
const ATEN_CAPABILITIES = ['default', 'avx2', 'avx512'] as const;

export interface CpuFeatures {
  /** The flags line of /proc/cpuinfo (empty where there is none). */
  flags: ReadonlySet<string>;
  /** AVX-512 (F, BW, VL, DQ) present and not switched off. */
  avx512: boolean;
  /** AVX2 + FMA present and not switched off. */
  avx2: boolean;
  /** bf16 arithmetic in hardware (AVX512-BF16 or AMX-BF16) and not switched off. */
  nativeBf16: boolean;
  /**
   * Whether libtorch may hand bfloat16 convolutions and matmuls to oneDNN. libtorch decides
   * from the hardware's AVX-512 flags alone, so when a switch caps oneDNN below AVX-512 it would
   * ask oneDNN for a bf16 kernel it no longer has ("could not create a primitive descriptor
   * iterator"); the engine then turns oneDNN off around bf16 work — libtorch's own path on a CPU
   * without AVX-512, which is what the switches emulate.
   */
  oneDnnBf16: boolean;
  /**
   * Whether the engine must switch oneDNN off around bf16 work (and around every backward pass,
   * whose graph may hold bf16 ops): only where libtorch would pick oneDNN for bf16 from the
   * hardware's AVX-512 flags while a switch caps oneDNN or ATen below AVX-512. On a CPU without
   * AVX-512 libtorch itself never hands bf16 to oneDNN (its mkldnn_bf16_device_check), so no guard:
   * switching oneDNN off there also sent every float32 convolution backward to ATen's slow
   * kernels — measured on an AMD EPYC (Zen 3, AVX2) training step, 1.69× python3-torch's time.
   */
  oneDnnBf16Guard: boolean;
  /** The switches that took effect, e.g. `['ATEN_CPU_CAPABILITY=avx2', 'ONEDNN_MAX_CPU_ISA=AVX2']`. */
  switches: string[];
  /** Switches that are set but that libtorch/oneDNN would ignore (unknown values). */
  ignored: string[];
}

function readCpuFlags(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

/** Parse `flags : …` from cpuinfo text; `env` and `cpuinfo` are injectable for tests. */
export function cpuFeatures(env: NodeJS.ProcessEnv = process.env, cpuinfo: string = readCpuFlags()): CpuFeatures {
  const line = cpuinfo.split('\n').find((l) => /^flags\s*:/.test(l));
  const flags = new Set(line ? line.split(':')[1]!.trim().split(/\s+/) : []);
  const switches: string[] = [];
  const ignored: string[] = [];

  let atenMax = 2; // index into ATEN_CAPABILITIES: no cap
  const aten = env.ATEN_CPU_CAPABILITY;
  if (aten !== undefined && aten !== '') {
    const i = (ATEN_CAPABILITIES as readonly string[]).indexOf(aten);
    if (i < 0) ignored.push(`ATEN_CPU_CAPABILITY=${aten} (libtorch accepts ${ATEN_CAPABILITIES.join(', ')})`);
    else {
      atenMax = i;
      switches.push(`ATEN_CPU_CAPABILITY=${aten}`);
    }
  }
  let onednnMax: number = ONEDNN_ISAS.length; // no cap
  const onednnVar = env.ONEDNN_MAX_CPU_ISA ? 'ONEDNN_MAX_CPU_ISA' : env.DNNL_MAX_CPU_ISA ? 'DNNL_MAX_CPU_ISA' : undefined;
  if (onednnVar) {
    const v = env[onednnVar]!;
    const i = (ONEDNN_ISAS as readonly string[]).indexOf(v.toUpperCase());
    if (v.toUpperCase() === 'ALL') switches.push(`${onednnVar}=${v}`);
    else if (i < 0) ignored.push(`${onednnVar}=${v} (oneDNN accepts ${ONEDNN_ISAS.join(', ')}, ALL)`);
    else {
      onednnMax = i;
      switches.push(`${onednnVar}=${v}`);
    }
  }

  const hwAvx512 = ['avx512f', 'avx512bw', 'avx512vl', 'avx512dq'].every((f) => flags.has(f));
  const hwAvx2 = flags.has('avx2') && flags.has('fma');
  const hwBf16 = flags.has('avx512_bf16') || flags.has('amx_bf16');
  const atenAvx512 = atenMax >= 2;
  const onednnAvx512 = onednnMax >= ISA_AVX512_CORE;
  const oneDnnBf16 = hwAvx512 && atenAvx512 && onednnAvx512;
  return {
    flags,
    avx512: hwAvx512 && atenAvx512 && onednnAvx512,
    avx2: hwAvx2 && atenMax >= 1 && onednnMax >= ONEDNN_ISAS.indexOf('AVX2'),
    nativeBf16: hwBf16 && atenAvx512 && onednnMax >= ISA_AVX512_CORE_BF16,
    oneDnnBf16,
    oneDnnBf16Guard: hwAvx512 && !oneDnnBf16,
    switches,
    ignored,
  };
}

/** One line for logs and test output: `native bf16 (AVX512-BF16)` or `no native bf16 (…why)`. */
export function describeBf16(f: CpuFeatures = cpuFeatures()): string {
  if (f.nativeBf16) return `native bf16${f.switches.length ? ` (${f.switches.join(' ')})` : ''}`;
  const why = f.switches.length ? `switched off: ${f.switches.join(' ')}` : 'the CPU has no AVX512-BF16/AMX-BF16';
  return `no native bf16 (${why}; bf16 is emulated${f.oneDnnBf16 ? ' by oneDNN' : ' by libtorch without oneDNN'})`;
}
