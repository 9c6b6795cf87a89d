#!/usr/bin/env bash
# The HTTP endpoint of a running pipeline (runtime.http, docs/http.md), as a
# scraper and an orchestrator use it, with curl and promtool:
#   1. config: a non-loopback address without allow_remote, allow_remote
#      without a token and a literal token are refused (exit 78,
#      file:line:col); `eddy check` never shows the token;
#   2. a directory of generated words -> word count -> null sink, the token
#      from a file: 401 without or with a wrong token, 405/413/404 for what
#      is not served, /metrics passes `promtool check metrics` and its
#      counters equal an independent count (Python) and what --stats writes
#      at exit, /v1/pipeline gives the plan and the same figures, the token
#      never appears in the log;
#   3. the same into Redis while Redis is down: /readyz answers 503 naming
#      the sink, then 200 once Redis is back and the flush is durable; the
#      sorted set holds the Python count.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
. tests/lib/http.sh
http_setup http
mkdir -p "$B/in1" "$B/in2"
TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
printf '%s\n' "$TOKEN" > "$B/token"
export EDDY_HTTP_TOKEN_FILE=$B/token
AUTH=(-H "Authorization: Bearer $TOKEN")

# --- 1. config: refused before anything runs
bad() { # NAME HTTP-BLOCK EXPECTED-REGEX
    printf 'runtime:\n  http: %s\nsources:\n  g: { generator: { events: 10 }, to: [n] }\nsinks:\n  n: { "null": {} }\n' \
        "$2" > "$B/$1.yaml"
    EDDY_T_TOKEN=abc "$EDDY" check -c "$B/$1.yaml" > "$B/$1.out" 2>&1; rc=$?
    check_eq "config ($1): exit 78" 78 "$rc"
    check "config ($1): $(head -c 90 "$B/$1.out")…" grep -qE "^$B/$1.yaml:2:[0-9]+: $3" "$B/$1.out"
}
bad remote '{ listen: "0.0.0.0:9464" }' "runtime.http listens on 0.0.0.0:9464, which is not a loopback"
bad remote_no_token '{ listen: "0.0.0.0:9464", allow_remote: true }' \
    "allow_remote in runtime.http needs a bearer token"
bad literal_token '{ token: s3cret }' "'token' in runtime.http must come from the environment"
bad listen '{ listen: "127.0.0.1" }' "invalid value '127.0.0.1' for 'listen' in runtime.http"
bad token_file '{ token_file: /nonexistent/token }' "cannot read token_file '/nonexistent/token'"
printf 'runtime:\n  http: { listen: "0.0.0.0:9464", allow_remote: true, token: "${EDDY_T_TOKEN}" }\nsources:\n  g: { generator: { events: 10 }, to: [n] }\nsinks:\n  n: { "null": {} }\n' \
    > "$B/remote_ok.yaml"
EDDY_T_TOKEN=$TOKEN "$EDDY" check -c "$B/remote_ok.yaml" > "$B/remote_ok.out" 2>&1; rc=$?
check_eq "config: allow_remote with a token from \${VAR} loads" 0 "$rc"
check "config: eddy check names the endpoint" grep -q "http: 0.0.0.0:9464 (remote allowed, bearer token from the environment)" "$B/remote_ok.out"
check "config: eddy check never shows the token" bash -c "! grep -q '$TOKEN' '$B/remote_ok.out'"

# --- 2. word count into the null sink, scraped while it runs
python3 - "$B/words1.txt" "$B/expected1" <<'EOF'
import random, sys
rnd = random.Random(8)
vocab = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9))) for _ in range(400)]
lines = [" ".join(rnd.choice(vocab) for _ in range(rnd.randint(1, 12))) for _ in range(6000)]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
words = [w for l in lines for w in l.split()]
open(sys.argv[2], "w").write(f"{len(lines)} {len(words)} {len(set(words))}\n")
EOF
read -r LINES WORDS DISTINCT < "$B/expected1"
cat > "$B/words.yaml" <<'EOF'
runtime:
  workers: 2
  aggregators: 3
  flush_interval: 200ms
  http: { listen: "127.0.0.1:${EDDY_HTTP_PORT}", token_file: "${EDDY_HTTP_TOKEN_FILE}" }
sources:
  docs:
    directory: { path: "${EDDY_T_INBOX}" }
    format: words
aggregations:
  words:
    from: docs
    key: [word]
    to: [discard]
sinks:
  discard: { "null": {} }
