#!/usr/bin/env bash
# Trains the six shipped style networks (models/<name>/, paintings from shared/data/styles/) with
# the paper's loss on the complete VGG-19 (profile paper-vgg19: content relu3_3, style relu1_2,
# relu2_2, relu3_3, relu4_3), for as many CPU hours as the machine gives it, across sittings.
#
#   bash scripts/train-shipped-styles.sh start     # in the background (nohup setsid), low priority; idempotent
#   bash scripts/train-shipped-styles.sh status    # iterations, stage and CPU hours per style; running or not
#   bash scripts/train-shipped-styles.sh stop      # SIGTERM: the running chunk writes its checkpoint and exits
#   bash scripts/train-shipped-styles.sh finish    # stop after the running chunks (their model folders are refreshed)
#   bash scripts/train-shipped-styles.sh refresh   # models/<name>/ from the latest completed chunks, no training
#   bash scripts/train-shipped-styles.sh run       # the same loop in the foreground (one worker: all STYLES)
#
# `start` is the one restart command: it resumes every style exactly where its checkpoint stopped
# (weights, Adam moments, data order), and does nothing if a training is already running (a lock).
# Logs: runs/styles/train.log (this script: chunks, CPU seconds, refreshes), runs/styles/<name>/<px>/
# log.jsonl and losses.svg (every 10 iterations), samples/ (validation images after every chunk).
#
# Why the loop looks like this:
# - Round robin in chunks (about CHUNK_MINUTES of training per style and turn), so all
#   six styles progress together and any sitting leaves six usable models, not one finished and
#   five untouched. A chunk ends with a checkpoint, a validation and the model folder refreshed
#   (weights.safetensors, model.onnx checked against the engine, card.json, losses.svg, sample.jpg).
#   Checkpoints also every CKPT1/CKPT2 iterations (a few minutes) inside a chunk.
# - Schedule (Johnson et al. train 40k iterations at 256 px): STAGE1_ITERATIONS at 128 px first — a
#   step there costs about a quarter of a 256-px step, and the network learns the style's colours and
#   textures at that scale — then 256 px up to ITERATIONS, starting from the 128-px weights and Adam
#   state (the checkpoint is copied with imageSize changed; the data order continues). The style
#   image's longer side is 1.5× the crop (192 / 384 px, fast-neural-style's 384 at 256), so strokes
#   keep their size relative to the crop in both stages.
# - Network: paper-instance-rc — the paper's widths (c9s1-32,d64,d128,R128×5) with instance norm
#   (Ulyanov et al.; fast-neural-style's instance-norm models) and resize-convolution upsampling
#   (rc64, rc32: nearest ×2 + 3×3 conv) instead of the transposed convolutions whose uneven overlap
#   drew the period-2/4 grid of the previous styles. Per step the VGG-19 loss network to relu4_3
#   (~20 GMAC per 256² image forward, ×3 with backward) dominates: the full-width network costs
#   ~20 % more than half-instance per step (README "Shipped styles"), for 4× the capacity.
# - Stability term from the first iteration (--stability-weight, src/losses/stability-loss.ts):
#   ‖f(T_s x + ε) − T_s f(x)‖² for shifts s of up to ±3 px and σ = 3 noise. A network that goes
#   down by stride 4 can draw strokes locked to a period-4 grid fixed to the image; this term makes
#   such a pattern cost (a shift that is not a multiple of 4 moves the photo but not the grid), so
#   it attacks the grid figure of issue 13 and the video flicker of issue 15 at once. Measured on
#   starry-night (README "Grid artefacts"): without the term 239 on the grid figure at 1,200
#   iterations; λ 300 from the start 94 at 975; then 200 more at λ 1500: 37 (ml5 "wave" 66), with
#   flicker 2.5× (pan) and 2.1× (still) lower than the no-term network. λ 1500 costs style loss
#   (+12 % total at 256 px against λ 300). The fourth sitting's runs started at 300 and went on at
#   1500, now the default (λ is not an identity key: --resume continues with a new value). Caveat,
#   measured after: with instance norm the term also enlarges dark "droplet" patches (near-black
#   share on chicago 1.18 % without, 2.99 % / 6.56 % with), README "Where the from-scratch styles stood";
#   choose the next recipe on grid, dark share and Figure-5 loss together (bench/artefacts.ts prints both). ~30 % more per step (the transformation
#   network runs twice, VGG once).
# - Workers: WORKERS loops run side by side, each over its share of STYLES (every WORKERS-th), with
#   THREADS threads each. Default 2 × 1 thread on this 2-core machine: measured here (Xeon with
#   AMX), one 2-thread training alone ran 7.5 img/s, but as soon as any other process wanted a core
#   it fell to 0.5 img/s (OpenMP threads spin at every barrier waiting for the descheduled one), while
#   a 1-thread training beside it kept 4.2 img/s. Two 1-thread workers give ≈ 8 img/s together and
#   degrade gently when tests or benchmarks share the machine.
# - Isolation: the training runs from a snapshot of the sources (runs/styles/.code: src/, bin/,
#   package.json, node_modules linked) with a private copy of the addon (PERCEPTUAL_ADDON), both
#   taken at the first start (or with REFRESH_CODE=1), so other people's edits and addon rebuilds in
#   the working tree cannot break a run that spans hours. nice 19, THREADS intra-op threads.
#
# Environment (defaults in brackets):
#   STYLES ["starry-night great-wave the-scream composition-vii shipwreck-minotaur udnie"]
#   ARCH [paper-instance-rc]  PROFILE [paper-vgg19]  VGG [$DATA/vgg19-keras:$DATA/vgg19-full-uint8]
#   STAGE1_ITERATIONS [4000] at 128 px, then ITERATIONS [40000] in all at 256 px
#   CHUNK1 [200]  CHUNK2 [50] (most iterations per chunk)  CHUNK_MINUTES [12] (a chunk's length, from the
#   measured speed; STEP_CHUNKS=1: fixed CHUNK1/CHUNK2)  CKPT1 [20]  CKPT2 [10]  BATCH [4]  WORKERS [2]  THREADS [1] (per worker)  NICE [19]
#   STABILITY_WEIGHT [1500] (λ of the shift + noise stability term, 0: off; see below)  STABILITY_WEIGHTS ["name=λ …": per style]
#   GRID_WEIGHT [0] (λ of the grid penalty, src/losses/grid-loss.ts; 0: off)  GRID_WEIGHTS ["name=λ …": per style]  GRID_WINDOW [the CLI's]
#   ARCHS ["name=arch …": a style's own network instead of ARCH; its run is then $RUNS/<name>@<arch>]
#   INIT_FROM ["name=model-folder …": a style with no checkpoint starts from those weights, e.g. a converted
#   shipped network (scripts/convert-model.ts); with STAGE1_ITERATIONS=0 it trains at 256 px at once]
#   STYLE_SIZE1 / STYLE_SIZE2 [192 / 384] (the style image's longer side in each stage)
#   LR [the CLI's, Adam 1e-3] (not an identity key: a resume goes on with a new value, e.g. a late decay; the card lists the stretches)
#   LRS ["name=lr …": per style]  SEEDS ["name=seed …": a new run's seed per style, else 0 (a resumed run keeps its checkpoint's)]
#   WARMUP [0] (--warmup: Adam's lr rises linearly over a run's first WARMUP iterations; for runs that start from
#   INIT_FROM with fresh Adam moments)
#   PUBLISH_IF_BETTER [0] (1: a chunk replaces $MODELS/<name> only where its validation loss (8 photos, the card's
#   finalValLoss.total, the quantity of Figure 5) is below the one of the card there, with the same loss profile and λs;
#   else the folder stays and the chunk's model is in the run's model/ — continuing a shipped network must not ship a worse one)
#   STYLE_WEIGHT / TV_WEIGHT [the profile's]  ROUNDS [0 = until every style reaches ITERATIONS]
#   PERCEPTUAL_DATA [../shared/data]  RUNS_DIR [runs/styles]  MODELS_DIR [models]  REFRESH_CODE [0]
#   SAMPLE_PHOTO [$DATA/content/chicago.jpg]  PUBLISH_MIN_ITERATIONS [1000] (before that, no model folder is written:
#   the earlier shipped styles stay, and new styles appear in models/ only from then on)
# Smoke test (a few iterations into /tmp, foreground):
#   STYLES=udnie STAGE1_ITERATIONS=4 ITERATIONS=6 CHUNK1=2 CHUNK2=1 CKPT1=2 CKPT2=1 ROUNDS=4 STEP_CHUNKS=1 \
#     RUNS_DIR=/tmp/ss/runs MODELS_DIR=/tmp/ss/models bash scripts/train-shipped-styles.sh run
set -euo pipefail
# `start` runs a copy of this file (bash reads a script while it runs, so editing the original must
# not change a running loop); TRAIN_REPO tells the copy where the repository is.
cd "${TRAIN_REPO:-$(dirname "$0")/..}"
REPO=$PWD

