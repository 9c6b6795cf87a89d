#!/usr/bin/env bash
# Event-time windows end to end through real Kafka: `eddy gen orders` with
# disorder and late events, produced to a ONE-partition topic (so arrival
# order, and with it lateness, is deterministic), run through
# tests/integration/configs/orders_windows.yaml (tumbling → PostgreSQL,
# hopping with `late: update` → MariaDB, a per-window top 5 → Redis,
# `emit: on_close` → Kafka, a windowed alert → Kafka) under
# --exit-when-idle, which closes every window. Each sink and the late counts
# of --stats are compared with tests/tools/window_oracle.py computed over the
# same events, once decoding in the source and once with 2 decoder actors
# (then an aggregator's watermark is the lowest of two, which the oracle's
# one-upstream watermark does not model, so that run gets the same orders
# without late ones). Then bad window configs: file:line:col and what to
# write.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
B=$EDDY_ROOT/tests/out/windows
rm -rf "$B"; mkdir -p "$B"
RUN=$(date +%s)
N=20000
CONF=tests/integration/configs/orders_windows.yaml

# 20,000 orders at 100/s of event time: 200 s, so 4 one-minute windows and
# 12 hopping ones; shuffled within 1.5 s (under max_out_of_orderness: 2s),
# and 2 % moved 5 minutes back: too late for every window they belong to.
"$EDDY" gen orders --count $N --rate 100 --seed 20261202 --disorder 1500ms \
    --late-fraction 0.02 --out "$B/orders.jsonl" 2> "$B/gen.log"
check_eq "eddy gen wrote $N orders" "$N" "$(wc -l < "$B/orders.jsonl")"
# The same orders, in order, but no late ones: for the decoders run.
"$EDDY" gen orders --count $N --rate 100 --seed 20261202 --disorder 1500ms \
    --out "$B/ontime.jsonl" 2>> "$B/gen.log"

# produce FILE: a new one-partition topic holding FILE's lines in order.
produce() {
    local topic=$1 file=$2
    scripts/kafka-topics create "$topic" 1 >/dev/null
    kcat -b "$EDDY_KAFKA" -P -t "$topic" -p 0 -l "$file"
    kcat -b "$EDDY_KAFKA" -C -t "$topic" -o beginning -e -q -f '%s\n' 2>/dev/null > "$B/$topic.read"
    check "topic $topic holds the events in the generated order" cmp -s "$file" "$B/$topic.read"
}

