#!/usr/bin/env bash
# S2 JSON — decoding plus aggregation, the work of a typical ingest job.
# bench-needs: postgres
#
# Input: a file of JSON order events, one per line, ~137 bytes each (order_id,
# ts, customer, product_id, category, amount, status; 10k product_ids),
# generated once by bench/tools/gen_orders.py into bench/.cache/data/ (full:
# 2M events, smoke: 100k).
# eddy: directory source -> json decoder -> count + sum(amount) per
# product_id -> null sink (bench/configs/s2_json.yaml), 1 and 2 workers.
# Baseline: bench/baselines/s2_simdjson.cpp, one thread, simdjson On-Demand
# over the same file, same aggregation. Reference: s2_jsmn.c, the same loop
# with jsmn (a tokenizer that validates less; eddy used it before its own
# one-pass parser).
# Order per repetition: simdjson, eddy 1 worker, jsmn, eddy 2 workers.
# Goal: eddy >= 0.8x the simdjson loop per core used (cores = workers).
# Correctness (once, untimed): the same pipeline into PostgreSQL; per-product
# counts and sums must add up to the generator's totals.
#
#   bench/scenarios/s2_json.sh full|smoke
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
bench_init "${1:-}"

CONF=$BENCH_DIR/configs/s2_json.yaml
CHECK_CONF=$BENCH_DIR/configs/s2_json_check.yaml
SIMD=$BENCH_BIN/s2_simdjson
JSMN=$BENCH_BIN/s2_jsmn
[[ -x $JSMN ]] || die "baseline $JSMN is not built (bench/run builds it)"
HAVE_SIMD=1
[[ -x $SIMD ]] || {
  HAVE_SIMD=0
  log "WARNING: $SIMD is not built (libsimdjson-dev missing?): S2 has no simdjson baseline"
}

if [[ $BENCH_MODE == full ]]; then N=2000000; else N=100000; fi
TMO=600

# ---- input, generated once per size ----
DATA=$(bench_orders "$N")
EXP_EVENTS=$(bt get "$DATA.expect.json" events)
EXP_PRODUCTS=$(bt get "$DATA.expect.json" products)
EXP_SUM=$(bt get "$DATA.expect.json" sum_amount)
AVG_BYTES=$(bt get "$DATA.expect.json" avg_line_bytes)
((EXP_EVENTS == N)) || die "$DATA.expect.json says $EXP_EVENTS events, expected $N"
cat "$DATA" >/dev/null # into the page cache: every reader starts equal

# close_enough A B: |A - B| <= 1e-6 * |B|
close_enough() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d;
  m = b < 0 ? -b : b; exit !(d <= 1e-6 * m) }'; }

# check_baseline NAME: B_* against the generator's totals.
check_baseline() {
  ((B_EVENTS == N && B_COUNT == N)) || die "S2 $1 counted $B_EVENTS events, expected $N"
  ((B_KEYS == EXP_PRODUCTS)) || die "S2 $1 found $B_KEYS products, expected $EXP_PRODUCTS"
  close_enough "$B_SUM" "$EXP_SUM" || die "S2 $1 summed $B_SUM, expected $EXP_SUM"
}

# inbox TAG: a fresh directory holding the input (hard link, or a copy).
inbox() {
  local d=$BENCH_WORK/$1.inbox
  rm -rf "$d"
  mkdir -p "$d"
  ln "$DATA" "$d/orders.json" 2>/dev/null || cp "$DATA" "$d/orders.json"
  printf '%s\n' "$d"
}

# Decoder actors for the 2-worker runs: the worker that hosts the source also
# reads, so one decoder more than workers balances the two (measured: 2
# decoders 5.7 M/s, 3 decoders 7.3-8.4 M/s, 4 decoders 5.0-5.7 M/s).
DEC_W2=${S2_DECODERS:-3}

# eddy_s2 TAG WORKERS DECODERS: one timed eddy run; sets E_* / ST_*.
eddy_s2() {
  local tag=$1 workers=$2 decoders=$3 dir
  dir=$(inbox "$tag")
  BENCH_WORKERS=$workers BENCH_DECODERS=$decoders BENCH_INBOX=$dir \
    run_eddy "$tag" "$CONF" "$TMO" --exit-when-idle 1s || die "eddy failed on S2 ($workers workers)"
  ((ST_RECORDS == N && ST_AGG_RECORDS == N && ST_REJECTED == 0)) ||
    die "S2: eddy read $ST_RECORDS records ($ST_REJECTED rejected), aggregated $ST_AGG_RECORDS; expected $N"
  ((ST_KEYS == EXP_PRODUCTS)) || die "S2: eddy has $ST_KEYS products, expected $EXP_PRODUCTS"
  rm -rf "$dir"
}