DATA=$(cd "${PERCEPTUAL_DATA:-$REPO/../shared/data}" && pwd)
STYLES=${STYLES:-"starry-night great-wave the-scream composition-vii shipwreck-minotaur udnie"}
ARCH=${ARCH:-paper-instance-rc}
PROFILE=${PROFILE:-paper-vgg19}
VGG=${VGG:-$DATA/vgg19-keras:$DATA/vgg19-full-uint8}
SIZE1=128; SIZE2=256
STYLE_SIZE1=${STYLE_SIZE1:-192}; STYLE_SIZE2=${STYLE_SIZE2:-384}
INIT_FROM=${INIT_FROM:-}   # "name=model-folder …": a style with no checkpoint yet starts from these weights (--init)
STAGE1_ITERATIONS=${STAGE1_ITERATIONS:-4000}
ITERATIONS=${ITERATIONS:-40000}
CHUNK1=${CHUNK1:-200}; CHUNK2=${CHUNK2:-50}; CHUNK_MINUTES=${CHUNK_MINUTES:-12}
CKPT1=${CKPT1:-20}; CKPT2=${CKPT2:-10}
BATCH=${BATCH:-4}
LR=${LR:-}
LRS=${LRS:-}       # "name=lr …": a style's own Adam learning rate
SEEDS=${SEEDS:-}   # "name=seed …": a new run's seed
PUBLISH_IF_BETTER=${PUBLISH_IF_BETTER:-0}
WARMUP=${WARMUP:-0}   # --warmup for every chunk (a function of the run's iteration: a no-op past it)
STABILITY_WEIGHT=${STABILITY_WEIGHT:-1500}
STABILITY_WEIGHTS=${STABILITY_WEIGHTS:-}   # "name=λ …": a style's own λ_stab (e.g. more where its grid figure stays high)
GRID_WEIGHT=${GRID_WEIGHT:-0}
GRID_WEIGHTS=${GRID_WEIGHTS:-}   # "name=λ …": a style's own λ_grid
ARCHS=${ARCHS:-}   # "name=arch …": a style's own network (its run then lives in $RUNS/<name>@<arch>)
THREADS=${THREADS:-1}
WORKERS=${WORKERS:-2}
WORKER=${WORKER:-}   # set by `start` for each worker loop; empty for `run` in the foreground
NICE=${NICE:-19}
ROUNDS=${ROUNDS:-0}
SAMPLE_PHOTO=${SAMPLE_PHOTO:-$DATA/content/chicago.jpg}
PUBLISH_MIN_ITERATIONS=${PUBLISH_MIN_ITERATIONS:-1000}
mkdir -p "${RUNS_DIR:-runs/styles}" "${MODELS_DIR:-models}"
RUNS=$(cd "${RUNS_DIR:-runs/styles}" && pwd)
MODELS=$(cd "${MODELS_DIR:-models}" && pwd)
CODE=$RUNS/.code
LOG=$RUNS/train.log

