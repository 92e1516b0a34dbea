#!/usr/bin/env bash
# The project's one test command (README, .ci/run): installs what is missing — Debian
# packages, npm dependencies, the libtorch addon, the TypeScript build — then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-system-deps.sh engine test browser
# onnxruntime-node's install script would try to download CUDA libraries (offline here);
# its CPU binary ships inside the npm package.
export ONNXRUNTIME_NODE_INSTALL=skip
export PERCEPTUAL_REQUIRE_NATIVE=1
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
echo "=== pass 1: every test, on this CPU as it is ==="
status=0
npm test -- "$@" || status=$?
# Pass 2: the precision-sensitive tests again as on a CPU without AVX-512 and native bf16 (an
# AVX2-only EPYC, say), through libtorch's and oneDNN's own switches: bf16 is then emulated and
# those tests must adapt (they print which case they ran). Only the full run does it, and only
# where the CPU has AVX-512 — without it, pass 1 already ran that way.
if [ $# -eq 0 ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
  echo "=== pass 2: precision-sensitive tests as on a CPU without AVX-512/bf16 (ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2) ==="
  ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 node scripts/run-tests.mjs --precision-sensitive || status=$?
elif [ $# -eq 0 ]; then
  echo "=== pass 2 skipped: this CPU has no AVX-512, so pass 1 already ran without native bf16 ==="
fi
[ "$status" -eq 0 ] && echo "=== all test passes succeeded ===" || echo "=== FAILED (exit $status) ==="
exit "$status"