EOF
EDDY_T_INBOX=$B/in1 "$EDDY" run -c "$B/words.yaml" --stats "$B/words.json" 2> "$B/words.log" &
PID=$!
check "the endpoint answers /healthz" wait_for 20 curl -sf "${AUTH[@]}" "$U/healthz"
check_eq "no token: 401" 401 "$(code "$U/metrics")"
check "no token: WWW-Authenticate: Bearer" bash -c "curl -s -D - -o /dev/null '$U/healthz' | grep -qi '^WWW-Authenticate: Bearer'"
check_eq "a wrong token: 401" 401 "$(code -H "Authorization: Bearer x$TOKEN" "$U/metrics")"
check_eq "a token prefix: 401" 401 "$(code -H "Authorization: Bearer ${TOKEN:0:8}" "$U/metrics")"
check_eq "the token: 200" 200 "$(code "${AUTH[@]}" "$U/metrics")"
check_eq "POST: 405" 405 "$(code "${AUTH[@]}" -X POST "$U/metrics")"
check_eq "a body: 413" 413 "$(code "${AUTH[@]}" -X GET --data-binary @"$B/expected1" "$U/healthz")"
check_eq "an unknown path: 404" 404 "$(code "${AUTH[@]}" "$U/nope")"
mv "$B/words1.txt" "$B/in1/words.txt"
records() { curl -s "${AUTH[@]}" "$U/metrics" > "$B/m.txt" && [ "$(metric "$B/m.txt" eddy_aggregator_records_total)" = "$WORDS" ]; }
check "every word reaches the aggregators" wait_for 60 records
ck0=$(metric "$B/m.txt" eddy_checkpoints_total)
settled() { curl -s "${AUTH[@]}" "$U/metrics" > "$B/m.txt" && [ "$(metric "$B/m.txt" eddy_checkpoints_total)" -ge $((ck0 + 2)) ]; }
check "two more checkpoints complete" wait_for 30 settled
M=$B/m.txt
check "promtool check metrics passes" bash -c "promtool check metrics < '$M'"
check_eq "eddy_source_inputs_total = lines written" "$LINES" "$(metric "$M" eddy_source_inputs_total 'source="docs"')"
check_eq "eddy_source_records_total = words (Python)" "$WORDS" "$(metric "$M" eddy_source_records_total)"
check_eq "eddy_source_rejected_total = 0" 0 "$(metric "$M" eddy_source_rejected_total)"
check_eq "eddy_aggregator_keys = distinct words (Python)" "$DISTINCT" "$(metric "$M" eddy_aggregator_keys)"
check_eq "records into the aggregator actors = words" "$WORDS" \
    "$(metric "$M" eddy_actor_records_in_total 'kind="aggregator"')"
check_eq "sink rows written = changelog rows emitted" "$(metric "$M" eddy_aggregator_changes_total)" \
    "$(metric "$M" eddy_sink_rows_written_total 'sink="discard"')"
check_eq "sink rows received by its actor = rows written" "$(metric "$M" eddy_sink_rows_written_total)" \
    "$(metric "$M" eddy_actor_records_in_total 'kind="sink"')"
check_eq "write-latency histogram counts every write" "$(metric "$M" eddy_sink_write_duration_seconds_count)" \
    "$(metric "$M" eddy_sink_write_duration_seconds_bucket 'le="+Inf"')"
check "the checkpoint-duration histogram has the completed checkpoints" \
    test "$(metric "$M" eddy_checkpoint_duration_seconds_count)" -ge "$ck0"
check "the sink made a checkpoint durable" test "$(metric "$M" eddy_sink_last_durable_checkpoint)" -ge 1
check_eq "/readyz: 200" 200 "$(code "${AUTH[@]}" "$U/readyz")"
curl -s "${AUTH[@]}" "$U/v1/pipeline" > "$B/pipeline.json"
check "/v1/pipeline: the plan, its links and the same figures" python3 - "$B/pipeline.json" "$WORDS" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1])); words = int(sys.argv[2])
actors = {a["name"]: a for a in p["actors"]}
assert set(actors) == {"coordinator", "docs", "aggregator-0", "aggregator-1", "aggregator-2", "discard"}, actors
assert sorted(l["to"] for l in actors["docs"]["to"]) == [actors[f"aggregator-{i}"]["id"] for i in range(3)]
assert all(l["kinds"] == ["keyed"] for l in actors["docs"]["to"])
assert sum(actors[f"aggregator-{i}"]["records_in"] for i in range(3)) == words
assert p["stats"]["sources"]["docs"]["records"] == words, p["stats"]
assert p["readiness"]["ready"] is True and p["sinks"][0]["name"] == "discard"
assert p["aggregations"] == [{"name": "words", "from": "docs", "key": ["word"], "to": ["discard"]}]
EOF
kill -TERM $PID
wait_pid 30 $PID; rc=$?
check_eq "words: drains and exits 0 on SIGTERM" 0 "$rc"
check "--stats at exit equals the last scrape" python3 - "$B/words.json" "$M" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1])); m = {}
for l in open(sys.argv[2]):
    if l[0] != "#":
        k, v = l.rsplit(" ", 1); name = k.split("{")[0]; m[name] = m.get(name, 0) + float(v)
