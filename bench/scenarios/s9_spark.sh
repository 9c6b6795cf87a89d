#!/usr/bin/env bash
# S9 Spark — eddy beside Apache Spark Structured Streaming (local[2]) on the
# tutorials' own two jobs, on the same Kafka topics in the same run.
# bench-needs: kafka postgres mariadb
#
# Jobs (each checked on every run, eddy's and Spark's, against one count made
# independently by Python; a wrong result fails the scenario):
#   word count  tutorial 000: lines of the Debian copyright files on a
#               4-partition topic (key = document; bench/tools/s9_corpus.py,
#               published with kcat) → cumulative count per word and per
#               (document, word) → PostgreSQL upserts. eddy:
#               bench/configs/s9_wordcount.yaml; Spark: foreachBatch, two
#               groupBy counts of the batch's words, upserts that add them.
#               Checked: MD5 of both tables' sorted rows = s9_corpus.py's.
#   orders      tutorial 001 / issue 7: `eddy gen orders` (1 s disorder, no
#               late events) on a 4-partition topic → status != cancelled →
#               1-minute tumbling windows per category, count, sum and max of
#               amount → MariaDB upserts. eddy: bench/configs/s9_orders.yaml;
#               Spark: watermark 12 s (eddy's 2 s out-of-orderness + 10 s
#               allowed lateness), output mode update, foreachBatch upserts.
#               Checked: every window row against bench/tools/s9_orders_check.py.
# Per repetition, interleaved: eddy then Spark on each job, each in a fresh
# consumer group / checkpoint and fresh tables.
#   eddy   eddy_eps = Kafka messages / active time (start until the flush
#          covering the last input was durable; flush_interval 500 ms);
#          2 consumer instances (as local[2]).
#   Spark  bench/peers/spark (Spark 4.2.0 from Maven Central, local[2],
#          -Xmx1g, 4 shuffle partitions, Trigger.AvailableNow with
#          maxOffsetsPerTrigger M, so the topic is read in micro-batches and
#          the query stops after the last one). Rate = messages / (query
#          start → end of the last micro-batch, whose upserts are committed);
#          steady = messages after the first batch / (end of the first batch
#          → end of the last). JVM and session start-up are reported apart.
# RSS and CPU of both from /usr/bin/time (the servers' CPU not included).
# Goal: eddy >= 10x Spark's events/s on both jobs.
#
#   bench/scenarios/s9_spark.sh full|smoke
#   (BENCH_S9_LINES, BENCH_S9_ORDERS, BENCH_S9_MAX_OFFSETS override the sizes)
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
bench_init "${1:-}"
eval "$("$BENCH_ROOT/scripts/services" env kafka postgres mariadb)"

if [[ $BENCH_MODE == full ]]; then
  LINES=${BENCH_S9_LINES:-1000000} ORDERS=${BENCH_S9_ORDERS:-1000000} MAXOFF=${BENCH_S9_MAX_OFFSETS:-100000}
else
  LINES=${BENCH_S9_LINES:-20000} ORDERS=${BENCH_S9_ORDERS:-20000} MAXOFF=${BENCH_S9_MAX_OFFSETS:-10000}
fi
TMO=1800
PY=${BENCH_PYTHON:-python3}
for t in kcat psql mariadb java mvn; do
  command -v "$t" >/dev/null || die "S9 needs $t (scripts/deps installs it)"
done
pg_q() { psql -qAt -F ' ' -v ON_ERROR_STOP=1 "$EDDY_PG_DSN" -c "$1"; }
# rate EPS: 1.23 M/s, 45.6 k/s or 789/s
rate() { awk -v x="$1" 'BEGIN { if (x >= 1e6) printf "%.2f M/s", x / 1e6; else if (x >= 1e3) printf "%.1f k/s", x / 1e3; else printf "%.0f/s", x }'; }
int() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
r2() { awk -v x="$1" 'BEGIN { printf "%.2f", x }'; }
my_q() { mariadb -N -B -h "$EDDY_MYSQL_HOST" -P "$EDDY_MYSQL_PORT" -u "$EDDY_MYSQL_USER" "$EDDY_MYSQL_DB" -e "$1"; }

