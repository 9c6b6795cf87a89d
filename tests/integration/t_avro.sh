#!/usr/bin/env bash
# `format: avro` end to end through real Kafka: messages written by Python's
# fastavro (an independent encoder; tests/tools/avro_messages.py), each
# result compared with tests/tools/window_oracle.py over the same events as
# JSON lines:
#  - Confluent framing: config/examples/bucket_counter_avro.yaml as a user
#    runs it (20 s buckets per server, topic and level, into SQLite), the
#    bad messages (truncated, trailing byte, enum and union index out of
#    range, a string length beyond the message, another schema id, no magic
#    byte) counted and written to its rejects table with the byte and field;
#  - no framing: tests/integration/configs/avro_plain.yaml (per level and
#    nullable user, `where:` on an Avro field, 1-minute windows) into
#    PostgreSQL, in the source actor and with 2 decoder actors; rejects on a
#    Kafka topic.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
PY=${EDDY_CACHE:-$HOME/.cache/eddy}/venv/bin/python # fastavro (scripts/deps)
B=$EDDY_ROOT/tests/out/avro
rm -rf "$B"; mkdir -p "$B"
RUN=$(date +%s)
N=6000
SCHEMA=config/examples/bucket_counter.avsc
DELIM='~~EDDY~AVRO~MSG~~'

check "fastavro is in the venv (scripts/deps)" "$PY" -c "import fastavro"

# produce DIR TOPIC: DIR/messages.bin into a new one-partition topic, one
# message per datum (arrival order, and with it lateness, is deterministic).
produce() {
    scripts/kafka-topics create "$2" 1 > /dev/null
    kcat -b "$EDDY_KAFKA" -P -t "$2" -p 0 -D "$DELIM" -l "$1/messages.bin"
}
nbad() { grep -c . "$1/bad.tsv"; }
# bad_phrases DIR ERRORS: every expected phrase of DIR/bad.tsv in the reject errors (one a line).
bad_phrases() {
    python3 - "$1/bad.tsv" "$2" <<'EOF'
import sys
errs = open(sys.argv[2], encoding="utf-8").read().splitlines()
miss = [p for _, p in (l.rstrip("\n").split("\t", 1) for l in open(sys.argv[1], encoding="utf-8") if l.strip())
        if not any(p in e for e in errs)]
print("missing: %s" % miss if miss else "every bad message's reject names it")
sys.exit(1 if miss else 0)
EOF
}

# ------------------------------------------------ Confluent framing → SQLite
C=$B/confluent
mkdir -p "$C"
"$PY" tests/tools/avro_messages.py $SCHEMA $N 20261203 "$C" --framing confluent --schema-id 7
check_eq "fastavro wrote $N good events and $(nbad "$C") bad ones" "$((N + $(nbad "$C")))" "$(wc -l < "$C/events.jsonl")"
export EDDY_MESSAGES_TOPIC="eddy.test.avro.confluent.$RUN" EDDY_GROUP="eddy-test-avro-$RUN"
export EDDY_SCHEMA_ID=7 EDDY_RETENTION=24h EDDY_HTTP_LISTEN=127.0.0.1:${EDDY_HTTP_PORT:-19464}
export EDDY_BUCKETS_DB=$C/buckets.db EDDY_REJECTS_DB=$C/rejects.db
produce "$C" "$EDDY_MESSAGES_TOPIC"
python3 tests/tools/window_oracle.py --config config/examples/bucket_counter_avro.yaml \
    --aggregation buckets "$C/events.jsonl" -o "$C/oracle.json"
"$EDDY" run -c config/examples/bucket_counter_avro.yaml --exit-when-idle 3s --stats "$C/stats.json" \
    2> "$C/log"; rc=$?
check_eq "confluent: the example runs and exits 0" 0 "$rc"
sqlite3 -separator $'\t' "$C/buckets.db" \
    "SELECT level, server_name, topic, window_start, window_end, count FROM buckets" > "$C/buckets.tsv"
check "confluent: SQLite holds the oracle's 20 s buckets per server, topic and level" \
    python3 tests/tools/window_check.py sql "$C/oracle.json" "$C/buckets.tsv" --values count
