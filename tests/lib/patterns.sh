# shellcheck shell=bash
# patterns.sh — the jobs of the streaming-patterns tutorial (issue 7) end to
# end against the real servers: generated events (`eddy gen`, docs/gen.md)
# in a fresh ONE-partition Kafka topic (so arrival order, and with it
# lateness, is deterministic), the example pipeline of config/examples run
# under --exit-when-idle (the end of input closes every window), what its
# sink holds printed, and compared with tests/tools/window_oracle.py over
# the same events (tests/tools/window_check.py says MATCH or MISMATCH).
# Used by scripts/demo-patterns (make demo-patterns) and, on less input, by
# tests/integration/t_patterns.sh. Needs `eval "$(scripts/services env)"`,
# the current directory at the repository root and:
#
#   PAT_OUT      a directory for events, dumps, logs and oracle answers
#   PAT_RUN      a run id: topics and consumer groups are new per run
#   EDDY_PREFIX  prefix of the tables and Redis keys ("" = the examples' names)
#
#   pat_orders_analytics N RATE   orders → revenue per category and minute → MariaDB
#   pat_leaderboard N RATE        reviews → top 10 products per 5-minute window → Redis
#   pat_webviews N RATE           views → top 10 pages per country and minute → Redis
#   pat_alerts N RATE             orders → highvolume (windowed, on close) and critical alerts → Kafka
#
# Each prints what it does and what the sink holds, then one verdict line per
# check, and appends `LABEL<TAB>VERDICT` to $PAT_OUT/verdicts (VERDICT starts
# with MATCH or MISMATCH). It returns 0 only if every check matched.
EDDY=${EDDY:-$PWD/bin/eddy}
PAT_SEED=${PAT_SEED:-20261202}

# pat_verdict LABEL CMD...: runs a checking command whose first output line
# is its verdict (MATCH … / MISMATCH …); prints and records it.
pat_verdict() {
    local label=$1 v; shift
    v=$("$@" 2>&1 | head -n 1)
    case $v in MATCH*) ;; *) v="MISMATCH${v:+: ${v#MISMATCH: }}" ;; esac
    printf '   %-54s %s\n' "$label" "$v"
    printf '%s\t%s\n' "$label" "$v" >> "$PAT_OUT/verdicts"
    [[ $v == MATCH* ]]
}

# pat_same LABEL EXPECTED ACTUAL: a verdict on two values being equal.
pat_same() {
    if [ "$2" == "$3" ]; then pat_verdict "$1" echo "MATCH ($3)"
    else pat_verdict "$1" echo "MISMATCH: $3, expected $2"; fi
}

# pat_stat FILE KEY...: a value of eddy's --stats JSON ("" if absent).
pat_stat() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d = d.get(k, {}) if isinstance(d, dict) else {}
print("" if d == {} else d)' "$@" 2>/dev/null
}

# pat_gen KIND N RATE FILE TOPIC GEN-OPTION...: N events of KIND written to
# FILE and produced to TOPIC, a new one-partition topic (the same options
# and seed give the same bytes). With kcat the topic is read back and must
# hold FILE's lines in order: the oracles read what the pipeline reads.
pat_gen() {
    local kind=$1 n=$2 rate=$3 file=$4 topic=$5; shift 5
    "$EDDY" gen "$kind" --count "$n" --rate "$rate" --seed "$PAT_SEED" "$@" --out "$file" \
        2>> "$PAT_OUT/gen.log" || return 1
    scripts/kafka-topics create "$topic" 1 >/dev/null || return 1
    "$EDDY" gen "$kind" --count "$n" --rate "$rate" --seed "$PAT_SEED" "$@" \
        --topic "$topic" --brokers "$EDDY_KAFKA" 2>> "$PAT_OUT/gen.log" || return 1
    echo "   eddy gen $kind --count $n --rate $rate --seed $PAT_SEED $* --topic $topic"
    if command -v kcat >/dev/null; then
        kcat -b "$EDDY_KAFKA" -C -t "$topic" -o beginning -e -q -f '%s\n' > "$file.read" 2>/dev/null
        if cmp -s "$file" "$file.read"; then
            pat_verdict "topic $kind holds the generated events" echo "MATCH ($n in order, read with kcat)"
        else
            pat_verdict "topic $kind holds the generated events" \
                echo "MISMATCH: kcat read $(wc -l < "$file.read") lines, not the $n of $file in order"
        fi
    fi
}

