#!/usr/bin/env bash
# `transforms:` end to end through real Kafka, each result checked against an
# independent computation in Python (tests/tools/transforms_oracle.py):
#  - orders (eddy gen orders, plus a malformed line and a string amount)
#    through where/set/drop (tests/integration/configs/transforms_orders.yaml),
#    in the source actor and with 2 decoder actors: every transformed record
#    (members and their order) on the output topic once, keyed by order id;
#    the EUR revenue per category (a field the transforms add) in PostgreSQL;
#    the cancelled orders counted as filtered, the bad ones as routed rejects;
#  - reviews (eddy gen reviews) scored by the Lua function of
#    config/examples/sentiment.yaml: every review on the sentiment topic once,
#    key = review id, value = the review plus the score the Python scorer
#    gives; negative reviews per product in Redis;
#  - bad transform configs and scripts: config errors with file:line.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
B=$EDDY_ROOT/tests/out/transforms
rm -rf "$B"; mkdir -p "$B"
RUN=$(date +%s)
N=20000

# ------------------------------------------------------- orders: where/set/drop
"$EDDY" gen orders --count $N --seed 9 --out "$B/orders.jsonl" 2>/dev/null
printf '%s\n' '{"order_id":900001,"category":"books","status":"completed","amount":"12.50"}' \
    '{"order_id":900002,"category":' >> "$B/orders.jsonl"
python3 -c 'import json,sys
for l in open(sys.argv[1]):
    try: k = json.loads(l)["order_id"]
    except ValueError: k = "bad"
    sys.stdout.write("%s\t%s" % (k, l))' "$B/orders.jsonl" > "$B/orders.kv"
export EDDY_ORDERS_TOPIC="eddy.test.transforms.orders.$RUN"
scripts/kafka-topics create "$EDDY_ORDERS_TOPIC" 4 >/dev/null
kcat -b "$EDDY_KAFKA" -P -t "$EDDY_ORDERS_TOPIC" -K $'\t' -l "$B/orders.kv"

run_orders() { # LABEL DECODERS
    local t="transforms ($1)" o=$B/$1
    mkdir -p "$o"
    export EDDY_DECODERS=$2 EDDY_GROUP="eddy-test-transforms-$RUN-$1" EDDY_PREFIX="t_xf${RUN}_$1_"
    export EDDY_OUT_TOPIC="eddy.test.transforms.out.$RUN.$1"
    export EDDY_REJECTS_TOPIC="eddy.test.transforms.rejects.$RUN.$1"
    "$EDDY" run -c tests/integration/configs/transforms_orders.yaml --exit-when-idle 3s \
        --stats "$o/stats.json" 2> "$o/log"; rc=$?
    check_eq "$t: run exits 0" 0 "$rc"
    kcat -b "$EDDY_KAFKA" -C -t "$EDDY_OUT_TOPIC" -o beginning -e -q -f '%k\t%s\n' 2>/dev/null > "$o/out.tsv"
    psql -qAt -F ' ' "$EDDY_PG_DSN" -c "SELECT category, orders, revenue_eur FROM ${EDDY_PREFIX}revenue_eur" \
        > "$o/revenue"
    check "$t: records on the topic and EUR revenue in PostgreSQL equal Python's" \
        python3 tests/tools/transforms_oracle.py orders "$B/orders.jsonl" "$o/out.tsv" "$o/revenue"
    local cancelled
    cancelled=$(grep -c '"status":"cancelled"' "$B/orders.jsonl")
    check_eq "$t: --stats counts the cancelled orders as filtered, 2 rejects" "$cancelled 2" \
        "$(json_get "$o/stats.json" sources orders filtered) $(json_get "$o/stats.json" sources orders rejected)"
    kcat -b "$EDDY_KAFKA" -C -t "$EDDY_REJECTS_TOPIC" -o beginning -e -q -f '%s\n' 2>/dev/null > "$o/rejects"
    check "$t: the string amount is a routed reject naming the step and the field" \
        grep -q "transform 2 (set, line 12): '\*' needs two numbers; its left operand (field 'amount') is a string (setting 'amount_eur')" "$o/rejects"
    check "$t: the malformed order is a routed reject with its input" \
        grep -q 'incomplete JSON.*"input":"{\\"order_id\\":900002' "$o/rejects"
}
run_orders in_source 0
run_orders decoders 2

