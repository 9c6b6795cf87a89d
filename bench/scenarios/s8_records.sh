#!/usr/bin/env bash
# S8 records — records (not aggregates) from Kafka into a Parquet lake and
# into PostgreSQL, beside the raw consume rate of the same topic and, for
# PostgreSQL, `\copy` of the same rows as a ceiling (issue 9's bench).
# bench-needs: kafka postgres
#
# Input, made once and cached (bench/.cache/data): N tweets and N users from
# `eddy gen tweets|users --seed 8` (JSON lines, ~320 and ~420 bytes; user ids
# repeat, ~11 % of the records are updates of an earlier user), each on an
# 8-partition topic of this run, produced with kcat (tweets unkeyed, users
# keyed by id, so a user's versions stay in order in one partition).
# Per repetition, interleaved:
#   raw     bench/baselines/s3_consume.c (S3's consumer) reads the tweets
#           topic, then the users topic, in fresh groups, doing nothing else;
#   lake    bench/configs/s8_lake.yaml: every tweet into Parquet (zstd,
#           partitioned by day and hour, 11 columns), 2 consumers, fresh
#           group. Time = active time (the flush covering the last input
#           acked: its rows fsynced in the stage files) + the publication at
#           the stop (each open Parquet file's last row group and footer,
#           written by DuckDB as a stream during the run; fsync, rename),
#           taken from the log: the records are in visible Parquet files at
#           the end of it;
#   pg      bench/configs/s8_postgres.yaml: every user upserted by id into a
#           fresh table (8 columns, primary key id), 2 consumers, fresh group;
#           time = active time (the flush covering the last input committed);
#   copy    psql's `\copy … FROM … CSV` of the same N rows (the CSV written
#           by bench/tools/s8_check.py from the input) into an empty table of
#           the same columns (CREATE TABLE … (LIKE eddy's INCLUDING DEFAULTS))
#           with a b-tree index on id: the load rate of the same rows with
#           the same index work, no conflict handling (the ids repeat, so a
#           primary key would refuse the file); timed around psql.
# Rates are records/s and MB/s of message bytes (s3_consume's count).
#
# Checked on every run (a mismatch fails the scenario): eddy read N records,
# rejected none; the lake's visible Parquet files read by pyarrow hold N rows
# with N distinct tweet ids (bench/tools/s8_check.py lake); the PostgreSQL
# table holds one row per distinct user id of the input, and SUM(age) equals
# the sum of each id's last version's age (Python over the input); the COPY
# table holds N rows.
# Goals (issue 9): lake >= 0.7x raw consume; PostgreSQL upsert >= 0.5x COPY.
#
#   bench/scenarios/s8_records.sh full|smoke   (full 5M, smoke 20k; BENCH_S8_RECORDS)
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
bench_init "${1:-}"
eval "$("$BENCH_ROOT/scripts/services" env kafka postgres)"

if [[ $BENCH_MODE == full ]]; then N=${BENCH_S8_RECORDS:-5000000}; else N=20000; fi
TMO=1800
PY=${EDDY_CACHE:-$HOME/.cache/eddy}/venv/bin/python # pyarrow (scripts/deps)
CHECK=$BENCH_DIR/tools/s8_check.py
for t in kcat psql; do command -v "$t" >/dev/null || die "S8 needs $t (scripts/deps installs it)"; done
"$PY" -c 'import pyarrow' 2>/dev/null || die "S8 needs pyarrow in $PY (scripts/deps installs it)"
[[ -x $BENCH_BIN/s3_consume ]] ||
  make -C "$BENCH_DIR/baselines" -s OUT="$BENCH_BIN" "$BENCH_BIN/s3_consume" >&2 || die "cannot build s3_consume"
pg_q() { psql "$EDDY_PG_URL" -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }

# ---- input, cached ----
DATA=$BENCH_CACHE/data
mkdir -p "$DATA"
TWEETS=$DATA/s8_tweets_$N.jsonl USERS=$DATA/s8_users_$N.jsonl
if [[ ! -s $TWEETS.expect.json ]]; then
  log "S8: generating $(human "$N") tweets and users (cached in ${DATA#"$BENCH_ROOT"/})"
  "$BENCH_EDDY" gen tweets --count "$N" --seed 8 --out "$TWEETS.tmp" 2>/dev/null
  "$BENCH_EDDY" gen users --count "$N" --seed 8 --out "$USERS.tmp" 2>/dev/null
  mv "$TWEETS.tmp" "$TWEETS" && mv "$USERS.tmp" "$USERS"
  python3 "$CHECK" users "$USERS" "$USERS.csv" "$USERS.keyed" >"$USERS.expect.json"
  python3 "$CHECK" tweets "$TWEETS" >"$TWEETS.expect.json"