# pat_run NAME CONFIG: runs the pipeline until its input is drained
# (--exit-when-idle); stats in $PAT_OUT/NAME.stats.json, log in NAME.log.
pat_run() {
    local name=$1 conf=$2 t0 t1
    t0=$(date +%s%N)
    "$EDDY" run -c "$conf" --exit-when-idle 3s --stats "$PAT_OUT/$name.stats.json" 2> "$PAT_OUT/$name.log"
    local rc=$?
    t1=$(date +%s%N)
    echo "   eddy run -c $conf --exit-when-idle 3s: exit $rc after $(( (t1 - t0) / 1000000 )) ms (3 s of it the idle wait)"
    [ $rc = 0 ] || { echo "   log $PAT_OUT/$name.log:"; tail -n 5 "$PAT_OUT/$name.log" | sed 's/^/   | /'; }
    return $rc
}

# pat_oracle NAME CONFIG AGGREGATION EVENTS: window_oracle.py's answer in $PAT_OUT/NAME.oracle.json.
pat_oracle() {
    python3 tests/tools/window_oracle.py --config "$2" --aggregation "$3" "$4" -o "$PAT_OUT/$1.oracle.json"
}

# pat_oracle_count NAME FIELD: the length of a list of the oracle's answer.
pat_oracle_count() {
    python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))[sys.argv[2]]))' \
        "$PAT_OUT/$1.oracle.json" "$2"
}

# pat_check_run NAME SOURCE N: the run's stats: N records read, none rejected,
# the late records the oracle drops dropped, every window closed.
pat_check_run() {
    local name=$1 src=$2 n=$3 s=$PAT_OUT/$1.stats.json
    pat_same "$name: records read, rejected" "$n 0" \
        "$(pat_stat "$s" sources "$src" records) $(pat_stat "$s" sources "$src" rejected)"
    pat_same "$name: late records dropped (oracle)" "$(pat_oracle_count "$name" late_dropped)" \
        "$(pat_stat "$s" aggregators late_dropped)"
    pat_same "$name: windows left open at the end" 0 "$(pat_stat "$s" aggregators windows_open)"
}

# pat_redis_dump PATTERN FILE: `zset<TAB>member<TAB>score` of every sorted set matching PATTERN.
pat_redis_dump() {
    local z
    : > "$2"
    for z in $(redis-cli -p "$EDDY_REDIS_PORT" --raw --scan --pattern "$1" | LC_ALL=C sort); do
        redis-cli -p "$EDDY_REDIS_PORT" --raw ZRANGE "$z" 0 -1 WITHSCORES | paste - - |
            sed "s/^/$z\t/" >> "$2"
    done
}

# pat_redis_clean PATTERN: deletes the keys matching PATTERN (a fresh run).
pat_redis_clean() {
    redis-cli -p "$EDDY_REDIS_PORT" --raw --scan --pattern "$1" |
        xargs -r -d '\n' redis-cli -p "$EDDY_REDIS_PORT" DEL > /dev/null
}

# pat_ttl_check PATTERN MAX_S: every key matching PATTERN expires within MAX_S seconds.
pat_ttl_check() {
    local z t bad=0 n=0
    for z in $(redis-cli -p "$EDDY_REDIS_PORT" --raw --scan --pattern "$1"); do
        t=$(redis-cli -p "$EDDY_REDIS_PORT" TTL "$z")
        n=$((n + 1))
        if [ "$t" -le 0 ] || [ "$t" -gt "$2" ]; then bad=$((bad + 1)); fi
    done
    if [ $bad = 0 ] && [ $n -gt 0 ]; then echo "MATCH ($n sorted sets, TTL ≤ $2 s)"
    else echo "MISMATCH: $bad of $n sorted sets without a TTL in (0, $2] s"; fi
}

