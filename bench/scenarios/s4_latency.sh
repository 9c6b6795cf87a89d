#!/usr/bin/env bash
# S4 — end-to-end latency at fixed load.
#
#   bench/scenarios/s4_latency.sh smoke|full
#
# A generator paced at 25 %, 50 % and 90 % of eddy's maximum rate feeds
# bench/configs/s4_latency.yaml (10k keys, count + sum per key → MariaDB and
# Redis, flush_interval 500 ms). eddy's --stats reports latency_ms
# {p50, p99, p999, count}: per event, from its generator timestamp to the
# moment the flush holding it was acked by every sink. Each load level runs
# for DURATION seconds (events = rate × DURATION); the reported percentiles
# are the medians over REPS runs, levels interleaved.
#
# The maximum rate is S3's eddy rate from the same bench run (the last S3
# result in BENCH_JSONL), as the issue asks; if there is none, a quick
# unpaced generator run into the same sinks measures it first (noted in the
# results). S4_MAX_EPS overrides both.
#
# Goal: p99 <= flush_interval + 20 ms (520 ms) at 50 % load.
# Caveat: the generator stamps an event when it emits it; if eddy fell behind
# the pace, the time an event waited to be emitted would not be counted. Each
# run's achieved rate is therefore checked against the target and reported.
#
# Environment: BENCH_JSONL, BENCH_DATA (writes s4_latency.dat:
# load_pct p50 p99 p999), EDDY; S4_DURATION (s), S4_REPS, S4_MAX_EPS.
set -euo pipefail

MODE=${1:-smoke}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
: "${BENCH_JSONL:?BENCH_JSONL must name the results file}"
: "${BENCH_DATA:?BENCH_DATA must name the chart data directory}"
mkdir -p "$BENCH_DATA"
eval "$(scripts/services env)"
EDDY=${EDDY:-$ROOT/bin/eddy}

case $MODE in
smoke) DURATION=${S4_DURATION:-3} REPS=${S4_REPS:-1} MAXPROBE=500000 ;;
full) DURATION=${S4_DURATION:-15} REPS=${S4_REPS:-3} MAXPROBE=10000000 ;;
*) echo "usage: $0 smoke|full" >&2; exit 64 ;;
esac
FLUSH_MS=500 # runtime.flush_interval in bench/configs/s4_latency.yaml
GOAL_MS=$((FLUSH_MS + 20))
LOADS=(25 50 90)

