#!/usr/bin/env bash
# S5 sink rates — how fast eddy writes one flush that touches ~1M distinct
# keys into PostgreSQL, MariaDB and Redis, against each server's own ceiling
# measured in the same run.
# bench-needs: postgres mariadb redis
#
# eddy: bench/configs/s5_<sink>.yaml — a generator of E events over E keys
# (full E = 1.6M, so ~1.01M distinct keys are drawn; smoke 32k → ~20k),
# count per key, into one sink at a time. flush_interval is 3 s, longer than
# generating the events takes, so the whole keyspace is ONE flush (then an
# empty final one). The sink's own time is isolated by subtraction: the same
# pipeline into the null sink (bench/configs/s5_null.yaml) runs in the same
# repetition, and
#     eddy rows/s = rows_written / (active_ms(sink) − active_ms(null))
# (active_ms: start until the flush was durable; both runs share the
# generator, the aggregation, the 3 s wait and the changelog).
# Ceilings, each with the server's own tool, same number of rows, keys
# "k<i>" in byte order (eddy sorts a flush by key), into an empty table:
#   Redis       redis-benchmark -P 64 -c 1 -n ROWS -r ROWS -t zadd (ZADD,
#               one client pipelining 64; -r ROWS: random members, so the
#               set grows to ~63 % of ROWS, inserts and updates mixed)
#   MariaDB     `mariadb` < a file of 1000-row INSERT … ON DUPLICATE KEY
#               UPDATE n = n + VALUES(n) in one transaction (eddy's DDL)
#   PostgreSQL  `psql -f` a file of 1000-row INSERT … ON CONFLICT (k) DO
#               UPDATE SET n = t.n + EXCLUDED.n in one transaction
# Full mode also measures Redis at ~500k keys (E = 790k).
# Checked on every eddy run: rows_written = distinct keys; the table holds
# that many rows and SUM(n) = E; the sorted set has that many members and its
# scores add up to E. A run that fails or miscounts is reported in its row,
# not repeated, and makes the scenario exit 1 after all rows are written.
# Goals: Redis >= 1.0x, MariaDB >= 1.5x its ceiling; PostgreSQL report only.
# BENCH_S5_SINKS="postgres mariadb" runs only those sinks' variants. With
# BENCH_EDDY_BEFORE set, each repetition runs that binary on the same sink
# right after eddy (a fresh table, the same null-sink time subtracted) and
# reports it in a row whose variant ends in [before], against the same
# ceilings; its note gives after/before.
#
#   bench/scenarios/s5_sinks.sh full|smoke
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
bench_init "${1:-}"
eval "$("$BENCH_ROOT/scripts/services" env postgres mariadb redis)"

if [[ $BENCH_MODE == full ]]; then
  VARIANTS=(postgres:1600000 mariadb:1600000 redis:1600000 redis:790000) TMO=90
else
  VARIANTS=(postgres:32000 mariadb:32000 redis:32000) TMO=60
