#!/usr/bin/env bash
# Nexmark events (docs/gen.md#nexmark): `eddy gen nexmark` is byte-identical
# for a seed and has every documented property, checked in Python
# (tests/tools/nexmark_check.py: 1:3:46 blocks, dense ids, times, types and
# ranges, hot auction/bidder/seller and channel shares, fixed URLs); the
# nexmark source with 1 and 3 instances reads exactly those events (each
# input a row in SQLite, compared as a multiset); bad options are refused.
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

# --- refused
check_bad_config "nexmark without format: json" nx_format 'sources:
  nx:
    nexmark: { events: 10 }
    to: [d]
sinks:
  d: { null: {} }
' "a nexmark source makes JSON events; set .format: json."
check_bad_config "nexmark event_rate 0" nx_rate 'sources:
  nx:
    nexmark: { events: 10, event_rate: 0 }
    format: json
    to: [d]
sinks:
  d: { null: {} }
' "event_rate must be above 0"
check_bad_config "nexmark unknown option" nx_opt 'sources:
  nx:
    nexmark: { events: 10, sed: 3 }
    format: json
    to: [d]
sinks:
  d: { null: {} }
' "sed"

[ "$TAP_FAILED" -eq 0 ]
