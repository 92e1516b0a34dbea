#!/usr/bin/env bash
# The shipped styles' current recipe (fifth sitting): the networks trained before the complete
# VGG-19 (half-instance, transposed-convolution upsampling, vgg19-conv3, 128 px) converted to
# resize-convolutions (scripts/convert-model.ts: uN → rcN, every other weight kept) and trained
# on with the paper's loss (paper-vgg19: relu4_3 in the style loss) at 256 px, the size Figure 5 is
# measured at, by scripts/train-shipped-styles.sh (resumable chunks, checkpoints, model folders
# refreshed, cards). Why this and not the from-scratch runs: README "The shipped styles now" (quality per
# CPU hour, measured).
#
#   bash scripts/finetune-shipped-styles.sh start|status|stop|finish|refresh
#
# Each style starts (when it has no checkpoint yet) from:
#   - models/<style> as it is, if that network already has resize-convolutions (a run that continues on
#     a new machine, where runs/ is gone, starts from what was shipped);
#   - else models/<style> converted (runs/rc/<style>);
#   - udnie and shipwreck-minotaur, which had no earlier network, from the converted composition-vii
#     (Kandinsky: abstract, like Picabia) and great-wave (a stormy sea, like Turner's): a network that
#     already encodes and decodes photos learns a new painting far sooner than one from noise.
# Settings (environment, defaults as used): the style image at 192 px (the size the Figure-5 Gatys
# runs and the gallery use), stability λ 600 (issue 15's flicker fix and issue 13's grid: the fifth
# sitting's runs began at λ 150, and starry-night's grid figure rose to 94 and the flicker of the
# still clip stayed near the old networks' with it; each card lists the stretches), 10-minute chunks
# of at most 150 iterations, Adam lr 2e-4 (sixth sitting on; 1e-3 before, each card lists the
# stretches): measured on shipwreck-minotaur from its 810-iteration checkpoint, the same 90 batches,
# validation loss (8 photos) 1.733e5 at lr 1e-3 and 1.696e5 at 2e-4 (−2.2 %); without the stability
# term (λ 0, lr 1e-3, 690 → 810) 1.737e5 against 1.799e5 with λ 600 (+3.6 %, within issue 15's 5 %).
# Eighth sitting: the grid penalty (src/losses/grid-loss.ts; λ 2·10⁴ in 128-px windows, 4·10⁴ for
# starry-night and composition-vii, whose grid figure stayed above 1.5× their Gatys outputs' —
# README "Grid artefacts") and Adam lr 5e-5 (the seventh sitting's second decay) are the defaults.
# Thirteenth sitting: a style's own λs, lr and seed come from its card (the last stretch of each), so a new
# machine goes on with what the shipped network was trained with; models/ is replaced only by a chunk whose
# validation loss beats the shipped card's (PUBLISH_IF_BETTER).
set -euo pipefail
cd "$(dirname "$0")/.."
arch_of() { node -e 'const fs=require("fs");const b=fs.readFileSync(process.argv[1]);const n=Number(b.readBigUInt64LE(0));console.log(JSON.parse(JSON.parse(b.subarray(8,8+n).toString()).__metadata__.config).arch)' "$1/weights.safetensors"; }
init_for() { # style [fallback style] → the folder to start from
  local s=$1 from=${2:-$1}
  if [ -f "models/$s/weights.safetensors" ] && [[ "$(arch_of "models/$s")" != *",u"* ]]; then echo "models/$s"; return; fi
  if [ ! -f "runs/rc/$from/weights.safetensors" ]; then
    node --import tsx scripts/convert-model.ts "models/$from" "runs/rc/$from" >&2
  fi
  echo "runs/rc/$from"
}
if [ "${1:-start}" = start ] || [ "${1:-start}" = run ]; then   # (refresh reads each run's init-card.json)
  INIT_FROM=""
  for s in starry-night great-wave the-scream composition-vii; do INIT_FROM+="$s=$(init_for "$s") "; done
  INIT_FROM+="udnie=$(init_for udnie composition-vii) shipwreck-minotaur=$(init_for shipwreck-minotaur great-wave)"
  export INIT_FROM
