#!/usr/bin/env bash
# S6 state and backpressure — what a key costs, and whether memory stays
# bounded when a sink stalls.
#
# 1. Bytes per key: the generator with K distinct keys and 2K events, count
#    only, null sink (bench/configs/s6_bytes.yaml); bytes per key =
#    aggregators.state_bytes / aggregators.keys from --stats, plus the peak
#    RSS. K = 1M and 10M (smoke: 100k). Goal: <= 80 bytes per key. The
#    throughput is compared with s1_loop on the same events, as in S1. With
#    BENCH_EDDY_BEFORE set, that binary runs after eddy in each repetition
#    and gets a row "<variant> [before]".
# 2. Backpressure: a paced generator (200k events/s, 100k keys) -> count per
#    key -> MariaDB (bench/configs/s6_backpressure.yaml). After 5 s the MariaDB
#    server is stopped with SIGSTOP for 30 s (smoke: 3 s), then continued;
#    5 s later eddy gets SIGTERM and drains. eddy's VmRSS is sampled every
#    0.5 s into $BENCH_DATA/s6_rss.dat (columns: seconds, MiB, phase 0 = before,
#    1 = server stopped, 2 = resumed, 3 = draining). Goals: RSS flat while the
#    server is stopped (the coordinator pauses the sources once
#    runtime.max_inflight flushes wait, see docs/architecture.md), and nothing
#    lost: SUM(count) in the table = the generator's inputs.
#
#    The MariaDB server is a private one (bench/.cache/services, port
#    ${BENCH_MYSQL_PORT:-23316}), started and stopped here: stopping the
#    shared server of scripts/services would stall everyone else's tests.
#    It is resumed (SIGCONT) whatever happens to this script.
#
#   bench/scenarios/s6_state.sh full|smoke
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
bench_init "${1:-}"

LOOP=$BENCH_BIN/s1_loop
[[ -x $LOOP ]] || die "baseline $LOOP is not built (bench/run builds it)"
TMO=900

