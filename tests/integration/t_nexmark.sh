#!/usr/bin/env bash
# Nexmark events (docs/gen.md#nexmark): `eddy gen nexmark` is byte-identical
# for a seed and has every documented property, checked in Python
# (tests/tools/nexmark_check.py: 1:3:46 blocks, dense ids, times, types and
# ranges, hot auction/bidder/seller and channel shares, fixed URLs); the
# nexmark source with 1 and 3 instances reads exactly those events (each
# input a row in SQLite, compared as a multiset); bench S10's queries q0, q1,
# q2, q5 and q7 (bench/configs/s10_q*.yaml) with their null sink swapped for
# SQLite give exactly the rows Python computes from the same events; bad
# options are refused.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
CHECK="python3 tests/tools/nexmark_check.py"
B=$EDDY_ROOT/tests/out/nexmark
rm -rf "$B"; mkdir -p "$B"
START=1767225600000

# --- the events
"$EDDY" gen nexmark --count 20000 --seed 42 --out "$B/a.jsonl" 2>/dev/null
"$EDDY" gen nexmark --count 20000 --seed 42 --out - 2>/dev/null > "$B/b.jsonl"
check_files_eq "gen nexmark: same seed, byte-identical output" "$B/a.jsonl" "$B/b.jsonl"
"$EDDY" gen nexmark --count 20000 --seed 43 --out "$B/c.jsonl" 2>/dev/null
check "gen nexmark: another seed, other output" bash -c "! cmp -s '$B/a.jsonl' '$B/c.jsonl'"
"$EDDY" gen nexmark --count 10000 --seed 42 --out "$B/d.jsonl" 2>/dev/null
check "gen nexmark: event n does not depend on the count (a prefix)" \
    bash -c "head -n 10000 '$B/a.jsonl' | cmp -s - '$B/d.jsonl'"
"$EDDY" gen nexmark --count 100000 --seed 7 --out "$B/f.jsonl" 2>/dev/null
check "gen nexmark: fields, types, ranges, 1:3:46, hot shares (10000 events/s)" \
    $CHECK fields "$B/f.jsonl" 10000 $START
"$EDDY" gen nexmark --count 50000 --seed 7 --rate 2500 --start 2026-03-01T12:00:00Z \
    --out "$B/r.jsonl" 2>/dev/null
check "gen nexmark --rate 2500 --start ISO: the same properties, times at 2500/s" \
    $CHECK fields "$B/r.jsonl" 2500 1772366400000

# --- the source reads the same events, with 1 or 3 instances
"$EDDY" gen nexmark --count 20000 --seed 7 --out "$B/e.jsonl" 2>/dev/null
for n in 1 3; do
    rm -f "$B/rows$n.db"*
    NX_EVENTS=20000 NX_INSTANCES=$n NX_DB="$B/rows$n.db" \
        "$EDDY" run -c tests/integration/configs/nexmark_rows.yaml --stats "$B/rows$n.stats" \
        > "$B/rows$n.log" 2>&1
    check_eq "nexmark source, $n instance(s): exits 0" 0 $?
    check_eq "nexmark source, $n instance(s): 20000 inputs" 20000 \
        "$(json_get "$B/rows$n.stats" sources nx inputs 2>/dev/null)"
    check "nexmark source, $n instance(s): its records are gen nexmark's events" \
        $CHECK rows "$B/e.jsonl" "$B/rows$n.db" events
done

# --- the S10 queries (bench/configs/s10_q*.yaml) against Python over the same
# events: the null sink swapped for SQLite (sed on the config, nothing else
# changed), read back and compared row for row; 1000 events/s of event time,
# so 60k events span 60 s: 6 tumbling windows (q7), 34 hopping ones (q5)
QN=${NX_QUERY_EVENTS:-60000}
"$EDDY" gen nexmark --count "$QN" --seed 5 --rate 1000 --out "$B/q.jsonl" 2>/dev/null
for q in q0 q1 q2 q5 q7; do
    case $q in
    q0|q1|q2) cols="    table: $q
    columns: $($CHECK columns $q)" ;;
    *) cols="    table: $q" ;;
    esac
    rm -f "$B/$q.db"*
    python3 - "bench/configs/s10_$q.yaml" "$B/$q.yaml" "$B/$q.db" "$cols" <<'PY'
import sys
src, dst, db, cols = sys.argv[1:]
text = open(src).read()
assert text.count("    null: {}\n") == 1, "one null sink expected in " + src
open(dst, "w").write(text.replace("    null: {}\n", '    sqlite: { path: "%s" }\n%s\n' % (db, cols)))
PY
    BENCH_EVENTS=$QN BENCH_SEED=5 BENCH_EVENT_RATE=1000 BENCH_INSTANCES=2 BENCH_DECODERS=2 \
        "$EDDY" run -c "$B/$q.yaml" --stats "$B/$q.stats" > "$B/$q.log" 2>&1
    check_eq "$q: exits 0" 0 $?
    check_eq "$q: $QN inputs, none rejected" "$QN 0" \
        "$(json_get "$B/$q.stats" sources nx inputs 2>/dev/null) $(json_get "$B/$q.stats" sources nx rejected 2>/dev/null)"
    check "$q: its rows equal Python's over gen nexmark's events" \
        $CHECK query $q "$B/q.jsonl" "$B/$q.db" $q
done

# --- refused: bad_nexmark WHAT NAME SOURCE-LINES REGEX
bad_nexmark() {
    check_bad_config "$1" "$2" "sources:
  nx:
$3
    to: [d]
sinks:
  d: { null: {} }
" "$4"
}
bad_nexmark "nexmark without format: json" nx_format "    nexmark: { events: 10 }" \
    "a nexmark source makes JSON events; set .format: json."
bad_nexmark "nexmark event_rate 0" nx_rate "    nexmark: { events: 10, event_rate: 0 }
    format: json" "event_rate must be above 0"
bad_nexmark "nexmark unknown option" nx_opt "    nexmark: { events: 10, sed: 3 }
    format: json" "unknown key 'sed'"
bad_nexmark "nexmark fewer events than instances" nx_inst "    nexmark: { events: 2 }
    format: json
    instances: 3" "has 3 instances but only 2 events"

[ "$TAP_FAILED" -eq 0 ]
