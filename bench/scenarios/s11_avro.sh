#!/usr/bin/env bash
# S11 Avro — decode throughput of `format: avro` beside the JSON decoder and
# beside avro-c's generic reader, over the same events (issue 8 §2b).
# No servers.
#
# Input: S2's order events (bench/tools/gen_orders.py, full 2M, smoke 100k;
# the same cached JSON lines file as S2), written again as Avro binary datums
# by fastavro under bench/configs/s11_orders.avsc (bench/tools/orders_avro.py,
# length-prefixed, cached beside it): 7 fields, two of them enums.
# Each program reads its input into memory, then decodes every event, takes
# product_id and amount, and aggregates count + sum(amount) per product in
# the same table (bench/baselines/s11_common.h); only that loop is timed, in
# CPU seconds of the process (the machine is shared: wall time would measure
# the neighbours), so every figure is events per CPU-second on one core:
#   eddy avro  bench/tools/s11_decode.c: eddy's Avro decoder (ed_avro.c, the
#              walker over the compiled schema, every datum checked whole);
#   eddy json  the same program with eddy's JSON decoder over the JSON lines;
#   avro-c     bench/baselines/s11_avro_c.c: avro-c 1.11's generic reader
#              (avro_value_read), the library eddy would otherwise use.
# This is the decoder alone, not a pipeline (there is no Avro file source;
# S2 measures eddy's JSON pipeline end to end). Order per repetition:
# avro-c, eddy avro, eddy json. Totals (events, products, sum) are checked
# against the generator's for every run.
#
#   bench/scenarios/s11_avro.sh full|smoke
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
bench_init "${1:-}"

SCHEMA=$BENCH_DIR/configs/s11_orders.avsc
VENV_PY=${EDDY_CACHE:-$HOME/.cache/eddy}/venv/bin/python # fastavro (scripts/deps)
[[ -x $VENV_PY ]] || die "no venv python at $VENV_PY (scripts/deps installs fastavro there)"
AVROC=$BENCH_BIN/s11_avro_c
[[ -x $AVROC ]] || die "baseline $AVROC is not built (bench/run builds it)"
make -s -C "$BENCH_ROOT" build/bench/s11_decode >&2 || die "cannot build build/bench/s11_decode"
DEC=$BENCH_ROOT/build/bench/s11_decode

if [[ $BENCH_MODE == full ]]; then N=2000000; else N=100000; fi
TMO=600
DATA=$(bench_orders "$N")
BIN=$BENCH_CACHE/data/orders-$N-v1.avro.bin
if [[ ! -s $BIN || $BIN -ot $SCHEMA ]]; then
  log "S11: writing $BIN with fastavro"
  "$VENV_PY" "$BENCH_DIR/tools/orders_avro.py" "$SCHEMA" "$DATA" "$BIN"
fi
EXP_PRODUCTS=$(bt get "$DATA.expect.json" products)
EXP_SUM=$(bt get "$DATA.expect.json" sum_amount)
AVRO_BYTES=$(calc "($(stat -c %s "$BIN") - 4 * $N) / $N")
JSON_BYTES=$(bt get "$DATA.expect.json" avg_line_bytes)

close_enough() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d;
  m = b < 0 ? -b : b; exit !(d <= 1e-6 * m) }'; }
# run TAG CMD...: one timed program; its totals must be the generator's.
run() {
  local tag=$1
  shift
  run_baseline "s11_$tag" "$TMO" "$@" || die "S11 $tag failed"
  ((B_EVENTS == N && B_COUNT == N)) || die "S11 $tag counted $B_EVENTS events, expected $N"
  ((B_KEYS == EXP_PRODUCTS)) || die "S11 $tag found $B_KEYS products, expected $EXP_PRODUCTS"
  close_enough "$B_SUM" "$EXP_SUM" || die "S11 $tag summed $B_SUM, expected $EXP_SUM"
}

log "S11: $(human "$N") events, Avro ~${AVRO_BYTES%.*} bytes, JSON ~${JSON_BYTES%.*} bytes each; $BENCH_REPS repetition(s)"
declare -a ac=() ea=() ej=()
for ((r = 1; r <= BENCH_REPS; r++)); do
  run "r$r.avro_c" "$AVROC" "$SCHEMA" "$BIN"
  ac+=("$B_EPS")
  run "r$r.eddy_avro" "$DEC" avro "$SCHEMA" "$BIN"
  ea+=("$B_EPS")
  run "r$r.eddy_json" "$DEC" json "$DATA"
  ej+=("$B_EPS")
  log "  rep $r: avro-c $(mps "${ac[-1]}"), eddy avro $(mps "${ea[-1]}"), eddy json $(mps "${ej[-1]}") (per CPU-second)"
done
AC=$(median "${ac[@]}")
EA=$(median "${ea[@]}")
EJ=$(median "${ej[@]}")
ge() { awk -v r="$1" -v g="$2" 'BEGIN { print (r >= g) ? "true" : "false" }'; }
NAME="$(human "$N") Avro order events, decode + aggregate, 1 core"
CHECKED="totals checked in every run: $N events, $EXP_PRODUCTS products, sum(amount) within 1e-6"
R1=$(calc "$EA / $AC")
bt emit scenario=S11 variant:="$NAME, eddy vs avro-c" eddy_eps="$EA" \
  baseline:="avro-c 1.11 generic reader (avro_value_read, C, 1 thread)" baseline_eps="$AC" ratio="$R1" \
  goal:=">= 1x avro-c's reader (and safe on hostile input, which avro-c is not)" goal_met="$(ge "$R1" 1)" \
  workers=1 cores=1 events="$N" repetitions="$BENCH_REPS" eddy_eps_all:="${ea[*]}" baseline_eps_all:="${ac[*]}" \
  ratios_paired:="$(pair_ratios "${ea[*]}" "${ac[*]}")" \
  notes:="events per CPU-second of the decode loop alone (input in memory; bench/tools/s11_decode.c vs bench/baselines/s11_avro_c.c, same aggregation table); eddy checks every datum whole (lengths, indexes, trailing bytes); ~${AVRO_BYTES%.*} bytes a datum; $CHECKED"
bt emit scenario=S11 variant:="$NAME, eddy Avro vs eddy JSON (same events)" eddy_eps="$EA" \
  baseline:="eddy's JSON decoder over the same events as JSON lines" baseline_eps="$EJ" ratio="$(calc "$EA / $EJ")" \
  goal:="(reference)" goal_met=null workers=1 cores=1 events="$N" repetitions="$BENCH_REPS" \
  eddy_eps_all:="${ea[*]}" baseline_eps_all:="${ej[*]}" ratios_paired:="$(pair_ratios "${ea[*]}" "${ej[*]}")" \
  notes:="the two formats of one event: Avro ~${AVRO_BYTES%.*} bytes, JSON ~${JSON_BYTES%.*} bytes; both decoders give product_id and amount with their text (keys need it); $CHECKED"
printf '# decoder eps_per_cpu_s\navro_c %s\neddy_avro %s\neddy_json %s\n' "$AC" "$EA" "$EJ" >"$BENCH_DATA/s11_avro.dat"
log "S11 done"
