#!/usr/bin/env bash
# Publishes a trained style run as a shipped model: runs/<name>/model → models/<name>/ with
# weights.safetensors, card.json (+ title), model.onnx (exported and checked against the
# engine), the loss plot, and a sample the project generated from a demo photo.
#   bash scripts/ship-style.sh NAME "Title" [content-photo]
set -euo pipefail
cd "$(dirname "$0")/.."
name="$1"; title="$2"; photo="${3:-../shared/data/content/chicago.jpg}"
src="runs/$name/model"; dst="models/$name"
[ -f "$src/weights.safetensors" ] || { echo "no trained model in $src" >&2; exit 1; }
mkdir -p "$dst"
cp "$src/weights.safetensors" "$dst/"
node -e '
  const fs = require("fs");
  const [src, dst, title] = process.argv.slice(1);
  const card = JSON.parse(fs.readFileSync(src + "/card.json", "utf8"));
  card.title = title;
  fs.writeFileSync(dst + "/card.json", JSON.stringify(card, null, 2) + "\n");
' "$src" "$dst" "$title"
cp "runs/$name/losses.svg" "$dst/losses.svg"
node bin/perceptual.js export "$dst" -o "$dst/model.onnx"
if [ -f "$photo" ]; then
  node bin/perceptual.js stylize "$photo" --style "$dst" --max-side 512 -o "$dst/sample.jpg" --quality 85
fi
ls -la "$dst"
