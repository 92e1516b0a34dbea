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
npm test -- "$@"
