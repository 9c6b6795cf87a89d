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
#      figures (tests/tools/dashboard_dom.py).
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
B=$EDDY_ROOT/tests/out/dashboard
rm -rf "$B"; mkdir -p "$B/in"
export EDDY_HTTP_PORT=${EDDY_HTTP_PORT:-19464}
U=http://127.0.0.1:$EDDY_HTTP_PORT
code() { curl -s --path-as-is -o /dev/null -w '%{http_code}' "$@"; }
ctype() { curl -s --path-as-is -o /dev/null -w '%{content_type}' "$@"; }
metric() {
    awk -v n="$2" -v f="${3:-}" '$1 ~ "^" n "({|$)" && index($1, f) { s += $2 } END { printf "%d\n", s }' "$1"
}
chrome() {
    timeout 90 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$B/chrome" --window-size=1400,1500 --virtual-time-budget=5000 "$@" "$U/"
}

python3 - "$B/words.txt" "$B/expected.json" <<'EOF2'
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
json.dump({"words": len(words), "distinct": len(counts), "top_counts": top, "redis": None},
          open(sys.argv[2], "w"))
EOF2
export EDDY_T_INBOX=$B/in EDDY_T_ZSET="t_dashboard_$(date +%s)_$$"
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
aggregations:
  words: { from: docs, key: [word], to: [top] }
sinks:
  top:
    redis: { url: "${EDDY_REDIS_URL}" }
    zset: "${EDDY_T_ZSET}"
    member: "{word}"
    score: count
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

records() { curl -s "$U/metrics" > "$B/m.txt" && [ "$(metric "$B/m.txt" eddy_aggregator_records_total)" = "$(json_get "$B/expected.json" words)" ]; }
check "every word reaches the aggregators" wait_for 60 records
ck0=$(metric "$B/m.txt" eddy_checkpoints_total)
settled() { curl -s "$U/metrics" > "$B/m.txt" && [ "$(metric "$B/m.txt" eddy_checkpoints_total)" -ge $((ck0 + 2)) ]; }
check "two more checkpoints complete (the figures settled)" wait_for 30 settled

chrome --screenshot="$B/dashboard.png" > "$B/chrome_shot.log" 2>&1
check "a screenshot of the page" test -s "$B/dashboard.png"
chrome --dump-dom > "$B/dom.html" 2> "$B/chrome_dom.log"
curl -s "$U/v1/pipeline" > "$B/pipeline.json"
curl -s "$U/metrics" > "$B/metrics.txt"
check "the DOM was dumped" test -s "$B/dom.html"
python3 tests/tools/dashboard_dom.py "$B/dom.html" "$B/pipeline.json" "$B/metrics.txt" "$B/expected.json" \
    > "$B/dom_check.txt"
rc=$?
cat "$B/dom_check.txt"
TAP_FAILED=$((TAP_FAILED + $(grep -c '^not ok' "$B/dom_check.txt")))
check "the DOM checks ran" test "$(grep -c '^ok' "$B/dom_check.txt")" -ge 10 -a "$rc" -eq 0

kill -TERM $PID
wait_pid 30 $PID; rc=$?
check_eq "drains and exits 0 on SIGTERM" 0 "$rc"
redis-cli -p "$EDDY_REDIS_PORT" DEL "$EDDY_T_ZSET" > /dev/null
[ "$TAP_FAILED" -eq 0 ]
