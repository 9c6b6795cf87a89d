#!/usr/bin/env bash
# Per source partition figures (docs/http.md: /metrics eddy_source_partition_*,
# /v1/pipeline sources[].partitions, the dashboard's partitions table) against
# Kafka's own tools and the input:
#   1. a 3-partition topic gets 300/500/700 JSON events (kcat, one partition
#      each, event times rising); the consumer group's offsets are set with
#      kafka-consumer-groups --reset-offsets to 100 and 250 for partitions 0
#      and 1 (2: none);
#   2. eddy reads everything into a sink whose
#      server is down, so nothing is committed: committed offsets, end
#      offsets and lag equal `kafka-consumer-groups --describe` (CURRENT-OFFSET,
#      LOG-END-OFFSET, LAG; '-' where the group has none) and
#      kafka-get-offsets; read offsets = records produced; each partition's
#      watermark = its last event time - max_out_of_orderness (Python);
#      /metrics (promtool check metrics) has the same figures; the dashboard
#      in headless Chromium shows them (dashboard_dom.py --partitions);
#   3. eddy with a working sink commits everything: lag 0, committed = end,
#      again equal to --describe.
# (Two instances reporting their own partitions, merged: test_kafka_stats.)
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
. tests/lib/http.sh
http_setup partitions
T="t_partitions_$(date +%s)_$$" G="eddy-t-partitions-$$"
export EDDY_T_TOPIC=$T EDDY_T_GROUP=$G

check "topic $T with 3 partitions" scripts/kafka-topics create "$T" 3
python3 - "$B" <<'EOF2'
import json, sys
b = sys.argv[1]
t0, counts, last = 1_796_000_000_000, [300, 500, 700], []
for p, n in enumerate(counts):
    ts = [t0 + i * 1000 + p for i in range(n)]
    with open(f"{b}/p{p}.jsonl", "w") as f:
        for i, t in enumerate(ts):
            f.write(json.dumps({"ts": t, "user": f"u{(i * 7 + p) % 13}"}) + "\n")
    last.append(ts[-1])
json.dump({"topic": None, "counts": counts, "last_ts": last, "bound_ms": 2000}, open(f"{b}/expected.json", "w"))
EOF2
python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); e["topic"]=sys.argv[2]; json.dump(e, open(sys.argv[1], "w"))' \
    "$B/expected.json" "$T"
for p in 0 1 2; do kcat -b "$EDDY_KAFKA" -P -t "$T" -p "$p" -l "$B/p$p.jsonl" || echo "kcat failed" >&2; done
scripts/kafka-topics end-offsets "$T" > "$B/ends0.txt" 2>&1
check_eq "kcat produced 300/500/700 (kafka-get-offsets)" "$T:0:300 $T:1:500 $T:2:700" "$(sort "$B/ends0.txt" | tr '\n' ' ' | sed 's/ $//')"
check "the group's offsets set to 100 (partition 0)" scripts/kafka-topics group-reset "$G" "$T:0" 100
check "… and 250 (partition 1)" scripts/kafka-topics group-reset "$G" "$T:1" 250

config() { # SINK_YAML INSTANCES FLUSH_INTERVAL
    cat <<EOF2
runtime:
  flush_interval: $3
  http: { listen: "127.0.0.1:${EDDY_HTTP_PORT}" }
sources:
  ev:
    kafka: { brokers: "${EDDY_KAFKA}", topic: "${T}", group: "${G}", properties: { session.timeout.ms: 6000 } }
    instances: $2
    format: json
    time: { field: ts, format: epoch_ms, max_out_of_orderness: 2s, idle_timeout: 1h }
aggregations:
  per_user: { from: ev, key: [user], to: [users] }
sinks:
  users: $1
EOF2
}
# A Redis sink on a port nothing listens on: every flush is retried, no
# checkpoint completes, nothing is committed.
# A partition not fetched since its assignment has no read or end offset
# (docs/http.md), and backpressure pauses the source once max_inflight (4)
# flushes wait for the sink: one instance (a second member joining would
# revoke and re-assign the partitions while paused; after a re-assignment
# a partition has no read offset until a message of it is read) and
# flushes 5 s apart, so every partition is fetched to its end long before
# the pause.
config '{ redis: { url: "redis://127.0.0.1:1" }, zset: "u", member: "{user}", score: count }' 1 5s \
    > "$B/down.yaml"
config '{ "null": {} }' 1 200ms > "$B/up.yaml"