# ---- the peer: Maven Central jars into ~/.cache/eddy/m2, the jar into bench/.cache/spark ----
PEER=$BENCH_DIR/peers/spark
JAR=$BENCH_CACHE/spark/spark-peer.jar
M2=${EDDY_CACHE:-$HOME/.cache/eddy}/m2
if [[ ! -f $JAR || ! -f $BENCH_CACHE/spark/classpath.txt || -n $(find "$PEER" -type f -newer "$JAR" | head -n 1) ]]; then
  log "S9: building the Spark peer (mvn package, Maven Central jars into $M2)"
  (cd "$PEER" && mvn -q -B -Dmaven.repo.local="$M2" package dependency:build-classpath) >"$BENCH_WORK/s9_mvn.log" 2>&1 || {
    tail -n 30 "$BENCH_WORK/s9_mvn.log" >&2
    die "S9: mvn package of bench/peers/spark failed"
  }
fi

# ---- inputs (generated once per size) and per-run topics ----
DATA=$BENCH_CACHE/data
mkdir -p "$DATA"
CORPUS=$DATA/s9-corpus-$LINES-v1.tsv
if [[ ! -s $CORPUS || ! -s $CORPUS.expect.json ]]; then
  log "S9: writing $CORPUS (bench/tools/s9_corpus.py)"
  "$PY" "$BENCH_DIR/tools/s9_corpus.py" "$LINES" "$CORPUS" >"$CORPUS.expect.json" || die "s9_corpus.py failed"
fi
EVENTS=$DATA/s9-orders-$ORDERS-v1.jsonl
GEN=(orders --count "$ORDERS" --seed 9 --disorder 1s)
if [[ ! -s $EVENTS ]]; then
  "$BENCH_EDDY" gen "${GEN[@]}" --out "$EVENTS" 2>/dev/null || die "S9: eddy gen --out failed"
fi
W_WORDS=$(bt get "$CORPUS.expect.json" words)
W_MD5=$(bt get "$CORPUS.expect.json" md5_words)
W_MD5_DOC=$(bt get "$CORPUS.expect.json" md5_doc_words)

