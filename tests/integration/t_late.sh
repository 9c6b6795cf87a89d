#!/usr/bin/env bash
# Too-late records to a dead-letter topic (`late: SINK`) end to end through
# real Kafka: `eddy gen orders` with disorder and 3 % of the orders 50 s
# late, produced by eddy gen itself into a ONE-partition topic (arrival
# order, and with it lateness, is deterministic; the topic as read back by
# kcat is the input the oracle sees), run through
# tests/integration/configs/orders_late.yaml under --exit-when-idle:
# tumbling on_close, hopping on_update and session windows, each with a
# dead-letter topic of its own. Read back with kcat (an independent
# consumer): the dead-letter topics hold exactly the records
# tests/tools/window_oracle.py finds too late, with their Kafka keys and
# values unchanged; the windowed rows are the oracle's; nothing is lost
# (rows + routed = every order); --stats and /metrics count the routed
# records per aggregation, and the records two more aggregations over the
# same windows drop (late: drop) and apply anyway (late: update), each
# equal to the oracle's. Then the config errors of `late:`.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
. tests/lib/http.sh
http_setup late
RUN=$(date +%s)
N=20000
CONF=tests/integration/configs/orders_late.yaml
export EDDY_ORDERS_TOPIC="eddy.test.late.$RUN" EDDY_GROUP="eddy-test-late-$RUN"

# 20,000 orders at 100/s of event time (200 s), shuffled within 1.5 s (under
# max_out_of_orderness: 2s), 3 % moved 50 s back: too late for their 30 s
# window and their sessions, and for all or only the oldest of their
# hopping windows.
scripts/kafka-topics create "$EDDY_ORDERS_TOPIC" 1 >/dev/null
"$EDDY" gen orders --count $N --rate 100 --seed 20261203 --disorder 1500ms \
    --late-fraction 0.03 --late-by 50s --topic "$EDDY_ORDERS_TOPIC" --brokers "$EDDY_KAFKA" \
    2> "$B/gen.log"
check_eq "eddy gen produced $N orders" 0 "$?"
# consume TOPIC FILE [FORMAT]: the topic's messages, in log order.
consume() {
    kcat -b "$EDDY_KAFKA" -C -t "$1" -o beginning -e -q -f "${3:-%s\n}" 2>/dev/null > "$2"
}
consume "$EDDY_ORDERS_TOPIC" "$B/orders.jsonl"
consume "$EDDY_ORDERS_TOPIC" "$B/orders.kv" '%k\t%s\n'
check_eq "the topic holds the $N orders" "$N" "$(wc -l < "$B/orders.jsonl")"
for a in closed per_product sessions dropped updated; do
    python3 tests/tools/window_oracle.py --config $CONF --aggregation $a "$B/orders.jsonl" \
        -o "$B/$a.oracle.json"
done
ostat() { python3 -c 'import json, sys; print(eval(sys.argv[2], {"o": json.load(open(sys.argv[1]))}))' "$@"; }
for a in closed per_product sessions; do
    echo "# oracle $a: $(ostat "$B/$a.oracle.json" 'len(o["rows"])') windows," \
        "$(ostat "$B/$a.oracle.json" 'len(o["late_routed"])') records too late," \
        "$(ostat "$B/$a.oracle.json" 'o["skipped_windows"]') expired windows skipped"
done

# /metrics while the pipeline runs, until it exits (the last scrape is kept).
"$EDDY" run -c $CONF --exit-when-idle 3s --stats "$B/stats.json" 2> "$B/log" &
PID=$!
scrape_while $PID /metrics "$B/metrics.txt"
wait_pid 300 $PID; rc=$?
check_eq "run exits 0" 0 "$rc"
check_eq "$N records decoded, none rejected" "$N 0" \
    "$(json_get "$B/stats.json" sources orders records) $(json_get "$B/stats.json" sources orders rejected)"

total=0
for a in closed per_product sessions; do
    consume "$EDDY_ORDERS_TOPIC.late.$a" "$B/$a.late.jsonl"
    consume "$EDDY_ORDERS_TOPIC.late.$a" "$B/$a.late.kv" '%k\t%s\n'
    want=$(ostat "$B/$a.oracle.json" 'len(o["late_routed"])')
    total=$((total + want))
    check "$a: the dead-letter topic holds exactly the $want orders too late for every window" \
        python3 tests/tools/window_check.py records "$B/$a.oracle.json" "$B/$a.late.jsonl" \
        --field late_routed
    check "$a: each dead-letter message is an input message, key and value unchanged" \
        test -z "$(sort "$B/$a.late.kv" | comm -13 <(sort "$B/orders.kv") -)"
    check_eq "$a: --stats counts the records routed (oracle: $want)" "$want" \
        "$(json_get "$B/stats.json" aggregations $a late_routed)"
    check_eq "$a: /metrics counts them per aggregation and sink" "$want" \
        "$(metric "$B/metrics.txt" eddy_aggregation_late_records_routed_total "aggregation=\"$a\",sink=\"dlq_$a\"")"
done
check "there were late orders to route (total $total)" test "$total" -gt 300
for a in dropped updated; do
    for c in dropped updated; do
        want=$(ostat "$B/$a.oracle.json" "len(o['late_$c'])")
        check_eq "$a: --stats late_$c = the oracle's $want" "$want" \
            "$(json_get "$B/stats.json" aggregations $a late_$c)"
        check_eq "$a: /metrics counts them ($want)" "$want" \
            "$(metric "$B/metrics.txt" eddy_aggregation_late_records_${c}_total "aggregation=\"$a\"")"
    done
