#!/usr/bin/env bash
# S3 — Kafka end to end.
#
#   bench/scenarios/s3_kafka.sh smoke|full
#
# A topic with 8 partitions is filled once with N JSON order events
# (bench/baselines/s3_produce.c; ~148 bytes each, key = order_id, 10k
# products). Then, interleaved, REPS times each:
#   raw    bench/baselines/s3_consume.c: librdkafka's high-level consumer, a
#          fresh group, reads all N messages and does nothing else;
#   eddy   bench/configs/s3_kafka.yaml with a fresh consumer group: revenue per
#          product into a Redis sorted set (ZINCRBY) and count/sum per product
#          into MariaDB (upsert), alerts `revenue >= T` to a per-run topic;
#          --exit-when-idle 2s; eddy_eps = records / (active_ms / 1000);
#   kstreams  bench/peers/kstreams: the same aggregation as a Kafka Streams
#          application (fresh application.id), rate = N / (start() → committed
#          offsets of its group at the end of the input and repartition topics).
# In full mode a fourth run per repetition, eddy with the Kafka property
# queued.min.messages=1000000 (librdkafka's default is 100000), shows how
# much of eddy's gap to the raw rate is the consumer's prefetch (see notes).
#
# Every eddy run is checked: records == N, MariaDB SUM(orders) == N and
# SUM(revenue) == the generator's sum of amounts, the Redis sorted set's scores
# add up to the same sum over the same number of products, and the alert topic
# holds one alert per product whose revenue reached T. The Kafka Streams
# store must hold N orders too. Any mismatch or crash exits 1.
#
# Environment: BENCH_JSONL (results, one JSON object per line), BENCH_DATA
# (s3_rates.dat), EDDY (default bin/eddy); S3_EVENTS overrides N in full mode
# (default 2000000), S3_REPS the repetitions (default 3 in full, 1 in smoke).
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
smoke) N=20000 REPS=${S3_REPS:-1} TUNED=0 ;;
full) N=${S3_EVENTS:-2000000} REPS=${S3_REPS:-3} TUNED=1 ;;
*) echo "usage: $0 smoke|full" >&2; exit 64 ;;
esac
PRODUCTS=10000
# Mean revenue per product × 1.1, plus half a cent so no product's exact total
# (a whole number of cents) can sit on the threshold: a few % of products alert.
THRESHOLD=$(awk -v n="$N" -v p=$PRODUCTS 'BEGIN { printf "%d.005", 1.1 * n * 250.5 / p }')