fi
T_IDS=$(bt get "$TWEETS.expect.json" distinct_ids)
U_IDS=$(bt get "$USERS.expect.json" distinct_ids)
U_AGE=$(bt get "$USERS.expect.json" final_age_sum)
((T_IDS == N)) || die "S8: the tweets have $T_IDS distinct ids, expected $N"

# ---- per-run names, cleaned up whatever happens ----
RUN=$(date +%s)-$$
SQLRUN=${RUN//-/_}
T_TOPIC=bench.s8.$RUN.tweets U_TOPIC=bench.s8.$RUN.users
TABLES=()
cleanup() {
  local t
  for t in "${TABLES[@]}"; do pg_q "DROP TABLE IF EXISTS \"$t\"" >/dev/null 2>&1 || true; done
  "$BENCH_ROOT/scripts/kafka-topics" delete "bench\\.s8\\.$RUN\\..*" >/dev/null 2>&1 || true
  rm -rf "$BENCH_WORK"/s8_lake_*
}
trap cleanup EXIT

log "S8: $(human "$N") tweets and $(human "$N") users ($U_IDS distinct ids) on 8 partitions each, $BENCH_REPS repetition(s)"
for t in "$T_TOPIC" "$U_TOPIC"; do
  "$BENCH_ROOT/scripts/kafka-topics" create "$t" 8 >/dev/null 2>&1 || die "S8: cannot create topic $t"
done
t0=$(date +%s.%N)
kcat -P -b "$EDDY_KAFKA" -t "$T_TOPIC" -X linger.ms=20 -X batch.num.messages=10000 -l "$TWEETS" ||
  die "S8: kcat could not produce the tweets"
kcat -P -b "$EDDY_KAFKA" -t "$U_TOPIC" -K $'\t' -X linger.ms=20 -X batch.num.messages=10000 -l "$USERS.keyed" ||
  die "S8: kcat could not produce the users"
log "S8: produced in $(calc "$(date +%s.%N) - $t0" | xargs printf %.1f) s"

# ms_of "2026-12-03T07:25:18.442Z": milliseconds since the epoch
ms_of() { date -u -d "$1" +%s%3N; }

declare -a raw_t=() raw_u=() lake=() pg=() copy=() lake_cpu=() pg_cpu=() lake_rss=() pg_rss=()
declare -a lake_pub=()
T_BYTES="" U_BYTES="" LAKE_FILES="" LAKE_BYTES=""
for ((r = 1; r <= BENCH_REPS; r++)); do
  # raw consume, both topics
  run_baseline "s8_r$r.raw_tweets" "$TMO" "$BENCH_BIN/s3_consume" "$EDDY_KAFKA" "$T_TOPIC" "$N" \
    "bench-s8-raw-t-$RUN-$r" 60 || die "S8: the raw consumer failed (tweets)"
  raw_t+=("$B_EPS")
  T_BYTES=$(bt get "$BENCH_WORK/s8_r$r.raw_tweets.json" bytes)
  run_baseline "s8_r$r.raw_users" "$TMO" "$BENCH_BIN/s3_consume" "$EDDY_KAFKA" "$U_TOPIC" "$N" \
    "bench-s8-raw-u-$RUN-$r" 60 || die "S8: the raw consumer failed (users)"
  raw_u+=("$B_EPS")
  U_BYTES=$(bt get "$BENCH_WORK/s8_r$r.raw_users.json" bytes)

  # lake
  dir=$BENCH_WORK/s8_lake_$r
  rm -rf "$dir"
  S8_TOPIC=$T_TOPIC S8_GROUP=bench-s8-lake-$RUN-$r S8_LAKE=$dir \
    run_eddy "s8_r$r.lake" "$BENCH_DIR/configs/s8_lake.yaml" "$TMO" --exit-when-idle 2s ||
    die "S8: eddy failed (lake, rep $r)"
  ((ST_INPUTS == N && ST_REJECTED == 0 && ST_ROWS_WRITTEN == N)) ||
    die "S8: eddy read $ST_INPUTS tweets, rejected $ST_REJECTED, wrote $ST_ROWS_WRITTEN rows; expected $N, 0, $N"
  elog=$BENCH_WORK/s8_r$r.lake.log
  t_drain=$(grep -m1 -o '^eddy: [^ ]* INFO \[coordinator\] draining' "$elog" | cut -d' ' -f2) || true
  t_exit=$(grep -m1 -o '^eddy: [^ ]* INFO exited cleanly' "$elog" | cut -d' ' -f2) || true
  [[ -n $t_drain && -n $t_exit ]] || die "S8: no drain/exit lines in $elog (the publication time is read from them)"
  pub=$(($(ms_of "$t_exit") - $(ms_of "$t_drain"))) lake_active=$ST_ACTIVE_MS
  lake_pub+=("$pub")
  lake+=("$(calc "$N / (($ST_ACTIVE_MS + $pub) / 1000)")") lake_cpu+=("$(calc "$E_CPU_S / ($N / 1000000)")")
  lake_rss+=("$E_RSS_MB")
  got=$("$PY" "$CHECK" lake "$dir") || die "S8: pyarrow could not read the lake $dir"
  rows=$(bt get <(echo "$got") rows) ids=$(bt get <(echo "$got") distinct_ids)
  ((rows == N && ids == N)) || die "S8: the lake holds $rows rows with $ids distinct ids (pyarrow), expected $N"
  LAKE_FILES=$(bt get <(echo "$got") files)
  LAKE_BYTES=$(find "$dir" -name '*.parquet' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
  rm -rf "$dir"

  # PostgreSQL upsert, then COPY of the same rows beside it
  table=bench_s8_${SQLRUN}_$r ctable=bench_s8_${SQLRUN}_copy_$r
  TABLES+=("$table" "$ctable")
  S8_TOPIC=$U_TOPIC S8_GROUP=bench-s8-pg-$RUN-$r S8_TABLE=$table \
    run_eddy "s8_r$r.pg" "$BENCH_DIR/configs/s8_postgres.yaml" "$TMO" --exit-when-idle 2s ||
    die "S8: eddy failed (postgres, rep $r)"
  ((ST_INPUTS == N && ST_REJECTED == 0 && ST_ROWS_WRITTEN == N)) ||
    die "S8: eddy read $ST_INPUTS users, rejected $ST_REJECTED, wrote $ST_ROWS_WRITTEN rows; expected $N, 0, $N"
  # records pass through (no aggregation): the rate is N over the active time
  pg+=("$(calc "$N / ($ST_ACTIVE_MS / 1000)")") pg_cpu+=("$(calc "$E_CPU_S / ($N / 1000000)")")
  pg_rss+=("$E_RSS_MB")
  read -r n_rows n_age <<<"$(pg_q "SELECT COUNT(*), SUM(age) FROM \"$table\"" | tr '|' ' ')"
  ((n_rows == U_IDS && n_age == U_AGE)) ||
    die "S8: $table holds $n_rows rows, SUM(age) $n_age; expected $U_IDS (distinct ids) and $U_AGE (last versions)"
  pg_q "CREATE TABLE \"$ctable\" (LIKE \"$table\" INCLUDING DEFAULTS); CREATE INDEX ON \"$ctable\" (id)"
  pg_q "DROP TABLE \"$table\""
  t0=$(date +%s.%N)
  psql "$EDDY_PG_URL" -X -q -v ON_ERROR_STOP=1 \
    -c "\\copy \"$ctable\" (id, first_name, last_name, email, gender, city, registered, age) FROM '$USERS.csv' CSV" ||
    die "S8: psql \\copy failed"
  t1=$(date +%s.%N)
  copy+=("$(calc "$N / ($t1 - $t0)")")
  c_rows=$(pg_q "SELECT COUNT(*) FROM \"$ctable\"")
  ((c_rows == N)) || die "S8: the COPY table holds $c_rows rows, expected $N"
  pg_q "DROP TABLE \"$ctable\""
  log "  rep $r: raw tweets $(mps "${raw_t[-1]}"), lake $(mps "${lake[-1]}") (active ${lake_active} ms + publication ${pub} ms); raw users $(mps "${raw_u[-1]}"), postgres $(mps "${pg[-1]}"), COPY $(mps "${copy[-1]}")"
done

rt=$(median "${raw_t[@]}") ru=$(median "${raw_u[@]}") lk=$(median "${lake[@]}") pu=$(median "${pg[@]}") cp=$(median "${copy[@]}")
mbs() { calc "$1 * $2 / $N / 1048576" | xargs printf %.1f; } # EPS BYTES: MB/s of message bytes
lratio=$(calc "$lk / $rt") pratio=$(calc "$pu / $cp")
bt emit scenario=S8 variant:="$(human "$N") tweets → lake (Parquet, zstd)" eddy_eps="$lk" \
  baseline:="librdkafka consumer, raw (s3_consume.c)" baseline_eps="$rt" ratio="$lratio" \
  goal:=">= 0.7x raw consume" goal_met="$(awk -v r="$lratio" 'BEGIN { print (r >= 0.7) ? "true" : "false" }')" \
  rss_mb="$(median "${lake_rss[@]}")" cpu_s_per_mevents="$(median "${lake_cpu[@]}")" \
  records="$N" message_bytes="$T_BYTES" eddy_mb_s="$(mbs "$lk" "$T_BYTES")" baseline_mb_s="$(mbs "$rt" "$T_BYTES")" \
  publication_ms_all:="${lake_pub[*]}" parquet_bytes="$LAKE_BYTES" parquet_files="$LAKE_FILES" \
  repetitions="$BENCH_REPS" eddy_eps_all:="${lake[*]}" baseline_eps_all:="${raw_t[*]}" \
  ratios_paired:="$(pair_ratios "${lake[*]}" "${raw_t[*]}")" \
  notes:="$(human "$N") tweets ($(calc "$T_BYTES / $N" | xargs printf %.0f) B each, $(calc "$T_BYTES / 1048576" | xargs printf %.0f) MiB) from 8 partitions, 2 consumers, into $LAKE_FILES Parquet file(s) of $(calc "$LAKE_BYTES / 1048576" | xargs printf %.1f) MiB (11 columns, zstd, by day and hour); eddy $(mbs "$lk" "$T_BYTES") MB/s, raw $(mbs "$rt" "$T_BYTES") MB/s; eddy's time = active time + the publication at the stop (last row groups, footers and renames: ${lake_pub[*]} ms); checked: pyarrow reads $N rows, $N distinct ids"
bt emit scenario=S8 variant:="$(human "$N") users → PostgreSQL upsert by id" eddy_eps="$pu" \
  baseline:="psql \\copy of the same rows (CSV, index on id)" baseline_eps="$cp" ratio="$pratio" \
  goal:=">= 0.5x COPY" goal_met="$(awk -v r="$pratio" 'BEGIN { print (r >= 0.5) ? "true" : "false" }')" \
  rss_mb="$(median "${pg_rss[@]}")" cpu_s_per_mevents="$(median "${pg_cpu[@]}")" \
  records="$N" distinct_ids="$U_IDS" message_bytes="$U_BYTES" eddy_mb_s="$(mbs "$pu" "$U_BYTES")" \
  raw_consume_eps="$ru" raw_consume_ratio="$(calc "$pu / $ru")" \
  repetitions="$BENCH_REPS" eddy_eps_all:="${pg[*]}" baseline_eps_all:="${copy[*]}" raw_consume_eps_all:="${raw_u[*]}" \
  ratios_paired:="$(pair_ratios "${pg[*]}" "${copy[*]}")" \
  notes:="$(human "$N") users ($(calc "$U_BYTES / $N" | xargs printf %.0f) B each, $U_IDS distinct ids: the rest are updates) from 8 partitions keyed by id, 2 consumers, upserted into 8 columns; eddy $(mbs "$pu" "$U_BYTES") MB/s; raw consume of the same topic $(mps "$ru") = $(calc "$pu / $ru" | xargs printf %.2f)x; COPY: the same $N rows as CSV into the same columns with a b-tree index on id (no primary key: the ids repeat); checked: $U_IDS rows, SUM(age) of the last versions = $U_AGE (Python over the input), COPY table $N rows"
log "S8 done"
