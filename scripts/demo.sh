#!/usr/bin/env bash
# The project's main job in one command: stylise a photo with a shipped style.
#   bash scripts/demo.sh [photo.jpg] [style]     → out/demo-<style>.jpg
# The default photo ships with the repository (assets/demo/, source and licence in its README).
# Installs the npm dependencies first (no libtorch needed: shipped styles run on onnxruntime).
set -euo pipefail
cd "$(dirname "$0")/.."
photo="${1:-assets/demo/motorcycle.jpg}"
style="${2:-starry-night}"
if [ ! -f "$photo" ]; then
  echo "usage: bash scripts/demo.sh PHOTO [STYLE]   (no photo at $photo)" >&2
  exit 2
fi
if [ ! -d node_modules/onnxruntime-node ] || [ ! -d node_modules/sharp ] || [ ! -f dist/cli/main.js ]; then
  # onnxruntime-node's CPU binary ships in the package; its install script would try a download.
  export ONNXRUNTIME_NODE_INSTALL=skip
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi
mkdir -p out
node bin/perceptual.js stylize "$photo" --style "$style" -o "out/demo-${style}.jpg"