say() { printf '[s4] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) print "null"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mysql_q() { mariadb -h "$EDDY_MYSQL_HOST" -P "$EDDY_MYSQL_PORT" -u "$EDDY_MYSQL_USER" "$EDDY_MYSQL_DB" -N -B -e "$1"; }
redis_q() { redis-cli -h "$EDDY_REDIS_HOST" -p "$EDDY_REDIS_PORT" --raw "$@"; }

[[ -x $EDDY ]] || die "$EDDY not found; run make"
for t in jq mariadb redis-cli; do command -v "$t" >/dev/null || die "$t not found"; done

RUN=$(date +%s)_$$
WORK=$ROOT/build/bench/s4/$RUN
mkdir -p "$WORK"
TABLES=() ZSETS=()
cleanup() {
    local t
    for t in "${TABLES[@]}"; do mysql_q "DROP TABLE IF EXISTS \`$t\`" 2>/dev/null || true; done
    for t in "${ZSETS[@]}"; do redis_q DEL "$t" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# run_eddy NAME EVENTS RATE: one run; prints "eps active_ms p50 p99 p999 count".
run_eddy() {
    local name=$1 events=$2 rate=$3 st=$WORK/$1.json rc=0
    local table=bench_s4_${RUN}_$name zset=bench:s4:$RUN:$name
    TABLES+=("$table")
    ZSETS+=("$zset")
    S4_EVENTS=$events S4_RATE=$rate S4_TABLE=$table S4_ZSET=$zset \
        timeout 900 "$EDDY" run -c bench/configs/s4_latency.yaml --exit-when-idle 2s --stats "$st" \
        2>"$WORK/$name.log" || rc=$?
    ((rc == 0)) || { tail -20 "$WORK/$name.log" >&2; die "eddy exited $rc ($name)"; }
    local recs n
    recs=$(jq -r .sources.load.records "$st")
    [[ $recs == "$events" ]] || die "eddy generated $recs records, expected $events ($st)"
    n=$(mysql_q "SELECT SUM(n) FROM \`$table\`") || die "cannot query $table"
    [[ $n == "$events" ]] || die "MariaDB SUM(n) = $n, expected $events ($table)"
    mysql_q "DROP TABLE IF EXISTS \`$table\`" || true
    redis_q DEL "$zset" >/dev/null || true
    jq -r --argjson n "$events" '[($n / (.active_ms / 1000) | round), .active_ms,
        .latency_ms.p50 // "null", .latency_ms.p99 // "null", .latency_ms.p999 // "null",
        .latency_ms.count // 0] | map(tostring) | join(" ")' "$st"
}

# ------------------------------------------------------- the maximum rate --
MAX_SRC=
if [[ -n ${S4_MAX_EPS:-} ]]; then
    MAX=$S4_MAX_EPS MAX_SRC="S4_MAX_EPS"
elif [[ -s $BENCH_JSONL ]] && MAX=$(jq -rs '[.[] | select(.scenario == "S3" and (.variant | test("queued") | not))
        | .eddy_eps] | last // empty' "$BENCH_JSONL" 2>/dev/null) && [[ -n $MAX && $MAX != null ]]; then
    MAX_SRC="S3's eddy rate in this run"
else
    read -r MAX _ < <(run_eddy maxprobe "$MAXPROBE" 0)
    MAX_SRC="quick unpaced generator run into the same sinks ($MAXPROBE events)"
fi
MAX=$(printf '%.0f' "$MAX")
((MAX > 0)) || die "no maximum rate ($MAX_SRC gave $MAX)"
say "$MODE: maximum rate $MAX events/s ($MAX_SRC); ${DURATION}s per level, $REPS repetition(s)"

# ----------------------------------------------------------------- runs ----
declare -A P50 P99 P999 EPS CNT
for ((rep = 1; rep <= REPS; rep++)); do
    for load in "${LOADS[@]}"; do
        rate=$((MAX * load / 100))
        events=$((rate * DURATION))
        read -r eps active p50 p99 p999 cnt < <(run_eddy "l${load}_$rep" "$events" "$rate")
        [[ $p99 != null ]] || die "eddy's --stats has no latency_ms (needs the latency commit; rebuild with make)"
        P50[$load]+="$p50 " P99[$load]+="$p99 " P999[$load]+="$p999 " EPS[$load]+="$eps " CNT[$load]+="$cnt "
        say "rep $rep load $load% ($rate/s): achieved $eps/s, latency p50 $p50 p99 $p99 p99.9 $p999 ms"
    done
done

# -------------------------------------------------------------- results ----
{
    echo "# S4 end-to-end latency (generator ts -> flush acked by every sink), $MODE"
    echo "# max rate $MAX events/s ($MAX_SRC), flush_interval ${FLUSH_MS} ms"
    echo "# load_pct p50 p99 p999"
} >"$BENCH_DATA/s4_latency.dat"
for load in "${LOADS[@]}"; do
    rate=$((MAX * load / 100))
    m50=$(median <<<"${P50[$load]}") m99=$(median <<<"${P99[$load]}") m999=$(median <<<"${P999[$load]}")
    meps=$(median <<<"${EPS[$load]}")
    echo "$load $m50 $m99 $m999" >>"$BENCH_DATA/s4_latency.dat"
    # A run keeps pace if it finished within ~flush_interval + 1 s of the paced duration.
    behind=$(awk -v e="$meps" -v r="$rate" -v d="$DURATION" 'BEGIN { print (e < r * d / (d + 1.5)) ? 1 : 0 }')
    goal=null goal_text="report only"
    if ((load == 50)); then
        goal=$( ((m99 <= GOAL_MS)) && echo true || echo false)
        goal_text="p99 <= flush_interval + 20 ms (${GOAL_MS} ms) at 50 % load"
    fi
    notes="target $rate events/s for ${DURATION}s (10k keys, MariaDB + Redis, flush_interval ${FLUSH_MS} ms); max rate $MAX from $MAX_SRC; $MODE, median of $REPS; p99 per rep: ${P99[$load]% }; achieved eps per rep: ${EPS[$load]% }"
    ((behind)) && notes+="; WARNING: eddy did not keep the pace (achieved $meps/s), latency excludes the generator's backlog"
    jq -nc --arg variant "${load}% load" --argjson eddy "$meps" --arg baseline "max eddy rate" \
        --argjson base "$MAX" --argjson p50 "$m50" --argjson p99 "$m99" --argjson p999 "$m999" \
        --arg goal "$goal_text" --argjson goal_met "$goal" --arg notes "$notes" '
        {scenario: "S4", variant: $variant, eddy_eps: $eddy, baseline: $baseline,
         baseline_eps: $base, ratio: (($eddy / $base * 1000 | round) / 1000),
         p50_ms: $p50, p99_ms: $p99, p999_ms: $p999, goal: $goal, goal_met: $goal_met,
         notes: $notes}' >>"$BENCH_JSONL"
done
say "done: $(grep -v '^#' "$BENCH_DATA/s4_latency.dat" | tr '\n' ';')"
