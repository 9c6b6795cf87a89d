#!/usr/bin/env bash
# S3 Kafka end to end — JSON order events from an 8-partition topic into
# Redis, MariaDB and an alert topic, against the raw consume rate and a
# Kafka Streams application doing the same aggregation.
# bench-needs: kafka mariadb redis
#
# Input: a topic with 8 partitions filled once per run with N JSON order
# events (bench/baselines/s3_produce.c, librdkafka; ~148 bytes, key =
# order_id, 10k products, amounts 1.00-500.00): full 12M, smoke 20k. Full is
# sized so that one flush interval (500 ms) is under 5 % of eddy's run (12 s
# at ~1 M/s; with 2M events it was ~20 %).
# Per repetition, interleaved:
#   raw       bench/baselines/s3_consume.c: librdkafka's high-level consumer in
#             a fresh group reads all N messages and does nothing else; its
#             clock starts before rd_kafka_new(), like eddy's, so both include
#             the group join;
#   eddy      bench/configs/s3_kafka.yaml, fresh consumer group: revenue per
#             product into a Redis sorted set (ZINCRBY), count + sum per
#             product into MariaDB (upsert), alert `revenue >= T` to a per-run
#             topic; --exit-when-idle 2s; eddy_eps = records / active time
#             (until the flush covering the last input was durable everywhere);
#             its steady-state rate is read from /metrics, sampled every
#             200 ms: messages read between 10 % and 90 % of N / that time
#             (no group join, no final flush);
#   kstreams  bench/peers/kstreams (Kafka Streams 3.9.1, 2 stream threads,
#             -Xmx1g, commit.interval.ms 500, fresh application.id): group by
#             product_id, count + sum(amount), to an output topic. Rate = N /
#             (KafkaStreams.start() → its group's committed offsets reach the
#             end of the input and of its repartition topic), polled every
#             50 ms by an admin client inside the application. Streams commits
#             only after flushing its stores and producer, so that is the same
#             "durable" point as eddy's active time. JVM start-up is excluded.
# eddy's Kafka source sets queued.min.messages=1000000 by default; full mode
# adds a diagnostic eddy run per repetition with librdkafka's own default
# (100000), which shows why: librdkafka before 2.1 (Debian 12: 2.0.2) stops
# fetching a partition for 1 s whenever its prefetch queue reaches
# queued.min.messages.
#
# Checked on every eddy run (a mismatch fails the scenario): records == N;
# MariaDB SUM(orders) == N over as many products as generated, SUM(revenue)
# == the generator's sum (±1.00); the Redis scores add up to the same sum over
# the same products; the alert topic holds exactly one alert per product whose
# total reached T (T = 1.1 × the mean revenue per product + 0.005, so no exact
# total sits on it). Kafka Streams' store must hold N orders.
# Goals: eddy >= 0.7x the raw consume rate; eddy >= 10x Kafka Streams.
#
#   bench/scenarios/s3_kafka.sh full|smoke     (BENCH_S3_EVENTS overrides N)
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
bench_init "${1:-}"
eval "$("$BENCH_ROOT/scripts/services" env kafka mariadb redis)"

if [[ $BENCH_MODE == full ]]; then N=${BENCH_S3_EVENTS:-12000000} TUNED=1; else N=20000 TUNED=0; fi
PRODUCTS=10000
THRESHOLD=$(awk -v n="$N" -v p=$PRODUCTS 'BEGIN { printf "%d.005", 1.1 * n * 250.5 / p }')
CONF=$BENCH_DIR/configs/s3_kafka.yaml
# per run: at least 900 s, and 100 µs per event (Kafka Streams took 850 s
# for 12M events at a load average of 17 on 2 cores)
TMO=$((N / 10000 > 900 ? N / 10000 : 900))

for t in kcat mariadb redis-cli java mvn curl; do
  command -v "$t" >/dev/null || die "S3 needs $t (scripts/deps installs it)"
done
mysql_q() { mariadb -h "$EDDY_MYSQL_HOST" -P "$EDDY_MYSQL_PORT" -u "$EDDY_MYSQL_USER" "$EDDY_MYSQL_DB" -N -B -e "$1"; }
redis_q() { redis-cli -h "$EDDY_REDIS_HOST" -p "$EDDY_REDIS_PORT" --raw "$@"; }
# within_cents A B: |A - B| <= 100 (a currency unit, for sums of doubles)
within_cents() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(d <= 100 && d >= -100) }'; }

