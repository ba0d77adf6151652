# shellcheck shell=bash
# Sourced by the benchmark scripts: helpers they all need, in one place.

# Median of numbers on stdin (one per line or separated by spaces); nan for none.
median() {
  tr -s ' \t' '\n' | sort -g |
    awk 'NF {a[++n]=$1} END {if (n == 0) print "nan"; else print (n%2 ? a[(n+1)/2] : (a[n/2]+a[n/2+1])/2)}'
}

# Writes LIST: the line images under DIR, sorted, repeated until there are at
# least MIN of them, so that a timed run lasts seconds, not a blink of a
# shared machine.
repeated_image_list() {  # DIR LIST MIN
  find "$1" -name '*.png' | sort > "$2.once"
  : > "$2"
  while (($(wc -l < "$2") < $3)); do cat "$2.once" >> "$2"; done
}

# Renders into DIR (unless done before) 1,000 scan-like lines of the test part
# of scripts/make-corpus.sh's corpus CORPUS (made there when missing), seed
# 31: the upright lines the whole-program benchmarks read. Needs $root, $build.
scan_test_lines() {  # DIR CORPUS
  [[ -f $1/.done ]] && return
  [[ -d $2/test ]] || "$root/scripts/make-corpus.sh" "$2"
  source "$root/scripts/scan-lines.sh"
  rm -rf "$1"
  "$build/tools/ocr-synth" -q --corpus "$2/test" --fonts "${scan_fonts[@]}" \
    -o "$1" --count 1000 --seed 31 "${scan_synth_options[@]}"
  touch "$1/.done"
}
