# bench/lib.sh — shared by bench/run and the scenario scripts (source it).
#
# The environment a scenario script gets from bench/run (all exported; when a
# scenario script is run by hand, bench_init fills in the same defaults under
# bench/.cache/adhoc/ so it still works on its own):
#
#   BENCH_MODE     full | smoke
#   BENCH_REPS     repetitions per figure (full: 3, smoke: 1; BENCH_REPS=N overrides)
#   BENCH_JSONL    append one JSON result object per line here (bench.py emit)
#   BENCH_DATA     directory for chart data files (*.dat), kept with the results
#   BENCH_RESULTS  directory of latest.json / latest.md / *.png for this mode
#   BENCH_WORK     scratch directory, emptied at the start of every run
#   BENCH_CACHE    bench/.cache: generated inputs kept between runs (git-ignored)
#   BENCH_BIN      the baselines, built by bench/run (bench/baselines/Makefile)
#   BENCH_EDDY     the eddy binary to measure (a copy of bin/eddy taken at start,
#                  so a rebuild during the run does not change what is measured)
#   BENCH_ROOT     the repository
#   BENCH_EDDY_BEFORE  optional: a second eddy binary (the one before a
#                  change); S1, S5 and S6 run it right after BENCH_EDDY in every
#                  repetition and report it in rows marked "[before]"
#
# A scenario script exits non-zero only when the harness broke (eddy failed or
# counted wrong), never because a figure is slow.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_ROOT=${BENCH_ROOT:-$(cd "$BENCH_DIR/.." && pwd)}

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Debian's python3 when there is one: it starts in 20 ms, a pyenv shim in 200.
if [[ -z ${BENCH_PYTHON:-} ]]; then
  if [[ -x /usr/bin/python3 ]]; then BENCH_PYTHON=/usr/bin/python3; else BENCH_PYTHON=python3; fi
fi
export BENCH_PYTHON

# bt CMD ARGS: the Python helper (bench/tools/bench.py).
bt() { "$BENCH_PYTHON" "$BENCH_DIR/tools/bench.py" "$@"; }

# calc EXPR: floating-point arithmetic (awk), printed with 10 significant digits.
calc() { awk "BEGIN { printf \"%.10g\", ($*) }"; }

# mps EPS: events/s as "12.34 M/s" (for logs).
mps() { awk -v x="$1" 'BEGIN { printf "%.2f M/s", x / 1e6 }'; }

# median X...: median of numbers (empty arguments ignored).
median() { bt median "$@"; }

# Default environment, for a scenario script started by hand.
bench_init() { # MODE
  export BENCH_MODE=${BENCH_MODE:-${1:-smoke}}
  case $BENCH_MODE in full | smoke) ;; *) die "mode must be full or smoke, got '$BENCH_MODE'" ;; esac
  export BENCH_CACHE=${BENCH_CACHE:-$BENCH_DIR/.cache}
  if [[ -z ${BENCH_JSONL:-} ]]; then
    local adhoc=$BENCH_CACHE/adhoc
    mkdir -p "$adhoc/data" "$adhoc/work"
    export BENCH_JSONL=$adhoc/results.jsonl BENCH_DATA=$adhoc/data
    export BENCH_RESULTS=$adhoc BENCH_WORK=$adhoc/work
    log "not started by bench/run: results go to $BENCH_JSONL"
  fi
  export BENCH_BIN=${BENCH_BIN:-$BENCH_CACHE/bin}
  export BENCH_EDDY=${BENCH_EDDY:-$BENCH_ROOT/bin/eddy}
  if [[ -z ${BENCH_REPS:-} ]]; then
    if [[ $BENCH_MODE == full ]]; then BENCH_REPS=3; else BENCH_REPS=1; fi
  fi
  export BENCH_REPS BENCH_ROOT
  [[ -x $BENCH_EDDY ]] || die "no eddy binary at $BENCH_EDDY (run make)"
  mkdir -p "$BENCH_DATA" "$BENCH_WORK"
}

# bench_orders N: the path of N order events (JSON lines, bench/tools/gen_orders.py,
#   with its .expect.json) in $BENCH_CACHE/data, generated once per size; S2, S11.
bench_orders() {
  local d=$BENCH_CACHE/data/orders-$1-v1.jsonl
  if [[ ! -s $d || ! -s $d.expect.json ]]; then
    log "generating $d ($1 events)"
    mkdir -p "$(dirname "$d")"
    "$BENCH_PYTHON" "$BENCH_DIR/tools/gen_orders.py" "$1" "$d" >&2 || die "gen_orders.py $1 failed"
  fi
  printf '%s\n' "$d"
}

