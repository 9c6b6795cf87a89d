#!/usr/bin/env bash
# S1 engine — what eddy's runtime costs when decoding costs nothing.
#
# eddy: the built-in generator makes records in-process (no JSON) -> hash
# partitioning over the aggregators -> count + sum per key -> null sink
# (bench/configs/s1_engine.yaml). Baseline: bench/baselines/s1_loop.c, one
# thread generating the very same events (same splitmix64 stream, same keys)
# and aggregating them in a hash table.
#
# Variants: 10k and 1M distinct keys x 1 and 2 workers (8 aggregators), and
# 1/2/4 aggregators at 2 workers with 10k keys (the scaling chart).
# Full: 100M events with 10k keys, 30M with 1M keys (BENCH_S1_EVENTS_10K,
# BENCH_S1_EVENTS_1M override); smoke: 200k. Why that many: eddy's time ends
# with the flush covering the last input, and flushes come every 500 ms (the
# default flush_interval, kept because it is what users run), so a run must
# last several seconds for that granularity not to matter; at ~10 M events/s
# 20M events would be 2 s, i.e. up to 25% error.
# Each variant: baseline, eddy, baseline, eddy... (BENCH_REPS times); medians.
# With BENCH_EDDY_BEFORE set, each repetition also runs that binary right
# after eddy, and each variant gets a second row "<variant> [before]" with
# its median and its ratio to the same loop runs.
# Goal: eddy on 2 workers >= 1.0x the loop.
#
#   bench/scenarios/s1_engine.sh full|smoke
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
bench_init "${1:-}"

CONF=$BENCH_DIR/configs/s1_engine.yaml
LOOP=$BENCH_BIN/s1_loop
[[ -x $LOOP ]] || die "baseline $LOOP is not built (bench/run builds it)"

if [[ $BENCH_MODE == full ]]; then
  EV_10K=${BENCH_S1_EVENTS_10K:-100000000} EV_1M=${BENCH_S1_EVENTS_1M:-30000000}
else
  EV_10K=200000 EV_1M=200000
fi
TMO=600

WORKERS_DAT=$BENCH_DATA/s1_workers.dat
AGGS_DAT=$BENCH_DATA/s1_aggregators.dat
printf '# keys workers aggregators eddy_eps baseline_eps\n' >"$WORKERS_DAT"
printf '# keys workers aggregators eddy_eps baseline_eps\n' >"$AGGS_DAT"