# ------------------------------------------------------- bytes per key ----
if [[ $BENCH_MODE == full ]]; then KEYSETS=(1000000 10000000); else KEYSETS=(100000); fi
for keys in "${KEYSETS[@]}"; do
  events=$((2 * keys))
  name="$(human "$keys")-key space, $(human "$events") events, count only"
  log "S6 bytes per key: $name, $BENCH_REPS repetition(s)"
  declare -a e_eps=() b_eps=() rss=() cpu=() p_eps=() p_rss=() p_cpu=()
  bpk="" p_bpk="" p_keys="" p_bytes=""
  for ((r = 1; r <= BENCH_REPS; r++)); do
    tag=s6_k${keys}_r$r
    run_baseline "$tag.loop" "$TMO" "$LOOP" "$events" "$keys" 1 || die "s1_loop failed"
    b_eps+=("$B_EPS")
    loop_bpk=$(calc "$(bt get "$BENCH_WORK/$tag.loop.json" table_bytes) / $B_KEYS")
    BENCH_EVENTS=$events BENCH_KEYS=$keys \
      run_eddy "$tag.eddy" "$BENCH_DIR/configs/s6_bytes.yaml" "$TMO" || die "eddy failed on S6 $name"
    ((ST_RECORDS == events && ST_AGG_RECORDS == events)) ||
      die "S6 $name: eddy read $ST_RECORDS records, aggregated $ST_AGG_RECORDS; expected $events"
    ((ST_KEYS == B_KEYS)) || die "S6 $name: eddy has $ST_KEYS keys, the loop $B_KEYS"
    e_eps+=("$E_EPS") rss+=("$E_RSS_MB") cpu+=("$E_CPU_PER_M")
    bpk=$(calc "$ST_STATE_BYTES / $ST_KEYS") # the same in every repetition
    log "  rep $r: $ST_KEYS keys, $(printf %.1f "$bpk") B/key, RSS $(printf %.0f "$E_RSS_MB") MiB;" \
      "loop $(mps "$B_EPS"), eddy $(mps "$E_EPS")"
    a_keys=$ST_KEYS a_bytes=$ST_STATE_BYTES brc=0
    BENCH_EVENTS=$events BENCH_KEYS=$keys \
      run_eddy_before "$tag.before" "$BENCH_DIR/configs/s6_bytes.yaml" "$TMO" || brc=$?
    if ((brc == 0)); then
      ((ST_RECORDS == events && ST_KEYS == B_KEYS)) ||
        die "S6 $name [before]: $ST_RECORDS records, $ST_KEYS keys; expected $events, $B_KEYS"
      p_eps+=("$E_EPS") p_rss+=("$E_RSS_MB") p_cpu+=("$E_CPU_PER_M")
      p_bpk=$(calc "$ST_STATE_BYTES / $ST_KEYS") p_keys=$ST_KEYS p_bytes=$ST_STATE_BYTES
      log "  rep $r: before the change $(printf %.1f "$p_bpk") B/key, RSS $(printf %.0f "$E_RSS_MB") MiB, $(mps "$E_EPS")"
    elif ((brc != 2)); then
      die "the binary before the change failed on S6 $name"
    fi
    ST_KEYS=$a_keys ST_STATE_BYTES=$a_bytes
  done
  em=$(median "${e_eps[@]}")
  bm=$(median "${b_eps[@]}")
  rm_=$(median "${rss[@]}")
  met=$(awk -v b="$bpk" 'BEGIN { print (b <= 80) ? "true" : "false" }')
  bt emit scenario=S6 variant:="$name" eddy_eps="$em" baseline:="s1_loop (C, 1 thread, count+sum)" \
    baseline_eps="$bm" ratio="$(calc "$em / $bm")" bytes_per_key="$bpk" rss_mb="$rm_" \
    cpu_s_per_mevents="$(median "${cpu[@]}")" goal:="<= 80 B/key" goal_met="$met" \
    keys="$ST_KEYS" events="$events" state_bytes="$ST_STATE_BYTES" repetitions="$BENCH_REPS" \
    notes:="$ST_KEYS distinct keys drawn (2 events per key of the space); B/key = aggregator state_bytes / keys ($ST_STATE_BYTES / $ST_KEYS); peak RSS per key $(printf %.1f "$(calc "$rm_ * 1048576 / $ST_KEYS")") B (includes the runtime, batches and the changelog); the loop's table: $(printf %.1f "$loop_bpk") B/key (32-byte slots, load <= 0.5)"
  if ((${#p_eps[@]})); then
    pm=$(median "${p_eps[@]}")
    prm=$(median "${p_rss[@]}")
    bt emit scenario=S6 variant:="$name [before]" eddy_eps="$pm" \
      baseline:="s1_loop (C, 1 thread, count+sum)" baseline_eps="$bm" ratio="$(calc "$pm / $bm")" \
      bytes_per_key="$p_bpk" rss_mb="$prm" cpu_s_per_mevents="$(median "${p_cpu[@]}")" \
      goal:="<= 80 B/key" goal_met="$(awk -v b="$p_bpk" 'BEGIN { print (b <= 80) ? "true" : "false" }')" \
      keys="$p_keys" events="$events" state_bytes="$p_bytes" repetitions="$BENCH_REPS" \
      notes:="the binary before the change (BENCH_EDDY_BEFORE), run right after eddy in each repetition; B/key = $p_bytes / $p_keys; peak RSS per key $(printf %.1f "$(calc "$prm * 1048576 / $p_keys")") B"
  fi
done

# -------------------------------------------------------- backpressure ----
if [[ $BENCH_MODE == full ]]; then PRE=5 PAUSE=30 POST=5; else PRE=3 PAUSE=3 POST=3; fi
RATE=${BENCH_S6_RATE:-200000}
KEYS=100000
export BENCH_MYSQL_PORT=${BENCH_MYSQL_PORT:-23316}
PRIV_SD=$BENCH_CACHE/services
svc() { EDDY_SERVICES_DIR=$PRIV_SD EDDY_MYSQL_PORT=$BENCH_MYSQL_PORT "$BENCH_ROOT/scripts/services" "$@"; }
myq() { mariadb --no-defaults --connect-timeout=5 -h 127.0.0.1 -P "$BENCH_MYSQL_PORT" -u root eddy -N -B -e "$1"; }

MYPID="" PAUSED=0 EDDY_PID=""
cleanup() {
  local rc=$?
  if ((PAUSED)) && [[ -n $MYPID ]]; then
    kill -CONT "$MYPID" 2>/dev/null || true
    log "S6: resumed MariaDB (pid $MYPID) on exit"
  fi
  if [[ -n $EDDY_PID ]] && kill -0 "$EDDY_PID" 2>/dev/null; then
    kill -KILL "$EDDY_PID" 2>/dev/null || true
  fi
  [[ ${BENCH_KEEP_SERVICES:-0} == 1 ]] || svc stop mariadb >/dev/null 2>&1 || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "S6 backpressure: private MariaDB on 127.0.0.1:$BENCH_MYSQL_PORT"
svc start mariadb >"$BENCH_WORK/s6_services.log" 2>&1 || {
  cat "$BENCH_WORK/s6_services.log" >&2
  die "could not start the private MariaDB server"
}
MYPID=$(head -n1 "$PRIV_SD/run/mariadb.pid" | tr -dc 0-9)
[[ -n $MYPID ]] && kill -0 "$MYPID" || die "no MariaDB pid in $PRIV_SD/run/mariadb.pid"

TABLE=bench_s6_$$_$(date +%s)
RSS_DAT=$BENCH_DATA/s6_rss.dat
printf '# seconds rss_mib phase(0 before, 1 server stopped, 2 resumed, 3 draining)\n' >"$RSS_DAT"
LOG=$BENCH_WORK/s6_backpressure.log
STATS=$BENCH_WORK/s6_backpressure.stats.json
rm -f "$STATS"
log "S6: $RATE events/s over $KEYS keys into table $TABLE; MariaDB stopped at ${PRE}s for ${PAUSE}s"
BENCH_KEYS=$KEYS BENCH_RATE=$RATE BENCH_TABLE=$TABLE \
  "$BENCH_EDDY" run -c "$BENCH_DIR/configs/s6_backpressure.yaml" --stats "$STATS" >"$LOG" 2>&1 &
EDDY_PID=$!

T0=$EPOCHREALTIME
phase=0
elapsed() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
sample() {
  local kb
  kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$EDDY_PID/status" 2>/dev/null || true)
  [[ -n $kb ]] && printf '%s %s %s\n' "$(elapsed)" "$(calc "$kb / 1024")" "$phase" >>"$RSS_DAT"
  return 0
}
# sample_until SECONDS: sample every 0.5 s until SECONDS after the start;
# fails if eddy exits meanwhile.
sample_until() {
  while awk -v e="$(elapsed)" -v t="$1" 'BEGIN { exit !(e < t) }'; do
    kill -0 "$EDDY_PID" 2>/dev/null || {
      tail -n 20 "$LOG" >&2
      die "S6: eddy exited during the backpressure run (phase $phase)"
    }
    sample
    sleep 0.5
  done
}

sample_until "$PRE"
kill -STOP "$MYPID"
PAUSED=1 phase=1
T_STOP=$(elapsed)
log "S6: MariaDB stopped (SIGSTOP) at ${T_STOP}s"
sample_until $((PRE + PAUSE))
sample # the last sample of the stop, as close to SIGCONT as can be
kill -CONT "$MYPID"
PAUSED=0 phase=2
T_CONT=$(elapsed)
log "S6: MariaDB continued (SIGCONT) at ${T_CONT}s"
sample_until $((PRE + PAUSE + POST))
phase=3
kill -TERM "$EDDY_PID"
log "S6: SIGTERM to eddy at $(elapsed)s; waiting for the drain"
for ((i = 0; i < 240; i++)); do
  kill -0 "$EDDY_PID" 2>/dev/null || break
  sample
  sleep 0.5
done
if kill -0 "$EDDY_PID" 2>/dev/null; then
  tail -n 20 "$LOG" >&2
  die "S6: eddy did not finish draining within 120 s of SIGTERM"
fi
rc=0
wait "$EDDY_PID" || rc=$?
EDDY_PID=""
if ((rc != 0)) || [[ ! -s $STATS ]]; then
  tail -n 20 "$LOG" >&2
  die "S6: eddy exited $rc after SIGTERM (expected a drain and exit 0)"
fi
eval "$(bt stats "$STATS")"

read -r DB_SUM DB_ROWS <<<"$(myq "SELECT COALESCE(SUM(\`count\`), 0), COUNT(*) FROM \`$TABLE\`")"
myq "DROP TABLE IF EXISTS \`$TABLE\`" || true
log "S6: generator inputs $ST_INPUTS, SUM(count) in MariaDB $DB_SUM over $DB_ROWS keys"

# RSS: while stopped, after the first third of the stop (the time the
# coordinator needs to notice: max_inflight flushes of 500 ms each).
read -r RSS_BEFORE RSS_SETTLED RSS_MIN RSS_MAX RSS_END_STOP RSS_PEAK <<<"$(awk -v ts="$T_STOP" -v tc="$T_CONT" '
  !/^#/ {
    if ($3 == 0) before = $2
    if ($3 == 1) {
      if ($1 >= ts + (tc - ts) / 3) {
        if (settled == "") settled = $2
        if (min == "" || $2 < min) min = $2
        if (max == "" || $2 > max) max = $2
      }
      end = $2
    }
    if (peak == "" || $2 > peak) peak = $2
  }
  END { if (settled == "") settled = min = max = end
        printf "%s %s %s %s %s %s", before, settled, min, max, end, peak }' "$RSS_DAT")"
GROWTH=$(calc "$RSS_MAX - $RSS_SETTLED")
FLAT=$(awk -v g="$GROWTH" -v s="$RSS_SETTLED" 'BEGIN { print (g <= 8 || g <= 0.05 * s) ? "true" : "false" }')
if ((DB_SUM < ST_INPUTS)); then
  die "S6: records lost: SUM(count) = $DB_SUM in MariaDB, the generator produced $ST_INPUTS"
fi
EXACT=true
DUP_NOTE="nothing lost, no duplicates"
if ((DB_SUM > ST_INPUTS)); then
  EXACT=false
  DUP_NOTE="nothing lost, but $((DB_SUM - ST_INPUTS)) counted twice (a retried flush; at-least-once allows it)"
fi
MET=false
[[ $FLAT == true && $EXACT == true ]] && MET=true
f1() { printf %.1f "$1"; }
bt emit scenario=S6 variant:="MariaDB stopped ${PAUSE} s under $(human "$RATE") ev/s, $(human "$KEYS") keys" \
  eddy_eps="$(calc "$ST_INPUTS / ($ST_WALL_MS / 1000)")" baseline=null baseline_eps=null ratio=null \
  rss_mb="$RSS_MAX" p50_ms="$ST_P50_MS" p99_ms="$ST_P99_MS" p999_ms="$ST_P999_MS" \
  goal:="RSS flat while the sink is stopped; SUM(count) = inputs" goal_met="$MET" \
  rss_flat="$FLAT" rss_before_mb="$RSS_BEFORE" rss_settled_mb="$RSS_SETTLED" \
  rss_min_stopped_mb="$RSS_MIN" rss_max_stopped_mb="$RSS_MAX" rss_peak_mb="$RSS_PEAK" \
  inputs="$ST_INPUTS" db_sum_count="$DB_SUM" db_rows="$DB_ROWS" reconnects="$ST_RECONNECTS" \
  pause_s="$PAUSE" rate="$RATE" \
  notes:="RSS (MiB): $(f1 "$RSS_BEFORE") before the stop; while stopped, after the first third: min $(f1 "$RSS_MIN"), max $(f1 "$RSS_MAX") (growth $(f1 "$GROWTH"); flat = growth <= 8 MiB or 5%); peak of the run $(f1 "$RSS_PEAK"). $ST_INPUTS inputs, SUM(count) $DB_SUM: $DUP_NOTE; $ST_RECONNECTS sink reconnect(s). eddy events/s = inputs / wall time (the rate is fixed); latency = input to durable flush, over the whole run"
log "S6 done"
