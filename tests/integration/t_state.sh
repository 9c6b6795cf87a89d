#!/usr/bin/env bash
# State that survives a restart (runtime.state_dir, docs/architecture.md
# "State and restart"), end to end through real Kafka, PostgreSQL, MariaDB
# and Redis; every result is compared with an independent computation over
# the same input (Python for the word count, tests/tools/window_oracle.py for
# windows).
#
# 1. Word count (configs/state_words.yaml: PostgreSQL adds deltas, Redis
#    ZADDs the current value, an alert at a threshold). The corpus goes to
#    the topic in two halves: run 1 counts the first and gets SIGTERM, the
#    second half is produced, run 2 restarts and finishes. PostgreSQL and
#    Redis must equal Python's count of both halves, and each word crossing
#    the threshold must alert exactly once. The same without state_dir shows
#    what a restart got wrong before (Redis and alerts), as a check that the
#    test can fail. Then kill -9 mid-stream and restart: nothing below the
#    truth.
# 2. Windows (configs/state_orders.yaml, one-partition topic, so lateness is
#    deterministic): `eddy gen orders` in two halves with SIGTERM between,
#    the restart under --exit-when-idle; PostgreSQL, MariaDB and Redis must
#    hold the oracle's rows, Kafka each on_close window once, and every
#    windowed alert (on_update and on_close) exactly once. kill -9
#    and restart: every window present, none below the oracle.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
S=$EDDY_ROOT/tests/out/state
rm -rf "$S"; mkdir -p "$S/corpus"
RUN=$(date +%s)
WCONF=tests/integration/configs/state_words.yaml
OCONF=tests/integration/configs/state_orders.yaml
export EDDY_HOT_WORD_THRESHOLD=300

