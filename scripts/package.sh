#!/usr/bin/env bash
# Builds the runtime (libocrcore, ocr-infer, default model) and the Python
# package and packs them as Debian packages: ocrcore (library, tool, model),
# ocrcore-dev (headers, static library, CMake package, pkg-config file) and
# python3-ocrcore (the ocrcore Python package over ocrcore's library), written
# to the build directory ($OCRCORE_BUILD_DIR, default build-demo, shared with
# demo.sh, whose runtime-only build it extends).
# Install them with `apt-get install ./ocrcore_*.deb ./python3-ocrcore_*.deb`
# (scripts/install-python.sh does both steps).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build-demo}
"$root/scripts/setup-deps.sh" --runtime --package
mkdir -p "$build"
echo "package: building the runtime into $build"
# Installed under /usr, the library goes to Debian's multiarch directory.
OCRCORE_BUILD_DIR=$build "$root/scripts/build.sh" -DCMAKE_INSTALL_PREFIX=/usr -DOCRCORE_BUILD_TRAINING=OFF \
  -DOCRCORE_BUILD_PYTHON=ON -DOCRCORE_BUILD_TESTS=OFF -DOCRCORE_BUILD_BENCHMARKS=OFF > "$build/build.log" 2>&1 ||
  { cat "$build/build.log" >&2; exit 1; }
(cd "$build" && cpack -G DEB > cpack.log 2>&1) || { cat "$build/cpack.log" >&2; exit 1; }
ls "$build"/{ocrcore,ocrcore-dev,python3-ocrcore}_"$(sed -n 's/^project(ocrcore VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")"_*.deb
