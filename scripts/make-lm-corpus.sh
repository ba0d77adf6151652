#!/usr/bin/env bash
# Writes the text the character language model learns from and the text its
# weight is tuned on, as plain prose, one paragraph per line:
#
#   OUT/lm/    the training part of scripts/make-corpus.sh (Perl's manual and
#              the licence texts) plus the prose of Python's documentation
#              (python3.11-doc: tutorial, library reference, HOWTOs): broader
#              technical English than the networks were trained on.
#   OUT/tune/  the prose of R's manuals (r-doc-info: statistics, data,
#              programming, with formulas in the text): a genre neither the
#              networks nor the language model learned from. `ocr-lm tune`
#              chooses each model's weight on lines rendered from it, so the
#              weight is set for text the language model does not know well,
#              as it will be on a user's pages.
#
#   scripts/make-lm-corpus.sh [OUT]      # default runs/lm-corpus
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/runs/lm-corpus}
python_html=/usr/share/doc/python3.11/html
r_info=(/usr/share/info/R-*.info*.gz)
if [[ ! -d $python_html || ! -f ${r_info[0]} ]]; then
  echo "make-lm-corpus: Python's or R's manuals are missing (scripts/setup-deps.sh --training-data)" >&2
  exit 1
fi
rm -rf "$out.tmp"
mkdir -p "$out.tmp"/{lm,tune}
"$root/scripts/make-corpus.sh" "$out.tmp/base" > /dev/null
mv "$out.tmp/base/train"/* "$out.tmp/lm/"
rm -rf "$out.tmp/base"

# Typographic characters to the ASCII the models read (the alphabet is
# printable ASCII); paragraphs to one line each.
ascii='
  s/[\x{2018}\x{2019}\x{201a}\x{201b}\x{2032}]/\x27/g; s/[\x{201c}\x{201d}\x{201e}\x{2033}]/"/g;
  s/[\x{2010}\x{2011}\x{2012}\x{2013}\x{2212}]/-/g; s/\x{2014}/--/g; s/\x{2026}/.../g;
  s/\x{d7}/x/g; s/[\x{a0}\x{2009}\x{202f}]/ /g; s/\x{b6}//g;
  s/\s+/ /g; s/^ //; s/ $//;'

# HTML to prose: the text of <p> paragraphs (code, scripts and styles
# dropped), tags removed, entities decoded.
html_to_prose() {
  perl -CSD -e '
    local $/; my $html = <STDIN>;
    $html =~ s/<(script|style|pre)\b.*?<\/\1>//gis;
    while ($html =~ /<p\b[^>]*>(.*?)<\/p>/gis) {
      $_ = $1;
      s/<[^>]*>//g;
      s/&nbsp;/ /g; s/&lt;/</g; s/&gt;/>/g; s/&quot;/"/g; s/&#(\d+);/chr($1)/ge;
      s/&#x([0-9a-f]+);/chr(hex($1))/gie; s/&amp;/&/g; s/&[a-z]+;/ /g;
      '"$ascii"'
      print "$_\n" if /[a-z]{3}.*[a-z]{3}/;
    }'
}

# Info manual to prose: body paragraphs only (no node headers, menus, index
# entries, titles, underlines or indented examples).
info_to_prose() {
  perl -CSD -e '
    local $/ = "";
    while (<STDIN>) {
      s/^\x1f.*$//mg;
      s/^\s+//; s/\*[Nn]ote ([^:]+)::/$1/g;
      next if /^(\* |File: |Tag Table|INFO-DIR-SECTION|START-INFO-DIR-ENTRY|This is \S+\.info)/ ||
        /^[=*.-]{3,}$/m || /^ {3,}/m;
      '"$ascii"'
      print "$_\n" if /[a-z]{3}.*[a-z]{3}/ && length($_) > 60;
    }'
}

find "$python_html" -name '*.html' -not -path '*/_static/*' -print0 | sort -z |
  while IFS= read -r -d '' file; do html_to_prose < "$file"; done > "$out.tmp/lm/python-docs.txt"
for file in "${r_info[@]}"; do zcat "$file" | info_to_prose; done > "$out.tmp/tune/r-manuals.txt"
rm -rf "$out"
mv "$out.tmp" "$out"
for part in lm tune; do
  echo "make-lm-corpus: $part: $(ls "$out/$part" | wc -l) files, $(cat "$out/$part"/* | wc -w) words"
done