say() { printf '[s3] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) print "null"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mysql_q() { mariadb -h "$EDDY_MYSQL_HOST" -P "$EDDY_MYSQL_PORT" -u "$EDDY_MYSQL_USER" "$EDDY_MYSQL_DB" -N -B -e "$1"; }
redis_q() { redis-cli -h "$EDDY_REDIS_HOST" -p "$EDDY_REDIS_PORT" --raw "$@"; }

[[ -x $EDDY ]] || die "$EDDY not found; run make"
for t in gcc kcat jq mariadb redis-cli java mvn; do
    command -v "$t" >/dev/null || die "$t not found (scripts/deps installs it)"
done

# ---------------------------------------------------------------- build ----
BIN=$ROOT/build/bench
mkdir -p "$BIN"
for b in s3_produce s3_consume; do
    if [[ ! -x $BIN/$b || bench/baselines/$b.c -nt $BIN/$b ]]; then
        gcc -O2 -Wall -Wextra -o "$BIN/$b" "bench/baselines/$b.c" -lrdkafka || die "cannot build $b"
    fi
done
JAR=$BIN/kstreams/kstreams-peer.jar
if [[ ! -f $JAR || -n $(find bench/peers/kstreams -newer "$JAR" -type f 2>/dev/null) ]]; then
    say "building the Kafka Streams peer (mvn package)"
    (cd bench/peers/kstreams && mvn -q -B -Dstyle.color=never package) >&2 || die "mvn package failed"
fi

# ------------------------------------------------------------ the input ----
RUN=$(date +%s)-$$
SQLRUN=${RUN//-/_}
TOPIC_PREFIX=bench.s3.$RUN
TOPIC=$TOPIC_PREFIX.orders
WORK=$BIN/s3/$RUN
mkdir -p "$WORK"
TABLES=() ZSETS=()
cleanup() {
    local t
    for t in "${TABLES[@]}"; do mysql_q "DROP TABLE IF EXISTS \`$t\`" 2>/dev/null || true; done
    for t in "${ZSETS[@]}"; do redis_q DEL "$t" >/dev/null 2>&1 || true; done
    # TopicCommand takes a regex: every topic of this run (input, alerts).
    scripts/kafka-topics delete "bench\\.s3\\.$RUN\\..*" >/dev/null 2>&1 || true
    rm -rf "$WORK/ks-state"
}
trap cleanup EXIT

say "$MODE: $N events, $PRODUCTS products, $REPS repetition(s), alert threshold $THRESHOLD"
scripts/kafka-topics create "$TOPIC" 8 >/dev/null 2>&1 || die "cannot create topic $TOPIC"
"$BIN/s3_produce" "$EDDY_KAFKA" "$TOPIC" "$N" "$PRODUCTS" 7 "$THRESHOLD" >"$WORK/gen.json" ||
    die "the producer failed"
GEN_CENTS=$(jq -r .amount_cents "$WORK/gen.json")
GEN_PRODUCTS=$(jq -r .products "$WORK/gen.json")
GEN_ALERTS=$(jq -r .alert_keys "$WORK/gen.json")
say "produced: $(cat "$WORK/gen.json")"

# ----------------------------------------------------------------- runs ----
RAW=() EDDY_EPS=() EDDY_CPU=() EDDY_RSS=() TUNED_EPS=() KS=() KS_STARTUP=()

run_raw() { # REP
    local out=$WORK/raw.$1.json
    timeout 600 "$BIN/s3_consume" "$EDDY_KAFKA" "$TOPIC" "$N" "bench-s3-raw-$RUN-$1" 60 >"$out" ||
        die "raw consumer failed (rep $1)"
    RAW+=("$(jq -r .eps "$out")")
    say "rep $1 raw librdkafka: $(jq -r .eps "$out") msgs/s"
}

# run_eddy REP LABEL QMIN: one eddy run, checked against the generator.
run_eddy() {
    local rep=$1 label=$2 qmin=$3 st=$WORK/eddy.$2.$1.json tm=$WORK/eddy.$2.$1.time
    local table=bench_s3_${SQLRUN}_${label}_$rep zset=bench:s3:$RUN:$label:$rep
    local alerts=$TOPIC_PREFIX.alerts.$label.$rep
    TABLES+=("$table")
    ZSETS+=("$zset")
    local rc=0
    S3_TOPIC=$TOPIC S3_GROUP=bench-s3-eddy-$RUN-$label-$rep S3_TABLE=$table S3_ZSET=$zset \
        S3_ALERT_TOPIC=$alerts S3_THRESHOLD=$THRESHOLD S3_QMIN=$qmin \
        timeout 900 /usr/bin/time -f '%e %U %S %M' -o "$tm" \
        "$EDDY" run -c bench/configs/s3_kafka.yaml --exit-when-idle 2s --stats "$st" \
        2>"$WORK/eddy.$label.$rep.log" || rc=$?
    ((rc == 0)) || { tail -20 "$WORK/eddy.$label.$rep.log" >&2; die "eddy exited $rc (rep $rep, $label)"; }
    local recs active
    recs=$(jq -r .sources.orders.records "$st")
    active=$(jq -r .active_ms "$st")
    [[ $recs == "$N" ]] || die "eddy read $recs records, expected $N (rep $rep, $label; $st)"
    ((active > 0)) || die "eddy reported active_ms=$active ($st)"

    # Correctness: MariaDB, Redis, alerts against the generator.
    local m
    m=$(mysql_q "SELECT SUM(orders), COUNT(*), ROUND(SUM(revenue) * 100) FROM \`$table\`") ||
        die "cannot query MariaDB table $table"
    read -r m_orders m_rows m_cents <<<"$m"
    [[ $m_orders == "$N" ]] || die "MariaDB SUM(orders) = $m_orders, expected $N ($table)"
    [[ $m_rows == "$GEN_PRODUCTS" ]] || die "MariaDB has $m_rows products, expected $GEN_PRODUCTS"
    awk -v a="$m_cents" -v b="$GEN_CENTS" 'BEGIN { d = a - b; exit !(d <= 100 && d >= -100) }' ||
        die "MariaDB SUM(revenue) = $m_cents cents, generator $GEN_CENTS cents"
    local r_card r_cents
    r_card=$(redis_q ZCARD "$zset")
    r_cents=$(redis_q ZRANGE "$zset" 0 -1 WITHSCORES | awk 'NR % 2 == 0 { s += $1 } END { printf "%.0f", s * 100 }')
    [[ $r_card == "$GEN_PRODUCTS" ]] || die "Redis $zset has $r_card members, expected $GEN_PRODUCTS"
    awk -v a="$r_cents" -v b="$GEN_CENTS" 'BEGIN { d = a - b; exit !(d <= 100 && d >= -100) }' ||
        die "Redis scores add up to $r_cents cents, generator $GEN_CENTS cents"
    local n_alerts=0
    if ((GEN_ALERTS > 0)); then
        n_alerts=$(timeout 60 kcat -b "$EDDY_KAFKA" -C -t "$alerts" -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l)
    fi
    [[ $n_alerts == "$GEN_ALERTS" ]] || die "alert topic $alerts holds $n_alerts alerts, expected $GEN_ALERTS"
    mysql_q "DROP TABLE IF EXISTS \`$table\`" || true
    redis_q DEL "$zset" >/dev/null || true

    local eps wall user sys rss
    eps=$(awk -v n="$recs" -v a="$active" 'BEGIN { printf "%.0f", n / (a / 1000) }')
    read -r wall user sys rss <"$tm"
    if [[ $label == std ]]; then
        EDDY_EPS+=("$eps")
        EDDY_CPU+=("$(awk -v u="$user" -v s="$sys" -v n="$N" 'BEGIN { printf "%.3f", (u + s) / (n / 1e6) }')")
        EDDY_RSS+=("$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')")
    else
        TUNED_EPS+=("$eps")
    fi
    say "rep $rep eddy ($label): $eps records/s (active ${active} ms, cpu ${user}+${sys} s," \
        "rss $((rss / 1024)) MB); sinks and $n_alerts alerts verified"
}

run_kstreams() { # REP
    local out=$WORK/ks.$1.json rc=0
    timeout 1200 java -Xmx1g -jar "$JAR" --bootstrap "$EDDY_KAFKA" --input "$TOPIC" \
        --output "$TOPIC_PREFIX.ks.$1" --app-id "bench-s3-ks-$RUN-$1" --expected "$N" \
        --state-dir "$WORK/ks-state/$1" --timeout-s 120 >"$out" 2>"$WORK/ks.$1.log" || rc=$?
    ((rc == 0)) || { tail -20 "$WORK/ks.$1.log" >&2; die "Kafka Streams peer exited $rc (rep $1)"; }
    local cnt
    cnt=$(jq -r .store_count "$out")
    [[ $cnt == "$N" ]] || die "Kafka Streams aggregated $cnt orders, expected $N ($out)"
    KS+=("$(jq -r .eps "$out")")
    KS_STARTUP+=("$(jq -r .startup_ms "$out")")
    say "rep $1 Kafka Streams: $(jq -r .eps "$out") events/s ($(jq -r .elapsed_ms "$out") ms)"
}

for ((rep = 1; rep <= REPS; rep++)); do
    run_raw "$rep"
    run_eddy "$rep" std 100000
    run_kstreams "$rep"
    ((TUNED)) && run_eddy "$rep" qmin1m 1000000
done

# -------------------------------------------------------------- results ----
m_eddy=$(median <<<"${EDDY_EPS[*]}")
m_raw=$(median <<<"${RAW[*]}")
m_ks=$(median <<<"${KS[*]}")
m_cpu=$(median <<<"${EDDY_CPU[*]}")
m_rss=$(median <<<"${EDDY_RSS[*]}")
m_ks_start=$(median <<<"${KS_STARTUP[*]}")
reps_note="eddy ${EDDY_EPS[*]}; raw ${RAW[*]}; kstreams ${KS[*]}"
size_note="N=$N events (~$(jq -r '(.bytes / .events | floor)' "$WORK/gen.json") B JSON), 8 partitions, $GEN_PRODUCTS products"

# emit VARIANT BASELINE BASE_EPS EDDY_EPS GOAL_RATIO GOAL NOTES
emit() {
    jq -nc --arg variant "$1" --arg baseline "$2" --argjson base "$3" --argjson eddy "$4" \
        --argjson goal_ratio "$5" --arg goal "$6" --arg notes "$7" \
        --argjson rss "$m_rss" --argjson cpu "$m_cpu" '
        ($eddy / $base) as $r |
        {scenario: "S3", variant: $variant, eddy_eps: $eddy, baseline: $baseline,
         baseline_eps: $base, ratio: (($r * 1000 | round) / 1000),
         rss_mb: $rss, cpu_s_per_mevents: $cpu, goal: $goal,
         goal_met: ($r >= $goal_ratio), notes: $notes}' >>"$BENCH_JSONL"
}
emit "kafka → redis+mariadb+alerts" "librdkafka raw consume (s3_consume.c)" "$m_raw" "$m_eddy" 0.7 \
    "eddy >= 0.7x raw librdkafka consume" \
    "$size_note; $MODE, median of $REPS; per rep: $reps_note; eddy_eps = records/active_ms (until the flush covering the last input is durable in every sink)"
emit "kafka → redis+mariadb+alerts" "Kafka Streams 3.9.1 (bench/peers/kstreams)" "$m_ks" "$m_eddy" 10 \
    "eddy >= 10x Kafka Streams" \
    "$size_note; $MODE, median of $REPS; Kafka Streams: 2 stream threads, -Xmx1g, commit.interval.ms=500, rate = N / (start() -> committed offsets of its group at the end of the input and repartition topics), JVM startup (median ${m_ks_start} ms) excluded; per rep: $reps_note"
if ((TUNED)); then
    m_tuned=$(median <<<"${TUNED_EPS[*]}")
    emit "kafka → redis+mariadb+alerts, queued.min.messages=1M" "librdkafka raw consume (s3_consume.c)" \
        "$m_raw" "$m_tuned" 0.7 "eddy >= 0.7x raw librdkafka consume" \
        "diagnostic: the same eddy run with the Kafka source property queued.min.messages=1000000 (librdkafka default 100000); per rep: ${TUNED_EPS[*]}"
fi

{
    echo "# S3 Kafka end to end, $MODE, N=$N: median events/s"
    echo "# system eps"
    echo "raw_librdkafka $m_raw"
    echo "eddy $m_eddy"
    ((TUNED)) && echo "eddy_qmin1M $m_tuned"
    echo "kafka_streams $m_ks"
} >"$BENCH_DATA/s3_rates.dat"
say "done: eddy $m_eddy, raw $m_raw, Kafka Streams $m_ks events/s"
