#!/usr/bin/env bash
# Proves the README's commands on a fresh Debian 12 system: makes a minimal
# Debian 12 (bookworm) root with debootstrap in the build tree, puts a clean
# clone of the current commit into it and, inside it (chroot):
#
#   1. runs the README's demo command (scripts/demo.sh) and checks its output;
#   2. packs the runtime as Debian packages (scripts/package.sh), installs them with
#      apt and builds an outside program against the installed package
#      (pkg-config and CMake), which must read a line; installs the Python
#      package by the README's command (scripts/install-python.sh) and reads
#      lines with it, alone and on a local Dask cluster;
#   3. runs the README's test command (scripts/test.sh), unless --demo-only.
#
# It fails when any step fails. Nothing is installed by hand: whatever the
# commands need must come from the project's own scripts. Only the
# debootstrap tarball (the bare Debian base system) is cached, under the build
# tree. Uncommitted changes are not part of the check: commit first.
#
#   scripts/check-fresh.sh [--demo-only] [--keep]
#
# Needs root (chroot, mounts) and debootstrap (setup-deps.sh --fresh-check).
# OCRCORE_DEBIAN_MIRROR and OCRCORE_DEBIAN_SECURITY_MIRROR override the mirrors
# (default deb.debian.org).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
demo_only=0
keep=0
for arg in "$@"; do
  case "$arg" in
    --demo-only) demo_only=1 ;;
    --keep) keep=1 ;;
    -h | --help)
      sed -n '2,21p' "$0"
      exit 0
      ;;
    *)
      echo "check-fresh: unknown option '$arg' (see --help)" >&2
      exit 2
      ;;
  esac
done
if ((EUID != 0)); then
  echo "check-fresh: needs root (debootstrap, chroot, mounts)" >&2
  exit 2
fi