fi
if [[ -n ${BENCH_S5_SINKS:-} ]]; then
  keep=()
  for v in "${VARIANTS[@]}"; do [[ " $BENCH_S5_SINKS " == *" ${v%%:*} "* ]] && keep+=("$v"); done
  ((${#keep[@]})) || die "S5: BENCH_S5_SINKS='$BENCH_S5_SINKS' names none of ${VARIANTS[*]}"
  VARIANTS=("${keep[@]}")
fi
for t in mariadb psql redis-cli redis-benchmark; do
  command -v "$t" >/dev/null || die "S5 needs $t (scripts/deps installs it)"
done
mysql_q() { mariadb -h "$EDDY_MYSQL_HOST" -P "$EDDY_MYSQL_PORT" -u "$EDDY_MYSQL_USER" "$EDDY_MYSQL_DB" -N -B -e "$1"; }
pg_q() { psql "$EDDY_PG_DSN" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
redis_q() { redis-cli -h "$EDDY_REDIS_HOST" -p "$EDDY_REDIS_PORT" --raw "$@"; }
now_ms() { date +%s%3N; }
export PGOPTIONS="-c client_min_messages=warning" # no NOTICEs from DROP … IF EXISTS
# keys_h N: 20239 -> 20k, 1011704 -> 1.01M (for variant names)
keys_h() { awk -v r="$1" 'BEGIN { if (r >= 1e6) printf "%.2fM", r / 1e6; else if (r >= 1e3) printf "%.0fk", r / 1e3; else printf "%d", r }'; }

RUN=$(date +%s)_$$
CEIL_TABLE=bench_s5_ceiling_$RUN
TABLES=("$CEIL_TABLE") ZSETS=()
cleanup() {
  local t
  for t in "${TABLES[@]}"; do
    mysql_q "DROP TABLE IF EXISTS \`$t\`" >/dev/null 2>&1 || true
    pg_q "DROP TABLE IF EXISTS $t" >/dev/null 2>&1 || true
  done
  for t in "${ZSETS[@]}"; do redis_q DEL "$t" >/dev/null 2>&1 || true; done
  redis_q DEL myzset >/dev/null 2>&1 || true # redis-benchmark's key
}
trap cleanup EXIT

# ---- ceilings ----
# sql_file KIND ROWS: the upsert file (cached), table name @T@.
sql_file() {
  local kind=$1 rows=$2 f=$BENCH_CACHE/data/s5_upsert_$1_$2_v1.sql
  if [[ ! -s $f ]]; then
    mkdir -p "${f%/*}"
    awk -v n="$rows" 'BEGIN { for (i = 0; i < n; i++) print "k" i }' | LC_ALL=C sort |
      awk -v kind="$kind" '
        function flush() {
          if (!c) return
          if (kind == "mariadb")
            print "INSERT INTO `@T@` (`k`, `n`) VALUES " v " ON DUPLICATE KEY UPDATE `n` = `n` + VALUES(`n`), `updated_at` = CURRENT_TIMESTAMP(6);"
          else
            print "INSERT INTO @T@ AS t (k, n) VALUES " v " ON CONFLICT (k) DO UPDATE SET n = t.n + EXCLUDED.n, updated_at = now();"
          v = ""; c = 0
        }
        BEGIN { print (kind == "mariadb") ? "SET autocommit = 0;" : "BEGIN;" }
        { v = v (c ? "," : "") "('\''" $1 "'\'',1)"; if (++c == 1000) flush() }
        END { flush(); print "COMMIT;" }' >"$f.tmp"
    mv "$f.tmp" "$f"
  fi
  printf '%s\n' "$f"
}

# ceiling SINK ROWS: sets C_EPS (rows/s) or dies.
ceiling() {
  local sink=$1 rows=$2 f t0 t1 n
  case $sink in
  redis)
    redis_q DEL myzset >/dev/null
    C_EPS=$(redis-benchmark -h "$EDDY_REDIS_HOST" -p "$EDDY_REDIS_PORT" -P 64 -c 1 -n "$rows" -r "$rows" \
      -t zadd --csv 2>/dev/null | awk -F'"' '$2 == "ZADD" { print $4 }')
    redis_q DEL myzset >/dev/null
    [[ -n $C_EPS ]] || die "S5: redis-benchmark gave no ZADD rate"
    ;;
  mariadb)
    f=$(sql_file mariadb "$rows")
    mysql_q "DROP TABLE IF EXISTS \`$CEIL_TABLE\`; CREATE TABLE \`$CEIL_TABLE\` (\`k\` VARBINARY(255) NOT NULL,
      \`n\` BIGINT NOT NULL DEFAULT 0, \`updated_at\` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      PRIMARY KEY (\`k\`)) ENGINE=InnoDB"
    sed "s/@T@/$CEIL_TABLE/" "$f" >"$BENCH_WORK/s5_ceiling.sql"
    t0=$(now_ms)
    mariadb -h "$EDDY_MYSQL_HOST" -P "$EDDY_MYSQL_PORT" -u "$EDDY_MYSQL_USER" "$EDDY_MYSQL_DB" \
      <"$BENCH_WORK/s5_ceiling.sql" || die "S5: the MariaDB ceiling's upserts failed"
    t1=$(now_ms)
    n=$(mysql_q "SELECT COUNT(*) FROM \`$CEIL_TABLE\`")
    ((n == rows)) || die "S5: the MariaDB ceiling wrote $n rows, expected $rows"
    mysql_q "DROP TABLE \`$CEIL_TABLE\`"
    C_EPS=$(calc "$rows / (($t1 - $t0) / 1000)")
    rm -f "$BENCH_WORK/s5_ceiling.sql"
    ;;
  postgres)
    f=$(sql_file postgres "$rows")
    pg_q "DROP TABLE IF EXISTS $CEIL_TABLE; CREATE TABLE $CEIL_TABLE (k TEXT NOT NULL,
      n BIGINT NOT NULL DEFAULT 0, updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (k))"
    sed "s/@T@/$CEIL_TABLE/" "$f" >"$BENCH_WORK/s5_ceiling.sql"
    t0=$(now_ms)
    psql "$EDDY_PG_DSN" -Xq -v ON_ERROR_STOP=1 -f "$BENCH_WORK/s5_ceiling.sql" >/dev/null ||
      die "S5: the PostgreSQL ceiling's upserts failed"
    t1=$(now_ms)
    n=$(pg_q "SELECT COUNT(*) FROM $CEIL_TABLE")
    ((n == rows)) || die "S5: the PostgreSQL ceiling wrote $n rows, expected $rows"
    pg_q "DROP TABLE $CEIL_TABLE"
    C_EPS=$(calc "$rows / (($t1 - $t0) / 1000)")
    rm -f "$BENCH_WORK/s5_ceiling.sql"
    ;;
  esac
}

# ---- eddy ----
# s5_eddy TAG SINK EVENTS [RUN]: one run (RUN: run_eddy, or run_eddy_before);
# 0 and ST_* / E_* if it ran and counted right, else 1 with the reason in
# FAIL_WHY.
s5_eddy() {
  local tag=$1 sink=$2 events=$3 runner=${4:-run_eddy} table=bench_s5_${RUN}_${1//[^a-z0-9]/_} zset=bench:s5:$RUN:$1
  TABLES+=("$table")
  ZSETS+=("$zset")
  FAIL_WHY=
  if ! S5_EVENTS=$events S5_KEYS=$events S5_TABLE=$table S5_ZSET=$zset \
    "$runner" "$tag" "$BENCH_DIR/configs/s5_$sink.yaml" "$TMO" --exit-when-idle 60s; then
    FAIL_WHY="eddy did not finish within ${TMO}s (log: $BENCH_WORK/$tag.log: $(grep -m1 -o 'WARN .*' "$BENCH_WORK/$tag.log" | cut -c1-200))"
  elif ((ST_RECORDS != events || ST_ROWS_WRITTEN != ST_KEYS)); then
    FAIL_WHY="eddy read $ST_RECORDS of $events events and wrote $ST_ROWS_WRITTEN rows for $ST_KEYS keys"
  fi
  local rows sum
  case $sink in
  mariadb) read -r rows sum <<<"$(mysql_q "SELECT COUNT(*), COALESCE(SUM(n), 0) FROM \`$table\`" 2>/dev/null || echo "0 0")" ;;
  postgres) read -r rows sum <<<"$(pg_q "SELECT COUNT(*), COALESCE(SUM(n), 0) FROM $table" 2>/dev/null | tr '|' ' ' || echo "0 0")" ;;
  redis)
    rows=$(redis_q ZCARD "$zset")
    sum=$(redis_q ZRANGE "$zset" 0 -1 WITHSCORES | awk 'NR % 2 == 0 { s += $1 } END { printf "%.0f", s }')
    ;;
  null) rows=$ST_ROWS_WRITTEN sum=$events ;;
  esac
  if [[ -z $FAIL_WHY ]] && ((rows != ST_KEYS || sum != events)); then
    FAIL_WHY="$sink holds $rows rows adding up to $sum, expected $ST_KEYS rows adding up to $events"
  elif [[ -n $FAIL_WHY && $sink != null ]]; then
    FAIL_WHY+="; $sink then held $rows rows adding up to $sum (the $events events applied $(calc "$sum / $events") times)"
  fi
  mysql_q "DROP TABLE IF EXISTS \`$table\`" >/dev/null 2>&1 || true
  pg_q "DROP TABLE IF EXISTS $table" >/dev/null 2>&1 || true
  redis_q DEL "$zset" >/dev/null 2>&1 || true
  [[ -z $FAIL_WHY ]]
}

log "S5: ${VARIANTS[*]} (sink:events, keys = events), $BENCH_REPS repetition(s)"
declare -A E_ALL C_ALL RAW_ALL ROWS FAILED NULL_MS P_ALL
SIZES=$(printf '%s\n' "${VARIANTS[@]}" | cut -d: -f2 | sort -un)
for ((r = 1; r <= BENCH_REPS; r++)); do
  for size in $SIZES; do
    s5_eddy "s5_r$r.null_$size" null "$size" || die "S5: the null-sink run failed: $FAIL_WHY"
    NULL_MS[$size]=$ST_ACTIVE_MS
    log "  rep $r: null sink, $(human "$size") events: $ST_KEYS keys, active $ST_ACTIVE_MS ms"
    for v in "${VARIANTS[@]}"; do
      sink=${v%%:*} events=${v##*:}
      ((events == size)) || continue
      [[ -n ${FAILED[$v]:-} ]] && continue
      keys=$ST_KEYS
      ceiling "$sink" "$keys"
      C_ALL[$v]+="$C_EPS "
      if ! s5_eddy "s5_r$r.${sink}_$events" "$sink" "$events"; then
        FAILED[$v]=$FAIL_WHY
        log "  rep $r: $sink, $keys keys: FAILED: $FAIL_WHY"
        continue
      fi
      ROWS[$v]=$ST_ROWS_WRITTEN
      sink_ms=$((ST_ACTIVE_MS - NULL_MS[$size]))
      if ((sink_ms > 0)); then E_ALL[$v]+="$(calc "$ST_ROWS_WRITTEN / ($sink_ms / 1000)") "; fi
      RAW_ALL[$v]+="$E_EPS "
      log "  rep $r: $sink, $ST_ROWS_WRITTEN rows: ceiling $(calc "$C_EPS / 1000" | cut -c1-6)k rows/s; eddy active $ST_ACTIVE_MS ms (null $((NULL_MS[$size])) ms) → $(((sink_ms > 0) ? ST_ROWS_WRITTEN * 1000 / sink_ms : 0)) rows/s"
      if [[ -n ${BENCH_EDDY_BEFORE:-} ]]; then
        s5_eddy "s5_r$r.${sink}_${events}_before" "$sink" "$events" run_eddy_before ||
          die "S5: the binary before the change failed on $sink: $FAIL_WHY"
        sink_ms=$((ST_ACTIVE_MS - NULL_MS[$size]))
        if ((sink_ms > 0)); then P_ALL[$v]+="$(calc "$ST_ROWS_WRITTEN / ($sink_ms / 1000)") "; fi
        log "  rep $r: $sink before the change: active $ST_ACTIVE_MS ms → $(((sink_ms > 0) ? ST_ROWS_WRITTEN * 1000 / sink_ms : 0)) rows/s"
      fi
    done
  done
done

# ---- results ----
declare -A NAME=([postgres]=PostgreSQL [mariadb]=MariaDB [redis]=Redis)
declare -A CEIL=(
  [postgres]="psql: 1000-row INSERT … ON CONFLICT DO UPDATE, one transaction"
  [mariadb]="mariadb client: 1000-row INSERT … ON DUPLICATE KEY UPDATE, one transaction"
  [redis]="redis-benchmark ZADD, -P 64 -c 1")
declare -A GOAL=([postgres]="(report only)" [mariadb]=">= 1.5x the mariadb client" [redis]=">= 1.0x redis-benchmark")
declare -A GOALR=([postgres]="" [mariadb]=1.5 [redis]=1.0)
echo "# S5 sink rates, $BENCH_MODE: rows/s of one flush (eddy, isolated) and the server's ceiling
# sink keys eddy_rows_per_s ceiling_rows_per_s" >"$BENCH_DATA/s5_sinks.dat"
bad=0
for v in "${VARIANTS[@]}"; do
  sink=${v%%:*} events=${v##*:}
  # shellcheck disable=SC2086 # the per-variant lists split on purpose
  {
    CM=$(median ${C_ALL[$v]:-}) EM=$(median ${E_ALL[$v]:-}) RM=$(median ${RAW_ALL[$v]:-})
  }
  rows=${ROWS[$v]:-$(awk -v e="$events" 'BEGIN { printf "%.0f", e * (1 - exp(-1)) }')}
  name="${NAME[$sink]}, $(keys_h "$rows") keys in one flush"
  ratio=null met=null
  if [[ -n $EM && -n $CM ]]; then
    ratio=$(calc "$EM / $CM")
    [[ -n ${GOALR[$sink]} ]] && met=$(awk -v r="$ratio" -v g="${GOALR[$sink]}" 'BEGIN { print (r >= g) ? "true" : "false" }')
  fi
  notes="generator: $events events over $events keys, count per key, flush_interval 3s so all $rows keys are one flush; eddy rows/s = rows_written / (active_ms − active_ms of the same pipeline into the null sink); raw rows_written / active_ms: ${RAW_ALL[$v]:-none}; ceiling: ${CEIL[$sink]}, the same number of keys k<i> in byte order, empty table; checked: rows and SUM(n) (or ZCARD and the sum of scores) = keys and events"
  if [[ -n ${FAILED[$v]:-} ]]; then
    bad=1
    met=false
    [[ -n ${GOALR[$sink]} ]] || met=null
    notes="FAILED: ${FAILED[$v]}; $notes"
  fi
  bt emit scenario=S5 variant:="$name" eddy_eps="${EM:-null}" baseline:="${CEIL[$sink]}" \
    baseline_eps="${CM:-null}" ratio="$ratio" goal:="${GOAL[$sink]}" goal_met="$met" \
    rows="$rows" events="$events" repetitions="$BENCH_REPS" eddy_eps_all:="${E_ALL[$v]% }" \
    baseline_eps_all:="${C_ALL[$v]% }" notes:="$notes"
  echo "$sink $rows ${EM:-nan} ${CM:-nan}" >>"$BENCH_DATA/s5_sinks.dat"
  if [[ -n ${P_ALL[$v]:-} && -n $CM ]]; then
    # shellcheck disable=SC2086
    PM=$(median ${P_ALL[$v]})
    bt emit scenario=S5 variant:="$name [before]" eddy_eps="$PM" baseline:="${CEIL[$sink]}" \
      baseline_eps="$CM" ratio="$(calc "$PM / $CM")" goal:="" goal_met=null rows="$rows" \
      events="$events" repetitions="$BENCH_REPS" eddy_eps_all:="${P_ALL[$v]% }" \
      baseline_eps_all:="${C_ALL[$v]% }" \
      notes:="the binary before the change (BENCH_EDDY_BEFORE), run right after eddy in each repetition; after/before = $( [[ -n $EM ]] && printf %.3f "$(calc "$EM / $PM")" || echo '?')"
  fi
done
log "S5 done: $(grep -v '^#' "$BENCH_DATA/s5_sinks.dat" | paste -sd';')"
((bad == 0)) || die "S5: eddy failed or miscounted on: $(printf '%s ' "${!FAILED[@]}")"