# pat_top_show PATTERN: how many sorted sets match PATTERN, and the top 5 of
# the one whose leader has the highest score.
pat_top_show() {
    local z best="" best_score=-1 score n=0 ms
    for z in $(redis-cli -p "$EDDY_REDIS_PORT" --raw --scan --pattern "$1" | LC_ALL=C sort); do
        n=$((n + 1))
        score=$(redis-cli -p "$EDDY_REDIS_PORT" --raw ZREVRANGE "$z" 0 0 WITHSCORES | sed -n 2p)
        if [ "${score%.*}" -gt "$best_score" ]; then best=$z best_score=${score%.*}; fi
    done
    ms=${best##*:}
    echo "   Redis: $n sorted sets $1; the busiest, $best" \
         "(window from $(date -u -d "@$((ms / 1000))" '+%Y-%m-%d %H:%M' 2>/dev/null)," \
         "TTL $(redis-cli -p "$EDDY_REDIS_PORT" TTL "$best") s), ZREVRANGE 0 4 WITHSCORES:"
    redis-cli -p "$EDDY_REDIS_PORT" --raw ZREVRANGE "$best" 0 4 WITHSCORES | paste - - |
        awk '{printf "      %-16s %s\n", $1, $2}'
}

pat_my() {
    mariadb -N -B -h "$EDDY_MYSQL_HOST" -P "$EDDY_MYSQL_PORT" -u "$EDDY_MYSQL_USER" "$EDDY_MYSQL_DB" -e "$1"
}

pat_orders_analytics() {
    local n=$1 rate=$2 conf=config/examples/orders_analytics.yaml ok=0
    local ev=$PAT_OUT/orders.jsonl table=${EDDY_PREFIX}revenue_per_category
    echo "== orders analytics ($conf): revenue and orders per category per 1-minute tumbling window → MariaDB"
    export EDDY_ORDERS_TOPIC="orders.patterns.$PAT_RUN" EDDY_GROUP="eddy-analytics-$PAT_RUN"
    pat_my "DROP TABLE IF EXISTS $table" 2>/dev/null
    # Out of order within 1.5 s (under max_out_of_orderness: 2s); 1 % five
    # minutes behind: later than allowed_lateness, dropped and counted.
    pat_gen orders "$n" "$rate" "$ev" "$EDDY_ORDERS_TOPIC" --disorder 1500ms --late-fraction 0.01 || return 1
    pat_oracle orders_analytics $conf revenue_per_category "$ev" || return 1
    pat_run orders_analytics $conf || ok=1
    echo "   MariaDB $table: $(pat_my "SELECT count(*) FROM $table" 2>/dev/null) rows; the busiest window:"
    pat_my "SELECT DATE_FORMAT(window_start, '%Y-%m-%d %H:%i'), category, orders, ROUND(revenue, 2), biggest, customers
            FROM $table WHERE window_start = (SELECT window_start FROM $table GROUP BY window_start
                                              ORDER BY sum(orders) DESC, window_start LIMIT 1)
            ORDER BY revenue DESC" 2>/dev/null |
        awk -F'\t' 'BEGIN {printf "      %-16s %-12s %7s %12s %8s %9s\n", "window_start", "category", "orders", "revenue", "biggest", "customers"}
                    {printf "      %-16s %-12s %7s %12s %8s %9s\n", $1, $2, $3, $4, $5, $6}'
    pat_my "SELECT category, TIMESTAMPDIFF(MICROSECOND, '1970-01-01', window_start) DIV 1000,
            TIMESTAMPDIFF(MICROSECOND, '1970-01-01', window_end) DIV 1000, orders, revenue, biggest, customers
            FROM $table" > "$PAT_OUT/orders_analytics.tsv" 2>/dev/null
    echo "   checks against tests/tools/window_oracle.py over the same $n orders:"
    pat_verdict "orders_analytics: MariaDB rows" python3 tests/tools/window_check.py sql \
        "$PAT_OUT/orders_analytics.oracle.json" "$PAT_OUT/orders_analytics.tsv" \
        --values orders,revenue,biggest,customers --approx customers=0.02 || ok=1
    pat_check_run orders_analytics orders "$n" || ok=1
    pat_same "orders_analytics: cancelled orders filtered (oracle)" \
        "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["filtered"])' \
            "$PAT_OUT/orders_analytics.oracle.json")" \
        "$(pat_stat "$PAT_OUT/orders_analytics.stats.json" aggregations revenue_per_category filtered)" || ok=1
    return $ok
}

# pat_top_job NAME CONFIG AGGREGATION KIND SOURCE ZSET-PATTERN N RATE GEN-OPTION...:
# a leaderboard job: KIND events → per-window top N in Redis sorted sets.
pat_top_job() {
    local name=$1 conf=$2 agg=$3 kind=$4 src=$5 pattern=$6 n=$7 rate=$8 ok=0; shift 8
    local ev=$PAT_OUT/$kind.jsonl
    pat_redis_clean "$pattern"
    pat_gen "$kind" "$n" "$rate" "$ev" "$TOPIC" "$@" || return 1
    pat_oracle "$name" "$conf" "$agg" "$ev" || return 1
    pat_run "$name" "$conf" || ok=1
    pat_top_show "$pattern"
    pat_redis_dump "$pattern" "$PAT_OUT/$name.tsv"
    echo "   checks against tests/tools/window_oracle.py over the same $n $kind:"
    pat_verdict "$name: Redis per-window top 10" python3 tests/tools/window_check.py zsets \
        "$PAT_OUT/$name.oracle.json" "$PAT_OUT/$name.tsv" || ok=1
    pat_verdict "$name: every sorted set expires (ttl: 1h)" pat_ttl_check "$pattern" 3600 || ok=1
    pat_check_run "$name" "$src" "$n" || ok=1
    return $ok
}

pat_leaderboard() {
    echo "== leaderboard (config/examples/leaderboard.yaml): top 10 products by reviews, 5-minute windows sliding by 1 minute → Redis"
    export EDDY_REVIEWS_TOPIC="reviews.patterns.$PAT_RUN" EDDY_GROUP="eddy-leaderboard-$PAT_RUN"
    TOPIC=$EDDY_REVIEWS_TOPIC pat_top_job leaderboard config/examples/leaderboard.yaml trending \
        reviews reviews "${EDDY_PREFIX}top:products:*" "$1" "$2" --disorder 1500ms --late-fraction 0.01
}

pat_webviews() {
    echo "== web views (config/examples/webviews.yaml): top 10 pages per country per 1-minute window → Redis"
    export EDDY_VIEWS_TOPIC="views.patterns.$PAT_RUN" EDDY_GROUP="eddy-webviews-$PAT_RUN"
    TOPIC=$EDDY_VIEWS_TOPIC pat_top_job webviews config/examples/webviews.yaml page_views \
        views views "${EDDY_PREFIX}top:pages:*" "$1" "$2" --disorder 1500ms --late-fraction 0.01
}

# pat_failed_check EVENTS DUMP: DUMP (`product_id<TAB>failed<TAB>lost_revenue`)
# against a count in Python of the failed orders per product of EVENTS.
pat_failed_check() {
    python3 - "$1" "$2" <<'PY'
import collections, json, sys
want = collections.defaultdict(lambda: [0, 0.0])
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["status"] == "failed" or r["status"].startswith("payment_"):
        want[str(r["product_id"])][0] += 1
        want[str(r["product_id"])][1] += float(r["amount"])
got = {}
for line in open(sys.argv[2]):
    k, n, s = line.rstrip("\n").split("\t")
    got[k] = [int(n), float(s)]
bad = sorted(k for k in set(want) | set(got) if k not in want or k not in got or
             got[k][0] != want[k][0] or abs(got[k][1] - want[k][1]) > 1e-6 * max(1.0, want[k][1]))
if bad:
    print("MISMATCH: %d products differ, e.g. %s: %s, expected %s" % (len(bad), bad[0], got.get(bad[0]), want.get(bad[0])))
else:
    print("MATCH (%d products, %d failed orders)" % (len(want), sum(v[0] for v in want.values())))
PY
}

# pat_alerts N RATE: alerts.yaml on `eddy gen alerts` orders: the
# highvolume alerts (once per product and 10 s window above the threshold,
# emitted on close) and the critical ones (every failed order above the
# amount) read back from their topics, the failed orders per product from
# PostgreSQL.
pat_alerts() {
    local n=$1 rate=$2 conf=config/examples/alerts.yaml ok=0 ev=$PAT_OUT/alerts.jsonl
    local table=${EDDY_PREFIX}failed_per_product
    echo "== alerts ($conf): more than ${EDDY_HIGHVOLUME_ORDERS:-100} orders of a product in 10 s → streaming.alerts.highvolume;"
    echo "   every failed order above ${EDDY_CRITICAL_AMOUNT:-1000} → streaming.alerts.critical"
    export EDDY_ALERTS_INPUT="streaming.alerts.input.$PAT_RUN" EDDY_GROUP="eddy-alerts-$PAT_RUN"
    export EDDY_HIGHVOLUME_TOPIC="${EDDY_PREFIX}streaming.alerts.highvolume.$PAT_RUN"
    export EDDY_CRITICAL_TOPIC="${EDDY_PREFIX}streaming.alerts.critical.$PAT_RUN"
    psql -q "$EDDY_PG_DSN" -c "DROP TABLE IF EXISTS $table" > /dev/null 2>&1
    scripts/kafka-topics create "$EDDY_HIGHVOLUME_TOPIC" 1 > /dev/null || return 1
    scripts/kafka-topics create "$EDDY_CRITICAL_TOPIC" 1 > /dev/null || return 1
    pat_gen alerts "$n" "$rate" "$ev" "$EDDY_ALERTS_INPUT" --disorder 1500ms || return 1
    pat_oracle alerts $conf orders_per_product_10s "$ev" || return 1
    python3 tests/tools/window_oracle.py --config $conf --alert critical "$ev" -o "$PAT_OUT/critical.oracle.json" || return 1
    pat_run alerts $conf || ok=1
    kcat -b "$EDDY_KAFKA" -C -t "$EDDY_HIGHVOLUME_TOPIC" -o beginning -e -q -f '%s\n' > "$PAT_OUT/highvolume.jsonl" 2>/dev/null
    kcat -b "$EDDY_KAFKA" -C -t "$EDDY_CRITICAL_TOPIC" -o beginning -e -q -f '%s\n' > "$PAT_OUT/critical.jsonl" 2>/dev/null
    echo "   Kafka $EDDY_HIGHVOLUME_TOPIC: $(grep -c . "$PAT_OUT/highvolume.jsonl") alerts; the first 3 windows:"
    python3 -c 'import datetime, json, sys
t = lambda ms: datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%H:%M:%S")
alerts = sorted((json.loads(l) for l in open(sys.argv[1]) if l.strip()), key=lambda a: a["window_start"])
for a in alerts[:3]:
    print("      product %s: %s %s in [%s, %s) (%s)" % (a["key"]["product_id"], a["value"], a["metric"],
          t(a["window_start"]), t(a["window_end"]), a["when"]))' "$PAT_OUT/highvolume.jsonl"
    echo "   Kafka $EDDY_CRITICAL_TOPIC: $(grep -c . "$PAT_OUT/critical.jsonl") orders; the first 2:"
    head -n 2 "$PAT_OUT/critical.jsonl" | sed 's/^/      /'
    psql -qAt -F $'\t' "$EDDY_PG_DSN" -c "SELECT product_id, failed, lost_revenue FROM $table" \
        > "$PAT_OUT/failed.tsv" 2>/dev/null
    echo "   PostgreSQL $table: $(grep -c . "$PAT_OUT/failed.tsv") products"
    echo "   checks against tests/tools/window_oracle.py over the same $n orders:"
    pat_verdict "alerts: highvolume, once per product and window" python3 tests/tools/window_check.py alerts \
        "$PAT_OUT/alerts.oracle.json" "$PAT_OUT/highvolume.jsonl" --alert highvolume || ok=1
    pat_verdict "alerts: critical, every failed order above the amount" python3 tests/tools/window_check.py \
        records "$PAT_OUT/critical.oracle.json" "$PAT_OUT/critical.jsonl" || ok=1
    pat_verdict "alerts: PostgreSQL failed orders per product" \
        pat_failed_check "$ev" "$PAT_OUT/failed.tsv" || ok=1
    pat_check_run alerts orders "$n" || ok=1
    return $ok
}

# pat_check_job LABEL MIN CMD...: for the tests (needs tests/lib/tap.sh):
# runs a job (pat_orders_analytics …, rec_lake …), its output in
# $PAT_OUT/LABEL.out; its exit status and each verdict it recorded become TAP
# lines, and at least MIN verdicts must have been recorded.
pat_check_job() {
    local label=$1 min=$2 from; shift 2
    from=$(wc -l < "$PAT_OUT/verdicts")
    "$@" > "$PAT_OUT/$label.out" 2>&1
    check_eq "$label: returns 0 (all its checks match)" 0 "$?"
    local n=0 name verdict
    while IFS=$'\t' read -r name verdict; do
        n=$((n + 1))
        case $verdict in
            MATCH*) tap_ok "$name: $verdict" ;;
            *) tap_fail "$name" "$verdict" "$(tail -n 20 "$PAT_OUT/$label.out")" ;;
        esac
    done < <(tail -n +$((from + 1)) "$PAT_OUT/verdicts")
    check "$label: $n checks ran (at least $min)" test "$n" -ge "$min"
}
