#!/usr/bin/env bash
# Installs ocrcore for Python on this Debian machine, in one step: builds and
# packs the runtime and the Python package (scripts/package.sh, into
# build-demo), then installs the packages ocrcore and python3-ocrcore with
# apt-get, which brings what they recommend (Dask distributed for
# ocrcore.dask, numpy). Needs root or sudo. Afterwards, from any directory:
#
#   /usr/bin/python3 -c 'import ocrcore; print(ocrcore.Recognizer(ocrcore.Model.load()).read("line.png").text)'
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build-demo}
"$root/scripts/package.sh" > /dev/null
version=$(sed -n 's/^project(ocrcore VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
sudo_cmd=()
if ((EUID != 0)); then sudo_cmd=(sudo); fi
echo "install-python: installing ocrcore and python3-ocrcore $version (and Dask distributed)"
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
  "$build/ocrcore_${version}_"*.deb "$build/python3-ocrcore_${version}_"*.deb |
  grep --line-buffered '^Setting up ' | sed -u 's/^/install-python: /' || true
# The pipe hides apt-get's status: check that Python finds the package.
cd /
/usr/bin/python3 -c 'import ocrcore, ocrcore.dask; print("install-python: ocrcore", ocrcore.__version__, "for", __import__("sys").version.split()[0])'