# run_eddy TAG CONFIG TIMEOUT_S [eddy run args...]
#   Runs `eddy run -c CONFIG --stats ...` under /usr/bin/time, with the
#   caller's environment (configs read ${BENCH_*} variables). Files:
#   $BENCH_WORK/TAG.{log,stats.json,time}. On success (exit 0) sets
#     ST_*        the --stats counters (bench.py stats)
#     E_EPS       records / (active_ms / 1000): events per second until the
#                 flush covering the last input was durable
#     E_CPU_S     user + system CPU seconds of the whole process
#     E_RSS_MB    peak resident set, MiB
#     E_CPU_PER_M CPU seconds per million records
#   and returns 0; otherwise prints the log's tail and returns 1.
run_eddy() {
  local tag=$1 conf=$2 tmo=$3
  shift 3
  local w=$BENCH_WORK/$tag
  rm -f "$w.stats.json" "$w.time"
  local rc=0
  timeout --kill-after=10 "$tmo" /usr/bin/time -f '%e %U %S %M' -o "$w.time" \
    "$BENCH_EDDY" run -c "$conf" --stats "$w.stats.json" "$@" >"$w.log" 2>&1 || rc=$?
  if ((rc != 0)) || [[ ! -s $w.stats.json ]]; then
    local why="exit $rc"
    ((rc == 124 || rc == 137)) && why="timed out after ${tmo}s"
    ((rc == 0)) && why="exit 0 but no stats file"
    log "eddy failed ($why) on $conf ($tag); last lines of $w.log:"
    tail -n 20 "$w.log" >&2
    return 1
  fi
  eval "$(bt stats "$w.stats.json")"
  local t
  t=$(tail -n 1 "$w.time")
  read -r _ E_USER E_SYS E_RSS_KB <<<"$t"
  E_CPU_S=$(calc "$E_USER + $E_SYS")
  E_RSS_MB=$(calc "$E_RSS_KB / 1024")
  if ((ST_ACTIVE_MS > 0)); then
    E_EPS=$(calc "$ST_RECORDS / ($ST_ACTIVE_MS / 1000)")
  else
    E_EPS=""
  fi
  if ((ST_RECORDS > 0)); then
    E_CPU_PER_M=$(calc "$E_CPU_S / ($ST_RECORDS / 1000000)")
  else
    E_CPU_PER_M=""
  fi
  return 0
}

# run_eddy_before TAG CONFIG TIMEOUT_S [args...]: run_eddy with the binary
#   $BENCH_EDDY_BEFORE; returns 2 without running anything when it is unset.
run_eddy_before() {
  [[ -n ${BENCH_EDDY_BEFORE:-} ]] || return 2
  local BENCH_EDDY=$BENCH_EDDY_BEFORE
  run_eddy "$@"
}

# run_baseline TAG TIMEOUT_S CMD...: runs a baseline; its JSON line is in
# $BENCH_WORK/TAG.json. Sets B_EPS, B_EVENTS, B_KEYS, B_COUNT, B_SUM.
run_baseline() {
  local tag=$1 tmo=$2
  shift 2
  local w=$BENCH_WORK/$tag rc=0
  timeout --kill-after=5 "$tmo" "$@" >"$w.json" 2>"$w.err" || rc=$?
  if ((rc != 0)); then
    log "baseline failed (exit $rc): $*"
    cat "$w.err" >&2
    return 1
  fi
  B_EPS=$(bt get "$w.json" eps)
  B_EVENTS=$(bt get "$w.json" events)
  B_KEYS=$(bt get "$w.json" keys)
  B_COUNT=$(bt get "$w.json" count)
  B_SUM=$(bt get "$w.json" sum)
}

# pair_ratios "A1 A2..." "B1 B2...": "A1/B1 A2/B2..." (per-repetition ratios,
# each of an eddy run and the baseline run just before it).
pair_ratios() {
  awk -v a="$1" -v b="$2" 'BEGIN { n = split(a, x, " "); split(b, y, " ");
    for (i = 1; i <= n; i++) printf "%s%.4g", (i > 1 ? " " : ""), (y[i] > 0 ? x[i] / y[i] : 0) }'
}

# human COUNT: 10000 -> 10k, 1000000 -> 1M (for variant names).
human() {
  awk -v n="$1" 'BEGIN {
    if (n >= 1e6 && n % 1e6 == 0) printf "%dM", n / 1e6;
    else if (n >= 1e3 && n % 1e3 == 0) printf "%dk", n / 1e3;
    else printf "%d", n }'
}
