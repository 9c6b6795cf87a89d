#!/usr/bin/env bash
# The web dashboard (docs/http.md#dashboard) as a person sees it, in
# headless Chromium (Debian chromium):
#   1. its files: / is the page, /ui/ and /vendor/ serve the page's files
#      and the vendored uPlot with their content types; '..', hidden files
#      and unknown files are refused; without the files / says where eddy
#      looked and how to set it;
#   2. a directory of generated words -> word count -> Redis, left running
#      once every word is counted (figures settle): the page is loaded in
#      Chromium (a screenshot in tests/out/dashboard/dashboard.png) and its
#      DOM compared with /v1/pipeline and /metrics fetched right after and
#      with an independent count (Python): the graph's nodes and edges, the
#      records on each, the mailbox depths, the sources' and sinks'
#      figures, the watermark of a source with event times (max - 2 s,
#      Python) (tests/tools/dashboard_dom.py), and the leaderboard shown
#      with ZREVRANGE from redis-cli and the top counts (Python);
#   3. /v1/leaderboard: the same top as redis-cli, its refusals (no sink, an
#      unknown or non-redis sink, bad rows, a key that is not the sink's)
#      and 502 naming the server while Redis is down.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
. tests/lib/http.sh
http_setup dashboard
mkdir -p "$B/in" "$B/ev"
chrome() {
    timeout 90 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$B/chrome" --window-size=1400,1500 --virtual-time-budget=5000 "$@" "$U/"
}

python3 - "$B/words.txt" "$B/expected.json" "$B/events.txt" <<'EOF2'
import json, random, sys
rnd = random.Random(11)
vocab = ["".join(rnd.choice("abcdefghij") for _ in range(rnd.randint(2, 6))) for _ in range(120)]
lines = [" ".join(rnd.choice(vocab) for _ in range(rnd.randint(1, 10))) for _ in range(3000)]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
words = [w for l in lines for w in l.split()]
counts = {}
for w in words:
    counts[w] = counts.get(w, 0) + 1
top = sorted(counts.values(), reverse=True)[:10]
# Events with event times, out of order, for the watermark: max(ts) - 2 s.
t0 = 1_796_000_000_000
ts = [t0 + i * 1000 + rnd.randint(-1500, 1500) for i in range(400)]
users = [f"u{rnd.randint(1, 30)}" for _ in ts]
open(sys.argv[3], "w").write("".join(json.dumps({"ts": t, "user": u}) + "\n" for t, u in zip(ts, users)))
json.dump({"words": len(words), "distinct": len(counts), "top_counts": top, "redis": None,
           "events": len(ts), "users": len(set(users)), "watermark": max(ts) - 2000},
          open(sys.argv[2], "w"))
EOF2
export EDDY_T_INBOX=$B/in EDDY_T_EVENTS=$B/ev EDDY_T_ZSET="t_dashboard_$(date +%s)_$$"
cat > "$B/words.yaml" <<'EOF2'
runtime:
  workers: 2
  aggregators: 3
  flush_interval: 200ms
  http: { listen: "127.0.0.1:${EDDY_HTTP_PORT}" }
sources:
  docs:
    directory: { path: "${EDDY_T_INBOX}" }
    format: words
  events:
    directory: { path: "${EDDY_T_EVENTS}" }
    format: json
    time: { field: ts, format: epoch_ms, max_out_of_orderness: 2s, idle_timeout: 1h }
aggregations:
  words: { from: docs, key: [word], to: [top, discard] }
  per_user: { from: events, key: [user], to: [users] }
sinks:
  top:
    redis: { url: "${EDDY_REDIS_URL}" }
    zset: "${EDDY_T_ZSET}"
    member: "{word}"
    score: count
  discard: { "null": {} }
  users: { "null": {} }
EOF2

# --- 1. the files, when they are missing
EDDY_WEB_DIR=$B/nowhere "$EDDY" run -c "$B/words.yaml" 2> "$B/missing.log" &
PID=$!
check "the endpoint answers /healthz" wait_for 20 curl -sf "$U/healthz"
curl -s "$U/" > "$B/missing.json"
check_eq "no web directory: / answers 404" 404 "$(code "$U/")"
check "… naming where eddy looked and EDDY_WEB_DIR" grep -q "no index.html in $B/nowhere; set runtime.http.web_dir or EDDY_WEB_DIR" "$B/missing.json"
check "the startup log says the files are missing" grep -q "dashboard files missing" "$B/missing.log"
kill -TERM $PID; wait_pid 30 $PID