# ---- the baselines and the peer ----
for b in s3_produce s3_consume; do
  if [[ ! -x $BENCH_BIN/$b ]]; then
    make -C "$BENCH_DIR/baselines" -s OUT="$BENCH_BIN" "$BENCH_BIN/$b" >&2 || die "cannot build $b"
  fi
done
JAR=$BENCH_CACHE/kstreams/kstreams-peer.jar
if [[ ! -f $JAR || -n $(find "$BENCH_DIR/peers/kstreams" -type f -newer "$JAR" | head -n 1) ]]; then
  log "S3: building the Kafka Streams peer (mvn package, Maven Central)"
  (cd "$BENCH_DIR/peers/kstreams" && mvn -q -B package) >"$BENCH_WORK/s3_mvn.log" 2>&1 || {
    tail -n 30 "$BENCH_WORK/s3_mvn.log" >&2
    die "S3: mvn package of bench/peers/kstreams failed"
  }
fi

# ---- per-run names, cleaned up whatever happens ----
RUN=$(date +%s)-$$
SQLRUN=${RUN//-/_}
TOPIC=bench.s3.$RUN.orders
TABLES=() ZSETS=()
cleanup() {
  local t
  for t in "${TABLES[@]}"; do mysql_q "DROP TABLE IF EXISTS \`$t\`" >/dev/null 2>&1 || true; done
  for t in "${ZSETS[@]}"; do redis_q DEL "$t" >/dev/null 2>&1 || true; done
  # TopicCommand takes a regex: the input and alert topics of this run (the
  # Kafka Streams peer deletes its own).
  "$BENCH_ROOT/scripts/kafka-topics" delete "bench\\.s3\\.$RUN\\..*" >/dev/null 2>&1 || true
  rm -rf "$BENCH_WORK/s3_ks_state"
}
trap cleanup EXIT

log "S3: $(human "$N") JSON order events on 8 partitions, $PRODUCTS products, alert threshold $THRESHOLD, $BENCH_REPS repetition(s)"
"$BENCH_ROOT/scripts/kafka-topics" create "$TOPIC" 8 >/dev/null 2>&1 || die "S3: cannot create topic $TOPIC"
run_baseline s3_produce 600 "$BENCH_BIN/s3_produce" "$EDDY_KAFKA" "$TOPIC" "$N" "$PRODUCTS" 7 "$THRESHOLD" ||
  die "S3: the producer failed"
GEN=$BENCH_WORK/s3_produce.json
GEN_CENTS=$(bt get "$GEN" amount_cents)
GEN_PRODUCTS=$(bt get "$GEN" products)
GEN_ALERTS=$(bt get "$GEN" alert_keys)
AVG_BYTES=$(calc "$(bt get "$GEN" bytes) / $N")
((B_EVENTS == N)) || die "S3: the producer reports $B_EVENTS events, expected $N"
log "S3: produced $N events at $(mps "$B_EPS") (~${AVG_BYTES%.*} bytes each, $GEN_PRODUCTS products, $GEN_ALERTS over the threshold)"

# ---- one run of each ----
declare -a raw=() eddy=() tuned=() tuned_rss=() ks=() ks_start=() cpu=() rss=() steady=() active=()

# s3_sample OUT: "epoch_ms messages_read" every 200 ms from eddy's /metrics
# (eddy_source_inputs_total summed over the consumers) while it runs.
s3_sample() {
  local v
  while :; do
    v=$(curl -s --max-time 1 "http://127.0.0.1:${EDDY_HTTP_PORT:-19464}/metrics" 2>/dev/null |
      awk '/^eddy_source_inputs_total/ { s += $NF; n++ } END { if (n) printf "%.0f", s }') || true
    [[ -n $v ]] && echo "$(date +%s%3N) $v"
    sleep 0.2
  done >"$1"
}
# s3_steady FILE: messages/s between the first samples at >= 10 % and >= 90 % of N
s3_steady() {
  awk -v n="$N" '!a && $2 >= 0.1 * n { a = 1; t1 = $1; v1 = $2 }
    !b && $2 >= 0.9 * n { b = 1; t2 = $1; v2 = $2 }
    END { if (a && b && t2 > t1) printf "%.1f", (v2 - v1) * 1000 / (t2 - t1) }' "$1"
}

s3_raw() { # REP
  run_baseline "s3_r$1.raw" "$TMO" "$BENCH_BIN/s3_consume" "$EDDY_KAFKA" "$TOPIC" "$N" \
    "bench-s3-raw-$RUN-$1" 60 || die "S3: the raw consumer failed"
  raw+=("$B_EPS")
}

# s3_eddy REP LABEL QMIN: one eddy run, checked against the generator.
s3_eddy() {
  local rep=$1 label=$2 qmin=$3
  local table=bench_s3_${SQLRUN}_${label}_$rep zset=bench:s3:$RUN:$label:$rep
  local alerts=bench.s3.$RUN.alerts.$label.$rep
  TABLES+=("$table")
  ZSETS+=("$zset")
  local samples=$BENCH_WORK/s3_r$rep.eddy_$label.samples sampler rc=0
  s3_sample "$samples" &
  sampler=$!
  S3_TOPIC=$TOPIC S3_GROUP=bench-s3-eddy-$RUN-$label-$rep S3_TABLE=$table S3_ZSET=$zset \
    S3_ALERT_TOPIC=$alerts S3_THRESHOLD=$THRESHOLD S3_QMIN=$qmin \
    run_eddy "s3_r$rep.eddy_$label" "$CONF" "$TMO" --exit-when-idle 2s || rc=$?
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  ((rc == 0)) || die "S3: eddy failed ($label, rep $rep)"
  ((ST_RECORDS == N && ST_REJECTED == 0)) ||
    die "S3: eddy read $ST_RECORDS records ($ST_REJECTED rejected), expected $N ($label, rep $rep)"
  local m_orders m_rows m_cents r_card r_cents n_alerts=0
  read -r m_orders m_rows m_cents <<<"$(mysql_q "SELECT SUM(orders), COUNT(*), ROUND(SUM(revenue) * 100) FROM \`$table\`")"
  ((m_orders == N && m_rows == GEN_PRODUCTS)) ||
    die "S3: MariaDB $table has $m_orders orders over $m_rows products, expected $N over $GEN_PRODUCTS"
  within_cents "$m_cents" "$GEN_CENTS" || die "S3: MariaDB revenue is $m_cents cents, the generator's $GEN_CENTS"
  r_card=$(redis_q ZCARD "$zset")
  r_cents=$(redis_q ZRANGE "$zset" 0 -1 WITHSCORES | awk 'NR % 2 == 0 { s += $1 } END { printf "%.0f", s * 100 }')
  ((r_card == GEN_PRODUCTS)) || die "S3: Redis $zset has $r_card members, expected $GEN_PRODUCTS"
  within_cents "$r_cents" "$GEN_CENTS" || die "S3: Redis scores add up to $r_cents cents, the generator's $GEN_CENTS"
  if ((GEN_ALERTS > 0)); then
    n_alerts=$(timeout 60 kcat -b "$EDDY_KAFKA" -C -t "$alerts" -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l)
  fi
  ((n_alerts == GEN_ALERTS)) || die "S3: $alerts holds $n_alerts alerts, expected $GEN_ALERTS"
  mysql_q "DROP TABLE IF EXISTS \`$table\`" || true
  redis_q DEL "$zset" >/dev/null || true
  local st
  st=$(s3_steady "$samples")
  # a smoke run is over between two samples
  [[ -n $st || $BENCH_MODE == smoke ]] || die "S3: no steady-state rate from $samples (eddy's /metrics on port ${EDDY_HTTP_PORT:-19464})"
  if [[ $label == std ]]; then
    eddy+=("$E_EPS") cpu+=("$E_CPU_PER_M") rss+=("$E_RSS_MB") active+=("$ST_ACTIVE_MS")
    [[ -n $st ]] && steady+=("$st")
  else
    tuned+=("$E_EPS") tuned_rss+=("$E_RSS_MB")
  fi
  local st_txt="not measured"
  [[ -n $st ]] && st_txt=$(mps "$st")
  log "  rep $rep: eddy ($label) $(mps "$E_EPS") (steady $st_txt; active $ST_ACTIVE_MS ms, $E_CPU_S CPU s, RSS ${E_RSS_MB%.*} MB); MariaDB, Redis and $n_alerts alerts verified"
}

s3_kstreams() { # REP
  local rep=$1 out=$BENCH_WORK/s3_r$1.kstreams.json rc=0
  timeout --kill-after=10 "$TMO" java -Xmx1g -jar "$JAR" --bootstrap "$EDDY_KAFKA" --input "$TOPIC" \
    --output "bench.s3.$RUN.ks.$rep" --app-id "bench-s3-ks-$RUN-$rep" --expected "$N" \
    --state-dir "$BENCH_WORK/s3_ks_state/$rep" --timeout-s 120 >"$out" 2>"$BENCH_WORK/s3_r$rep.kstreams.log" || rc=$?
  ((rc == 0)) || {
    tail -n 20 "$BENCH_WORK/s3_r$rep.kstreams.log" >&2
    die "S3: the Kafka Streams peer exited $rc (rep $rep)"
  }
  local cnt
  cnt=$(bt get "$out" store_count)
  ((cnt == N)) || die "S3: Kafka Streams aggregated $cnt orders, expected $N"
  ks+=("$(bt get "$out" eps)") ks_start+=("$(bt get "$out" startup_ms)")
  log "  rep $rep: Kafka Streams $(mps "${ks[-1]}") ($(bt get "$out" elapsed_ms) ms after start())"
}

# s3_delivery REP MODE: bench/configs/s3_eo.yaml (MariaDB only, one
# consumer) with runtime.delivery MODE, checked like s3_eddy's MariaDB.
declare -a alo=() eo=()
s3_delivery() {
  local rep=$1 mode=$2
  local table=bench_s3_${SQLRUN}_${mode}_$rep
  TABLES+=("$table")
  S3_TOPIC=$TOPIC S3_GROUP=bench-s3-$mode-$RUN-$rep S3_TABLE=$table S3_DELIVERY=$mode \
    run_eddy "s3_r$rep.$mode" "$BENCH_DIR/configs/s3_eo.yaml" "$TMO" --exit-when-idle 2s ||
    die "S3: eddy failed ($mode, rep $rep)"
  local m_orders m_rows m_cents
  read -r m_orders m_rows m_cents <<<"$(mysql_q "SELECT SUM(orders), COUNT(*), ROUND(SUM(revenue) * 100) FROM \`$table\`")"
  ((ST_RECORDS == N && m_orders == N && m_rows == GEN_PRODUCTS)) ||
    die "S3: $mode: $ST_RECORDS records, MariaDB $m_orders orders over $m_rows products, expected $N over $GEN_PRODUCTS"
  within_cents "$m_cents" "$GEN_CENTS" || die "S3: $mode: MariaDB revenue is $m_cents cents, the generator's $GEN_CENTS"
  mysql_q "DROP TABLE IF EXISTS \`$table\`; DELETE FROM eddy_checkpoints WHERE target = '$table'" >/dev/null 2>&1 || true
  if [[ $mode == exactly_once ]]; then eo+=("$E_EPS"); else alo+=("$E_EPS"); fi
  log "  rep $rep: eddy one consumer → MariaDB, $mode $(mps "$E_EPS") (active $ST_ACTIVE_MS ms); MariaDB verified"
}

for ((r = 1; r <= BENCH_REPS; r++)); do
  s3_raw "$r"
  log "  rep $r: raw librdkafka consume $(mps "$B_EPS")"
  s3_eddy "$r" std 1000000
  s3_kstreams "$r"
  ((TUNED)) && s3_eddy "$r" qmin100k 100000
  s3_delivery "$r" at_least_once
  s3_delivery "$r" exactly_once
done

# ---- results ----
RM=$(median "${raw[@]}")
EM=$(median "${eddy[@]}")
KM=$(median "${ks[@]}")
NAME="$(human "$N") JSON orders → Redis + MariaDB + alerts"
INPUT="$N events (~${AVG_BYTES%.*} B JSON, key order_id), 8 partitions, $GEN_PRODUCTS products"
CHECKED="checked on every eddy run: records = $N, MariaDB SUM(orders) = $N over $GEN_PRODUCTS products, MariaDB and Redis revenue = the generator's sum (±1.00), $GEN_ALERTS alerts = products over the threshold"
ge() { awk -v r="$1" -v g="$2" 'BEGIN { print (r >= g) ? "true" : "false" }'; }
AM=$(median "${active[@]}") SM=0
SHORT=" (0: the runs were too short to sample)"
((${#steady[@]})) && SM=$(median "${steady[@]}") SHORT=""
STEADY="eddy's steady state (messages read between 10 % and 90 % of N, from /metrics every 200 ms: no group join, no final flush) median $(mps "$SM"), $(calc "$SM / $RM" | xargs printf '%.2f')x the raw consume${SHORT:-}; time to the last durable flush median $AM ms (one flush interval = $(calc "50000 / $AM" | xargs printf '%.1f') % of it)"
common=(rss_mb="$(median "${rss[@]}")" cpu_s_per_mevents="$(median "${cpu[@]}")" events="$N"
  repetitions="$BENCH_REPS" eddy_eps_all:="${eddy[*]}" eddy_steady_eps="$SM" eddy_steady_eps_all:="${steady[*]}"
  active_ms="$AM")

R=$(calc "$EM / $RM")
bt emit scenario=S3 variant:="$NAME" eddy_eps="$EM" baseline:="librdkafka consumer, raw (s3_consume.c)" \
  baseline_eps="$RM" ratio="$R" goal:=">= 0.7x raw consume" goal_met="$(ge "$R" 0.7)" "${common[@]}" \
  baseline_eps_all:="${raw[*]}" ratios_paired:="$(pair_ratios "${eddy[*]}" "${raw[*]}")" \
  notes:="$INPUT; eddy: 2 consumer instances (instances: 2, like the 2 stream threads of Kafka Streams), fresh consumer group per run, eddy_eps = records / active time (start until the flush covering the last input was durable in every sink, flush_interval 500 ms); $STEADY; raw: high-level consumer, fresh group, no commits, timed from rd_kafka_new to the Nth message; $CHECKED"
R=$(calc "$EM / $KM")
bt emit scenario=S3 variant:="$NAME" eddy_eps="$EM" baseline:="Kafka Streams 3.9.1 (bench/peers/kstreams)" \
  baseline_eps="$KM" ratio="$R" goal:=">= 10x Kafka Streams" goal_met="$(ge "$R" 10)" "${common[@]}" \
  baseline_eps_all:="${ks[*]}" ratios_paired:="$(pair_ratios "${eddy[*]}" "${ks[*]}")" \
  notes:="Kafka Streams: DSL map → groupByKey (repartition topic) → aggregate (count, sum; RocksDB store) → output topic; 2 stream threads, -Xmx1g, at_least_once, commit.interval.ms 500; rate = N / (KafkaStreams.start() → committed offsets of its group at the end of the input and repartition topics, polled every 50 ms); JVM start-up (median $(median "${ks_start[@]}") ms) not counted; store checked: $N orders"
if ((TUNED)); then
  TM=$(median "${tuned[@]}")
  R=$(calc "$TM / $RM")
  bt emit scenario=S3 variant:="$NAME, queued.min.messages=100k (librdkafka default; diagnostic)" eddy_eps="$TM" \
    baseline:="librdkafka consumer, raw (s3_consume.c)" baseline_eps="$RM" ratio="$R" \
    goal:="(diagnostic)" goal_met=null events="$N" repetitions="$BENCH_REPS" eddy_eps_all:="${tuned[*]}" \
    notes:="the same eddy pipeline with the Kafka source property queued.min.messages=100000 (librdkafka's default; eddy's is 1000000). librdkafka before 2.1 (Debian 12 has 2.0.2) stops fetching a partition for 1 s once its prefetch queue holds queued.min.messages (librdkafka issue #2879; fetch.queue.backoff.ms came in 2.1.0): when eddy consumes a little slower than the broker delivers, partitions hit the threshold, back off, and eddy's worker idles. A raw consumer never falls behind, so never hits it. eddy's default costs memory (RSS in this run: $(median "${rss[@]}") MB vs $(median "${tuned_rss[@]}") MB with 100k); same checks"
fi
AM=$(median "${alo[@]}")
OM=$(median "${eo[@]}")
R=$(calc "$OM / $AM")
bt emit scenario=S3 variant:="$(human "$N") JSON orders → MariaDB, one consumer, delivery: exactly_once" \
  eddy_eps="$OM" baseline:="the same pipeline with delivery: at_least_once (same run)" baseline_eps="$AM" \
  ratio="$R" goal:="(cost of exactly_once)" goal_met=null events="$N" repetitions="$BENCH_REPS" \
  eddy_eps_all:="${eo[*]}" baseline_eps_all:="${alo[*]}" ratios_paired:="$(pair_ratios "${eo[*]}" "${alo[*]}")" \
  notes:="bench/configs/s3_eo.yaml: count + sum per product into MariaDB, instances: 1, no Redis sink or alert (exactly_once refuses them); exactly_once adds to every flush's transaction a SELECT … FOR UPDATE and an upsert of eddy_checkpoints (checkpoint id and positions), and reads every sink's row at start; both runs checked: records = $N, MariaDB SUM(orders) = $N over $GEN_PRODUCTS products, revenue = the generator's sum (±1.00)"
{
  echo "# S3 Kafka end to end, $BENCH_MODE, N=$N: median events/s"
  echo "# system events_per_s"
  echo "raw_librdkafka $RM"
  echo "eddy $EM"
  ((TUNED)) && echo "eddy_queued_min_100k $TM"
  echo "kafka_streams $KM"
  echo "eddy_1consumer_at_least_once $AM"
  echo "eddy_1consumer_exactly_once $OM"
} >"$BENCH_DATA/s3_kafka.dat"
log "S3 done: eddy $(mps "$EM"), raw consume $(mps "$RM"), Kafka Streams $(mps "$KM")"
