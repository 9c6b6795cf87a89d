#!/usr/bin/env bash
# `make demo-serve` as it runs (scripts/demo-serve, its steps in
# tests/lib/serve.sh), on less input: 3,000 tutorial messages (150 s of
# event time, 20 s buckets, retention 1m) into the bucket counter and 3,000
# reviews into the leaderboard, both with their HTTP endpoints on; while
# they run, /v1/sql, /a/, /c/, /metrics (promtool), `eddy top --once` and
# /v1/leaderboard are read and compared with tests/tools/window_oracle.py
# over the same events. Every verdict must be MATCH and the demo must say
# RESULT: MATCH; then the comparisons must fail on a result off by one
# (a bucket count, a per-server total, a score shown by eddy top), and the
# demo must say RESULT: MISMATCH and exit 1 when a check fails (a retention
# longer than the input keeps every bucket: "retention removed nothing").
# Bad input and limits: 2,000 bad and good requests from 16 threads
# (tests/tools/http_hammer.py) while the bucket counter reads nine tenths of
# its input, every answer as it should be, and the counts exact afterwards
# (t_sql.sh does the same on its own pipeline).
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
export EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
export EDDY_HTTP_PORT=${EDDY_HTTP_PORT:-19464}
B=$EDDY_ROOT/tests/out/serve
rm -rf "$B"; mkdir -p "$B"
RUN="t$(date +%s)"

# demo OUT RETENTION REQUESTS: the demo on 3,000 messages and 3,000 reviews; its output in OUT.out.
demo() {
    SERVE_OUT=$1 SERVE_MESSAGES=3000 SERVE_REVIEWS=3000 SERVE_RETENTION=$2 SERVE_REQUESTS=$3 \
        EDDY_PREFIX="t_serve${RUN}_" scripts/demo-serve > "$1.out" 2>&1
}
demo "$B/ok" 1m 2000
rc=$?
check_eq "demo-serve: exit 0" 0 "$rc"
check "demo-serve: RESULT: MATCH" grep -q "^RESULT: MATCH — all 1[0-9] checks agree" "$B/ok.out"
n=0
while IFS=$'\t' read -r name verdict; do
    n=$((n + 1))
    case $verdict in
        MATCH*) tap_ok "$name: $verdict" ;;
        *) tap_fail "$name" "$verdict" "$(tail -n 20 "$B/ok.out")" ;;
    esac
done < "$B/ok/verdicts"
check "demo-serve: 19 checks ran ($n)" test "$n" -eq 19
check "the output shows the per-server totals from /v1/sql" grep -qE '^ +Ωmega +[0-9]+ +[0-9]+$' "$B/ok.out"
check "the output shows an eddy top snapshot" grep -qP '^ +1\t[0-9]+\t[0-9]+$' "$B/ok.out"
check "2000 requests answered, a 4xx for each bad one" grep -qE "bad and concurrent HTTP requests +MATCH \\(2000 requests" "$B/ok.out"
check "the output gives both dashboards' addresses" \
    grep -q "dashboards: http://127.0.0.1:$EDDY_HTTP_PORT/ .* http://127.0.0.1:$((EDDY_HTTP_PORT + 1))/" "$B/ok.out"
check "retention kept fewer buckets than were written" grep -qE 'retention removed the old buckets +MATCH' "$B/ok.out"
check "no sanitizer or crash report in the logs" bash -c "! grep -qE 'runtime error|AddressSanitizer|Segmentation' '$B'/ok/*.log"

# The comparisons can fail: one count off by one in what /v1/sql returned,
# in a per-server total, in a score `eddy top` printed.
. tests/lib/serve.sh
O=$B/ok
awk -F'\t' -v OFS='\t' 'NR == 1 {$5 = $5 + 1} {print}' "$O/buckets.tsv" > "$B/bad_buckets.tsv"
check "a bucket off by one is a MISMATCH" bash -c 'test -s "$1" && ! python3 tests/tools/window_check.py sql \
    "$0/buckets.oracle.kept.json" "$1" --values count' "$O" "$B/bad_buckets.tsv"
check "a bucket missing is a MISMATCH" bash -c 'sed 1d "$0/buckets.tsv" > "$1" && ! python3 tests/tools/window_check.py sql \
    "$0/buckets.oracle.kept.json" "$1" --values count' "$O" "$B/short_buckets.tsv"
awk -F'\t' -v OFS='\t' 'NR == 1 {$2 = $2 - 1} {print}' "$O/per_server.tsv" > "$B/bad_totals.tsv"
check_eq "a per-server total off by one is a MISMATCH" MISMATCH \
    "$(srv_check_totals "$O/buckets.oracle.kept.json" "$B/bad_totals.tsv" | cut -d: -f1)"
awk -F'\t' -v OFS='\t' 'NR == 2 {$2 = $2 + 1} {print}' "$O/top.txt" > "$B/bad_top.txt"
check_eq "a score off by one in eddy top's snapshot is a MISMATCH" MISMATCH \
    "$(srv_check_top "$O/leaderboard.oracle.json" "$B/bad_top.txt" | cut -d: -f1)"
check_eq "the unchanged snapshot is a MATCH" MATCH \
    "$(srv_check_top "$O/leaderboard.oracle.json" "$O/top.txt" | cut -c1-5)"

# The demo's RESULT when a check fails: retention 1h keeps every bucket.
RUN="${RUN}b"
demo "$B/keep" 1h 0
rc=$?
check_eq "demo-serve with a failing check: exit 1" 1 "$rc"
check "demo-serve with a failing check: RESULT: MISMATCH — 1 of 18, naming it" bash -c \
    'grep -q "^RESULT: MISMATCH — 1 of 18 checks disagree" "$0" && grep -q "retention removed nothing" "$0"' "$B/keep.out"
pat_redis_clean "t_serve${RUN%b}_*"; pat_redis_clean "t_serve${RUN}_*"
[ "$TAP_FAILED" -eq 0 ]
