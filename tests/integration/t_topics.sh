#!/usr/bin/env bash
# Watermarks of a source that reads two topics (`topics: [ahead, behind]`):
# partition 0 of one topic is not partition 0 of the other. `eddy gen`
# produces 4,000 orders into each of two ONE-partition topics, "ahead" 300 s
# of event time after "behind" (each shuffled within 1.5 s, under
# max_out_of_orderness: 2s), and eddy counts orders per category in 10 s
# tumbling windows with `late: drop`, emitted at close → Kafka. "ahead" is
# produced and read first, while "behind" is assigned and empty; then
# "behind" is produced. The assigned, silent partition of "behind" holds the
# source's watermark, the lower of the two partitions' after that, so no
# record of "behind" is late: every
# window of both topics is in the output exactly once with the count of
# tests/tools/window_oracle.py (over "behind" then "ahead", an arrival order
# in which nothing is late), and nothing is dropped. Keyed by partition
# number alone, the two were one partition: "ahead" set the watermark for
# both, and all of "behind" was dropped as late.
# /v1/pipeline shows each topic's partition with its own watermark (its
# highest event time − 2 s, from the topic read back with kcat).
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
. tests/lib/http.sh
http_setup topics
RUN="$(date +%s)_$$"
N=4000
AHEAD="eddy.test.topics.ahead.$RUN" BEHIND="eddy.test.topics.behind.$RUN" OUT="eddy.test.topics.out.$RUN"
cat > "$B/topics.yaml" <<EOF
runtime: { aggregators: 4, flush_interval: 200ms, http: { listen: "127.0.0.1:${EDDY_HTTP_PORT}" } }
sources:
  orders:
    kafka: { brokers: "${EDDY_KAFKA}", topics: ["$AHEAD", "$BEHIND"], group: "eddy-test-topics-$RUN" }
    format: json
    time: { field: ts, format: epoch_ms, max_out_of_orderness: 2s, idle_timeout: 1h }
aggregations:
  per_category:
    from: orders
    key: [category]
    window: { tumbling: 10s, late: drop, emit: on_close }
    compute: { orders: count, revenue: "sum(amount)" }
    to: [out]
sinks:
  out: { kafka: { brokers: "${EDDY_KAFKA}", topic: "$OUT" } }
EOF

# 4,000 orders at 50/s of event time (80 s) in each topic; "ahead" starts
# 300 s after "behind". "ahead" is produced first and read whole while
# "behind" is assigned and still empty; then "behind" is produced.
scripts/kafka-topics create "$AHEAD" 1 >/dev/null
scripts/kafka-topics create "$BEHIND" 1 >/dev/null
"$EDDY" gen orders --count $N --rate 50 --seed 7 --disorder 1500ms \
    --start 2026-01-01T00:05:00Z --topic "$AHEAD" --brokers "$EDDY_KAFKA" 2> "$B/gen_ahead.log"
check_eq "eddy gen produced $N orders into '$AHEAD'" 0 "$?"
consume() { # TOPIC FILE
    kcat -b "$EDDY_KAFKA" -C -t "$1" -o beginning -e -q 2>/dev/null > "$2"
}
ostat() { python3 -c 'import json, sys; print(eval(sys.argv[2], {"o": json.load(open(sys.argv[1]))}))' "$@"; }

"$EDDY" run -c "$B/topics.yaml" --exit-when-idle 10s --stats "$B/stats.json" 2> "$B/log" &
PID=$!
read_ahead() {
    curl -sf "$U/metrics" -o "$B/m.txt" &&
        test "$(metric "$B/m.txt" eddy_source_records_total 'source="orders"')" = "$N"
}
wait_for 60 read_ahead
check "eddy read '$AHEAD' first, all $N" read_ahead
"$EDDY" gen orders --count $N --rate 50 --seed 8 --disorder 1500ms \
    --start 2026-01-01T00:00:00Z --topic "$BEHIND" --brokers "$EDDY_KAFKA" 2> "$B/gen_behind.log"
check_eq "then eddy gen produced $N orders into '$BEHIND'" 0 "$?"
consume "$AHEAD" "$B/ahead.jsonl"
consume "$BEHIND" "$B/behind.jsonl"
check_eq "the topics hold $N orders each" "$N $N" \
    "$(wc -l < "$B/ahead.jsonl") $(wc -l < "$B/behind.jsonl")"
cat "$B/behind.jsonl" "$B/ahead.jsonl" > "$B/arrival.jsonl"
python3 tests/tools/window_oracle.py --config "$B/topics.yaml" --aggregation per_category \
    "$B/arrival.jsonl" -o "$B/oracle.json"
check_eq "oracle: nothing late in that order" "0 0" \
    "$(ostat "$B/oracle.json" 'len(o["late_routed"])') $(ostat "$B/oracle.json" 'len(o["late_dropped"])')"
echo "# oracle: $(ostat "$B/oracle.json" 'len(o["rows"])') windows"

scrape_while $PID /v1/pipeline "$B/pipeline.json"
wait_pid 300 $PID; rc=$?
check_eq "run exits 0" 0 "$rc"
check_eq "$((2 * N)) records decoded, none rejected" "$((2 * N)) 0" \
    "$(json_get "$B/stats.json" sources orders records) $(json_get "$B/stats.json" sources orders rejected)"
check_eq "no record dropped as late" "0" "$(json_get "$B/stats.json" aggregators late_dropped)"
consume "$OUT" "$B/out.jsonl"
check "every window of both topics once, at its close, with the oracle's values" \
    python3 tests/tools/window_check.py kafka "$B/oracle.json" "$B/out.jsonl" \
    --values orders,revenue --once
# Each topic's partition with its own watermark in the last scrape.
python3 - "$B" "$AHEAD" "$BEHIND" > "$B/wm.txt" <<'PY'
import json, sys
b, topics = sys.argv[1], sys.argv[2:]
src = [s for s in json.load(open(f"{b}/pipeline.json"))["sources"] if s["name"] == "orders"][0]
got = {(p["topic"], p["partition"]): p["watermark_ms"] for p in src["partitions"]}
for t, f in zip(topics, ("ahead", "behind")):
    want = max(json.loads(l)["ts"] for l in open(f"{b}/{f}.jsonl")) - 2000
    print(f, want, got.get((t, 0)))
PY
while read -r name want got; do
    check_eq "/v1/pipeline: partition 0 of '$name' has its own watermark (its highest ts - 2 s)" \
        "$want" "$got"
done < "$B/wm.txt"
exit 0