# ------------------------------------------------------------ 1. word count
for f in /usr/share/doc/*/copyright; do
    [ -f "$f" ] && cp "$f" "$S/corpus/$(basename "$(dirname "$f")")"
done
ls "$S/corpus" | LC_ALL=C sort > "$S/docs"
half=$(( $(wc -l < "$S/docs") / 2 ))
head -n "$half" "$S/docs" | sed "s|^|$S/corpus/|" | xargs cat > "$S/half1.txt"
tail -n +"$((half + 1))" "$S/docs" | sed "s|^|$S/corpus/|" | xargs cat > "$S/half2.txt"
# Python's count: a word is a maximal run of ASCII letters and digits and
# bytes >= 0x80, ASCII lowercased (docs/config.md, format: words).
python3 - "$S" "$EDDY_HOT_WORD_THRESHOLD" <<'PY'
import collections, re, sys
d, thr = sys.argv[1], int(sys.argv[2])
c = collections.Counter()
for name in ("half1.txt", "half2.txt"):
    for w in re.findall(rb"[A-Za-z0-9\x80-\xff]+", open(f"{d}/{name}", "rb").read()):
        c[w.lower()] += 1
with open(f"{d}/expected", "wb") as out:
    for w in sorted(c):
        out.write(w + b" " + str(c[w]).encode() + b"\n")
with open(f"{d}/expected_alerts", "wb") as out:
    for w in sorted(k for k, v in c.items() if v >= thr):
        out.write(w + b"\n")
PY
echo "# corpus: $(wc -l < "$S/half1.txt") + $(wc -l < "$S/half2.txt") lines, $(wc -l < "$S/expected") distinct words, $(wc -l < "$S/expected_alerts") cross $EDDY_HOT_WORD_THRESHOLD"

# Setting up one run of the word count: topic, group, tables, alerts topic.
wc_env() { # ID
    export EDDY_PREFIX="t_state_${RUN}_$1_" EDDY_GROUP="eddy-test-state-$RUN-$1"
    export EDDY_DOCS_TOPIC="eddy.test.state.$RUN.$1" EDDY_ALERTS_TOPIC="eddy.test.state.alerts.$RUN.$1"
    export EDDY_STATE_DIR="$S/$1.state"
    scripts/kafka-topics create "$EDDY_DOCS_TOPIC" 4 >/dev/null
    psql -q "$EDDY_PG_DSN" -c "DROP TABLE IF EXISTS ${EDDY_PREFIX}words" >/dev/null 2>&1
    redis-cli -p "$EDDY_REDIS_PORT" DEL "${EDDY_PREFIX}words" >/dev/null
}
produce() { kcat -b "$EDDY_KAFKA" -P -t "$EDDY_DOCS_TOPIC" -l "$1"; }
pg_words() { psql -qAt -F ' ' "$EDDY_PG_DSN" -c "SELECT word, count FROM ${EDDY_PREFIX}words" 2>/dev/null | LC_ALL=C sort; }
pg_total() { psql -qAt "$EDDY_PG_DSN" -c "SELECT coalesce(sum(count),0) FROM ${EDDY_PREFIX}words" 2>/dev/null || echo 0; }
redis_words() {
    redis-cli -p "$EDDY_REDIS_PORT" --raw ZRANGE "${EDDY_PREFIX}words" 0 -1 WITHSCORES | paste -d ' ' - - | LC_ALL=C sort
}
alert_words() {
    kcat -b "$EDDY_KAFKA" -C -t "$EDDY_ALERTS_TOPIC" -o beginning -e -q -f '%s\n' 2>/dev/null |
        python3 -c 'import sys, json
for l in sys.stdin:
    if l.strip(): print(json.loads(l)["key"]["word"])' | LC_ALL=C sort
}
# The PostgreSQL total stays the same for 1.5 s: run 1 has counted what it
# was given (only decides where the SIGTERM lands; the checks are exact).
settled() {
    local a b
    a=$(pg_total); [ "$a" -gt 0 ] || return 1
    sleep 1.5; b=$(pg_total); [ "$a" = "$b" ]
}
start() { # CONFIG LOG STATS [ARGS...]
    local c=$1 log=$2 st=$3; shift 3
    "$EDDY" run -c "$c" --stats "$st" "$@" 2> "$log" &
    PID=$!
}

# two_halves ID CONFIG: half 1, SIGTERM, half 2, restart to the end.
two_halves() {
    local id=$1 conf=$2
    wc_env "$id"
    produce "$S/half1.txt"
    start "$conf" "$S/$id.1.log" "$S/$id.1.json"
    wait_for 120 settled
    kill -TERM $PID; wait_pid 300 $PID; rc=$?
    check_eq "$id: SIGTERM after the first half drains and exits 0" 0 "$rc"
    produce "$S/half2.txt"
    start "$conf" "$S/$id.2.log" "$S/$id.2.json" --exit-when-idle 3s
    wait_pid 300 $PID; rc=$?
    check_eq "$id: the restart reads the second half and exits 0" 0 "$rc"
    pg_words > "$S/$id.pg"; redis_words > "$S/$id.redis"; alert_words > "$S/$id.alerts"
}

two_halves words "$WCONF"
check "words: the restart restored the aggregators' state" grep -q "restored .* entries (generation 1 checkpoint" "$S/words.2.log"
check_files_eq "words: PostgreSQL totals equal Python's count" "$S/expected" "$S/words.pg"
check_files_eq "words: Redis (ZADD of the current value) equals Python's count" "$S/expected" "$S/words.redis"
check_files_eq "words: one alert per word crossing $EDDY_HOT_WORD_THRESHOLD, none twice" "$S/expected_alerts" "$S/words.alerts"
ls "$S/words.state" > "$S/words.files"
check_eq "words: the state directory holds COMMITTED and one snapshot per aggregator" 5 "$(wc -l < "$S/words.files")"
echo "# state of $(wc -l < "$S/expected") words: $(du -cb "$S"/words.state/*.snap | tail -1 | cut -f1) bytes of snapshots"

# Without state_dir the same stop and restart loses what Redis and the
# alerts need (the test can fail; this is what state_dir fixes).
sed '/state_dir:/d' "$WCONF" > "$S/nostate.yaml"
two_halves nostate "$S/nostate.yaml"
check_files_eq "nostate: PostgreSQL (deltas) is still exact without state" "$S/expected" "$S/nostate.pg"
check "nostate: Redis values are wrong after a restart without state_dir" \
    sh -c "! cmp -s '$S/expected' '$S/nostate.redis'"
check "nostate: alerts are wrong after a restart without state_dir" \
    sh -c "! cmp -s '$S/expected_alerts' '$S/nostate.alerts'"

# kill -9 mid-stream and restart: at-least-once, nothing below the truth.
wc_env kill
cat "$S/half1.txt" "$S/half2.txt" > "$S/all.txt"
produce "$S/all.txt"
EDDY_DECODERS=2 start "$WCONF" "$S/kill.1.log" "$S/kill.1.json"
wait_for 120 sh -c "[ \$(psql -qAt '$EDDY_PG_DSN' -c 'SELECT coalesce(sum(count),0) FROM ${EDDY_PREFIX}words' 2>/dev/null || echo 0) -gt 0 ]"
kill -KILL $PID; wait $PID 2>/dev/null
echo "# after kill -9: $(pg_total) words counted"
EDDY_DECODERS=2 start "$WCONF" "$S/kill.2.log" "$S/kill.2.json" --exit-when-idle 3s
wait_pid 300 $PID; rc=$?
check_eq "kill: the restart after kill -9 exits 0" 0 "$rc"
atleast() { # NAME EXPECTED ACTUAL
    local res
    res=$(python3 - "$2" "$3" <<'PY'
import sys
def load(p):
    return {l.rsplit(b" ", 1)[0]: float(l.rsplit(b" ", 1)[1]) for l in open(p, "rb") if l.strip()}
e, a = load(sys.argv[1]), load(sys.argv[2])
print(sum(k not in a for k in e), sum(k in a and a[k] < v for k, v in e.items()),
      sum(k in a and a[k] > v for k, v in e.items()))
PY
)
    read -r missing below above <<< "$res"
    check "$1: every word present, none below the truth ($above above: re-read after the kill)" \
        test "$missing $below" = "0 0"
}
atleast "kill: PostgreSQL" "$S/expected" <(pg_words)
atleast "kill: Redis" "$S/expected" <(redis_words)
alert_words | LC_ALL=C sort -u > "$S/kill.alerts"
check_files_eq "kill: every word crossing $EDDY_HOT_WORD_THRESHOLD alerted" "$S/expected_alerts" "$S/kill.alerts"

# ------------------------------------------------------------ 2. windows
N=20000
"$EDDY" gen orders --count $N --rate 100 --seed 20261203 --disorder 1500ms \
    --late-fraction 0.02 --out "$S/orders.jsonl" 2> "$S/gen.log"
check_eq "eddy gen wrote $N orders" "$N" "$(wc -l < "$S/orders.jsonl")"
head -n $((N / 2)) "$S/orders.jsonl" > "$S/orders1.jsonl"
tail -n +$((N / 2 + 1)) "$S/orders.jsonl" > "$S/orders2.jsonl"

win_env() { # ID
    export EDDY_ORDERS_TOPIC="eddy.test.state.orders.$RUN.$1" EDDY_GROUP="eddy-test-state-o-$RUN-$1"
    export EDDY_PREFIX="t_stw${RUN}_$1_" EDDY_ALERTS_TOPIC="eddy.test.state.oalerts.$RUN.$1"
    export EDDY_STATE_DIR="$S/$1.state"
    scripts/kafka-topics create "$EDDY_ORDERS_TOPIC" 1 >/dev/null
}
oproduce() { kcat -b "$EDDY_KAFKA" -P -t "$EDDY_ORDERS_TOPIC" -p 0 -l "$1"; }
pg_rev() {
    psql -qAt -F $'\t' "$EDDY_PG_DSN" -c "SELECT category,
        (extract(epoch FROM window_start) * 1000)::bigint,
        (extract(epoch FROM window_end) * 1000)::bigint, orders, revenue, biggest
        FROM ${EDDY_PREFIX}revenue" 2>/dev/null
}
pg_rev_rows() { psql -qAt "$EDDY_PG_DSN" -c "SELECT count(*) FROM ${EDDY_PREFIX}revenue" 2>/dev/null || echo 0; }
dump_windows() { # DIR
    local o=$1
    pg_rev > "$o/revenue.tsv"
    mariadb -N -B -h 127.0.0.1 -P "$EDDY_MYSQL_PORT" -u root eddy -e "SELECT product_id,
        TIMESTAMPDIFF(MICROSECOND, '1970-01-01', window_start) DIV 1000,
        TIMESTAMPDIFF(MICROSECOND, '1970-01-01', window_end) DIV 1000, orders
        FROM ${EDDY_PREFIX}per_product" > "$o/per_product.tsv"
    : > "$o/top.tsv"
    for z in $(redis-cli -p "$EDDY_REDIS_PORT" --raw KEYS "${EDDY_PREFIX}top:*"); do
        redis-cli -p "$EDDY_REDIS_PORT" --raw ZRANGE "$z" 0 -1 WITHSCORES | paste - - |
            sed "s/^/$z\t/" >> "$o/top.tsv"
    done
    kcat -b "$EDDY_KAFKA" -C -t "$EDDY_ALERTS_TOPIC" -o beginning -e -q -f '%s\n' 2>/dev/null > "$o/alerts.jsonl"
    kcat -b "$EDDY_KAFKA" -C -t "$EDDY_ALERTS_TOPIC.closed" -o beginning -e -q -f '%s\n' 2>/dev/null > "$o/closed.jsonl"
}
orev_settled() {
    local a b
    a=$(pg_rev | md5sum); [ "$(pg_rev_rows)" -gt 0 ] || return 1
    sleep 1.5; b=$(pg_rev | md5sum); [ "$a" = "$b" ]
}

o=$S/win; mkdir -p "$o"
win_env win
for a in revenue per_product top_products closed per_product_10s; do
    python3 tests/tools/window_oracle.py --config $OCONF --aggregation $a "$S/orders.jsonl" \
        -o "$o/$a.oracle.json"
done
echo "# oracle: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["alerts"]))' "$o/revenue.oracle.json") windowed alerts expected"
oproduce "$S/orders1.jsonl"
start $OCONF "$o/1.log" "$o/1.json"
wait_for 120 orev_settled
kill -TERM $PID; wait_pid 300 $PID; rc=$?
check_eq "windows: SIGTERM after the first half drains and exits 0" 0 "$rc"
open1=$(json_get "$o/1.json" aggregators windows_open)
check "windows: windows were open at the SIGTERM ($open1)" test "$open1" -gt 0
oproduce "$S/orders2.jsonl"
start $OCONF "$o/2.log" "$o/2.json" --exit-when-idle 3s
wait_pid 300 $PID; rc=$?
check_eq "windows: the restart exits 0" 0 "$rc"
dump_windows "$o"
check "windows: PostgreSQL holds the oracle's revenue rows (SIGTERM + restart)" \
    python3 tests/tools/window_check.py sql "$o/revenue.oracle.json" "$o/revenue.tsv" --values orders,revenue,biggest
check "windows: MariaDB holds the oracle's hopping rows, late ones applied" \
    python3 tests/tools/window_check.py sql "$o/per_product.oracle.json" "$o/per_product.tsv" --values orders
check "windows: Redis holds the exact top 5 of every hopping window" \
    python3 tests/tools/window_check.py zsets "$o/top_products.oracle.json" "$o/top.tsv"
check "windows: Kafka got each 30 s window once, at its close (emit: on_close)" \
    python3 tests/tools/window_check.py kafka "$o/closed.oracle.json" "$o/closed.jsonl" --values orders,revenue --once
check "windows: every windowed alert once, none twice (on_update)" \
    python3 tests/tools/window_check.py alerts "$o/revenue.oracle.json" "$o/alerts.jsonl" --alert big_minute
check "windows: every windowed alert once, none twice (on_close)" \
    python3 tests/tools/window_check.py alerts "$o/per_product_10s.oracle.json" "$o/alerts.jsonl" --alert highvolume
want=$(python3 -c 'import json, sys
print(sum(len(json.load(open(f))["late_dropped"]) for f in sys.argv[1:]))' \
    "$o/revenue.oracle.json" "$o/top_products.oracle.json" "$o/closed.oracle.json" \
    "$o/per_product_10s.oracle.json")
got=$(( $(json_get "$o/1.json" aggregators late_dropped) + $(json_get "$o/2.json" aggregators late_dropped) ))
check_eq "windows: both runs together drop the oracle's too-late orders" "$want" "$got"

# kill -9 mid-stream and restart: every window present, none below the oracle.
o=$S/wkill; mkdir -p "$o"
win_env wkill
oproduce "$S/orders.jsonl"
start $OCONF "$o/1.log" "$o/1.json"
wait_for 120 sh -c "[ \$(psql -qAt '$EDDY_PG_DSN' -c 'SELECT count(*) FROM ${EDDY_PREFIX}revenue' 2>/dev/null || echo 0) -gt 0 ]"
kill -KILL $PID; wait $PID 2>/dev/null
start $OCONF "$o/2.log" "$o/2.json" --exit-when-idle 3s
wait_pid 300 $PID; rc=$?
check_eq "windows kill: the restart after kill -9 exits 0" 0 "$rc"
dump_windows "$o"
check "windows kill: PostgreSQL has every window, none below the oracle" \
    python3 tests/tools/window_check.py sql "$S/win/revenue.oracle.json" "$o/revenue.tsv" --values orders,revenue --at-least
check "windows kill: MariaDB has every window, none below the oracle" \
    python3 tests/tools/window_check.py sql "$S/win/per_product.oracle.json" "$o/per_product.tsv" --values orders --at-least

exit 0