# ------------------------------------------------------- reviews: Lua sentiment
NR=10000
export EDDY_REVIEWS_TOPIC="eddy.test.transforms.reviews.$RUN"
export EDDY_SENTIMENT_TOPIC="eddy.test.transforms.sentiment.$RUN"
export EDDY_SENTIMENT_REJECTS_TOPIC="eddy.test.transforms.sentiment.rejects.$RUN"
export EDDY_GROUP="eddy-test-sentiment-$RUN" EDDY_PREFIX="t_xf${RUN}_" EDDY_DECODERS=2
scripts/kafka-topics create "$EDDY_REVIEWS_TOPIC" 3 >/dev/null
"$EDDY" gen reviews --count $NR --seed 5 --out "$B/reviews.jsonl" 2>/dev/null
"$EDDY" gen reviews --count $NR --seed 5 --topic "$EDDY_REVIEWS_TOPIC" 2>/dev/null
printf '%s\n' $'900001\t{"review_id":900001,"product_id":7,"rating":3,"text":42}' \
    $'900002\t{"review_id":900002,"product_id":7,"rating":1,"text":"Not good, NOT worth it; never recommended"}' \
    $'bad\t{"review_id":' > "$B/extra.kv"
cut -f2 "$B/extra.kv" >> "$B/reviews.jsonl"
kcat -b "$EDDY_KAFKA" -P -t "$EDDY_REVIEWS_TOPIC" -K $'\t' -l "$B/extra.kv"
"$EDDY" run -c config/examples/sentiment.yaml --exit-when-idle 3s --stats "$B/sentiment.json" \
    2> "$B/sentiment.log"; rc=$?
check_eq "sentiment: run exits 0" 0 "$rc"
kcat -b "$EDDY_KAFKA" -C -t "$EDDY_SENTIMENT_TOPIC" -o beginning -e -q -f '%k\t%s\n' 2>/dev/null \
    > "$B/sentiment.tsv"
redis-cli -p "$EDDY_REDIS_PORT" --raw ZRANGE "${EDDY_PREFIX}negative_reviews" 0 -1 WITHSCORES |
    paste -d ' ' - - > "$B/negative"
check "sentiment: every review once, keyed by id, scored as the Python scorer does; negatives per product in Redis" \
    python3 tests/tools/transforms_oracle.py sentiment "$B/reviews.jsonl" "$B/sentiment.tsv" "$B/negative"
check_eq "sentiment: $((NR + 2)) records scored, 1 rejected" "$((NR + 2)) 1" \
    "$(json_get "$B/sentiment.json" sources reviews records) $(json_get "$B/sentiment.json" sources reviews rejected)"
check "sentiment: negation flips the words after it" \
    grep -q $'^900002\t.*"score":-3' "$B/sentiment.tsv"
kcat -b "$EDDY_KAFKA" -C -t "$EDDY_SENTIMENT_REJECTS_TOPIC" -o beginning -e -q -f '%s\n' 2>/dev/null \
    > "$B/sentiment.rejects"
check_eq "sentiment: the malformed review is on the rejects topic" 1 "$(grep -c 'incomplete JSON' "$B/sentiment.rejects")"

# ------------------------------------------------------- bad configs
bad() { check_bad_config transforms "$@"; } # NAME YAML-BODY EXPECTED-REGEX
HEAD='sources:
  s:
    directory: { path: /tmp }
    format: json
    to: [n]
    transforms:
'
TAIL='sinks:
  n: { kafka: { brokers: b, topic: t } }
'
printf 'function f(r)\n  return r\nend\nfunction g(r\n  return r\nend\n' > "$B/syntax.lua"
bad lua_syntax "$HEAD"'      - lua: { file: syntax.lua, function: f }
'"$TAIL" "lua_syntax.yaml:7:22: transform 1 of source 's': syntax error: syntax.lua:5: .*expected"
bad set_expr "$HEAD"'      - set: { eur: "price * * 2" }
'"$TAIL" "set_expr.yaml:7:30: in 'eur' of transform 1 of source 's': found '\*'; expected a value"
bad where_expr "$HEAD"'      - where: "a = 1"
'"$TAIL" "where_expr.yaml:7:19: in 'where' of transform 1 of source 's': found '='; did you mean '=='\?"
bad lines 'sources:
  s: { directory: { path: /tmp }, format: lines, to: [n], transforms: [ { drop: a } ] }
'"$TAIL" "lines.yaml:2:59: 'transforms' of source 's' need 'format: json'"
exit 0