log "S2: $(human "$N") JSON events (~${AVG_BYTES%.*} bytes each), $BENCH_REPS repetition(s)"
declare -a simd=() jsmn=() e1=() e2=() e20=() c1=() c2=() r1=() r2=() cpu1=() cpu2=()
for ((r = 1; r <= BENCH_REPS; r++)); do
  if ((HAVE_SIMD)); then
    run_baseline "s2_r$r.simdjson" "$TMO" "$SIMD" "$DATA" || die "s2_simdjson failed"
    check_baseline s2_simdjson
    simd+=("$B_EPS")
    SIMD_IMPL=$(bt get "$BENCH_WORK/s2_r$r.simdjson.json" implementation)
  fi
  eddy_s2 "s2_r$r.eddy_w1" 1 0
  e1+=("$E_EPS") c1+=("$E_CPU_PER_M") r1+=("$E_RSS_MB") cpu1+=("$E_CPU_S")
  log "  rep $r: simdjson $( ((HAVE_SIMD)) && mps "${simd[-1]}" || echo n/a), eddy 1 worker $(mps "$E_EPS") (active $ST_ACTIVE_MS ms, $E_CPU_S CPU s)"
  run_baseline "s2_r$r.jsmn" "$TMO" "$JSMN" "$DATA" || die "s2_jsmn failed"
  check_baseline s2_jsmn
  jsmn+=("$B_EPS")
  eddy_s2 "s2_r$r.eddy_w2" 2 "$DEC_W2"
  e2+=("$E_EPS") c2+=("$E_CPU_PER_M") r2+=("$E_RSS_MB") cpu2+=("$E_CPU_S")
  log "  rep $r: jsmn $(mps "$B_EPS"), eddy 2 workers + $DEC_W2 decoders $(mps "$E_EPS") (active $ST_ACTIVE_MS ms, $E_CPU_S CPU s)"
  eddy_s2 "s2_r$r.eddy_w2d0" 2 0
  e20+=("$E_EPS")
  log "  rep $r: eddy 2 workers, decoding in the source $(mps "$E_EPS")"
done

# ---- correctness: the same pipeline into PostgreSQL, once ----
if [[ -z ${EDDY_PG_DSN:-} ]]; then
  eval "$("$BENCH_ROOT/scripts/services" env postgres)"
