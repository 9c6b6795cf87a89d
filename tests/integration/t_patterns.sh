#!/usr/bin/env bash
# The jobs of the streaming-patterns tutorial as `make demo-patterns` runs
# them (tests/lib/patterns.sh), on less input: orders_analytics.yaml
# (MariaDB), leaderboard.yaml and webviews.yaml (Redis), alerts.yaml (Kafka
# and PostgreSQL), each on `eddy gen` events with disorder (and late ones
# but for alerts) in a one-partition topic, every sink and the late and
# filter counts compared with tests/tools/window_oracle.py.
# Every verdict must be MATCH; then a dump with one value changed must give
# MISMATCH (the comparison can fail), and the demo's RESULT logic too.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
export EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
. tests/lib/patterns.sh
export PAT_OUT=$EDDY_ROOT/tests/out/patterns PAT_RUN="t$(date +%s)"
export EDDY_PREFIX="t_pat${PAT_RUN}_"
rm -rf "$PAT_OUT"; mkdir -p "$PAT_OUT"
: > "$PAT_OUT/verdicts"

# 4,000 orders at 20/s (200 s: 4 one-minute windows), 4,000 reviews at 10/s
# (400 s: 11 hopping windows), 4,000 views at 20/s (4 minutes × 13 countries),
# 12,000 alerts orders at 50/s (4 minutes: 4 bursts).
pat_check_job orders_analytics 6 pat_orders_analytics 4000 20
pat_check_job leaderboard 6 pat_leaderboard 4000 10
pat_check_job webviews 6 pat_webviews 4000 20
pat_check_job alerts 7 pat_alerts 12000 50
check "alerts: the oracle has highvolume and critical alerts to find" python3 -c 'import json, sys
a = json.load(open(sys.argv[1]))["alerts"]; c = json.load(open(sys.argv[2]))["records"]
sys.exit(not (len(a) >= 3 and len(c) >= 20))' "$PAT_OUT/alerts.oracle.json" "$PAT_OUT/critical.oracle.json"
check "orders_analytics: the output shows the busiest window" \
    grep -q "the busiest window" "$PAT_OUT/orders_analytics.out"
check "webviews: the output shows a top 5" grep -qE '^ +/[a-z/0-9]* +[0-9]+$' "$PAT_OUT/webviews.out"

# The checks can fail: one order too many in one MariaDB row, one member's
# score changed in Redis.
awk -F'\t' -v OFS='\t' 'NR == 1 {$4 = $4 + 1} {print}' "$PAT_OUT/orders_analytics.tsv" > "$PAT_OUT/bad.tsv"
check "a MariaDB row off by one order is a MISMATCH" bash -c 'test -s "$0/bad.tsv" && ! python3 tests/tools/window_check.py sql \
    "$0/orders_analytics.oracle.json" "$0/bad.tsv" --values orders,revenue,biggest' "$PAT_OUT"
awk -F'\t' -v OFS='\t' 'NR == 1 {$3 = $3 + 1} {print}' "$PAT_OUT/webviews.tsv" > "$PAT_OUT/bad_top.tsv"
check "a Redis score off by one is a MISMATCH" bash -c 'test -s "$0/bad_top.tsv" && ! python3 tests/tools/window_check.py zsets \
    "$0/webviews.oracle.json" "$0/bad_top.tsv"' "$PAT_OUT"
check_eq "pat_verdict records a failing check as MISMATCH and returns 1" "1 MISMATCH: no" \
    "$(PAT_OUT=$PAT_OUT/neg; mkdir -p "$PAT_OUT"; pat_verdict x echo no > /dev/null; echo "$? $(cut -f2 "$PAT_OUT/verdicts")")"
exit 0
