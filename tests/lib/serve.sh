# shellcheck shell=bash
# serve.sh — a running pipeline seen and queried from outside (issue 8):
# the time-bucket counter (config/examples/bucket_counter.yaml, the
# tutorial ../shared/seeds/002_*.txt) and the leaderboard
# (config/examples/leaderboard.yaml) run side by side with their HTTP
# endpoints on, fed by generators through one-partition Kafka topics;
# while they run, their results are read as a user would — /v1/sql, /a/,
# /c/ with curl, /metrics, `eddy top --once`, /v1/leaderboard — printed, and
# compared with an independent computation over the same generated events
# (tests/tools/window_oracle.py, retention applied in Python;
# tests/tools/window_check.py says MATCH or MISMATCH).
# Used by scripts/demo-serve (make demo-serve) and, on less input, by
# tests/integration/t_serve.sh. Builds on tests/lib/patterns.sh (its
# pat_verdict, pat_same, pat_gen, pat_oracle, pat_redis_* helpers; same
# variables: PAT_OUT, PAT_RUN, EDDY_PREFIX). Needs
# `eval "$(scripts/services env kafka redis)"`, the repository root as the
# current directory and:
#
#   SRV_PORT     the bucket counter's HTTP port; the leaderboard's is SRV_PORT + 1
#
#   srv_start_buckets N RATE RETENTION [REQUESTS]
#                                        messages → the bucket counter, started in the background
#                                        (REQUESTS bad and good HTTP requests sent meanwhile)
#   srv_check_hammer                     every one of those requests answered as it should
#   srv_start_leaderboard N RATE         reviews → the leaderboard (with runtime.http), in the background
#   srv_settle NAME SOURCE N             waits until NAME read N records and two more checkpoints completed
#   srv_show_buckets                     /v1/sql, /a/, /c/ printed and checked
#   srv_show_metrics NAME                /metrics scraped, printed and checked
#   srv_show_leaderboard                 Redis, `eddy top --once`, /v1/leaderboard printed and checked
#   srv_stop NAME                        SIGTERM; it must drain and exit 0
#
# Each show prints what it read, then one verdict per check (recorded in
# $PAT_OUT/verdicts as patterns.sh does); it returns 0 only if all matched.
# shellcheck source=patterns.sh
. tests/lib/patterns.sh
# shellcheck source=http.sh
. tests/lib/http.sh
SRV_SQL_Q="SELECT server_name, topic, window_start, window_end, count FROM buckets"

srv_url() { case $1 in buckets) echo "http://127.0.0.1:$SRV_PORT" ;; *) echo "http://127.0.0.1:$((SRV_PORT + 1))" ;; esac; }

# srv_sql QUERY: the rows of /v1/sql on the bucket counter as TSV.
srv_sql() { http_sql "$1" "$(srv_url buckets)"; }

# srv_messages N RATE FILE: N messages of the tutorial ({origin_server,
# topic, timestamp}), RATE per second of event time from 2026-01-01, out of
# order within 2 s (under the example's max_out_of_orderness: 5s), the time
# alternately epoch seconds and ISO-8601 with milliseconds (format: auto).
srv_messages() {
    python3 - "$@" "$PAT_SEED" <<'EOF'
import datetime, json, random, sys
n, rate, path, seed = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
rnd = random.Random(seed)
servers = ["Iceman", "Storm", "Rogue", "Cyclops", "Jean \"Phoenix\" Grey", "Kitty Pryde", "Ωmega"]
topics = ["Dreams", "Nightmares", "Visions"]
t0 = 1767225600.0  # 2026-01-01T00:00:00Z
with open(path, "w") as f:
    for i in range(n):
        ms = int((t0 + i / rate + rnd.uniform(-2.0, 0.0)) * 1000)
        m = {"origin_server": rnd.choice(servers), "topic": rnd.choice(topics)}
        if i % 2:
            m["timestamp"] = ms // 1000
        else:
            m["timestamp"] = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)
        f.write(json.dumps(m, ensure_ascii=False) + "\n")
EOF
}

# srv_retain ORACLE RETENTION_MS: the oracle's rows whose window ends no
# earlier than the newest window end minus RETENTION_MS (the sqlite sink's
# retention, docs/sinks-sql.md), into ORACLE.kept.json.
srv_retain() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
newest = max(r["window_end"] for r in o["rows"])
o["all_rows"] = len(o["rows"])
o["rows"] = [r for r in o["rows"] if r["window_end"] >= newest - int(sys.argv[2])]
json.dump(o, open(sys.argv[1][:-5] + ".kept.json", "w"))
EOF
}