# variant KEYS EVENTS WORKERS AGGREGATORS DATFILE [INSTANCES]
# INSTANCES > 1 runs that many generator actors (instances:), each with its
# own seed and a share of the events: the records are as many but not the
# same ones as the loop's, so the distinct-key check becomes a bound.
variant() {
  local keys=$1 events=$2 workers=$3 aggs=$4 dat=$5 inst=${6:-1}
  local name ws=s as=s
  ((workers == 1)) && ws=""
  ((aggs == 1)) && as=""
  name="$(human "$keys") keys, $workers worker$ws, $aggs aggregator$as"
  ((inst > 1)) && name+=", $inst generator instances"
  log "S1 $name: $(human "$events") events, $BENCH_REPS repetition(s)"
  local -a e_eps=() b_eps=() cpu=() rss=() p_eps=() p_cpu=() p_rss=()
  local r tag
  for ((r = 1; r <= BENCH_REPS; r++)); do
    tag=s1_k${keys}_w${workers}_a${aggs}_r$r
    run_baseline "$tag.loop" "$TMO" "$LOOP" "$events" "$keys" 1 || die "s1_loop failed"
    ((B_COUNT == events)) || die "s1_loop counted $B_COUNT events, expected $events"
    b_eps+=("$B_EPS")
    BENCH_WORKERS=$workers BENCH_AGGREGATORS=$aggs BENCH_EVENTS=$events BENCH_KEYS=$keys \
      BENCH_SEED=1 BENCH_INSTANCES=$inst run_eddy "$tag.eddy" "$CONF" "$TMO" ||
      die "eddy failed on S1 $name"
    ((ST_RECORDS == events && ST_AGG_RECORDS == events)) ||
      die "S1 $name: eddy read $ST_RECORDS records and aggregated $ST_AGG_RECORDS, expected $events"
    if ((inst == 1)); then
      # Same generator, same seed: the same records and the same distinct keys.
      ((ST_KEYS == B_KEYS)) ||
        die "S1 $name: eddy has $ST_KEYS distinct keys, the loop $B_KEYS (generators differ?)"
    else
      ((ST_KEYS <= keys && (events < 4 * keys || ST_KEYS == B_KEYS))) ||
        die "S1 $name: eddy has $ST_KEYS distinct keys of $keys, the loop $B_KEYS"
    fi
    e_eps+=("$E_EPS")
    cpu+=("$E_CPU_PER_M")
    rss+=("$E_RSS_MB")
    log "  rep $r: loop $(mps "$B_EPS"), eddy $(mps "$E_EPS")" \
      "(active ${ST_ACTIVE_MS} ms, ${E_CPU_S} CPU s, $(printf %.0f "$E_RSS_MB") MiB)"
    local keys_after=$ST_KEYS brc=0
    BENCH_WORKERS=$workers BENCH_AGGREGATORS=$aggs BENCH_EVENTS=$events BENCH_KEYS=$keys \
      BENCH_SEED=1 BENCH_INSTANCES=$inst run_eddy_before "$tag.before" "$CONF" "$TMO" || brc=$?
    if ((brc == 0)); then
      ((ST_RECORDS == events && ST_KEYS == keys_after)) ||
        die "S1 $name [before]: $ST_RECORDS records, $ST_KEYS keys; after: $events, $keys_after"
      p_eps+=("$E_EPS") p_cpu+=("$E_CPU_PER_M") p_rss+=("$E_RSS_MB")
      log "  rep $r: eddy before the change $(mps "$E_EPS")"
    elif ((brc != 2)); then
      die "the binary before the change failed on S1 $name"
    fi
  done
  local em bm ratio goal="" met=null
  em=$(median "${e_eps[@]}")
  bm=$(median "${b_eps[@]}")
  ratio=$(calc "$em / $bm")
  if ((workers == 2 && aggs == 8)); then
    goal=">= 1.0x loop on 2 workers"
    met=$(awk -v r="$ratio" 'BEGIN { print (r >= 1.0) ? "true" : "false" }')
  fi
  bt emit scenario=S1 variant:="$name" eddy_eps="$em" baseline:="s1_loop (C, 1 thread)" \
    baseline_eps="$bm" ratio="$ratio" rss_mb="$(median "${rss[@]}")" \
    cpu_s_per_mevents="$(median "${cpu[@]}")" goal:="$goal" goal_met="$met" \
    keys="$keys" events="$events" workers="$workers" aggregators="$aggs" \
    repetitions="$BENCH_REPS" eddy_eps_all:="${e_eps[*]}" baseline_eps_all:="${b_eps[*]}" \
    ratios_paired:="$(pair_ratios "${e_eps[*]}" "${b_eps[*]}")" \
    notes:="$(human "$events") events; eddy events/s = records / active time (start until the flush covering the last input was durable, flush_interval 500ms); distinct keys: eddy $ST_KEYS, loop $B_KEYS$( ((inst > 1)) && echo " (one seed per generator instance)" || echo " (identical)")"
  if ((${#p_eps[@]})); then
    local pm
    pm=$(median "${p_eps[@]}")
    bt emit scenario=S1 variant:="$name [before]" eddy_eps="$pm" baseline:="s1_loop (C, 1 thread)" \
      baseline_eps="$bm" ratio="$(calc "$pm / $bm")" rss_mb="$(median "${p_rss[@]}")" \
      cpu_s_per_mevents="$(median "${p_cpu[@]}")" goal:="" goal_met=null \
      keys="$keys" events="$events" workers="$workers" aggregators="$aggs" \
      repetitions="$BENCH_REPS" eddy_eps_all:="${p_eps[*]}" baseline_eps_all:="${b_eps[*]}" \
      ratios_paired:="$(pair_ratios "${p_eps[*]}" "${b_eps[*]}")" \
      notes:="the binary before the change (BENCH_EDDY_BEFORE), run right after eddy in each repetition; after/before = $(printf %.3f "$(calc "$em / $pm")")"
  fi
  [[ -n $dat ]] && printf '%s %s %s %s %s\n' "$keys" "$workers" "$aggs" "$em" "$bm" >>"$dat"
  return 0
}

for keys in 10000 1000000; do
  events=$EV_10K
  ((keys == 1000000)) && events=$EV_1M
  for workers in 1 2; do
    variant "$keys" "$events" "$workers" 8 "$WORKERS_DAT"
  done
  # gnuplot: one data block per key count
  printf '\n\n' >>"$WORKERS_DAT"
done

# Parallel sources: the same 2-worker runs with one generator per worker.
variant 10000 "$EV_10K" 2 8 "" 2
variant 1000000 "$EV_1M" 2 8 "" 2

# Aggregator scaling at 2 workers (8 aggregators is the variant above).
for aggs in 1 2 4; do
  variant 10000 "$EV_10K" 2 "$aggs" "$AGGS_DAT"
done
awk '!/^#/ && $1 == 10000 && $2 == 2 && $3 == 8' "$WORKERS_DAT" >>"$AGGS_DAT"
log "S1 done"