fi
# Each style trains on as the network it ships as: the bilinear resize-convolution networks
# (half-instance-rb, ninth sitting; README "Grid artefacts") stay bilinear, in runs/styles-rc/<name>@half-instance-rb.
if [ -z "${ARCHS:-}" ]; then
  ARCHS=""
  for s in starry-night great-wave the-scream composition-vii shipwreck-minotaur udnie; do
    [ -f "models/$s/weights.safetensors" ] && [[ "$(arch_of "models/$s")" == *",rb"* ]] && ARCHS+="$s=half-instance-rb "
  done
fi
export ARCHS
# Each style goes on with the settings its shipped network was trained with last — the last stretch of
# each setting on its card (stability λ, grid λ, Adam lr) and its data seed — unless the environment
# names them (a list given replaces the cards' for every style). The cards are the recipe: a new machine,
# where runs/ is gone, continues each network as it was being trained.
card_settings() { # setting → "name=value …" from the paper-vgg19 cards in models/
  node -e '
    const fs = require("fs"); const [kind, profile, ...names] = process.argv.slice(1); const out = [];
    for (const n of names) {
      let c; try { c = JSON.parse(fs.readFileSync(`models/${n}/card.json`, "utf8")); } catch { continue; }
      if (c.lossProfile !== profile) continue;
      const last = (a) => (Array.isArray(a) && a.length ? a.reduce((x, y) => (y.to >= x.to ? y : x)) : undefined);
      const v = { stability: last(c.stability)?.weight, grid: last(c.grid)?.weight, lr: last(c.lrStretches)?.lr ?? c.lr, seed: c.data?.seed }[kind];
      if (v !== undefined) out.push(`${n}=${v}`);
    }
    console.log(out.join(" "));' "$1" "${PROFILE:-paper-vgg19}" starry-night great-wave the-scream composition-vii shipwreck-minotaur udnie
}
# (A single value given for all — LR=2e-4, STABILITY_WEIGHT=…, GRID_WEIGHT=… — applies to every style instead.)
export STABILITY_WEIGHTS=${STABILITY_WEIGHTS-$([ -n "${STABILITY_WEIGHT:-}" ] || card_settings stability)}
export GRID_WEIGHTS=${GRID_WEIGHTS-$([ -n "${GRID_WEIGHT:-}" ] || card_settings grid)}
export LRS=${LRS-$([ -n "${LR:-}" ] || card_settings lr)} SEEDS=${SEEDS-$(card_settings seed)}
export RUNS_DIR=${RUNS_DIR:-runs/styles-rc} MODELS_DIR=${MODELS_DIR:-models} ARCH=${ARCH:-half-instance-rc} PROFILE=${PROFILE:-paper-vgg19}
export STAGE1_ITERATIONS=0 ITERATIONS=${ITERATIONS:-40000} STYLE_SIZE2=${STYLE_SIZE2:-192}
export STABILITY_WEIGHT=${STABILITY_WEIGHT:-600} GRID_WEIGHT=${GRID_WEIGHT:-20000} GRID_WINDOW=${GRID_WINDOW:-128}
export LR=${LR:-5e-5} CHUNK_MINUTES=${CHUNK_MINUTES:-10} CHUNK2=${CHUNK2:-150} PUBLISH_MIN_ITERATIONS=${PUBLISH_MIN_ITERATIONS:-0}
# A chunk replaces models/<name> only where its validation loss is below the shipped card's (the runs go on
# from fresh Adam moments on a new machine, and the shipped network is the best one measured so far).
export PUBLISH_IF_BETTER=${PUBLISH_IF_BETTER:-1}
# Fresh Adam moments on a trained network: the learning rate ramps up over the first 200 iterations
# (--warmup; measured on udnie from its shipped network at lr 5e-5, float32, AMD EPYC: one step without it
# raised the validation loss from 2.976e5 to 3.088e5).
export WARMUP=${WARMUP:-200}
exec bash scripts/train-shipped-styles.sh "${1:-start}"