# srv_start_buckets N RATE RETENTION [REQUESTS]: with REQUESTS > 0, that
# many bad and good requests (tests/tools/http_hammer.py, 16 threads) are
# sent to the endpoint from its first write on, while the rest of the
# messages is produced and read; srv_check_hammer judges the answers.
srv_start_buckets() {
    local n=$1 rate=$2 retention=$3 requests=${4:-0} ev=$PAT_OUT/messages.jsonl u i
    u=$(srv_url buckets)
    echo "== bucket counter (config/examples/bucket_counter.yaml): messages counted per 20 s bucket,"
    echo "   server_name and topic, into SQLite (:memory:) with retention $retention, served on $u"
    export EDDY_MESSAGES_TOPIC="${EDDY_PREFIX}messages.serve.$PAT_RUN" EDDY_RETENTION=$retention
    srv_messages "$n" "$rate" "$ev" || return 1
    EDDY_GROUP="eddy-buckets-$PAT_RUN" pat_oracle buckets config/examples/bucket_counter.yaml buckets "$ev" || return 1
    srv_retain "$PAT_OUT/buckets.oracle.json" "$(python3 -c 'import sys; sys.path.insert(0, "tests/tools")
import window_oracle; print(window_oracle.duration_ms(sys.argv[1]))' "$retention")" || return 1
    scripts/kafka-topics create "$EDDY_MESSAGES_TOPIC" 1 > /dev/null || return 1
    EDDY_HTTP_LISTEN=127.0.0.1:$SRV_PORT EDDY_GROUP="eddy-buckets-$PAT_RUN" \
        "$EDDY" run -c config/examples/bucket_counter.yaml 2> "$PAT_OUT/buckets.log" &
    SRV_PID_buckets=$!
    # The messages in ten parts: the hammer's good queries need the table,
    # which the sink creates at its first write (part 1); parts 2-10 follow
    # half a second apart while the requests run.
    split -n l/10 -d -a 2 "$ev" "$ev."
    kcat -b "$EDDY_KAFKA" -P -t "$EDDY_MESSAGES_TOPIC" -p 0 -l "$ev.00" || return 1
    SRV_HAMMER_PID=
    if [ "$requests" -gt 0 ]; then
        for ((i = 0; i < 150; i++)); do
            [ "$(curl -s -o /dev/null -w '%{http_code}' "$u/v1/sql?q=SELECT%201%20FROM%20buckets")" = 200 ] && break
            sleep 0.2
        done
        python3 tests/tools/http_hammer.py --port "$SRV_PORT" --requests "$requests" --threads 16 \
            --table buckets > "$PAT_OUT/hammer.json" 2> "$PAT_OUT/hammer.err" &
        SRV_HAMMER_PID=$!
        echo "   $requests bad and good requests from 16 threads (tests/tools/http_hammer.py) while the input is read"
    fi
    for i in 01 02 03 04 05 06 07 08 09; do
        [ -z "$SRV_HAMMER_PID" ] || sleep 0.5
        kcat -b "$EDDY_KAFKA" -P -t "$EDDY_MESSAGES_TOPIC" -p 0 -l "$ev.$i" || return 1
    done
    echo "   $n messages ($rate per second of event time, epoch and ISO-8601 times) → Kafka $EDDY_MESSAGES_TOPIC"
    kcat -b "$EDDY_KAFKA" -C -t "$EDDY_MESSAGES_TOPIC" -o beginning -e -q -f '%s\n' > "$ev.read" 2>/dev/null
    if cmp -s "$ev" "$ev.read"; then pat_verdict "topic messages holds the generated events" echo "MATCH ($n in order, read with kcat)"
    else pat_verdict "topic messages holds the generated events" echo "MISMATCH: kcat read $(wc -l < "$ev.read") lines, not $n"; fi
}