done
dropped=$(ostat "$B/dropped.oracle.json" 'len(o["late_dropped"])')
check "late: drop dropped records (oracle: $dropped)" test "$dropped" -gt 300
check "late: update applied late records (oracle: $(ostat "$B/updated.oracle.json" 'len(o["late_updated"])'))" \
    test "$(ostat "$B/updated.oracle.json" 'len(o["late_updated"])')" -gt 0
check_eq "--stats: the aggregators' routed and dropped records, summed" "$total $dropped" \
    "$(json_get "$B/stats.json" aggregators late_routed) $(json_get "$B/stats.json" aggregators late_dropped)"
check_eq "/metrics: the aggregators' routed records" "$total" \
    "$(metric "$B/metrics.txt" eddy_aggregator_late_records_routed_total)"

consume "$EDDY_ORDERS_TOPIC.closed" "$B/closed.jsonl"
check "closed: one row per category and 30 s window, at its close" \
    python3 tests/tools/window_check.py kafka "$B/closed.oracle.json" "$B/closed.jsonl" \
    --values orders,revenue --once
consume "$EDDY_ORDERS_TOPIC.per_product" "$B/per_product.jsonl"
check "per_product: the last row of each product and hopping window is the oracle's" \
    python3 tests/tools/window_check.py kafka "$B/per_product.oracle.json" \
    "$B/per_product.jsonl" --values orders
check_eq "per_product: expired windows of records still applied are skipped (oracle)" \
    "$(ostat "$B/per_product.oracle.json" 'o["skipped_windows"]')" \
    "$(json_get "$B/stats.json" aggregators windows_skipped)"
consume "$EDDY_ORDERS_TOPIC.sessions" "$B/sessions.jsonl"
check "sessions: one row per customer session, at its close" \
    python3 tests/tools/window_check.py kafka "$B/sessions.oracle.json" "$B/sessions.jsonl" \
    --values orders,amount --once
# Nothing lost, from the topics alone: the orders counted in the rows plus
# the routed ones are all the orders (per_product counts each order in 3
# windows, minus the expired windows skipped).
lost() { # ROWS.jsonl LATE.jsonl WINDOWS_PER_RECORD SKIPPED
    python3 - "$@" <<'EOF'
import json, sys
rows, late, per, skipped = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
last = {}
for line in open(rows):
    r = json.loads(line)
    w = r.get("window") or {}
    last[(json.dumps(r.get("key"), sort_keys=True), w.get("start", r.get("window_start")),
          w.get("end", r.get("window_end")))] = r
counted = sum(int((r.get("values") or r)["orders"]) for r in last.values())
routed = sum(1 for _ in open(late))
print((counted + skipped) // per + routed if (counted + skipped) % per == 0 else "uneven")
EOF
}
for a in closed sessions; do
    check_eq "$a: orders in the rows + routed orders = all $N orders" "$N" \
        "$(lost "$B/$a.jsonl" "$B/$a.late.jsonl" 1 0)"
done
check_eq "per_product: (window counts + skipped) / 3 + routed orders = all $N orders" "$N" \
    "$(lost "$B/per_product.jsonl" "$B/per_product.late.jsonl" 3 \
        "$(ostat "$B/per_product.oracle.json" 'o["skipped_windows"]')")"

# --- config errors: file:line:col, and what to write instead
late_conf() { # SINKS-BODY FORMAT
    printf 'sources:\n  o: { kafka: { brokers: b, topic: t }, format: %s, time: { field: ts } }\naggregations:\n  a:\n    from: o\n    key: [k]\n    window: { tumbling: 1m, late: dead }\n    to: n\nsinks:\n  n: { "null": {} }\n%s\n' "$2" "$1"
}
check_bad_config "late sink" unknown "$(late_conf '  dlq: { kafka: { brokers: b, topic: d } }' json)" \
    "unknown.yaml:7:35: unknown sink 'dead' in 'late' of window of aggregation 'a'; expected one of the sinks: n, dlq"
check_bad_config "late sink" no_records "$(late_conf '  dead: { redis: { url: "redis://x" }, zset: z }' json)" \
    "no_records.yaml:7:35: 'late: dead' in window of aggregation 'a': redis sink 'dead' takes changelog rows only, but too-late records go to it unchanged; expected a sink that takes records"
check_bad_config "late sink" words "$(late_conf '  dead: { kafka: { brokers: b, topic: d } }' words | sed 's/key: \[k\]/key: [word]/; s/field: ts/field: "@timestamp"/')" \
    "7:35: 'late: dead' in aggregation 'a': routing too-late records to a sink is not implemented for a words source"
late_conf '  dead: { kafka: { brokers: b, topic: d } }' json > "$B/ok.yaml"
"$EDDY" check -c "$B/ok.yaml" > "$B/ok.out" 2>&1
check_eq "late sink: a kafka dead-letter topic is accepted" 0 "$?"
check "late sink: eddy check shows where too-late records go" \
    grep -q "late to sink dead.*sink dead: kafka brokers=b topic=d; receives too-late records of a" \
    <(tr '\n' ' ' < "$B/ok.out")
exit 0