title_of() {
  case "$1" in
    starry-night) echo 'The Starry Night — Vincent van Gogh, 1889' ;;
    great-wave) echo 'The Great Wave off Kanagawa — Katsushika Hokusai, c. 1831' ;;
    the-scream) echo 'The Scream — Edvard Munch, 1893' ;;
    composition-vii) echo 'Composition VII — Wassily Kandinsky, 1913' ;;
    shipwreck-minotaur) echo 'The Shipwreck of the Minotaur — J. M. W. Turner, c. 1810' ;;
    udnie) echo 'Udnie (Young American Girl, The Dance) — Francis Picabia, 1913' ;;
    *) echo "$1" ;;
  esac
}

say() { echo "[$(date -u +%FT%TZ)] $*" | tee -a "$LOG" >&2; }

# ---- the code snapshot -------------------------------------------------------------------------
ensure_code() {
  if [ -f "$CODE/.ready" ] && [ "${REFRESH_CODE:-0}" != 1 ]; then return; fi
  local addon=$REPO/native/build/Release/perceptual_native.node
  [ -f "$addon" ] || { say "no built addon at $addon (npm rebuild); cannot snapshot"; exit 1; }
  local tmp=$RUNS/.code.new
  rm -rf "$tmp"; mkdir -p "$tmp"
  cp -r "$REPO/src" "$REPO/bin" "$REPO/package.json" "$REPO/tsconfig.json" "$tmp/"
  cp "$addon" "$tmp/perceptual_native.node"
  ln -s "$REPO/node_modules" "$tmp/node_modules"
  # The snapshot must load and find its engine before it replaces the previous one.
  (cd "$tmp" && PERCEPTUAL_ADDON=$tmp/perceptual_native.node node --import tsx src/cli/main.ts doctor >/dev/null) \
    || { say "the working tree's code does not start (someone mid-edit?); keeping the previous snapshot"; rm -rf "$tmp"; [ -f "$CODE/.ready" ] || exit 1; return; }
  touch "$tmp/.ready"
  rm -rf "$CODE.old"; [ -d "$CODE" ] && mv "$CODE" "$CODE.old"
  mv "$tmp" "$CODE"; rm -rf "$CODE.old"
  say "code snapshot taken from $REPO into $CODE"
}

# The CLI from the snapshot, at low priority, with the private addon.
perceptual() {
  (cd "$CODE" && PERCEPTUAL_DATA=$DATA PERCEPTUAL_ADDON=$CODE/perceptual_native.node PERCEPTUAL_THREADS=$THREADS \
    nice -n "$NICE" node --import tsx src/cli/main.ts "$@")
}