# srv_check_hammer: waits (at most 180 s) for the requests srv_start_buckets
# sent; every answer must have been what it should (a 4xx for the bad ones,
# 200 for the good ones, never a 5xx, a reset or a hang).
srv_check_hammer() {
    local i rc
    [ -n "${SRV_HAMMER_PID:-}" ] || return 0
    for ((i = 0; i < 900; i++)); do kill -0 "$SRV_HAMMER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$SRV_HAMMER_PID" 2>/dev/null && kill -KILL "$SRV_HAMMER_PID" 2>/dev/null
    wait "$SRV_HAMMER_PID"; rc=$?
    SRV_HAMMER_PID=
    pat_verdict "buckets: bad and concurrent HTTP requests" python3 -c 'import json, sys
try:
    d = json.load(open(sys.argv[1]))
except ValueError:
    print("MISMATCH: http_hammer.py exited %s: %s" % (sys.argv[2], open(sys.argv[3]).read()[-200:])); sys.exit()
if d["bad"] or sys.argv[2] != "0":
    print("MISMATCH: %s" % json.dumps(d["bad"][:2]))
else:
    print("MATCH (%d requests in %.1f s: %s)" % (d["requests"], d["seconds"],
          ", ".join("%s x%d" % kv for kv in sorted(d["by_status"].items()))))' \
        "$PAT_OUT/hammer.json" "$rc" "$PAT_OUT/hammer.err"
}

srv_start_leaderboard() {
    local n=$1 rate=$2 conf=$PAT_OUT/leaderboard.yaml
    echo "== leaderboard (config/examples/leaderboard.yaml): top 10 products by reviews per 5-minute window"
    echo "   sliding by 1 minute → Redis ${EDDY_PREFIX}top:products:*, served on $(srv_url leaderboard)"
    export EDDY_REVIEWS_TOPIC="${EDDY_PREFIX}reviews.serve.$PAT_RUN"
    # The example with the HTTP endpoint turned on (one line changed).
    sed "s|^runtime: { |runtime: { http: { listen: \"127.0.0.1:$((SRV_PORT + 1))\" }, |" \
        config/examples/leaderboard.yaml > "$conf"
    grep -q '^runtime: { http: ' "$conf" || { echo "   $conf: runtime line not found"; return 1; }
    pat_redis_clean "${EDDY_PREFIX}top:products:*"
    pat_gen reviews "$n" "$rate" "$PAT_OUT/reviews.jsonl" "$EDDY_REVIEWS_TOPIC" \
        --disorder 1500ms --late-fraction 0.01 || return 1
    pat_oracle leaderboard "$conf" trending "$PAT_OUT/reviews.jsonl" || return 1
    EDDY_GROUP="eddy-leaderboard-$PAT_RUN" "$EDDY" run -c "$conf" 2> "$PAT_OUT/leaderboard.log" &
    SRV_PID_leaderboard=$!
}

# srv_settle NAME SOURCE N: polls NAME's /metrics until its source read N
# inputs, then until two more checkpoints completed (every record applied
# and flushed, the sinks durable); the last scrape is $PAT_OUT/NAME.metrics.
srv_settle() {
    local name=$1 src=$2 n=$3 u m=$PAT_OUT/$1.metrics ck=0 i
    u=$(srv_url "$name")
    for ((i = 0; i < 600; i++)); do
        curl -s "$u/metrics" > "$m" 2>/dev/null &&
            [ "$(metric "$m" eddy_source_inputs_total "source=\"$src\"")" -ge "$n" ] && break
        kill -0 "$(eval echo "\$SRV_PID_$name")" 2>/dev/null || { echo "   $name exited early"; return 1; }
        sleep 0.2
    done
    ck=$(metric "$m" eddy_checkpoints_total)
    for ((i = 0; i < 300; i++)); do
        curl -s "$u/metrics" > "$m" 2>/dev/null &&
            [ "$(metric "$m" eddy_checkpoints_total)" -ge $((ck + 2)) ] && return 0
        sleep 0.2
    done
    echo "   $name: $(metric "$m" eddy_source_inputs_total) of $n inputs read, checkpoints stuck at $ck"
    return 1
}

