#!/usr/bin/env bash
# eddy gen: the same seed gives the same bytes; fields, Zipf skew, disorder
# bounds, late share and alert bursts checked in Python against docs/gen.md
# (tests/tools/gen_check.py) with fixed seeds; bad options refused; events
# produced to the real Kafka broker read back with kcat equal the file
# output; an unreachable broker fails naming the delivery error.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
CHECK="python3 tests/tools/gen_check.py"
B=$EDDY_ROOT/tests/out/gen
rm -rf "$B"; mkdir -p "$B"
START=1767225600000

# --- determinism
for k in orders reviews views alerts tweets users; do
    "$EDDY" gen $k --count 20000 --seed 42 --disorder 1s --late-fraction 0.02 --out "$B/$k.1" 2>/dev/null
    "$EDDY" gen $k --count 20000 --seed 42 --disorder 1s --late-fraction 0.02 --out - 2>/dev/null > "$B/$k.2"
    check_files_eq "$k: same seed, byte-identical output (file and stdout)" "$B/$k.1" "$B/$k.2"
    "$EDDY" gen $k --count 20000 --seed 43 --disorder 1s --late-fraction 0.02 --out "$B/$k.3" 2>/dev/null
    check "$k: another seed, other output" bash -c "! cmp -s '$B/$k.1' '$B/$k.3'"
    check_eq "$k: 20000 lines" 20000 "$(wc -l < "$B/$k.1")"
done

# --- fields, types, documented shares
for k in orders reviews views alerts tweets users; do
    "$EDDY" gen $k --count 100000 --seed 7 --out "$B/$k.jsonl" 2>/dev/null
    check "$k: every field present, typed and in range" $CHECK fields $k "$B/$k.jsonl"
done

# --- Zipf popularity
check "orders: product_id popularity is Zipf(1) over 1000" $CHECK zipf "$B/orders.jsonl" product_id 1000
check "reviews: product_id popularity is Zipf(1) over 1000" $CHECK zipf "$B/reviews.jsonl" product_id 1000
check "views: page popularity is Zipf(1) over 200" $CHECK zipf "$B/views.jsonl" page 200

# --- event time: spacing, disorder bound, late share, values unaffected
check "no disorder: ts = start + i ms, in order" $CHECK times "$B/orders.jsonl" 1000 $START 0
"$EDDY" gen orders --count 100000 --seed 7 --disorder 2s --out "$B/dis.jsonl" 2>/dev/null
check "--disorder 2s: every ts within 2 s behind its base and behind the running max" \
    $CHECK times "$B/dis.jsonl" 1000 $START 2000
"$EDDY" gen views --count 50000 --seed 7 --rate 250 --start 2026-03-01T12:00:00Z --disorder 500ms \
    --out "$B/dis_views.jsonl" 2>/dev/null
check "--rate 250 --start ISO --disorder 500ms: bounds hold" \
    $CHECK times "$B/dis_views.jsonl" 250 1772366400000 500
"$EDDY" gen orders --count 100000 --seed 7 --disorder 2s --late-fraction 0.05 --late-by 10m \
    --out "$B/late.jsonl" 2>/dev/null
check "--late-fraction 0.05 --late-by 10m: 5 % of events 10 min behind" \
    $CHECK late "$B/late.jsonl" 1000 $START 2000 0.05 600000
check "time options change ts only" $CHECK same_but_ts "$B/orders.jsonl" "$B/late.jsonl"

# --- alerts input: bursts cross "orders > 100 in 10 s", nothing else does
"$EDDY" gen alerts --count 30000 --rate 50 --seed 3 --out "$B/alerts50.jsonl" 2>/dev/null
check "alerts --rate 50: one burst per minute above 120 orders/10 s, no other product reaches 100" \
    $CHECK alerts "$B/alerts50.jsonl" 50 $START

# --- bad options: exit 64 and a message naming the option
bad() { # NAME EXPECTED_TEXT ARGS...
    local name=$1 want=$2; shift 2
    local out rc
    out=$("$EDDY" gen "$@" 2>&1 >/dev/null); rc=$?
    if [ $rc -eq 64 ] && grep -q -- "$want" <<<"$out"; then tap_ok "refused: $name"; else
        tap_fail "refused: $name" "exit $rc, output: $out" "expected 64 and: $want"; fi
}
bad "unknown kind" "unknown event kind 'tweetz'" tweetz --count 1 --out -
bad "no kind" "expected an event kind first" --count 1 --out -
bad "no --count" "--count N is required" orders --out -
bad "--count 0" "--count '0' is not valid" orders --count 0 --out -
bad "--rate -1" "--rate '-1' is not valid" orders --count 1 --rate -1 --out -
bad "--late-fraction 1.5" "--late-fraction '1.5' is not valid; expected a share between 0 and 1" \
    orders --count 1 --late-fraction 1.5 --out -