# --- 2. the files, served
mv "$B/words.txt" "$B/in/words.txt"
mv "$B/events.txt" "$B/ev/events.txt"
"$EDDY" run -c "$B/words.yaml" 2> "$B/words.log" &
PID=$!
check "the endpoint answers /healthz" wait_for 20 curl -sf "$U/healthz"
check "the startup log says where the files are" grep -q "dashboard from $EDDY_ROOT/web, vendored from" "$B/words.log"
check_eq "/: 200" 200 "$(code "$U/")"
check_eq "/: text/html" "text/html; charset=utf-8" "$(ctype "$U/")"
check "/ is web/index.html" cmp -s web/index.html <(curl -s "$U/")
check_eq "/ui/dashboard.js: text/javascript" "text/javascript; charset=utf-8" "$(ctype "$U/ui/dashboard.js")"
check_eq "/ui/dashboard.css: text/css" "text/css; charset=utf-8" "$(ctype "$U/ui/dashboard.css")"
check_eq "/vendor/uplot/uPlot.iife.min.js (make deps): 200" 200 "$(code "$U/vendor/uplot/uPlot.iife.min.js")"
check "/vendor/uplot/ is the npm package's dist file" bash -c \
    "curl -s '$U/vendor/uplot/uPlot.iife.min.js' | head -c 200 | grep -q 'uPlot (v'"
check_eq "/ui/../README.md: 400" 400 "$(code "$U/ui/../README.md")"
check_eq "/ui/%2e%2e/README.md: 400" 400 "$(code "$U/ui/%2e%2e/README.md")"
check_eq "/vendor/../../web/index.html: 400" 400 "$(code "$U/vendor/../../web/index.html")"
check_eq "/ui//etc/passwd: 400" 400 "$(code "$U/ui//etc/passwd")"
check_eq "/ui/.hidden: 400" 400 "$(code "$U/ui/.hidden")"
check_eq "/ui/nope.js: 404" 404 "$(code "$U/ui/nope.js")"
check_eq "/ui/: 404" 404 "$(code "$U/ui/")"
check_eq "/index.html (not a route): 404" 404 "$(code "$U/index.html")"
check_eq "HEAD /: 200" 200 "$(code -I "$U/")"

ALL=$(( $(json_get "$B/expected.json" words) + $(json_get "$B/expected.json" events) ))
records() { curl -s "$U/metrics" > "$B/m.txt" && [ "$(metric "$B/m.txt" eddy_aggregator_records_total)" = "$ALL" ]; }
check "every word reaches the aggregators" wait_for 60 records
ck0=$(metric "$B/m.txt" eddy_checkpoints_total)
settled() { curl -s "$U/metrics" > "$B/m.txt" && [ "$(metric "$B/m.txt" eddy_checkpoints_total)" -ge $((ck0 + 2)) ]; }
check "two more checkpoints complete (the figures settled)" wait_for 30 settled

chrome --screenshot="$B/dashboard.png" > "$B/chrome_shot.log" 2>&1
check "a screenshot of the page" test -s "$B/dashboard.png"
chrome --dump-dom > "$B/dom.html" 2> "$B/chrome_dom.log"
curl -s "$U/v1/pipeline" > "$B/pipeline.json"
curl -s "$U/metrics" > "$B/metrics.txt"
redis-cli -p "$EDDY_REDIS_PORT" --raw ZREVRANGE "$EDDY_T_ZSET" 0 9 WITHSCORES > "$B/zrevrange.txt"
python3 - "$B/expected.json" "$B/zrevrange.txt" <<'EOF2'
import json, sys
e = json.load(open(sys.argv[1])); z = open(sys.argv[2]).read().split("\n")[:-1]
e["redis"] = [[z[i], z[i + 1]] for i in range(0, len(z), 2)]
json.dump(e, open(sys.argv[1], "w"))
EOF2
check "the DOM was dumped" test -s "$B/dom.html"
python3 tests/tools/dashboard_dom.py "$B/dom.html" "$B/pipeline.json" "$B/metrics.txt" "$B/expected.json" \
    > "$B/dom_check.txt"