srv_show_buckets() {
    local u ok=0 o=$PAT_OUT/buckets.oracle.kept.json
    u=$(srv_url buckets)
    echo "== bucket counter, queried while it runs"
    echo "   curl -s $u/v1/sql --get --data-urlencode 'q=SELECT server_name, sum(count) AS n …'"
    srv_sql "SELECT server_name, sum(count) AS n, count(DISTINCT window_start) AS buckets FROM buckets
             GROUP BY 1 ORDER BY n DESC, 1" > "$PAT_OUT/per_server.tsv"
    awk -F'\t' 'BEGIN {printf "      %-22s %8s %8s\n", "server_name", "n", "buckets"}
                {printf "      %-22s %8s %8s\n", $1, $2, $3}' "$PAT_OUT/per_server.tsv"
    echo "   curl -s $u/a/buckets | head -c 300"
    curl -s "$u/a/buckets" > "$PAT_OUT/a.json"
    head -c 300 "$PAT_OUT/a.json" | sed 's/^/      /'; echo " …"
    local c="SELECT count(*) AS rows, sum(count) AS messages, min(window_start) AS oldest, max(window_end) AS newest FROM buckets"
    echo "   curl -s '$u/c/${c// /%20}'"
    curl -s "$u/c/$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$c")" > "$PAT_OUT/c.json"
    sed 's/^/      /' "$PAT_OUT/c.json"; echo
    srv_sql "$SRV_SQL_Q" > "$PAT_OUT/buckets.tsv"
    python3 -c 'import json, sys
for r in json.load(open(sys.argv[1])):
    print("\t".join(str(r[c]) for c in ("server_name", "topic", "window_start", "window_end", "count")))' \
        "$PAT_OUT/a.json" > "$PAT_OUT/a.tsv" 2>/dev/null
    echo "   checks against tests/tools/window_oracle.py over the same messages, retention applied:"
    pat_verdict "buckets: /v1/sql rows (20 s buckets, kept)" python3 tests/tools/window_check.py sql \
        "$o" "$PAT_OUT/buckets.tsv" --values count || ok=1
    pat_verdict "buckets: /a/buckets rows" python3 tests/tools/window_check.py sql \
        "$o" "$PAT_OUT/a.tsv" --values count || ok=1
    pat_verdict "buckets: the per-server totals printed" srv_check_totals "$o" "$PAT_OUT/per_server.tsv" || ok=1
    pat_same "buckets: /c/ rows, messages, oldest, newest" "$(python3 -c 'import json, sys
o = json.load(open(sys.argv[1]))["rows"]
print(len(o), sum(r["values"]["count"] for r in o), min(r["window_start"] for r in o), max(r["window_end"] for r in o))' "$o")" \
        "$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))[0]
print(r["rows"], r["messages"], r["oldest"], r["newest"])' "$PAT_OUT/c.json" 2>&1)" || ok=1
    pat_verdict "buckets: retention removed the old buckets" python3 -c 'import json, sys
o = json.load(open(sys.argv[1])); kept = len(o["rows"]); n = o["all_rows"]
print("MATCH (%d of %d rows kept)" % (kept, n) if kept < n else "MISMATCH: retention removed nothing (%d rows)" % n)' "$o" || ok=1
    return $ok
}

# srv_check_totals ORACLE TSV: `server_name<TAB>n<TAB>buckets` against the oracle's rows.
srv_check_totals() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
want = {}
for r in json.load(open(sys.argv[1]))["rows"]:
    w = want.setdefault(r["key"]["server_name"], [0, set()])
    w[0] += r["values"]["count"]; w[1].add(r["window_start"])
want = {k: [v[0], len(v[1])] for k, v in want.items()}
got = {}
for line in open(sys.argv[2], encoding="utf-8"):
    s, n, b = line.rstrip("\n").split("\t")
    got[s] = [int(n), int(b)]
bad = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
if bad:
    print("MISMATCH: %d servers differ, e.g. %s: %s, expected %s" % (len(bad), bad[0], got.get(bad[0]), want.get(bad[0])))
else:
    print("MATCH (%d servers, %d messages)" % (len(want), sum(v[0] for v in want.values())))
EOF
}