bad "--disorder soon" "--disorder 'soon' is not valid; expected a duration" orders --count 1 --disorder soon --out -
bad "--start yesterday" "--start 'yesterday' is not valid" orders --count 1 --start yesterday --out -
bad "both outputs" "exactly one of --topic T (Kafka) or --out FILE" orders --count 1 --out - --topic t
bad "no output" "exactly one of --topic T (Kafka) or --out FILE" orders --count 1
bad "--brokers without --topic" "apply to --topic only" orders --count 1 --out - --brokers x:1
"$EDDY" gen orders --count 1 --out "$B/no/such/dir/x" 2> "$B/nodir.err"; rc=$?
check_eq "unwritable --out: exit 1" 1 "$rc"
check "unwritable --out: names the file and the reason" grep -q "cannot open $B/no/such/dir/x for writing: No such file" "$B/nodir.err"
"$EDDY" gen tweets --count 3 --seed 1 --start 2010-01-01T00:00:00Z --out "$B/old.jsonl" 2>/dev/null
check "tweets before the snowflake epoch: ids 1, 2, 3" python3 -c '
import json, sys
ids = [json.loads(l)["id"] for l in open(sys.argv[1])]
sys.exit(0 if ids == [1, 2, 3] else "ids %r" % ids)' "$B/old.jsonl"
check "eddy gen --help" "$EDDY" gen --help

# --- Kafka: produce, read back with kcat, compare with the file output
TOPIC="t_gen_$(date +%s)_$$"
scripts/kafka-topics create "$TOPIC" 3 > "$B/topic.log" 2>&1
"$EDDY" gen orders --count 20000 --seed 11 --disorder 1s --topic "$TOPIC" --brokers "$EDDY_KAFKA" \
    2> "$B/kafka.err"; rc=$?
check_eq "kafka: eddy gen exits 0" 0 "$rc"
check "kafka: reports every event delivered" grep -q "20000 orders events (0 late) delivered to topic $TOPIC" "$B/kafka.err"
"$EDDY" gen orders --count 20000 --seed 11 --disorder 1s --out "$B/kafka_expected.jsonl" 2>/dev/null
kcat -C -b "$EDDY_KAFKA" -t "$TOPIC" -o beginning -e -q -f '%k\t%s\n' > "$B/kafka_read.tsv" 2> "$B/kcat.err"
cut -f2- "$B/kafka_read.tsv" | LC_ALL=C sort > "$B/kafka_values"
LC_ALL=C sort "$B/kafka_expected.jsonl" > "$B/kafka_expected_sorted"
check_files_eq "kafka: kcat reads back exactly the events of the file output" \
    "$B/kafka_expected_sorted" "$B/kafka_values"
check "kafka: each message is keyed by its order_id" python3 -c '
import json, sys
for line in open(sys.argv[1]):
    k, v = line.rstrip("\n").split("\t", 1)
    if k != str(json.loads(v)["order_id"]): sys.exit("key %s for %s" % (k, v))
' "$B/kafka_read.tsv"
parts=$(kcat -C -b "$EDDY_KAFKA" -t "$TOPIC" -o beginning -e -q -f '%p\n' | sort -u | wc -l)
check_eq "kafka: the events spread over the 3 partitions" 3 "$parts"
scripts/kafka-topics delete "$TOPIC" >> "$B/topic.log" 2>&1

"$EDDY" gen orders --count 5 --topic "$TOPIC" --brokers 127.0.0.1:1 --timeout 2s 2> "$B/unreach.err"; rc=$?
check_eq "unreachable broker: exit 1" 1 "$rc"
check "unreachable broker: names the delivery error, topic and broker" \
    grep -q "5 of 5 events not delivered to topic $TOPIC at 127.0.0.1:1; first error: Local: Message timed out" "$B/unreach.err"
check "unreachable broker: says the connection was refused" grep -q "Connection refused" "$B/unreach.err"

[ "$TAP_FAILED" -eq 0 ]