RUN=$(date +%s)-$$
SQLRUN=${RUN//-/_}
DOCS=bench.s9.$RUN.docs ORDERS_TOPIC=bench.s9.$RUN.orders
PG_TABLES=() MY_TABLES=()
cleanup() {
  local t
  for t in "${PG_TABLES[@]}"; do pg_q "DROP TABLE IF EXISTS $t, ${t}_by_doc" >/dev/null 2>&1 || true; done
  for t in "${MY_TABLES[@]}"; do my_q "DROP TABLE IF EXISTS \`$t\`" >/dev/null 2>&1 || true; done
  "$BENCH_ROOT/scripts/kafka-topics" delete "bench\\.s9\\.$RUN\\..*" >/dev/null 2>&1 || true
  rm -rf "$BENCH_WORK/s9_ck"
}
trap cleanup EXIT
"$BENCH_ROOT/scripts/kafka-topics" create "$DOCS" 4 >/dev/null 2>&1 || die "S9: cannot create topic $DOCS"
"$BENCH_ROOT/scripts/kafka-topics" create "$ORDERS_TOPIC" 4 >/dev/null 2>&1 || die "S9: cannot create topic $ORDERS_TOPIC"
kcat -P -b "$EDDY_KAFKA" -t "$DOCS" -K $'\t' -z lz4 <"$CORPUS" || die "S9: kcat could not publish $CORPUS"
"$BENCH_EDDY" gen "${GEN[@]}" --topic "$ORDERS_TOPIC" --brokers "$EDDY_KAFKA" 2>/dev/null || die "S9: eddy gen --topic failed"
log "S9: $(human "$LINES") lines ($W_WORDS words) on $DOCS, $(human "$ORDERS") orders on $ORDERS_TOPIC; Spark maxOffsetsPerTrigger $MAXOFF; $BENCH_REPS repetition(s)"

# ---- checks ----
check_words() { # TABLE WHO
  local got doc
  got=$(pg_q "SELECT word, count FROM $1" | LC_ALL=C sort | md5sum | cut -d' ' -f1)
  doc=$(pg_q "SELECT doc, word, count FROM ${1}_by_doc" | LC_ALL=C sort | md5sum | cut -d' ' -f1)
  [[ $got == "$W_MD5" ]] || die "S9: $2's word counts ($1) differ from s9_corpus.py's (MD5 $got, expected $W_MD5)"
  [[ $doc == "$W_MD5_DOC" ]] || die "S9: $2's counts per document (${1}_by_doc) differ from s9_corpus.py's"
}
check_orders() { # TABLE WHO
  local tsv=$BENCH_WORK/s9_$1.tsv out
  my_q "SET time_zone = '+00:00'; SELECT UNIX_TIMESTAMP(window_start) * 1000, category, orders, revenue, biggest FROM \`$1\`" >"$tsv"
  out=$("$PY" "$BENCH_DIR/tools/s9_orders_check.py" "$EVENTS" "$tsv") || die "S9: $2's windows ($1) are wrong: $out"
  S9_WINDOWS=$(cut -d' ' -f2 <<<"$out")
}

# ---- one run of each ----
declare -A eps cpu rss steady start first
add() { eps[$1]+="$2 " cpu[$1]+="$3 " rss[$1]+="$4 "; }

s9_eddy() { # JOB CONF REP
  local job=$1 conf=$2 rep=$3 table=bench_s9_${SQLRUN}_eddy_$1_$3 topic=$DOCS
  [[ $job == orders ]] && topic=$ORDERS_TOPIC
  if [[ $job == wordcount ]]; then PG_TABLES+=("$table"); else MY_TABLES+=("$table"); fi
  S9_TOPIC=$topic S9_GROUP=bench-s9-$RUN-$job-$rep S9_TABLE=$table \
    run_eddy "s9_r$rep.eddy_$job" "$BENCH_ROOT/bench/configs/$conf" "$TMO" --exit-when-idle 2s ||
    die "S9: eddy failed ($job, rep $rep)"
  ((ST_REJECTED == 0)) || die "S9: eddy rejected $ST_REJECTED records ($job)"
  if [[ $job == wordcount ]]; then
    ((ST_INPUTS == LINES && ST_RECORDS == W_WORDS)) ||
      die "S9: eddy read $ST_INPUTS lines / $ST_RECORDS words, expected $LINES / $W_WORDS"
    check_words "$table" eddy
  else
    ((ST_INPUTS == ORDERS)) || die "S9: eddy read $ST_INPUTS orders, expected $ORDERS"
    check_orders "$table" eddy
  fi
  local e c
  e=$(calc "$ST_INPUTS / ($ST_ACTIVE_MS / 1000)") c=$(calc "$E_CPU_S / ($ST_INPUTS / 1000000)")
  add "eddy_$job" "$e" "$c" "$E_RSS_MB"
  log "  rep $rep: eddy $job $(rate "$e") (active $ST_ACTIVE_MS ms, $E_CPU_S CPU s, RSS ${E_RSS_MB%.*} MB); checked"
}

s9_spark() { # JOB REP
  local job=$1 rep=$2 table=bench_s9_${SQLRUN}_spark_$1_$2 w=$BENCH_WORK/s9_r$2.spark_$1 rc=0 args
  if [[ $job == wordcount ]]; then
    PG_TABLES+=("$table")
    pg_q "CREATE TABLE $table (word text PRIMARY KEY, count bigint NOT NULL);
          CREATE TABLE ${table}_by_doc (doc text, word text, count bigint NOT NULL, PRIMARY KEY (doc, word))"
    args=(--topic "$DOCS" --expected "$LINES"
      --jdbc "jdbc:postgresql://$EDDY_PG_HOST:$EDDY_PG_PORT/eddy?user=postgres&reWriteBatchedInserts=true")
  else
    MY_TABLES+=("$table")
    my_q "CREATE TABLE \`$table\` (window_start DATETIME(3) NOT NULL, window_end DATETIME(3) NOT NULL,
          category VARCHAR(64) NOT NULL, orders BIGINT NOT NULL, revenue DOUBLE, biggest DOUBLE,
          PRIMARY KEY (window_start, window_end, category))"
    args=(--topic "$ORDERS_TOPIC" --expected "$ORDERS"
      --jdbc "jdbc:mariadb://$EDDY_MYSQL_HOST:$EDDY_MYSQL_PORT/$EDDY_MYSQL_DB?user=$EDDY_MYSQL_USER&rewriteBatchedStatements=true")
  fi
  rm -rf "$BENCH_WORK/s9_ck"
  timeout --kill-after=10 "$TMO" /usr/bin/time -f '%e %U %S %M' -o "$w.time" \
    "$PEER/spark-peer" "$job" --bootstrap "$EDDY_KAFKA" --table "$table" --checkpoint "$BENCH_WORK/s9_ck" \
    --max-offsets "$MAXOFF" "${args[@]}" >"$w.json" 2>"$w.log" || rc=$?
  ((rc == 0)) || {
    tail -n 20 "$w.log" >&2
    die "S9: the Spark peer exited $rc ($job, rep $rep)"
  }
  if [[ $job == wordcount ]]; then check_words "$table" Spark; else check_orders "$table" Spark; fi
  local u s m c
  read -r _ u s m <<<"$(tail -n 1 "$w.time")"
  c=$(calc "($u + $s) / ($(bt get "$w.json" rows) / 1000000)")
  add "spark_$job" "$(bt get "$w.json" eps)" "$c" "$(calc "$m / 1024")"
  steady[$job]+="$(bt get "$w.json" steady_eps) " start[$job]+="$(bt get "$w.json" startup_ms) "
  first[$job]+="$(bt get "$w.json" first_batch_ms) "
  log "  rep $rep: Spark $job $(rate "$(bt get "$w.json" eps)") (steady $(rate "$(bt get "$w.json" steady_eps)"), $(bt get "$w.json" batches) batches in $(bt get "$w.json" elapsed_ms) ms after start, start-up $(bt get "$w.json" startup_ms) ms, CPU $(calc "$u + $s") s, RSS $((m / 1024)) MB); checked"
}