fi
TABLE=bench_s2_$$_$(date +%s)
pgq() { psql "$EDDY_PG_DSN" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
dir=$(inbox s2_check)
log "S2: correctness check through PostgreSQL (table $TABLE)"
BENCH_INBOX=$dir BENCH_TABLE=$TABLE BENCH_DECODERS=$DEC_W2 run_eddy s2_check "$CHECK_CONF" "$TMO" --exit-when-idle 1s ||
  die "eddy failed on the S2 correctness check (PostgreSQL sink)"
read -r PG_ROWS PG_COUNT PG_SUM <<<"$(pgq "SELECT count(*), sum(orders), sum(revenue) FROM $TABLE" | tr '|' ' ')"
pgq "DROP TABLE IF EXISTS $TABLE" || true
rm -rf "$dir"
((PG_ROWS == EXP_PRODUCTS && PG_COUNT == N)) ||
  die "S2 check: PostgreSQL has $PG_ROWS products / $PG_COUNT orders, expected $EXP_PRODUCTS / $N"
close_enough "$PG_SUM" "$EXP_SUM" || die "S2 check: PostgreSQL revenue $PG_SUM, expected $EXP_SUM"
log "S2: eddy's totals match the generator ($PG_COUNT orders, revenue $PG_SUM)"

# ---- results ----
SM=$(median "${simd[@]}")
JM=$(median "${jsmn[@]}")
E1=$(median "${e1[@]}")
E2=$(median "${e2[@]}")
E20=$(median "${e20[@]}")
NAME="$(human "$N") JSON events"
CHECKED="totals checked: $N events, $EXP_PRODUCTS products, sum(amount) equal within 1e-6 in eddy (via PostgreSQL) and both loops"
SIMD_B="simdjson $(bt get "$BENCH_WORK/s2_r1.simdjson.json" simdjson 2>/dev/null || true) On-Demand (C++, 1 thread${SIMD_IMPL:+, $SIMD_IMPL kernel})"
# events per CPU-second: eddy's from its measured CPU time, a loop's = its events/s
EPC1=$(calc "$N / $(median "${cpu1[@]}")")
EPC2=$(calc "$N / $(median "${cpu2[@]}")")
ge() { awk -v r="$1" -v g="$2" 'BEGIN { print (r >= g) ? "true" : "false" }'; }

if ((HAVE_SIMD)); then
  R1=$(calc "$E1 / $SM")
  R2=$(calc "$E2 / $SM")
  R2C=$(calc "$E2 / 2 / $SM")
  bt emit scenario=S2 variant:="$NAME, 1 worker" eddy_eps="$E1" baseline:="$SIMD_B" \
    baseline_eps="$SM" ratio="$R1" goal:=">= 0.8x simdjson per core" goal_met="$(ge "$R1" 0.8)" \
    rss_mb="$(median "${r1[@]}")" cpu_s_per_mevents="$(median "${c1[@]}")" workers=1 cores=1 \
    events="$N" repetitions="$BENCH_REPS" eddy_eps_all:="${e1[*]}" baseline_eps_all:="${simd[*]}" \
    ratios_paired:="$(pair_ratios "${e1[*]}" "${simd[*]}")" ratio_per_cpu_second="$(calc "$EPC1 / $SM")" \
    notes:="1 worker = 1 core, so raw and per-core ratios are the same; by CPU time eddy does $(mps "$EPC1") per CPU-second (the loop $(mps "$SM")); $CHECKED"
  bt emit scenario=S2 variant:="$NAME, 2 workers (raw)" eddy_eps="$E2" baseline:="$SIMD_B" \
    baseline_eps="$SM" ratio="$R2" goal:="" goal_met=null \
    rss_mb="$(median "${r2[@]}")" cpu_s_per_mevents="$(median "${c2[@]}")" workers=2 cores=2 \
    events="$N" repetitions="$BENCH_REPS" eddy_eps_all:="${e2[*]}" baseline_eps_all:="${simd[*]}" \
    notes:="raw: eddy on 2 workers with decoders: $DEC_W2 against the loop on 1 core (the goal is per core, next row); eddy events/s = records / active time (until the flush covering the last input was durable; flush_interval 50ms)"
  bt emit scenario=S2 variant:="$NAME, 2 workers (per core)" eddy_eps="$E2" baseline:="$SIMD_B" \
    baseline_eps="$SM" ratio="$R2C" goal:=">= 0.8x simdjson per core" goal_met="$(ge "$R2C" 0.8)" \
    rss_mb="$(median "${r2[@]}")" cpu_s_per_mevents="$(median "${c2[@]}")" workers=2 cores=2 \
    events="$N" repetitions="$BENCH_REPS" ratio_per_cpu_second="$(calc "$EPC2 / $SM")" \
    notes:="ratio = (eddy events/s / 2 workers) / loop events/s; decoders: $DEC_W2; by CPU time eddy does $(mps "$EPC2") per CPU-second (ratio $(printf %.2f "$(calc "$EPC2 / $SM")"))"
  bt emit scenario=S2 variant:="$NAME, 2 workers, decoding in the source (per core; diagnostic)" eddy_eps="$E20" \
    baseline:="$SIMD_B" baseline_eps="$SM" ratio="$(calc "$E20 / 2 / $SM")" goal:="(diagnostic)" goal_met=null \
    workers=2 cores=2 events="$N" repetitions="$BENCH_REPS" eddy_eps_all:="${e20[*]}" \
    notes:="the same run with decoders: 0 — the source actor decodes on one worker, the second worker only aggregates"
else
  for w in 1 2; do
    e=$E1
    ((w == 2)) && e=$E2
    bt emit scenario=S2 variant:="$NAME, $w worker(s)" eddy_eps="$e" baseline:="simdjson (not available)" \
      baseline_eps=null ratio=null goal:=">= 0.8x simdjson per core" goal_met=null workers="$w" \
      notes:="libsimdjson-dev is not installed, so there is no simdjson baseline; $CHECKED"
  done
fi
bt emit scenario=S2 variant:="$NAME, 1 worker vs jsmn loop" eddy_eps="$E1" \
  baseline:="jsmn loop (C, 1 thread; tokenizer only)" baseline_eps="$JM" ratio="$(calc "$E1 / $JM")" \
  goal:="(reference)" goal_met=null workers=1 events="$N" repetitions="$BENCH_REPS" \
  eddy_eps_all:="${e1[*]}" baseline_eps_all:="${jsmn[*]}" \
  notes:="the loop tokenizes with jsmn (no full grammar check) and aggregates in a plain hash table; eddy validates every record fully and runs the framework around it"
printf '# workers eddy_eps simdjson_eps jsmn_eps\n1 %s %s %s\n2 %s %s %s\n' \
  "$E1" "${SM:-nan}" "$JM" "$E2" "${SM:-nan}" "$JM" >"$BENCH_DATA/s2_json.dat"
log "S2 done"