# run_windows LABEL EVENTS DECODERS: EVENTS through the pipeline, every sink checked.
run_windows() {
    local label=$1 events=$2 t="windows ($1)" o=$B/$1
    mkdir -p "$o"
    export EDDY_ORDERS_TOPIC="eddy.test.windows.$RUN.$label"
    produce "$EDDY_ORDERS_TOPIC" "$events"
    export EDDY_DECODERS=$3 EDDY_GROUP="eddy-test-windows-$RUN-$label"
    export EDDY_PREFIX="t_win${RUN}_${label}_"
    for a in revenue per_product top_products closed orders_per_product_10s; do
        python3 tests/tools/window_oracle.py --config $CONF --aggregation $a "$events" \
            -o "$o/$a.oracle.json"
    done
    "$EDDY" run -c $CONF --exit-when-idle 3s --stats "$o/stats.json" 2> "$o/log"; rc=$?
    check_eq "$t: run exits 0" 0 "$rc"
    check_eq "$t: $N records decoded, none rejected" "$N 0" \
        "$(json_get "$o/stats.json" sources orders records) $(json_get "$o/stats.json" sources orders rejected)"
    psql -qAt -F $'\t' "$EDDY_PG_DSN" -c "SELECT category,
            (extract(epoch FROM window_start) * 1000)::bigint,
            (extract(epoch FROM window_end) * 1000)::bigint, orders, revenue, biggest
            FROM ${EDDY_PREFIX}revenue" > "$o/revenue.tsv"
    check "$t: PostgreSQL holds orders, revenue and the biggest order per category and minute" \
        python3 tests/tools/window_check.py sql "$o/revenue.oracle.json" "$o/revenue.tsv" \
        --values orders,revenue,biggest
    mariadb -N -B -h 127.0.0.1 -P "$EDDY_MYSQL_PORT" -u root eddy -e "SELECT product_id,
            TIMESTAMPDIFF(MICROSECOND, '1970-01-01', window_start) DIV 1000,
            TIMESTAMPDIFF(MICROSECOND, '1970-01-01', window_end) DIV 1000, orders
            FROM ${EDDY_PREFIX}per_product" > "$o/per_product.tsv"
    check "$t: MariaDB holds the orders per product and hopping window, late ones applied" \
        python3 tests/tools/window_check.py sql "$o/per_product.oracle.json" \
        "$o/per_product.tsv" --values orders
    : > "$o/top.tsv"
    for z in $(redis-cli -p "$EDDY_REDIS_PORT" --raw KEYS "${EDDY_PREFIX}top:*"); do
        redis-cli -p "$EDDY_REDIS_PORT" --raw ZRANGE "$z" 0 -1 WITHSCORES | paste - - |
            sed "s/^/$z\t/" >> "$o/top.tsv"
    done
    check "$t: Redis holds the exact top 5 products of every hopping window" \
        python3 tests/tools/window_check.py zsets "$o/top_products.oracle.json" "$o/top.tsv"
    kcat -b "$EDDY_KAFKA" -C -t "$EDDY_ORDERS_TOPIC.closed" -o beginning -e -q -f '%s\n' \
        2>/dev/null > "$o/closed.jsonl"
    check "$t: Kafka got one row per category and 30 s window, at its close (emit: on_close)" \
        python3 tests/tools/window_check.py kafka "$o/closed.oracle.json" "$o/closed.jsonl" \
        --values orders,revenue --once
    kcat -b "$EDDY_KAFKA" -C -t "$EDDY_ORDERS_TOPIC.alerts" -o beginning -e -q -f '%s\n' \
        2>/dev/null > "$o/alerts.jsonl"
    check "$t: highvolume fired once per product and 10 s window with more than 100 orders" \
        python3 tests/tools/window_check.py alerts "$o/orders_per_product_10s.oracle.json" \
        "$o/alerts.jsonl" --alert highvolume
    check "$t: the alerts were there to send" test "$(wc -l < "$o/alerts.jsonl")" -gt 5
    local want
    want=$(python3 -c 'import json, sys
print(sum(len(json.load(open(f))["late_dropped"]) for f in sys.argv[1:]))' \
        "$o/revenue.oracle.json" "$o/top_products.oracle.json" "$o/closed.oracle.json" \
        "$o/orders_per_product_10s.oracle.json")
    check_eq "$t: --stats counts the orders too late for every window (oracle: $want)" \
        "$want" "$(json_get "$o/stats.json" aggregators late_dropped)"
    want=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["expired_updates"])' \
        "$o/per_product.oracle.json")
    check_eq "$t: --stats counts the expired windows late: update rewrote (oracle: $want)" \
        "$want" "$(json_get "$o/stats.json" aggregators late_updates)"
    check_eq "$t: every window closed at the end of input" "0" \
        "$(json_get "$o/stats.json" aggregators windows_open)"
    check_eq "$t: no state left" "0" "$(json_get "$o/stats.json" aggregators keys)"
}
run_windows in_source "$B/orders.jsonl" 0
check "the late orders were there to drop" \
    test "$(json_get "$B/in_source/stats.json" aggregators late_dropped)" -gt 100
check "late: update rewrote expired hopping windows" \
    test "$(json_get "$B/in_source/stats.json" aggregators late_updates)" -gt 100
run_windows decoders "$B/ontime.jsonl" 2

# --- bad window and time configs: file:line:col, and what to write instead
bad() { # NAME WINDOW EXPECTED-REGEX
    cat > "$B/$1.yaml" <<EOF
sources:
  o: { kafka: { brokers: b, topic: t }, format: json, time: { field: ts } }
aggregations:
  a:
    from: o
    key: [k]
    window: $2
    to: n
sinks:
  n: { null: {} }
EOF
    "$EDDY" check -c "$B/$1.yaml" > "$B/$1.out" 2>&1; rc=$?
    check_eq "bad window ($1): exit 78" 78 "$rc"
    check "bad window ($1): $(sed -n 1p "$B/$1.out" | cut -c1-70)…" grep -qE "$3" "$B/$1.out"
}
bad slide_divides "{ hopping: 1m, slide: 7s }" \
    "$B/slide_divides.yaml:7:35: 'slide' in window of aggregation 'a' does not divide the hopping size"
bad zero_size "{ tumbling: 0s }" "$B/zero_size.yaml:7:25: 'tumbling' in window of aggregation 'a' is 0"
bad slide_longer "{ hopping: 1m, slide: 2m }" "7:35: 'slide' .* is longer than the window"
bad no_slide "{ hopping: 1m }" "7:13: missing required key 'slide'"
bad session "{ session: 5m }" "7:5: session windows support 'emit: on_close' only"
bad session_update "{ session: 5m, emit: on_update }" "7:34: session windows support 'emit: on_close' only"
bad late_sink "{ tumbling: 1m, late: dead }" "7:35: unknown sink 'dead' in 'late' of window of aggregation 'a'; expected one of the sinks: n"

exit 0