rc=$?
cat "$B/dom_check.txt"
TAP_FAILED=$((TAP_FAILED + $(grep -c '^not ok' "$B/dom_check.txt")))
check "the DOM checks ran" test "$(grep -c '^ok' "$B/dom_check.txt")" -ge 10 -a "$rc" -eq 0


# --- 3. /v1/leaderboard
curl -s "$U/v1/leaderboard?sink=top&rows=10" > "$B/lb.json"
check "/v1/leaderboard?sink=top&rows=10 = ZREVRANGE 0 9 WITHSCORES" python3 - "$B/lb.json" "$B/zrevrange.txt" "$EDDY_T_ZSET" <<'EOF2'
import json, sys
lb = json.load(open(sys.argv[1])); z = open(sys.argv[2]).read().split("\n")[:-1]
assert [(r["member"], r["score"]) for r in lb["rows"]] == [(z[i], z[i + 1]) for i in range(0, len(z), 2)], lb
assert [r["rank"] for r in lb["rows"]] == list(range(1, 11)), lb
assert lb["key"] == sys.argv[3] and lb["sink"] == "top" and lb["ttl_ms"] == -1, lb
EOF2
check_eq "/v1/pipeline: watermark of events = max(ts) - 2 s (Python)" "$(json_get "$B/expected.json" watermark)" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sources"][1]["watermark_ms"])' "$B/pipeline.json")"
check_eq "/v1/pipeline: no watermark without event time" None \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sources"][0]["watermark_ms"])' "$B/pipeline.json")"
check_eq "/v1/leaderboard: card = ZCARD = distinct words" "$(json_get "$B/expected.json" distinct)" \
    "$(json_get "$B/lb.json" card)"
check_eq "/v1/leaderboard?key=the sink's key: 200" 200 "$(code "$U/v1/leaderboard?sink=top&key=$EDDY_T_ZSET&rows=3")"
check_eq "… 3 rows" 3 "$(curl -s "$U/v1/leaderboard?sink=top&key=$EDDY_T_ZSET&rows=3" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rows"]))')"
check_eq "/v1/leaderboard without sink: 400" 400 "$(code "$U/v1/leaderboard")"
check "… naming the redis sinks" bash -c "curl -s '$U/v1/leaderboard' | grep -q 'expected ?sink=NAME, a redis sink: top'"
check_eq "an unknown sink: 404" 404 "$(code "$U/v1/leaderboard?sink=nope")"
check_eq "a null sink: 400" 400 "$(code "$U/v1/leaderboard?sink=discard")"
check "… saying it is not redis" bash -c "curl -s '$U/v1/leaderboard?sink=discard' | grep -q \"sink 'discard' is a null sink\""
check_eq "rows=0: 400" 400 "$(code "$U/v1/leaderboard?sink=top&rows=0")"
check_eq "rows=abc: 400" 400 "$(code "$U/v1/leaderboard?sink=top&rows=abc")"
check_eq "rows=1001: 400" 400 "$(code "$U/v1/leaderboard?sink=top&rows=1001")"
check_eq "a key that is not the sink's: 404" 404 "$(code "$U/v1/leaderboard?sink=top&key=other")"
scripts/services stop-one redis > "$B/redis_stop.log" 2>&1
check_eq "Redis down: 502" 502 "$(code "$U/v1/leaderboard?sink=top")"
check "… naming the server" bash -c "curl -s '$U/v1/leaderboard?sink=top' | grep -q 'redis 127.0.0.1:$EDDY_REDIS_PORT'"
check "the pipeline still serves /v1/pipeline" curl -sf "$U/v1/pipeline" -o /dev/null
scripts/services start-one redis > "$B/redis_start.log" 2>&1
check_eq "Redis back: 200" 200 "$(code "$U/v1/leaderboard?sink=top")"

kill -TERM $PID
wait_pid 30 $PID; rc=$?
check_eq "drains and exits 0 on SIGTERM" 0 "$rc"
redis-cli -p "$EDDY_REDIS_PORT" DEL "$EDDY_T_ZSET" > /dev/null
[ "$TAP_FAILED" -eq 0 ]