# srv_show_metrics NAME SOURCE N: the settled scrape of NAME; its counters
# against N (generated) and promtool.
srv_show_metrics() {
    local name=$1 src=$2 n=$3 m=$PAT_OUT/$1.metrics ok=0
    echo "== $name: curl -s $(srv_url "$name")/metrics ($(grep -vc '^#' "$m") samples); a few:"
    grep -E "^eddy_(source_records_total|source_rejected_total|aggregator_open_windows|sink_rows_written_total|checkpoints_total)[{ ]" "$m" |
        sed 's/^/      /'
    if command -v promtool > /dev/null; then
        pat_verdict "$name: /metrics passes promtool check metrics" bash -c \
            'out=$(promtool check metrics < "$1" 2>&1) && echo "MATCH (valid exposition format)" || echo "MISMATCH: $out"' _ "$m" || ok=1
    fi
    # Windows stay open while the pipeline runs (the newest ones end after
    # the watermark): the gauge is the aggregators' own figure, not a fixed 0.
    pat_verdict "$name: eddy_aggregator_open_windows > 0 while it runs (/metrics)" bash -c \
        'n=$(awk "/^eddy_aggregator_open_windows[{ ]/ { s += \$NF } END { print s + 0 }" "$1")
         [ "$n" -gt 0 ] && echo "MATCH ($n open)" || echo "MISMATCH: $n open windows"' _ "$m" || ok=1
    pat_same "$name: records read and rejected (/metrics)" "$n 0" \
        "$(metric "$m" eddy_source_records_total "source=\"$src\"") $(metric "$m" eddy_source_rejected_total)" || ok=1
    return $ok
}

srv_show_leaderboard() {
    local u ok=0 pattern=${EDDY_PREFIX}top:products:*
    u=$(srv_url leaderboard)
    echo "== leaderboard, read while it runs"
    pat_top_show "$pattern"
    echo "   eddy top --once --rows 10 '$pattern' | head -n 6"
    "$EDDY" top -r "$EDDY_REDIS_URL" --once --rows 10 "$pattern" > "$PAT_OUT/top.txt" 2> "$PAT_OUT/top.err"
    head -n 6 "$PAT_OUT/top.txt" | sed 's/^/      /'
    curl -s "$u/v1/leaderboard?sink=redis_trending&rows=10" > "$PAT_OUT/leaderboard.json"
    echo "   curl -s '$u/v1/leaderboard?sink=redis_trending' → $(head -c 160 "$PAT_OUT/leaderboard.json")…"
    pat_redis_dump "$pattern" "$PAT_OUT/leaderboard.tsv"
    echo "   checks against tests/tools/window_oracle.py over the same reviews:"
    pat_verdict "leaderboard: Redis per-window top 10" python3 tests/tools/window_check.py zsets \
        "$PAT_OUT/leaderboard.oracle.json" "$PAT_OUT/leaderboard.tsv" || ok=1
    pat_verdict "leaderboard: eddy top --once shows the newest window" \
        srv_check_top "$PAT_OUT/leaderboard.oracle.json" "$PAT_OUT/top.txt" || ok=1
    pat_verdict "leaderboard: /v1/leaderboard shows the newest window" \
        srv_check_top "$PAT_OUT/leaderboard.oracle.json" "$PAT_OUT/leaderboard.json" || ok=1
    return $ok
}

# srv_check_top ORACLE FILE: FILE (`eddy top --once` output, or the JSON of
# /v1/leaderboard) shows the oracle's newest sorted set with its top 10, in
# rank order (ties in any order).
srv_check_top() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))["top"]
newest = max(o, key=lambda t: int(t["zset"].rsplit(":", 1)[1]))
want = sorted((float(s), m) for m, s in newest["members"])
text = open(sys.argv[2], encoding="utf-8").read()
if text.startswith("{"):
    d = json.loads(text)
    key, rows = d.get("key"), [(r["rank"], float(r["score"]), r["member"]) for r in d["rows"]]
else:
    lines = text.splitlines()
    key = lines[0].split("\t")[0][2:] if lines and lines[0].startswith("# ") else None
    rows = [(int(r), float(s), m) for r, s, m in (l.split("\t", 2) for l in lines[1:] if l.strip())]
scores = [s for _, s, _ in rows]
if key != newest["zset"]:
    print("MISMATCH: shows %s, the newest window is %s" % (key, newest["zset"]))
elif sorted((s, m) for _, s, m in rows) != want or scores != sorted(scores, reverse=True) \
        or [r for r, _, _ in rows] != list(range(1, len(rows) + 1)):
    print("MISMATCH: %s shown, expected %s" % (rows[:3], sorted(want, reverse=True)[:3]))
else:
    print("MATCH (%s, %d members, top score %g)" % (key, len(rows), scores[0] if scores else 0))
EOF
}

# srv_stop NAME: SIGTERM; NAME must drain and exit 0 within 60 s.
srv_stop() {
    local pid rc i
    pid=$(eval echo "\${SRV_PID_$1:-}")
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid"; rc=$?
    eval "SRV_PID_$1="
    pat_same "$1: drains and exits 0 on SIGTERM" 0 "$rc"
}
