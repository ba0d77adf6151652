#!/usr/bin/env bash
# Makes the compact handwritten model (models/compact-handwritten.ocrm) from
# the bundled handwriting teacher with ocr-compress, in the run directories of
# the handwritten compression table, which it runs (TABLE=handwritten
# benchmarks/run_compress_table.sh: runs finished before are kept, an
# interrupted one resumes): teacher-student learning with the LSTM-guided
# loss at the rate the table's sweep chose, Tucker-2 of that student, then
# fine-tuning. Of the two fine-tunings the table makes (the paper's, with the
# LSTM-guided loss; and CTC with the DBLSTM unfrozen) the one with the lower
# validation CER is bundled (their recorded validation CER; the test sets
# are scored, never used to choose). It runs in int8 where the CPU has AVX-512
# VNNI, as every model does by default.
#
#   scripts/train-compact-handwritten.sh
#   BUNDLE=0 scripts/train-compact-handwritten.sh   # choose, do not copy to models/
# Environment: as benchmarks/run_compress_table.sh (WORK, TEACHER_CACHE_DIR, ...).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OCRCORE_BUILD_DIR:-$root/build}
work=${WORK:-$root/runs/compress-table-handwritten}

TABLE=handwritten WORK=$work "$root/benchmarks/run_compress_table.sh"

val_cer() { "$build/tools/ocr-infer" --info -m "$1" | awk '/^training.validation_cer:/ {print $2}'; }
paper=$work/lstm-guided+tucker+ft/student-finetune.ocrm
ctc=$work/lstm-guided+tucker+ctc-ft/student-finetune.ocrm
for m in "$paper" "$ctc"; do
  [[ -f $m ]] || { echo "train-compact-handwritten: $m missing (the table did not finish)" >&2; exit 1; }
done
paper_cer=$(val_cer "$paper") ctc_cer=$(val_cer "$ctc")
echo "validation CER: LSTM-guided fine-tuning $paper_cer, CTC fine-tuning $ctc_cer" >&2
final=$paper
if awk -v a="$ctc_cer" -v b="$paper_cer" 'BEGIN { exit !(a < b) }'; then final=$ctc; fi
if [[ ${BUNDLE:-1} == 0 ]]; then
  echo "chosen (BUNDLE=0: not copied to models/): $final" >&2
  exit 0
fi
cp "$final" "$root/models/compact-handwritten.ocrm.tmp"
mv "$root/models/compact-handwritten.ocrm.tmp" "$root/models/compact-handwritten.ocrm"
echo "bundled: $final" >&2
