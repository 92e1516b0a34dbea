#!/usr/bin/env bash
# Installs the Debian packages the project needs, only those missing (so it is fast when run
# again). Usage: scripts/install-system-deps.sh [engine] [test] [browser] [video]
#   engine  — libtorch-dev, libgloo-dev (headers for distributed training), OpenBLAS (pthread), g++/make: to build the training engine
#   test    — python3-torch (the independent reference the tests compare against), ffmpeg (the video tests)
#   browser — chromium (headless browser tests)
#   video   — ffmpeg/ffprobe: `perceptual stylize clip.mp4` (stylising images does not need it)
set -euo pipefail
want=()
for group in "$@"; do
  case "$group" in
    engine) want+=(libtorch-dev libgloo-dev libopenblas0-pthread g++ make python3) ;;
    test) want+=(python3-torch python3-numpy python3-h5py ffmpeg) ;;
    browser) want+=(chromium) ;;
    video) want+=(ffmpeg) ;;
    *) echo "unknown group $group" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
echo "[perceptual] installing Debian packages: ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