build=${OCRCORE_BUILD_DIR:-$root/build}
work=$build/fresh
sysroot=$work/root
tarball=$build/fresh-cache/bookworm-minbase.tar.gz
mirror=${OCRCORE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${OCRCORE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
start=$(date +%s)
log() { echo "check-fresh [$(($(date +%s) - start)) s]: $*"; }

"$root/scripts/setup-deps.sh" --fresh-check

# ---- mounts ---------------------------------------------------------------
mounted_under() { findmnt -rn -o TARGET | awk -v p="$1/" 'index($0, p) == 1' | sort -r; }
unmount_all() {
  local m
  for m in $(mounted_under "$sysroot"); do umount -l "$m" 2>/dev/null || true; done
}
# Never delete a root that still has host directories mounted into it.
remove_sysroot() {
  unmount_all
  if [[ -n "$(mounted_under "$sysroot")" ]]; then
    echo "check-fresh: $sysroot still has mounts; not deleting it" >&2
    exit 1
  fi
  rm -rf --one-file-system "$sysroot"
}
cleanup() {
  unmount_all
  if ((keep == 0)); then remove_sysroot; fi
}
trap cleanup EXIT

# ---- the minimal Debian 12 root -------------------------------------------
mkdir -p "$work" "$(dirname "$tarball")"
remove_sysroot
if [[ ! -s "$tarball" ]]; then
  log "downloading the Debian 12 minimal base system (cached in $tarball)"
  rm -rf "$work/tarball-work"
  debootstrap --variant=minbase --make-tarball="$tarball.tmp" bookworm "$work/tarball-work" \
    "$mirror" > "$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  mv "$tarball.tmp" "$tarball"
  rm -rf "$work/tarball-work"
fi
log "making a minimal Debian 12 root in $sysroot"
debootstrap --variant=minbase --unpack-tarball="$tarball" bookworm "$sysroot" "$mirror" \
  > "$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }

# What a freshly installed Debian 12 has configured: its mirrors (with
# updates and security) and name resolution. Check-Valid-Until is off because
# the mirror may be a dated snapshot, as on this project's machines.
cat > "$sysroot/etc/apt/sources.list" << EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
echo 'Acquire::Check-Valid-Until "false";' > "$sysroot/etc/apt/apt.conf.d/10snapshot-mirror"
cp -L /etc/resolv.conf "$sysroot/etc/resolv.conf"

mount -t proc proc "$sysroot/proc"
mount --rbind /dev "$sysroot/dev"
mount --make-rslave "$sysroot/dev"
mount --rbind /sys "$sysroot/sys"
mount --make-rslave "$sysroot/sys"

# ---- a clean clone of the commit -------------------------------------------
commit=$(git -C "$root" rev-parse HEAD)
if [[ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]]; then
  log "note: uncommitted changes in $root are not part of this check"
fi
mkdir -p "$sysroot/src"
git clone --quiet --no-hardlinks "$root" "$sysroot/src/ocrcore"
git -C "$sysroot/src/ocrcore" checkout --quiet --detach "$commit"
# The shared data set the tests read in place (../shared beside the clone),
# read-only, when the host has it.
if [[ -d "$root/../shared" ]]; then
  mkdir -p "$sysroot/src/shared"
  mount --bind "$root/../shared" "$sysroot/src/shared"
  mount -o remount,bind,ro "$sysroot/src/shared"
fi
log "clean clone of $commit in /src/ocrcore"

in_root() {
  chroot "$sysroot" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -euo pipefail -c "$1"
}
packages_before=$(in_root "dpkg-query -W -f='\${Package}\n' | sort")

# ---- 1. the README's demo command ------------------------------------------
log "1. scripts/demo.sh"
in_root "cd /src/ocrcore && scripts/demo.sh" > "$work/demo.out" 2> "$work/demo.err" ||
  { cat "$work/demo.out" "$work/demo.err" >&2; log "FAILED: the demo command"; exit 1; }
sed 's/^/  | /' "$work/demo.err" | grep -v '^  | \[' || true
samples=$(find "$root/models/samples" -name '*.png' | wc -l)
read_lines=$(grep -c $'\t' "$work/demo.out" || true)
if ((read_lines != samples)) || ! grep -q 'CER' "$work/demo.err"; then
  cat "$work/demo.out" >&2
  log "FAILED: the demo read $read_lines of $samples sample lines or printed no CER"
  exit 1
fi
packages_after=$(in_root "dpkg-query -W -f='\${Package}\n' | sort")
added=$(comm -13 <(echo "$packages_before") <(echo "$packages_after"))
log "the demo read all $samples sample lines; it installed $(echo "$added" | wc -l) packages:" \
  "$(echo "$added" | tr '\n' ' ')"

# ---- 2. Debian packages and an outside program -----------------------------
log "2. scripts/package.sh, apt-get install, an outside program against the package, the Python package"
in_root '
cd /src/ocrcore
scripts/package.sh
cd build-demo
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ./ocrcore_*.deb ./ocrcore-dev_*.deb > apt.log 2>&1 ||
  { cat apt.log; exit 1; }
dpkg-query -W -f="\${Package} \${Version}: \${Installed-Size} KiB installed, depends on \${Depends}\n" ocrcore ocrcore-dev
model=$(dpkg -L ocrcore | grep "\.ocrm$")
library=$(dpkg -L ocrcore | grep "libocrcore\.so\.[0-9]*\.[0-9]*\.[0-9]*$")
du -b "$library" /usr/bin/ocr-infer "$model"
echo "runtime installed (library + ocr-infer + default model): $(du -cb "$library" /usr/bin/ocr-infer "$model" | tail -1 | cut -f1) bytes"
echo "exported symbols: $(nm -D --defined-only "$library" | wc -l)"
# The installed tool, from PATH, with its installed default model.
ocr-infer --version
ocr-infer -q --format tsv /src/ocrcore/models/samples/000001.png
mkdir -p /tmp/outside && cd /tmp/outside
cp /src/ocrcore/tests/install/consumer.cpp /src/ocrcore/tests/install/CMakeLists.txt .
g++ -std=c++20 -O1 consumer.cpp -o consumer-pkgconfig $(pkg-config --cflags --libs ocrcore)
./consumer-pkgconfig "$model"
cmake -S . -B cmake-build -G Ninja > /dev/null && cmake --build cmake-build > /dev/null
./cmake-build/consumer "$model"
# The Python package by the README command, then its example from elsewhere.
/src/ocrcore/scripts/install-python.sh
dpkg-query -W -f="\${Package} \${Version}: depends on \${Depends}; recommends \${Recommends}\n" python3-ocrcore
python3 -c "import ocrcore; r = ocrcore.Recognizer(ocrcore.Model.load()); print(r.read(\"/src/ocrcore/models/samples/000001.png\"))"
python3 -m ocrcore.dask --workers 2 -q /src/ocrcore/models/samples -o /tmp/outside/dask.tsv
test "$(wc -l < /tmp/outside/dask.tsv)" -eq "$(ls /src/ocrcore/models/samples/*.png | wc -l | xargs expr 1 +)"
' 2>&1 | sed 's/^/  | /' || { log "FAILED: packaging or the outside program"; exit 1; }

if ((demo_only)); then
  log "passed (demo and package; tests not run: --demo-only)"
  exit 0
fi

# ---- 3. the README's test command -------------------------------------------
log "3. scripts/test.sh"
in_root "cd /src/ocrcore && scripts/test.sh" > "$work/test.log" 2>&1 ||
  { tail -60 "$work/test.log" >&2; log "FAILED: the test command (log: $work/test.log)"; exit 1; }
grep -E 'tests passed|Total Test time' "$work/test.log" | sed 's/^/  | /'
log "passed (demo, package, tests)"