# ---- checkpoints (read with plain node: safetensors = 8-byte header length, JSON header, data) ----
ckpt_state() { # file → the checkpoint's state JSON (iteration, elapsed, config, …)
  node -e '
    const fs = require("fs"); const fd = fs.openSync(process.argv[1], "r");
    const n = Buffer.alloc(8); fs.readSync(fd, n, 0, 8, 0);
    const h = Buffer.alloc(Number(n.readBigUInt64LE(0))); fs.readSync(fd, h, 0, h.length, 8);
    process.stdout.write(JSON.parse(h.toString("utf8")).__metadata__.state);' "$1"
}
ckpt_field() { # file dotted.path default → that field of the checkpoint's state (the default where it has none)
  ckpt_state "$1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=process.argv[1].split(".").reduce((o,k)=>o?.[k],JSON.parse(s));console.log(v??process.argv[2])})' "$2" "$3"
}
ckpt_iteration() { [ -f "$1" ] && ckpt_field "$1" iteration 0 || echo 0; }

# Stage 2 starts from stage 1's checkpoint: same weights, Adam moments and data position, imageSize 256.
start_stage2() {
  local from=$1 to=$2
  mkdir -p "$(dirname "$to")"
  node -e '
    const fs = require("fs"); const [from, to, size] = process.argv.slice(1);
    const b = fs.readFileSync(from); const n = Number(b.readBigUInt64LE(0));
    const header = JSON.parse(b.subarray(8, 8 + n).toString("utf8"));
    const state = JSON.parse(header.__metadata__.state);
    state.config = { ...state.config, imageSize: Number(size), stage1: { imageSize: state.config.imageSize, iterations: state.iteration } };
    header.__metadata__.state = JSON.stringify(state);
    let h = Buffer.from(JSON.stringify(header), "utf8");
    h = Buffer.concat([h, Buffer.alloc((8 - (h.length % 8)) % 8, 0x20)]);
    const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(h.length));
    fs.writeFileSync(to + ".tmp", Buffer.concat([len, h, b.subarray(8 + n)])); fs.renameSync(to + ".tmp", to);' "$from" "$to" "$SIZE2"
  [ -f "$(dirname "$from")/log.jsonl" ] && cp "$(dirname "$from")/log.jsonl" "$(dirname "$to")/log.jsonl"
  say "$(basename "$(dirname "$(dirname "$to")")"): stage 2 (${SIZE2} px) starts from the ${SIZE1}-px checkpoint"
}

# ---- CPU time of the chunks (bash's `times`: user + system of this shell's finished children) ----
# `times` must run in this shell, not in a $(…) subshell (a fork starts with no children's time):
# it writes to a file, which is then parsed.
CPU_FILE=$RUNS/.times$WORKER
children_cpu_to_file() { times >"$CPU_FILE"; }
children_cpu_read() { tail -1 "$CPU_FILE" | awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); s += a[1] * 60 + a[2] } print s }'; }
add_cpu() { # name seconds
  local f; f=$(run_of "$1")/cpu-seconds
  node -e 'const fs=require("fs");const [f,d]=process.argv.slice(1);const a=fs.existsSync(f)?Number(fs.readFileSync(f,"utf8")):0;fs.writeFileSync(f,String(a+Number(d)))' "$f" "$2"
}

# A chunk lasts about CHUNK_MINUTES: its iterations follow the speed the run's log shows (the
# machine is shared, so a step's time varies 10×), at least 10, at most the fixed-size target.
timed_target() { # log.jsonl fixed-target stage-end current-iteration → target iteration
  node -e '
    const fs = require("fs"); const [log, fixed, end, minutes, current] = process.argv.slice(1);
    let rows = [];
    try { rows = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.kind === "train"); } catch {}
    const last = rows.at(-1);
    const first = rows.at(-6);
    const now = Number(current);
    let target = Number(fixed);
    if (last && first && last.iteration > first.iteration && last.time > first.time) {
      const perIt = (last.time - first.time) / (last.iteration - first.iteration);
      target = Math.min(target, now + Math.max(10, Math.round((Number(minutes) * 60) / perIt)));
    } else {
      target = Math.min(target, now + 20); // speed unknown yet: a short first chunk measures it
    }
    console.log(Math.min(Number(end), Math.max(now + 1, target)));' "$1" "$2" "$3" "$CHUNK_MINUTES" "$4"
}

