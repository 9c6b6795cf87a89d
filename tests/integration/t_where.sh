#!/usr/bin/env bash
# `where:` end to end through real Kafka: 20,000 generated JSON orders
# (tests/tools/where_orders.py) go through tests/integration/configs/orders_where.yaml,
# once decoding in the source actor and once with 2 decoder actors; every sink
# (PostgreSQL, MariaDB, Redis, the critical alerts topic) and the filter
# counters of --stats are compared with the same filters computed in Python.
# Then bad `where:` configs: each error names file:line:col and the token.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
B=$EDDY_ROOT/tests/out/where
rm -rf "$B"; mkdir -p "$B"
RUN=$(date +%s)
N=20000

python3 tests/tools/where_orders.py gen $N 20261202 "$B/orders.jsonl"
python3 tests/tools/where_orders.py expect "$B/orders.jsonl" "$B/expected"
export EDDY_ORDERS_TOPIC="eddy.test.where.$RUN"
scripts/kafka-topics create "$EDDY_ORDERS_TOPIC" 4 >/dev/null
kcat -b "$EDDY_KAFKA" -P -t "$EDDY_ORDERS_TOPIC" -l "$B/orders.jsonl"
msgs=$(kcat -b "$EDDY_KAFKA" -C -t "$EDDY_ORDERS_TOPIC" -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l)
check_eq "the topic holds the $N generated orders" "$N" "$msgs"

# run_where LABEL DECODERS: the topic through orders_where.yaml, every result checked.
run_where() {
    local label=$1 t="where ($1)" o=$B/$1
    mkdir -p "$o"
    export EDDY_DECODERS=$2 EDDY_GROUP="eddy-test-where-$RUN-$1" EDDY_PREFIX="t_where${RUN}_$1_"
    export EDDY_CRITICAL_TOPIC="eddy.test.where.critical.$RUN.$1"
    "$EDDY" run -c tests/integration/configs/orders_where.yaml --exit-when-idle 3s \
        --stats "$o/stats.json" 2> "$o/log"; rc=$?
    check_eq "$t: run exits 0" 0 "$rc"
    check_eq "$t: $N records decoded, none rejected" "$N 0" \
        "$(json_get "$o/stats.json" sources orders records) $(json_get "$o/stats.json" sources orders rejected)"
    psql -qAt -F ' ' "$EDDY_PG_DSN" \
        -c "SELECT category, orders, round(revenue::numeric, 2) FROM ${EDDY_PREFIX}revenue" |
        LC_ALL=C sort > "$o/revenue"
    check_files_eq "$t: PostgreSQL holds orders and revenue per category without cancelled orders" \
        "$B/expected/revenue" "$o/revenue"
    mariadb -N -B -h 127.0.0.1 -P "$EDDY_MYSQL_PORT" -u root eddy \
        -e "SELECT category, orders FROM ${EDDY_PREFIX}big_failed" | tr '\t' ' ' | LC_ALL=C sort > "$o/big_failed"
    check_files_eq "$t: MariaDB holds the failed orders above 1000 per category" \
        "$B/expected/big_failed" "$o/big_failed"
    redis-cli -p "$EDDY_REDIS_PORT" --raw ZRANGE "${EDDY_PREFIX}ai" 0 -1 WITHSCORES | paste -d ' ' - - |
        LC_ALL=C sort > "$o/ai"
    check_files_eq "$t: Redis holds the AI/data-science (regex) or gold/platinum orders per product" \
        "$B/expected/ai" "$o/ai"
    kcat -b "$EDDY_KAFKA" -C -t "$EDDY_CRITICAL_TOPIC" -o beginning -e -q -f '%s\n' 2>/dev/null > "$o/critical.jsonl"
    python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["order_id"])' "$o/critical.jsonl" | sort -n > "$o/critical"
    check_files_eq "$t: the critical topic got every failed order above 1000, once" \
        "$B/expected/critical" "$o/critical"
    check "$t: alert records are the orders unchanged" python3 -c 'import sys
orig = {l.split(",", 1)[0]: l for l in open(sys.argv[2])}
sys.exit(any(orig.get(l.split(",", 1)[0]) != l for l in open(sys.argv[1])))' \
        "$o/critical.jsonl" "$B/orders.jsonl"
    for a in revenue_per_category big_failed ai_mentions; do
        check_eq "$t: --stats counts the records $a filtered out" \
            "$(awk -v a=$a '$1 == a {print $2}' "$B/expected/filtered")" \
            "$(json_get "$o/stats.json" aggregations $a filtered)"
    done
    check_eq "$t: --stats counts the critical records sent" \
        "$(awk '$1 == "critical" {print $2}' "$B/expected/filtered")" \
        "$(json_get "$o/stats.json" alerts critical sent)"
    # `amount > 1000` meets string amounts ("12.50") among the failed orders.
    check "$t: --stats counts predicates false on a value of another type" \
        test "$(json_get "$o/stats.json" aggregations big_failed wrong_type)" -gt 0
    check "$t: the log reports what each where filtered" \
        grep -q "\[big_failed\] where: .* filtered out" "$o/log"
}
run_where in_source 0
run_where decoders 2

# --- bad `where:` configs: file:line:col of the token, and what was expected
bad() { check_bad_config where "$@"; } # NAME YAML-BODY EXPECTED-REGEX
HEAD='sources:
  s:
    directory: { path: /tmp }
    format: json
'
bad typo "$HEAD"'aggregations:
  a:
    from: s
    where: '"'"'status == "failed" AND amount > 1'"'"'
    key: [k]
    to: [n]
sinks:
  n: { null: {} }
' "typo.yaml:8:32: in 'where' of aggregation 'a': found 'AND'; expected 'and', 'or' or the end of the expression \(keywords are lowercase\)"
bad regex "$HEAD"'aggregations:
  a:
    from: s
    where: text matches "(unclosed"
    key: [k]
    to: [n]
sinks:
  n: { null: {} }
' "regex.yaml:8:25: in 'where' of aggregation 'a': invalid regular expression \"\(unclosed\": missing closing parenthesis"
bad lines_field 'sources:
  s:
    directory: { path: /tmp }
    format: lines
aggregations:
  a:
    from: s
    where: "status == '"'"'x'"'"'"
    key: [line]
    to: [n]
sinks:
  n: { null: {} }
' "lines_field.yaml:8:12: field 'status' in 'where' of aggregation 'a' is not produced by source 's' \(format: lines\)"
bad alert_when "$HEAD"'aggregations:
  a: { from: s, key: [k], to: [n] }
alerts:
  x: { on: s, when: "count > 1", to: [n] }
sinks:
  n: { null: {} }
' "alert_when.yaml:8:15: 'when' in alert 'x' needs an aggregation, but 's' is a source"
bad alert_no_where "$HEAD"'alerts:
  x: { on: s, to: [n] }
sinks:
  n: { null: {} }
' "alert_no_where.yaml:6:6: missing required key 'where' in alert 'x'"
exit 0