for ((r = 1; r <= BENCH_REPS; r++)); do
  s9_eddy wordcount s9_wordcount.yaml "$r"
  s9_spark wordcount "$r"
  s9_eddy orders s9_orders.yaml "$r"
  s9_spark orders "$r"
done

# ---- results ----
med() { median $1; }
ge() { awk -v r="$1" -v g="$2" 'BEGIN { print (r >= g) ? "true" : "false" }'; }
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
emit_job() { # JOB NAME INPUT CHECKED
  local j=$1 E S R
  E=$(med "${eps[eddy_$j]}") S=$(med "${eps[spark_$j]}")
  R=$(calc "$E / $S")
  bt emit scenario=S9 variant:="$2" eddy_eps="$E" baseline:="Spark 4.2.0 Structured Streaming, local[2] (bench/peers/spark)" \
    baseline_eps="$S" ratio="$R" goal:=">= 10x Spark" goal_met="$(ge "$R" 10)" \
    rss_mb="$(med "${rss[eddy_$j]}")" cpu_s_per_mevents="$(med "${cpu[eddy_$j]}")" \
    baseline_rss_mb="$(med "${rss[spark_$j]}")" baseline_cpu_s_per_mevents="$(med "${cpu[spark_$j]}")" \
    baseline_steady_eps="$(med "${steady[$j]}")" baseline_startup_ms="$(med "${start[$j]}")" \
    events="$([[ $j == wordcount ]] && echo "$LINES" || echo "$ORDERS")" repetitions="$BENCH_REPS" \
    eddy_eps_all:="${eps[eddy_$j]% }" baseline_eps_all:="${eps[spark_$j]% }" \
    ratios_paired:="$(pair_ratios "${eps[eddy_$j]}" "${eps[spark_$j]}")" \
    notes:="$3; eddy: 2 consumer instances, fresh group, eddy_eps = messages / active time (until the flush covering the last input was durable; flush_interval 500 ms); Spark: local[2], -Xmx1g, 4 shuffle partitions, Trigger.AvailableNow, maxOffsetsPerTrigger $MAXOFF, rate = messages / (query start → end of the last micro-batch), steady state (after the first micro-batch) median $(rate "$(med "${steady[$j]}")"), JVM + session start-up median $(int "$(med "${start[$j]}")") ms and first micro-batch median $(int "$(med "${first[$j]}")") ms after query start (both not in the steady rate; the start-up not in either rate); Spark CPU $(r2 "$(med "${cpu[spark_$j]}")") s per M messages, peak RSS $(int "$(med "${rss[spark_$j]}")") MB (eddy: $(r2 "$(med "${cpu[eddy_$j]}")") s, $(int "$(med "${rss[eddy_$j]}")") MB); $4; load average at the end $LOAD"
}
emit_job wordcount "word count, $(human "$LINES") lines ($W_WORDS words) → PostgreSQL" \
  "$LINES Debian copyright lines on 4 partitions, key = document; events = Kafka messages (lines), $(awk -v a="$W_WORDS" -v b="$LINES" "BEGIN { printf \"%.2f\", a / b }") words per line" \
  "checked on every run of both: the PostgreSQL tables' sorted rows have the MD5 of bench/tools/s9_corpus.py's count (word and (document, word))"
emit_job orders "orders analytics, 1-minute windows, $(human "$ORDERS") orders → MariaDB" \
  "$ORDERS orders from eddy gen (seed 9, 1 s disorder) on 4 partitions" \
  "checked on every run of both: the $S9_WINDOWS (window, category) rows of MariaDB equal bench/tools/s9_orders_check.py's count, sum (±0.01) and max"
{
  echo "# S9 eddy vs Spark, $BENCH_MODE: median events/s"
  echo "# job eddy spark spark_steady"
  for j in wordcount orders; do echo "$j $(med "${eps[eddy_$j]}") $(med "${eps[spark_$j]}") $(med "${steady[$j]}")"; done
} >"$BENCH_DATA/s9_spark.dat"
log "S9 done"