check_eq "confluent: --stats: $N records, $(nbad "$C") rejected" "$N $(nbad "$C")" \
    "$(json_get "$C/stats.json" sources messages records) $(json_get "$C/stats.json" sources messages rejected)"
sqlite3 "$C/rejects.db" "SELECT error FROM bad_messages" > "$C/rejects.txt"
check_eq "confluent: every bad message is a row of the rejects table" "$(nbad "$C")" "$(grep -c . "$C/rejects.txt")"
check "confluent: each reject names the byte, the field and what is wrong" bad_phrases "$C" "$C/rejects.txt"
check "confluent: a reject's position names topic, partition and offset" \
    bash -c 'sqlite3 "$0" "SELECT position FROM bad_messages" | grep -q "^$1/0@[0-9]"' \
    "$C/rejects.db" "$EDDY_MESSAGES_TOPIC"
check "confluent: rejects are logged with their error" grep -q "enum index 9 out of range" "$C/log"
check "confluent: a reject carries the message as hex (the enum one: 0x00, id 7, then the datum)" \
    bash -c 'sqlite3 "$0" "SELECT input_hex FROM bad_messages WHERE error LIKE '"'"'%enum index 9%'"'"'" |
             grep -qx "0000000007[0-9a-f]*"' "$C/rejects.db"

# ------------------------------------------------ no framing → PostgreSQL
P=$B/plain
mkdir -p "$P"
"$PY" tests/tools/avro_messages.py $SCHEMA $N 7 "$P" --framing none
export EDDY_MESSAGES_TOPIC="eddy.test.avro.plain.$RUN"
produce "$P" "$EDDY_MESSAGES_TOPIC"
EDDY_PREFIX=- EDDY_GROUP=- python3 tests/tools/window_oracle.py --config tests/integration/configs/avro_plain.yaml \
    --aggregation per_user "$P/events.jsonl" -o "$P/oracle.json"
for dec in 0 2; do
    t="plain (decoders: $dec)"
    export EDDY_DECODERS=$dec EDDY_GROUP="eddy-test-avro-plain-$RUN-$dec" EDDY_PREFIX="t_avro${RUN}_${dec}_"
    "$EDDY" run -c tests/integration/configs/avro_plain.yaml --exit-when-idle 3s --stats "$P/stats$dec.json" \
        2> "$P/log$dec"; rc=$?
    check_eq "$t: run exits 0" 0 "$rc"
    psql -qAt -F $'\t' "$EDDY_PG_DSN" -c "SELECT level, \"user\",
        (extract(epoch FROM window_start) * 1000)::bigint, (extract(epoch FROM window_end) * 1000)::bigint,
        n, latest FROM ${EDDY_PREFIX}avro_per_user" > "$P/pg$dec.tsv"
    check "$t: PostgreSQL holds the oracle's rows (count, max(timestamp) per level, user, minute)" \
        python3 tests/tools/window_check.py sql "$P/oracle.json" "$P/pg$dec.tsv" --values n,latest
    # The oracle's rejects: the bad messages plus the null users of kept topics.
    want=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["rejects"]))' "$P/oracle.json")
    check_eq "$t: --stats counts the oracle's $want rejects (bad messages and null users)" "$want" \
        "$(json_get "$P/stats$dec.json" sources messages rejected)"
    kcat -b "$EDDY_KAFKA" -C -t "$EDDY_MESSAGES_TOPIC.rejects" -o beginning -e -q -f '%s\n' 2> /dev/null \
        > "$P/rejects$dec.jsonl"
    python3 -c 'import json, sys
for l in open(sys.argv[1], encoding="utf-8"): print(json.loads(l)["error"])' "$P/rejects$dec.jsonl" > "$P/rejects$dec.txt"
    check "$t: each bad message is on the rejects topic, naming its byte and field" \
        bad_phrases "$P" "$P/rejects$dec.txt"
    check "$t: a null user is a reject naming the key field" grep -q "key field 'user' is null" "$P/rejects$dec.txt"
done
exit 0
