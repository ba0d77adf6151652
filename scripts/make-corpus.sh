#!/usr/bin/env bash
# Writes the English text corpus ocr-synth renders training lines from, as
# plain prose in OUT/{train,val,test}/ (default runs/corpus): technical prose
# from Debian's perl-doc (Perl's manual: programming, text processing,
# portability, history; POD markup and code examples removed) and the licence
# texts of /usr/share/common-licenses. Files are split whole, every tenth to
# val/ and the next to test/, so rendered validation and test lines come from
# text training never saw. Deterministic: the same packages give the same
# files.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/runs/corpus}
pod_dir=$(find /usr/share/perl -maxdepth 2 -type d -name pod 2> /dev/null | sort | head -1)
if [[ -z $pod_dir ]]; then
  echo "make-corpus: no Perl manual found (install perl-doc: scripts/setup-deps.sh --training-data)" >&2
  exit 1
fi
rm -rf "$out.tmp"
mkdir -p "$out.tmp"/{train,val,test}

# POD to prose: paragraphs of text only (no commands, no indented code), with
# formatting codes reduced to their text and index entries dropped.
pod_to_text() {
  perl -e '
    local $/ = "";
    while (my $p = <STDIN>) {
      next if $p =~ /^[\s=]/;
      for (1 .. 4) {
        $p =~ s/X<+[^<>]*>+//g;
        $p =~ s/E<gt>/>/g; $p =~ s/E<lt>/</g; $p =~ s/E<verbar>/|/g; $p =~ s/E<sol>/\//g;
        $p =~ s/E<[^<>]*>//g;
        $p =~ s/L<([^<>|]*)\|[^<>]*>/$1/g;
        $p =~ s/[BICFSLZ]<<+\s+(.*?)\s+>>+/$1/gs;
        $p =~ s/[BICFSLZ]<([^<>]*)>/$1/g;
      }
      $p =~ s/\s+/ /g;
      print "$p\n" if $p =~ /[a-z]{3}/;
    }'
}

i=0
while IFS= read -r -d '' file; do
  case $((i % 10)) in 0) part=val ;; 1) part=test ;; *) part=train ;; esac
  name=$(basename "$file")
  case "$file" in
    *.pod) pod_to_text < "$file" > "$out.tmp/$part/$name.txt" ;;
    *) tr -s ' \t' ' ' < "$file" > "$out.tmp/$part/$name.txt" ;;
  esac
  i=$((i + 1))
done < <(find "$pod_dir" /usr/share/common-licenses -type f \( -name '*.pod' -o -path '*common-licenses*' \) -print0 | sort -z)
rm -rf "$out"
mv "$out.tmp" "$out"
for part in train val test; do
  echo "make-corpus: $part: $(ls "$out/$part" | wc -l) files, $(cat "$out/$part"/* | wc -w) words"
done
