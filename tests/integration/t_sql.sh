#!/usr/bin/env bash
# SQL over the sqlite sink on the HTTP endpoint (docs/http.md), with
# config/examples/bucket_counter.yaml as shipped (":memory:" database):
#   1. JSON messages (time field half epoch seconds, half ISO-8601) on a
#      one-partition Kafka topic; the 20 s buckets per (server_name, topic)
#      served by /v1/sql, /a/buckets and /c/<sql> equal Python's count over
#      the same messages, and `retention: 2m` has removed exactly the buckets
#      that ended more than 2 minutes (of stream time) before the newest;
#   2. bad queries get 400 with SQLite's message, writes, PRAGMA and ATTACH
#      are refused by SQLite's authorizer, a runaway query is interrupted,
#      limit= truncates, db= picks a sink;
#   3. 3,000 bad and good requests from 16 threads while the second half of
#      the messages flows: every answer a 4xx or 200 (no 5xx, no reset), all
#      of them within 120 s, and the counts afterwards still equal Python's.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
. tests/lib/http.sh
http_setup sql
CODE_BODY=$B/body   # code: the answer's body into $B/body
RUN=$(date +%s)
export EDDY_HTTP_LISTEN=127.0.0.1:$EDDY_HTTP_PORT
export EDDY_MESSAGES_TOPIC=eddy.test.sql.$RUN EDDY_GROUP=eddy-test-sql-$RUN EDDY_RETENTION=2m
RETENTION_MS=120000


# --- the messages and Python's count
python3 - "$B" <<'EOF'
import datetime, json, random, sys
b = sys.argv[1]
rnd = random.Random(20261202)
T0 = 1764547200  # 2025-12-01T00:00:00Z, a multiple of 20 s
servers = ["Iceman", "Storm", "Rogue", "Cyclops", "Jean \"Phoenix\" Grey", "Kitty Pryde", "Ωmega"]
topics = ["Dreams", "Nightmares", "Visions"]
msgs, t = [], float(T0)
for i in range(8000):
    t += rnd.uniform(0, 0.08)            # about 320 s of event time: 17 buckets
    ts = t + rnd.uniform(-2.0, 0.0)      # out of order within 2 s (< max_out_of_orderness 5s)
    m = {"origin_server": rnd.choice(servers), "topic": rnd.choice(topics), "seq": i}
    ms = int(ts * 1000)
    if i % 2:                            # epoch seconds, as the tutorial's bucket_type epoch
        m["timestamp"] = ms // 1000
        ms = ms // 1000 * 1000
    else:                                # ISO-8601 with milliseconds
        m["timestamp"] = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)
    msgs.append((ms, m))
half = len(msgs) // 2
for name, part in (("a", msgs[:half]), ("b", msgs[half:])):
    open(f"{b}/{name}.jsonl", "w").write("".join(json.dumps(m) + "\n" for _, m in part))

def expected(part, name):
    counts = {}
    for ms, m in part:
        start = ms // 20000 * 20000
        k = (start, start + 20000, m["origin_server"], m["topic"])
        counts[k] = counts.get(k, 0) + 1
    newest = max(k[1] for k in counts)
    kept = {k: v for k, v in counts.items() if k[1] >= newest - 120000}
    with open(f"{b}/expected_{name}.tsv", "w") as f:
        for k in sorted(kept):
            f.write("\t".join(str(x) for x in k) + f"\t{kept[k]}\n")
    with open(f"{b}/all_{name}.txt", "w") as f:
        f.write(f"{len({k[0] for k in counts})} {len({k[0] for k in kept})} {sum(kept.values())}\n")
expected(msgs[:half], "a")
expected(msgs, "ab")
EOF
read -r BUCKETS_AB KEPT_AB SUM_AB < "$B/all_ab.txt"
check "more buckets written than retention keeps ($BUCKETS_AB > $KEPT_AB)" test "$BUCKETS_AB" -gt "$KEPT_AB"

scripts/kafka-topics create "$EDDY_MESSAGES_TOPIC" 1 > /dev/null
kcat -b "$EDDY_KAFKA" -P -t "$EDDY_MESSAGES_TOPIC" -p 0 -l "$B/a.jsonl"

"$EDDY" run -c config/examples/bucket_counter.yaml > "$B/log" 2>&1 &
PID=$!
TABLE_Q="SELECT window_start, window_end, server_name, topic, count FROM buckets ORDER BY 1, 2, 3, 4"
same_as() { http_sql "$TABLE_Q" > "$B/got.tsv"; cmp -s "$B/got.tsv" "$1"; }
wait_for 60 same_as "$B/expected_a.tsv"
check_files_eq "first half: /v1/sql serves Python's buckets (retention applied)" "$B/expected_a.tsv" "$B/got.tsv"

# --- /a/ and /c/ as the tutorial documents them
curl -s "$U/a/buckets" > "$B/a.json"
check "/a/buckets: every row as an object, the same rows" python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
got = sorted((r["window_start"], r["window_end"], r["server_name"], r["topic"], r["count"]) for r in rows)
want = [tuple(int(x) if i in (0, 1, 4) else x for i, x in enumerate(l.rstrip("\n").split("\t"))) for l in open(sys.argv[2])]
assert got == want, (len(got), len(want))
assert all("updated_at" in r for r in rows)' "$B/a.json" "$B/expected_a.tsv"
c=$(code "$U/c/SELECT%20*%20FROM%20buckets%20WHERE%20count%3D-1")
check_eq "/c/<sql> with no match: 200 []" "200 []" "$c $(tr -d '\n' < "$B/body")"
c=$(code "$U/c/SELECT%20sum(count)%20AS%20n%20FROM%20buckets")
check_eq "/c/<sql>: the sum as an object" "200 $(awk -F'\t' '{s+=$5} END {print s}' "$B/expected_a.tsv")" \
    "$c $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["n"])' "$B/body")"

