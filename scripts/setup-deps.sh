#!/usr/bin/env bash
# Installs the Debian packages ocrcore needs to build, test and run its tools.
# Does nothing when everything is already installed. Needs root (or sudo) only
# when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libeigen3-dev libdnnl-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libleptonica-dev libfreetype-dev libonnx-dev libprotobuf-dev
  # Fonts ocr-synth renders with by default (and its tests use).
  fonts-urw-base35 fonts-liberation2 fonts-dejavu-core fonts-freefont-ttf
)
# Optional extras: --with-peers adds what the benchmarks and fixture scripts use.
if [[ "${1:-}" == "--with-peers" ]]; then
  packages+=(python3-torch python3-onnx python3-numpy python3-pil tesseract-ocr tesseract-ocr-eng)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "setup-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup-deps: installing ${missing[*]}"
sudo_cmd=()
if ((EUID != 0)); then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