# A style's own value from a "name=value …" list ($3), else the default ($2).
per_style() { local value=$2 pair; for pair in $3; do [ "${pair%%=*}" = "$1" ] && value=${pair#*=}; done; echo "$value"; }
# A style's network, and its run folder: $RUNS/<name>, or $RUNS/<name>@<arch> when ARCHS gives it
# another network than ARCH (the architecture is part of a run's identity: a checkpoint resumes only as itself).
arch_of_style() { per_style "$1" "$ARCH" "$ARCHS"; }
run_of() { local a; a=$(arch_of_style "$1"); if [ "$a" = "$ARCH" ]; then echo "$RUNS/$1"; else echo "$RUNS/$1@$a"; fi; }

# ---- one chunk of one style --------------------------------------------------------------------
# Returns 0 after training a chunk, 1 when the style is finished, 2 when the chunk failed.
train_chunk() {
  local name=$1 style=$DATA/styles/$1.jpg run; run=$(run_of "$1")
  local dir1=$run/$SIZE1 dir2=$run/$SIZE2
  local it1 it2 dir size ssize target every
  it1=$(ckpt_iteration "$dir1/checkpoint.safetensors")
  if [ "$it1" -lt "$STAGE1_ITERATIONS" ] && [ ! -f "$dir2/checkpoint.safetensors" ]; then
    dir=$dir1; size=$SIZE1; ssize=$STYLE_SIZE1; every=$CKPT1
    target=$(( it1 + CHUNK1 < STAGE1_ITERATIONS ? it1 + CHUNK1 : STAGE1_ITERATIONS ))
  else
    # STAGE1_ITERATIONS=0 (a fine-tune from INIT_FROM): straight to the 256-px stage.
    [ -f "$dir2/checkpoint.safetensors" ] || [ "$STAGE1_ITERATIONS" = 0 ] || start_stage2 "$dir1/checkpoint.safetensors" "$dir2/checkpoint.safetensors"
    it2=$(ckpt_iteration "$dir2/checkpoint.safetensors")
    [ "$it2" -ge "$ITERATIONS" ] && return 1
    dir=$dir2; size=$SIZE2; ssize=$STYLE_SIZE2; every=$CKPT2
    target=$(( it2 + CHUNK2 < ITERATIONS ? it2 + CHUNK2 : ITERATIONS ))
  fi
  # A resumed run keeps its own seed (an identity key: a fork made by hand with --seed may be adopted as the run).
  local resume=(--seed "$(per_style "$name" 0 "$SEEDS")"); [ -f "$dir/checkpoint.safetensors" ] && resume=(--resume --seed "$(ckpt_field "$dir/checkpoint.safetensors" config.seed 0)")
  local init; init=$(init_of "$name")
  if [ "${resume[0]}" != --resume ] && [ -n "$init" ]; then
    resume+=(--init "$init")
    # The card of the starting network stays with the run (the cards tell the whole history from it).
    cp "$init/card.json" "$run/init-card.json"
  fi
  [ "${STEP_CHUNKS:-0}" = 1 ] || target=$(timed_target "$dir/log.jsonl" "$target" "$([ "$size" = "$SIZE1" ] && echo "$STAGE1_ITERATIONS" || echo "$ITERATIONS")" "$(ckpt_iteration "$dir/checkpoint.safetensors")")
  local stab grid; stab=$(per_style "$name" "$STABILITY_WEIGHT" "$STABILITY_WEIGHTS"); grid=$(per_style "$name" "$GRID_WEIGHT" "$GRID_WEIGHTS")
  local weights=(--stability-weight "$stab"); [ "$grid" != 0 ] && weights+=(--grid-weight "$grid" ${GRID_WINDOW:+--grid-window "$GRID_WINDOW"}); [ -n "${STYLE_WEIGHT:-}" ] && weights+=(--style-weight "$STYLE_WEIGHT"); [ -n "${TV_WEIGHT:-}" ] && weights+=(--tv-weight "$TV_WEIGHT"); local lr; lr=$(per_style "$name" "$LR" "$LRS"); [ -n "$lr" ] && weights+=(--lr "$lr"); [ "$WARMUP" != 0 ] && weights+=(--warmup "$WARMUP")
  say "$name: ${size} px, iterations → $target"
  local before after status=0
  children_cpu_to_file; before=$(children_cpu_read); CHUNK_STYLE=$name; CHUNK_CPU_BEFORE=$before
  perceptual train-style --style "$style" --data "$DATA/photos/train-256" --val "$DATA/photos/val-256" -o "$dir" \
    --arch "$(arch_of_style "$name")" --profile "$PROFILE" --vgg "$VGG" --image-size "$size" --style-size "$ssize" --batch-size "$BATCH" \
    --iterations "$target" --checkpoint-every "$every" --validate-every 1000000 --val-count 8 "${weights[@]}" "${resume[@]}" \
    >>"$run/train.out" 2>&1 || status=$?
  children_cpu_to_file; after=$(children_cpu_read); CHUNK_STYLE=
  add_cpu "$name" "$(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }')"
  if [ "$status" -ne 0 ]; then
    say "$name: chunk failed (exit $status; see $run/train.out)"
    return 2
  fi
  publish "$name" "$dir" || say "$name: refreshing $MODELS/$name failed (training continues)"
  return 0
}

# The INIT_FROM folder of a style ("" if none).
init_of() { local pair; for pair in $INIT_FROM; do [ "${pair%%=*}" = "$1" ] && { (cd "$REPO" && cd "${pair#*=}" && pwd); return; }; done; echo ""; }

# ---- the model folder --------------------------------------------------------------------------
publish() {
  local name=$1 dir=$2 dst=$MODELS/$1
  [ -f "$dir/model/weights.safetensors" ] || return 0
  # No model folder is written before the run has PUBLISH_MIN_ITERATIONS: a few hundred iterations
  # give a blotchy, barely stylised network (measured: udnie at 60 iterations), worse than the
  # earlier shipped styles and not worth shipping as a new one. Before that, the model is in $dir/model.
  local done_its; done_its=$(node -e 'console.log(require(process.argv[1]).iterations)' "$dir/model/card.json")
  if [ "$done_its" -lt "$PUBLISH_MIN_ITERATIONS" ]; then
    say "$name: $dst not written until the run reaches $PUBLISH_MIN_ITERATIONS iterations (now $done_its; its model is in $dir/model)"
    return 0
  fi
  mkdir -p "$dst"
  local tmp; tmp=$(mktemp -d "$dst/.refresh.XXXXXX")
  cp "$dir/model/weights.safetensors" "$tmp/weights.safetensors"
  [ -f "$dir/losses.svg" ] && cp "$dir/losses.svg" "$tmp/losses.svg"
  local run; run=$(run_of "$name")
  local cpu=0; [ -f "$run/cpu-seconds" ] && cpu=$(cat "$run/cpu-seconds")
  local stage1; stage1=$(ckpt_iteration "$run/$SIZE1/checkpoint.safetensors")
  node -e '
    const fs = require("fs");
    const path = require("path");
    const [src, out, title, cpu, stage1, size1, size2, name, dir, initCard] = process.argv.slice(1);
    const card = JSON.parse(fs.readFileSync(src, "utf8"));
    const size = card.data.imageSize;
    card.name = name;
    card.title = title;
    card.schedule = size === Number(size1)
      ? [{ imageSize: Number(size1), iterations: card.iterations }]
      : [{ imageSize: Number(size1), iterations: Number(stage1) }, { imageSize: Number(size2), iterations: card.iterations - Number(stage1) }].filter((s) => s.iterations > 0);
    card.cpuHours = Number((Number(cpu) / 3600).toFixed(3));
    card.trainingHours = Number((card.trainingSeconds / 3600).toFixed(3));
    card.trainedBy = "scripts/train-shipped-styles.sh (nice 19, shared 2-core machine: wall time includes waiting for the CPU)";
    // The stability term (issue 15) as it was over the run: its λ may change between chunks
    // (not an identity key), so the card gives each stretch, from the start/resume events of the log.
    try {
      const events = fs.readFileSync(path.join(dir, "log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l))
        .filter((r) => r.kind === "event" && (r.event === "start" || r.event === "resume") && r.iteration < card.iterations);
      // The stretches of one setting: a new one wherever the value of a start/resume event differs from the last
      // (valueOf: the fields to record, or undefined to skip the event).
      const stretchesOf = (valueOf) => {
        const out = [];
        for (const e of events) {
          const v = valueOf(e.config ?? {});
          if (v === undefined || (out.length && JSON.stringify(out.at(-1).v) === JSON.stringify(v))) continue;
          if (out.length) out.at(-1).to = e.iteration;
          out.push({ from: e.iteration, to: card.iterations, v });
        }
        return out.map(({ v, ...r }) => ({ ...r, ...v }));
      };
      const stretches = stretchesOf((c) => { const st = c.stability ?? { weight: 0 }; return { weight: st.weight ?? 0, noise: st.noise, shift: st.shift }; });
      if (stretches.length) card.stability = stretches;
      // The Adam learning rate the same way (LR may change between chunks, e.g. a late decay).
      const lrs = stretchesOf((c) => (c.lr === undefined ? undefined : { lr: c.lr }));
      if (lrs.length > 1) card.lrStretches = lrs;
      // The grid penalty the same way (absent from runs that never had it).
      const grids = stretchesOf((c) => { const g = c.grid ?? { weight: 0 }; return { weight: g.weight, window: g.window }; });
      if (grids.some((g) => g.weight > 0)) card.grid = grids;
      // The lr warmup at the start of the run (--warmup; absent: none).
      const warm = events.find((e) => e.config?.warmup)?.config?.warmup;
      if (warm) card.warmup = warm;
      // Edge padding the same way (src/train/style-task.ts; absent from the config: 0, the runs before it).
      const pads = stretchesOf((c) => ({ px: c.edgePad ?? 0 }));
      if (pads.some((e) => e.px > 0)) card.edgePad = pads;
    } catch {}
    card.run = path.relative(process.cwd(), dir);
    // A run started from INIT_FROM (init-card.json: the card of the network it started from): the card tells the whole history of the network, the earlier
    // training first (its own schedule), then this run; iterations and hours are the sums.
    if (fs.existsSync(initCard)) {
      const ic = JSON.parse(fs.readFileSync(initCard, "utf8"));
      const earlier = ic.schedule ?? [{ imageSize: ic.data?.imageSize, iterations: ic.iterations }];
      const own = card.iterations;
      card.init = { model: ic.name, arch: ic.convertedFrom?.arch ?? ic.arch, converted: ic.convertedFrom ? ic.convertedFrom.how : undefined,
        iterations: ic.iterations, lossProfile: ic.lossProfile, styleImage: ic.styleImage, trainingSeconds: ic.trainingSeconds, cpuHours: ic.cpuHours };
      card.schedule = [
        // (a note that already names its network, from an earlier card built here, is kept as it is)
        ...earlier.map((s) => ({ ...s, note: s.note?.includes("): ") ? s.note : `${ic.name} (${ic.lossProfile}${ic.styleImage === card.styleImage ? "" : ", another painting"}): ${(s.note ?? "earlier training").replace(/^this run/, "its run")}` })),
        { imageSize: size, iterations: own, note: `this run (${card.lossProfile}, from ${ic.convertedFrom ? `the converted network: ${ic.convertedFrom.how}` : `the network as shipped at ${ic.iterations} iterations`}${card.warmup ? `, lr warmup ${card.warmup}` : ""})` },
      ];
      card.iterations = ic.iterations + own;
      card.runIterations = own;
      // CPU hours of the whole history as far as the cards tell (cpuHours: this run alone): the earlier card total,
      // else the hours of its run and of the network it started from.
      const earlierCpu = ic.cpuHoursTotal ?? (ic.cpuHours ?? 0) + (ic.init?.cpuHours ?? 0);
      card.cpuHoursTotal = Number((earlierCpu + card.cpuHours).toFixed(3));
    }
    fs.writeFileSync(out, JSON.stringify(card, null, 2) + "\n");' \
    "$dir/model/card.json" "$tmp/card.json" "$(title_of "$name")" "$cpu" "$stage1" "$SIZE1" "$SIZE2" "$name" "$dir" "$run/init-card.json"
  if [ "$PUBLISH_IF_BETTER" = 1 ] && [ -f "$dst/card.json" ]; then
    local verdict
    verdict=$(node -e '
      const [a, b] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
      const va = a.finalValLoss?.total, vb = b.finalValLoss?.total;
      const same = a.lossProfile === b.lossProfile && JSON.stringify(a.lambda) === JSON.stringify(b.lambda);
      console.log(!same || !(vb > 0) ? `publish (the card there has no comparable validation loss)`
        : va < vb ? `publish (validation loss ${va.toPrecision(5)} < ${vb.toPrecision(5)})` : `kept (validation loss ${va?.toPrecision(5)} ≥ ${vb.toPrecision(5)} of the card there)`);' \
      "$tmp/card.json" "$dst/card.json")
    if [[ "$verdict" == kept* ]]; then
      rm -rf "$tmp"
      say "$name: $dst $verdict; this chunk's model is in $dir/model"
      return 0
    fi
  fi
  # The ONNX file is checked against the engine by `export`; a model folder is only replaced whole.
  if ! perceptual export "$tmp" -o "$tmp/model.onnx" >>"$run/train.out" 2>&1; then rm -rf "$tmp"; return 1; fi
  if [ -f "$SAMPLE_PHOTO" ] && ! perceptual stylize "$SAMPLE_PHOTO" --style "$tmp" --max-side 512 -o "$tmp/sample.jpg" --quality 85 >>"$run/train.out" 2>&1; then
    rm -rf "$tmp"; return 1
  fi
  for f in weights.safetensors model.onnx card.json losses.svg sample.jpg; do [ -f "$tmp/$f" ] && mv -f "$tmp/$f" "$dst/$f"; done
  rm -rf "$tmp"
  say "$name: $dst refreshed ($(node -e 'const c=require(process.argv[1]);console.log(`${c.iterations} iterations, ${c.cpuHours} CPU h`)' "$dst/card.json"))"
}

# ---- commands ----------------------------------------------------------------------------------
run_loop() {
  exec 9>"$RUNS/.lock$WORKER"
  flock -n 9 || { echo "a training is already running (lock $RUNS/.lock$WORKER held; see $RUNS/train$WORKER.pid)" >&2; exit 0; }
  ensure_code
  echo $$ >"$RUNS/train$WORKER.pid"
  say "training $STYLES: $ARCH${ARCHS:+ (own: $ARCHS)}, $PROFILE, stability λ $STABILITY_WEIGHT, ${SIZE1} px to $STAGE1_ITERATIONS then ${SIZE2} px to $ITERATIONS, chunks $CHUNK1/$CHUNK2, $THREADS threads, nice $NICE"
  # Stopped mid-chunk: the trainer has written its checkpoint; count the chunk's CPU time too.
  trap 'if [ -n "${CHUNK_STYLE:-}" ]; then children_cpu_to_file; add_cpu "$CHUNK_STYLE" "$(awk -v a="$(children_cpu_read)" -v b="$CHUNK_CPU_BEFORE" "BEGIN { print a - b }")"; fi; say "stopped"; exit 143' TERM INT
  local round=0
  declare -A fails=()
  while :; do
    local active=0
    # Least recently trained first (never trained before all), so a restart does not favour the
    # first styles of the list.
    local ordered; ordered=$(for n in $STYLES; do echo "$(stat -c %Y "$(run_of "$n")/cpu-seconds" 2>/dev/null || echo 0) $n"; done | sort -n -s -k1,1 | cut -d' ' -f2)
    for name in $ordered; do
      mkdir -p "$(run_of "$name")"
      [ "${fails[$name]:-0}" -ge 3 ] && continue
      [ -f "$RUNS/.finish" ] && { say "finish requested: worker ${WORKER:-0} stops"; break 2; }
      local r=0; train_chunk "$name" || r=$?
      case $r in
        0) active=1; fails[$name]=0 ;;
        2) active=1; fails[$name]=$(( ${fails[$name]:-0} + 1 )); [ "${fails[$name]}" -ge 3 ] && say "$name: 3 failures in a row, skipped until restart" ;;
      esac
    done
    round=$((round + 1))
    [ "$active" = 0 ] && { say "every style reached its iterations (or failed 3 times)"; break; }
    [ "$ROUNDS" -gt 0 ] && [ "$round" -ge "$ROUNDS" ] && { say "$ROUNDS rounds done"; break; }
  done
  rm -f "$RUNS/train$WORKER.pid"
}

# pids of the running worker loops (train<k>.pid files whose process lives)
running_pids() {
  local f; for f in "$RUNS"/train*.pid; do [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"; done; return 0
}
# the k-th share of STYLES (every WORKERS-th style, from the k-th)
share_of() { local k=$1 i=0 out=(); for n in $STYLES; do [ $((i % WORKERS)) -eq "$k" ] && out+=("$n"); i=$((i + 1)); done; echo "${out[*]}"; }

status() {
  local pids; pids=$(running_pids | tr '\n' ' ')
  if [ -n "$pids" ]; then echo "running (worker pids $pids; log $LOG)"; else echo "not running"; fi
  for name in $STYLES; do
    local i1 i2 cpu=0 run; run=$(run_of "$name")
    i1=$(ckpt_iteration "$run/$SIZE1/checkpoint.safetensors"); i2=$(ckpt_iteration "$run/$SIZE2/checkpoint.safetensors")
    [ -f "$run/cpu-seconds" ] && cpu=$(cat "$run/cpu-seconds")
    printf '%-20s %s px: %6s   %s px: %6s   CPU h: %s\n' "$name" "$SIZE1" "$i1" "$SIZE2" "$i2" "$(awk -v s="$cpu" 'BEGIN { printf "%.2f", s / 3600 }')"
  done
}

case "${1:-start}" in
  start)
    pids=$(running_pids | tr '\n' ' ')
    if [ -n "$pids" ]; then echo "already running (worker pids $pids); log: $LOG"; exit 0; fi
    rm -f "$RUNS/.finish"
    ensure_code   # once, before the workers start (they would race to take it)
    cp "$REPO/scripts/train-shipped-styles.sh" "$RUNS/.loop.sh"
    for ((k = 0; k < WORKERS; k++)); do
      share=$(share_of "$k"); [ -n "$share" ] || continue
      STYLES=$share WORKER=$k TRAIN_REPO=$REPO REFRESH_CODE=0 nohup setsid bash "$RUNS/.loop.sh" run >>"$RUNS/loop$k.out" 2>&1 </dev/null &
      echo "worker $k: $share"
    done
    sleep 1; echo "started $WORKERS workers × $THREADS thread(s) (log: $LOG; status: bash scripts/train-shipped-styles.sh status)" ;;
  run) run_loop ;;
  status) status ;;
  stop)
    pids=$(running_pids)
    [ -n "$pids" ] || { echo "not running"; exit 0; }
    for pid in $pids; do kill -TERM -- "-$(ps -o pgid= -p "$pid" | tr -d ' ')" 2>/dev/null && echo "sent SIGTERM to worker pid $pid and its chunk"; done ;;
  finish)
    [ -n "$(running_pids)" ] || { echo "not running"; exit 0; }
    touch "$RUNS/.finish"; echo "each worker stops after its running chunk (its model folder is then refreshed); 'status' shows when" ;;
  refresh)
    ensure_code
    for name in $STYLES; do
      run=$(run_of "$name")
      for px in $SIZE2 $SIZE1; do
        if [ -f "$run/$px/model/weights.safetensors" ]; then publish "$name" "$run/$px"; break; fi
      done
    done ;;
  *) echo "usage: $0 [start|run|status|stop|finish|refresh]" >&2; exit 2 ;;
esac