# read_all: /v1/pipeline shows every partition read to its end.
read_all() {
    curl -s "$U/v1/pipeline" > "$B/pipeline.json" && python3 - "$B/pipeline.json" <<'EOF2'
import json, sys
s = json.load(open(sys.argv[1]))["sources"][0]
q = {x["partition"]: x for x in s["partitions"]}
assert sorted(q) == [0, 1, 2] and all(x["read_offset"] == x["end_offset"] == n for x, n in
                                      zip((q[0], q[1], q[2]), (300, 500, 700))), q
assert all(x["watermark_ms"] is not None for x in q.values()), q
assert q[0]["committed_offset"] is not None and q[1]["committed_offset"] is not None, q
EOF2
}
# compare NAME: --describe, get-offsets, /metrics and /v1/pipeline at one moment.
compare() {
    scripts/kafka-topics group-describe "$G" > "$B/describe.$1.txt" 2>&1
    scripts/kafka-topics end-offsets "$T" > "$B/ends.$1.txt" 2>&1
    curl -s "$U/v1/pipeline" > "$B/pipeline.$1.json"
    curl -s "$U/metrics" > "$B/metrics.$1.txt"
    check "$1: promtool check metrics passes" bash -c "promtool check metrics < '$B/metrics.$1.txt'"
    python3 tests/tools/partitions_check.py "$B/expected.json" "$B/describe.$1.txt" "$B/ends.$1.txt" \
        "$B/pipeline.$1.json" "$B/metrics.$1.txt" ev > "$B/check.$1.txt"
    sed "s/^\(not \)\{0,1\}ok - /&$1: /" "$B/check.$1.txt"
    TAP_FAILED=$((TAP_FAILED + $(grep -c '^not ok' "$B/check.$1.txt")))
    check "$1: the comparisons ran" test "$(grep -c '^ok' "$B/check.$1.txt")" -ge 10
}

# --- 2. a sink down: nothing committed
"$EDDY" run -c "$B/down.yaml" 2> "$B/down.log" &
PID=$!
check "the endpoint answers /healthz" wait_for 20 curl -sf "$U/healthz"
check "every partition read to its end (/v1/pipeline)" wait_for 60 read_all
compare "sink down"
check_eq "sink down: partition 0 committed 100, lag 200" "100 200" "$(python3 -c '
import json, sys; q = json.load(open(sys.argv[1]))["sources"][0]["partitions"][0]
print(q["committed_offset"], q["lag_records"])' "$B/pipeline.sink down.json")"
check_eq "sink down: partition 2 has no committed offset (null, no sample)" "None 0" "$(python3 -c '
import json, sys; q = json.load(open(sys.argv[1]))["sources"][0]["partitions"][2]
print(q["committed_offset"], open(sys.argv[2]).read().count("eddy_source_partition_committed_offset{source=\"ev\",topic=\"'"$T"'\",partition=\"2\"}"))' \
    "$B/pipeline.sink down.json" "$B/metrics.sink down.txt")"
chromium_dom() {
    timeout 90 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$B/chrome" --window-size=1400,1500 --virtual-time-budget=3000 --dump-dom "$U/" \
        > "$B/dom.html" 2> "$B/chrome.log"
}
chromium_dom
curl -s "$U/v1/pipeline" > "$B/pipeline.dom.json"
check "the dashboard's partitions table = /v1/pipeline fetched right after" \
    python3 tests/tools/dashboard_dom.py --partitions "$B/dom.html" "$B/pipeline.dom.json"
kill -TERM $PID; sleep 1; kill -TERM $PID 2>/dev/null # the drain waits for the sink: exit at once
wait_pid 30 $PID

# --- 3. the sink up: everything committed
caught_up() {
    curl -s "$U/metrics" > "$B/m.txt" && [ "$(metric "$B/m.txt" eddy_source_partition_lag_records "topic=\"$T\"")" = 0 ] &&
        [ "$(grep -c "^eddy_source_partition_lag_records{source=\"ev\",topic=\"$T\"" "$B/m.txt")" = 3 ]
}
"$EDDY" run -c "$B/up.yaml" 2> "$B/up.log" &
PID=$!
check "the endpoint answers /healthz" wait_for 20 curl -sf "$U/healthz"
check "lag 0 on every partition (/metrics)" wait_for 60 caught_up
check "every partition read to its end (/v1/pipeline)" wait_for 30 read_all
compare "sink up"
check_eq "sink up: committed = 300/500/700" "300 500 700" "$(python3 -c '
import json, sys; print(*[q["committed_offset"] for q in json.load(open(sys.argv[1]))["sources"][0]["partitions"]])' \
    "$B/pipeline.sink up.json")"
kill -TERM $PID
wait_pid 30 $PID; rc=$?
check_eq "drains and exits 0 on SIGTERM" 0 "$rc"
check_eq "after the stop, the group's lag is 0 (--describe)" "0 0 0" \
    "$(scripts/kafka-topics group-describe "$G" 2>&1 | awk -v t="$T" '$2 == t { print $3, $6 }' | sort -n | awk '{ printf "%s%s", s, $2; s = " " }')"
scripts/kafka-topics delete "$T" > /dev/null 2>&1
[ "$TAP_FAILED" -eq 0 ]
