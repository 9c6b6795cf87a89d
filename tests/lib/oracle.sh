# shellcheck shell=bash
# Reference ("oracle") results for integration tests, computed with coreutils.
# Source it:  . tests/lib/oracle.sh
#
#   oracle_wordcount FILE...      "word count" lines, sorted by word (C byte order)
#   oracle_wordcount_by_doc DIR   "doc word count" lines for each regular file
#                                 directly in DIR (doc = basename), sorted by doc
#                                 then word (C byte order)
#
# A word is a maximal run of [A-Za-z0-9] and bytes 0x80-0xFF (so UTF-8 letters
# stay inside words), lowercased for ASCII only. Equivalent to
#   cat FILES | LC_ALL=C tr -cs 'A-Za-z0-9\200-\377' '\n' | LC_ALL=C tr 'A-Z' 'a-z' \
#     | grep -v '^$' | LC_ALL=C sort | LC_ALL=C uniq -c | awk '{print $2, $1}'
# with every step in the C locale (grep in a UTF-8 locale would call input
# with invalid UTF-8 "binary"), and no failure status when there are no words.
# Safe to source under `set -euo pipefail`; changes no shell options.

# shellcheck disable=SC2018,SC2019 # ASCII-only lowercasing is the spec
oracle_wordcount() {
  cat -- "$@" |
    LC_ALL=C tr -cs 'A-Za-z0-9\200-\377' '\n' |
    LC_ALL=C tr 'A-Z' 'a-z' |
    { LC_ALL=C grep -av '^$' || true; } |
    LC_ALL=C sort |
    LC_ALL=C uniq -c |
    LC_ALL=C awk '{print $2, $1}'
}

oracle_wordcount_by_doc() {
  local dir=${1:?usage: oracle_wordcount_by_doc DIR} doc
  [[ -d $dir ]] || { echo "oracle_wordcount_by_doc: $dir is not a directory" >&2; return 1; }
  while IFS= read -r doc; do
    oracle_wordcount "$dir/$doc" | DOC=$doc LC_ALL=C awk '{print ENVIRON["DOC"], $0}'
  done < <(find "$dir" -mindepth 1 -maxdepth 1 -type f -printf '%f\n' | LC_ALL=C sort)
}