# --- bad queries and refused writes
bad() { # NAME EXPECTED-CODE EXPECTED-TEXT QUERY
    local c; c=$(code "$U/v1/sql" --get --data-urlencode "q=$4")
    check_eq "$1: HTTP $2" "$2" "$c"
    check "$1: answer names '$3'" grep -qF "$3" "$B/body"
}
bad "syntax error" 400 'near \"SELEC\": syntax error' "SELEC * FROM buckets"
bad "unknown table" 400 "no such table: nope" "SELECT * FROM nope"
bad "unknown column" 400 "no such column: nope" "SELECT nope FROM buckets"
bad "DELETE refused" 400 "not authorized" "DELETE FROM buckets"
bad "UPDATE refused" 400 "not authorized" "UPDATE buckets SET count = 0"
bad "DROP refused" 400 "not authorized" "DROP TABLE buckets"
bad "CREATE refused" 400 "not authorized" "CREATE TABLE x (a)"
bad "PRAGMA refused" 400 "not authorized" "PRAGMA journal_mode = DELETE"
bad "ATTACH refused" 400 "not authorized" "ATTACH DATABASE '$B/x.db' AS x"
bad "a transaction refused" 400 "not authorized" "BEGIN IMMEDIATE"
bad "two statements refused" 400 "one statement only" "SELECT 1; DELETE FROM buckets"
bad "load_extension refused" 400 "not authorized" "SELECT load_extension('x')"
bad "runaway query interrupted" 400 "ran longer than the limit of 2000 ms" \
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
check "ATTACH created no file" test ! -e "$B/x.db"
c=$(code "$U/v1/sql" --get --data-urlencode "q=SELECT * FROM buckets" --data-urlencode "limit=2")
check_eq "limit=2: 2 rows, truncated" "200 2 True" \
    "$c $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["rows"]), d["truncated"])' "$B/body")"
c=$(code "$U/v1/sql" --get --data-urlencode "q=SELECT 1" --data-urlencode "db=buckets")
check_eq "db=buckets (the sink's name): 200" 200 "$c"
c=$(code "$U/v1/sql" --get --data-urlencode "q=SELECT 1" --data-urlencode "db=nosuch")
check_eq "db=nosuch: 404" 404 "$c"
check "db=nosuch: the answer lists the sqlite sinks" grep -q "the sqlite sinks are: buckets" "$B/body"
c=$(code "$U/v1/sql")
check_eq "/v1/sql without q: 400" 400 "$c"
c=$(code -X POST -d x "$U/v1/sql?q=SELECT%201")
check "POST with a body: 405 or 413" test "$c" = 405 -o "$c" = 413
check_files_eq "after the refused writes the table is unchanged" "$B/expected_a.tsv" \
    <(http_sql "$TABLE_Q")

# --- 3,000 concurrent requests while the second half flows
python3 tests/tools/http_hammer.py --port "$EDDY_HTTP_PORT" --requests 3000 --threads 16 \
    > "$B/hammer.json" 2> "$B/hammer.err" &
HAMMER=$!
kcat -b "$EDDY_KAFKA" -P -t "$EDDY_MESSAGES_TOPIC" -p 0 -l "$B/b.jsonl"
wait_pid 120 "$HAMMER"; rc=$?
check_eq "3000 bad and good requests: every answer as expected (exit 0)" 0 "$rc"
check "requests answered: $(cat "$B/hammer.json" "$B/hammer.err" | head -c 300)" \
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["requests"] == 3000 and not d["bad"]' "$B/hammer.json"
wait_for 60 same_as "$B/expected_ab.tsv"
check_files_eq "all messages: the buckets still equal Python's count" "$B/expected_ab.tsv" "$B/got.tsv"
check_eq "retention: $KEPT_AB of $BUCKETS_AB buckets kept, holding $SUM_AB messages" "$KEPT_AB $SUM_AB" \
    "$(http_sql "SELECT count(DISTINCT window_start), sum(count) FROM buckets" | tr '\t' ' ')"
check_eq "retention: nothing older than the newest end minus 2m" 0 \
    "$(http_sql "SELECT count(*) FROM buckets WHERE window_end < (SELECT max(window_end) FROM buckets) - $RETENTION_MS")"

kill -TERM "$PID"
wait_pid 30 "$PID"; rc=$?
check_eq "eddy exits 0 on SIGTERM" 0 "$rc"
check "the log says where SQL is served" grep -q "/v1/sql, /a/, /c/" "$B/log"
check "no sanitizer or crash report in the log" bash -c "! grep -qE 'runtime error|AddressSanitizer|Segmentation' '$B/log'"
scripts/kafka-topics delete "$EDDY_MESSAGES_TOPIC" > /dev/null 2>&1
[ "$TAP_FAILED" -eq 0 ]