want = [(s["sources"]["docs"]["inputs"], "eddy_source_inputs_total"),
        (s["sources"]["docs"]["records"], "eddy_source_records_total"),
        (s["aggregators"]["records"], "eddy_aggregator_records_total"),
        (s["aggregators"]["changes"], "eddy_aggregator_changes_total"),
        (s["aggregators"]["keys"], "eddy_aggregator_keys"),
        (s["aggregators"]["state_bytes"], "eddy_aggregator_state_bytes"),
        (s["sinks"]["discard"]["rows_written"], "eddy_sink_rows_written_total")]
bad = [(n, v, m.get(n)) for v, n in want if m.get(n) != v]
assert not bad, bad
EOF
check "the token is not in the log" bash -c "! grep -q '$TOKEN' '$B/words.log'"

# --- 3. readiness: Redis down at start, then up
python3 - "$B/words2.txt" "$B/expected2" <<'EOF'
import sys
lines = [" ".join(["alpha"] * (i % 5 + 1) + ["beta"] * (i % 3)) for i in range(500)]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
words = [w for l in lines for w in l.split()]
open(sys.argv[2], "w").write("".join(f"{w} {words.count(w)}\n" for w in sorted(set(words))))
EOF
export EDDY_T_ZSET="t_http_$(date +%s)"
cat > "$B/redis.yaml" <<'EOF'
runtime:
  flush_interval: 200ms
  http: { listen: "127.0.0.1:${EDDY_HTTP_PORT}" }
sources:
  docs:
    directory: { path: "${EDDY_T_INBOX}" }
    format: words
aggregations:
  words: { from: docs, key: [word], to: [top] }
sinks:
  top:
    redis: { url: "${EDDY_REDIS_URL}" }
    zset: "${EDDY_T_ZSET}"
    member: "{word}"
    score: count
    retry_max: 300ms
EOF
scripts/services stop-one redis > "$B/redis_stop.log" 2>&1
mv "$B/words2.txt" "$B/in2/words.txt"
EDDY_T_INBOX=$B/in2 "$EDDY" run -c "$B/redis.yaml" 2> "$B/redis.log" &
PID=$!
failing() { curl -s -o "$B/ready.json" -w '%{http_code}' "$U/readyz" | grep -qx 503 &&
    grep -q "sink 'top' cannot write" "$B/ready.json"; }
check "/readyz: 503 naming the sink while Redis is down" wait_for 30 failing
check "/readyz: the reason is JSON" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ready"] is False and d["sinks"]["top"]["failing_attempts"] >= 1' "$B/ready.json"
scripts/services start-one redis > "$B/redis_start.log" 2>&1
check "/readyz: 200 once Redis is back" wait_for 30 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$U/readyz')\" = 200 ]"
curl -s "$U/metrics" > "$B/m2.txt"
check "eddy_sink_retries_total counts the failed writes" test "$(metric "$B/m2.txt" eddy_sink_retries_total 'sink="top"')" -ge 1
redis-cli -p "$EDDY_REDIS_PORT" --raw ZRANGE "$EDDY_T_ZSET" 0 -1 WITHSCORES | paste -d ' ' - - | LC_ALL=C sort > "$B/zset"
check_files_eq "Redis holds the Python count" "$B/expected2" "$B/zset"
kill -TERM $PID
wait_pid 30 $PID; rc=$?
check_eq "redis: drains and exits 0 on SIGTERM" 0 "$rc"
redis-cli -p "$EDDY_REDIS_PORT" DEL "$EDDY_T_ZSET" > /dev/null

[ "$TAP_FAILED" -eq 0 ]
