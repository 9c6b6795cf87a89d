#!/usr/bin/env bash
# Session windows end to end through real Kafka: `eddy gen views` with
# disorder and late views in a ONE-partition topic (arrival order, and with
# it lateness, is deterministic) through
# tests/integration/configs/views_sessions.yaml under --exit-when-idle:
# sessions per page (late: drop) → PostgreSQL, sessions per country
# (late: update) → MariaDB, an alert once per long page session → Kafka,
# each compared with tests/tools/window_oracle.py over the same views. Then
# the same views in two halves with a SIGTERM and a restart in between
# (runtime.state_dir): open sessions survive it, so the rows are the same.
# Then kill -9 while the second half streams in, and a restart from the
# last committed snapshot (at-least-once): every session is there, no value
# below the oracle's (the replayed input may add to sessions a second time),
# every alert fired at least once.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
B=$EDDY_ROOT/tests/out/sessions
rm -rf "$B"; mkdir -p "$B"
RUN=$(date +%s)
N=20000
CONF=tests/integration/configs/views_sessions.yaml

# 20,000 views at 100/s of event time (200 s), shuffled within 1.5 s (under
# max_out_of_orderness: 2s), 3 % moved 20 s back: too late for a closed
# session, or in time when they join one still open.
"$EDDY" gen views --count $N --rate 100 --seed 20261202 --disorder 1500ms \
    --late-fraction 0.03 --late-by 20s --out "$B/views.jsonl" 2> "$B/gen.log"
check_eq "eddy gen wrote $N views" "$N" "$(wc -l < "$B/views.jsonl")"
head -n $((N / 2)) "$B/views.jsonl" > "$B/views1.jsonl"
tail -n +$((N / 2 + 1)) "$B/views.jsonl" > "$B/views2.jsonl"
for a in page_sessions country_sessions; do
    EDDY_STATE_DIR=- EDDY_VIEWS_TOPIC=- EDDY_GROUP=- EDDY_PREFIX=- python3 tests/tools/window_oracle.py \
        --config $CONF --aggregation $a "$B/views.jsonl" \
        -o "$B/$a.oracle.json"
done
ostat() { python3 -c 'import json, sys; print(eval(sys.argv[2], {"o": json.load(open(sys.argv[1]))}))' "$@"; }
echo "# oracle: $(ostat "$B/page_sessions.oracle.json" 'len(o["rows"])') page sessions," \
    "$(ostat "$B/country_sessions.oracle.json" 'len(o["rows"])') country sessions," \
    "$(ostat "$B/page_sessions.oracle.json" 'len(o["late_dropped"])') views dropped," \
    "$(ostat "$B/country_sessions.oracle.json" 'o["expired_updates"]') too-late views applied," \
    "$(ostat "$B/page_sessions.oracle.json" 'len(o["alerts"])') alerts"

s_env() { # ID
    export EDDY_VIEWS_TOPIC="eddy.test.sessions.$RUN.$1" EDDY_GROUP="eddy-test-sessions-$RUN-$1"
    export EDDY_PREFIX="t_ses${RUN}_$1_" EDDY_STATE_DIR="$B/$1.state"
    scripts/kafka-topics create "$EDDY_VIEWS_TOPIC" 1 >/dev/null
}
produce() { kcat -b "$EDDY_KAFKA" -P -t "$EDDY_VIEWS_TOPIC" -p 0 -l "$1"; }
pg_rows() {
    psql -qAt -F $'\t' "$EDDY_PG_DSN" -c "SELECT page,
        (extract(epoch FROM window_start) * 1000)::bigint,
        (extract(epoch FROM window_end) * 1000)::bigint, views, first_ts, last_ts
        FROM ${EDDY_PREFIX}page_sessions" 2>/dev/null
}
my_rows() {
    mariadb -N -B -h 127.0.0.1 -P "$EDDY_MYSQL_PORT" -u root eddy -e "SELECT country,
        TIMESTAMPDIFF(MICROSECOND, '1970-01-01', window_start) DIV 1000,
        TIMESTAMPDIFF(MICROSECOND, '1970-01-01', window_end) DIV 1000, views, lo, hi
        FROM ${EDDY_PREFIX}country_sessions"
}
# check_sinks LABEL DIR: every sink against the oracle.
check_sinks() {
    local t=$1 o=$2
    pg_rows > "$o/pg.tsv"
    check "$t: PostgreSQL holds one row per page session (count, first, last)" \
        python3 tests/tools/window_check.py sql "$B/page_sessions.oracle.json" "$o/pg.tsv" \
        --values views,first_ts,last_ts --close
    my_rows > "$o/my.tsv"
    check "$t: MariaDB holds one row per country session, too-late views as their own" \
        python3 tests/tools/window_check.py sql "$B/country_sessions.oracle.json" "$o/my.tsv" \
        --values views,lo,hi
    kcat -b "$EDDY_KAFKA" -C -t "$EDDY_VIEWS_TOPIC.alerts" -o beginning -e -q -f '%s\n' \
        2>/dev/null > "$o/alerts.jsonl"
    check "$t: long_session fired once per page session of 50 views or more" \
        python3 tests/tools/window_check.py alerts "$B/page_sessions.oracle.json" \
        "$o/alerts.jsonl" --alert long_session
}

# --- one run
o=$B/once; mkdir -p "$o"
s_env once
produce "$B/views.jsonl"
"$EDDY" run -c $CONF --exit-when-idle 3s --stats "$o/stats.json" 2> "$o/log"; rc=$?
check_eq "once: run exits 0" 0 "$rc"
check_sinks once "$o"
want=$(ostat "$B/page_sessions.oracle.json" 'len(o["late_dropped"])')
check_eq "once: --stats counts the views too late for any session (oracle: $want)" \
    "$want" "$(json_get "$o/stats.json" aggregators late_dropped)"
want=$(ostat "$B/country_sessions.oracle.json" 'o["expired_updates"]')
check_eq "once: --stats counts the too-late views applied (oracle: $want)" \
    "$want" "$(json_get "$o/stats.json" aggregators late_updates)"
check "once: late views were there to drop and to apply" \
    test "$(json_get "$o/stats.json" aggregators late_dropped)" -gt 10 -a "$want" -gt 10
check_eq "once: every session closed at the end of input, none left in state" "0 0" \
    "$(json_get "$o/stats.json" aggregators windows_open) $(json_get "$o/stats.json" aggregators keys)"

# --- SIGTERM after the first half, restart with the state directory
o=$B/restart; mkdir -p "$o"
s_env restart
produce "$B/views1.jsonl"
"$EDDY" run -c $CONF --stats "$o/1.json" 2> "$o/1.log" &
PID=$!
settled() {
    local a b
    a=$(pg_rows | md5sum); [ "$(pg_rows | wc -l)" -gt 0 ] || return 1
    sleep 1.5; b=$(pg_rows | md5sum); [ "$a" = "$b" ]
}
wait_for 120 settled
kill -TERM $PID; wait_pid 300 $PID; rc=$?
check_eq "restart: SIGTERM after the first half drains and exits 0" 0 "$rc"
open1=$(json_get "$o/1.json" aggregators windows_open)
check "restart: sessions were open at the SIGTERM ($open1)" test "$open1" -gt 0
produce "$B/views2.jsonl"
"$EDDY" run -c $CONF --exit-when-idle 3s --stats "$o/2.json" 2> "$o/2.log"; rc=$?
check_eq "restart: the restart exits 0" 0 "$rc"
check "restart: the restart restored the open sessions" \
    grep -q "restored .* entries (generation 1 checkpoint" "$o/2.log"
check_sinks restart "$o"

# --- kill -9 while the second half streams in, restart from the snapshot
o=$B/kill; mkdir -p "$o"
s_env kill
produce "$B/views1.jsonl"
"$EDDY" run -c $CONF --stats "$o/1.json" 2> "$o/1.log" &
PID=$!
committed() { [ -s "$EDDY_STATE_DIR/COMMITTED" ] && [ "$(pg_rows | wc -l)" -gt 0 ]; }
wait_for 120 committed
# The second half streams in at about 2,500 views a second (4 s), and
# kill -9 lands about a second after its first sessions are written: input
# read but not yet committed is read again by the restart.
n1=$(pg_rows | wc -l)
python3 -c 'import sys, time
for i, line in enumerate(open(sys.argv[1])):
    sys.stdout.write(line); sys.stdout.flush()
    if i % 25 == 24: time.sleep(0.01)' "$B/views2.jsonl" |
    kcat -b "$EDDY_KAFKA" -P -t "$EDDY_VIEWS_TOPIC" -p 0 &
PRODUCER=$!
more() { [ "$(pg_rows | wc -l)" -gt "$n1" ]; }
wait_for 120 more
sleep 1
kill -KILL $PID; wait $PID 2>/dev/null
echo "# kill -9 with $(pg_rows | wc -l) page sessions written, snapshot of" \
    "$(sed -n 1p "$EDDY_STATE_DIR/COMMITTED")"
wait $PRODUCER
"$EDDY" run -c $CONF --exit-when-idle 3s --stats "$o/2.json" 2> "$o/2.log"; rc=$?
check_eq "kill: the restart after kill -9 exits 0" 0 "$rc"
check "kill: the restart restored the snapshot's open sessions" \
    grep -q "restored .* entries (generation 1 checkpoint" "$o/2.log"
echo "# the restart read $(json_get "$o/2.json" sources views inputs) of the second half's" \
    "$((N / 2)) views"
pg_rows > "$o/pg.tsv"
check "kill: PostgreSQL has every page session, none below the oracle" \
    python3 tests/tools/window_check.py sql "$B/page_sessions.oracle.json" "$o/pg.tsv" \
    --values views,first_ts,last_ts --close --at-least
echo "# $(python3 -c 'import json, sys
o = {(r["key"]["page"], r["window_start"], r["window_end"]): r["close_values"]["views"]
     for r in json.load(open(sys.argv[1]))["rows"]}
print(sum(1 for l in open(sys.argv[2]) for f in [l.split("\t")]
          if float(f[3]) > o.get((f[0], int(f[1]), int(f[2])), 1e18)))' \
    "$B/page_sessions.oracle.json" "$o/pg.tsv") page sessions above the oracle (replayed input)"
my_rows > "$o/my.tsv"
check "kill: MariaDB has every country session, none below the oracle" \
    python3 tests/tools/window_check.py sql "$B/country_sessions.oracle.json" "$o/my.tsv" \
    --values views,lo,hi --at-least
kcat -b "$EDDY_KAFKA" -C -t "$EDDY_VIEWS_TOPIC.alerts" -o beginning -e -q -f '%s\n' \
    2>/dev/null > "$o/alerts.jsonl"
check "kill: long_session fired for every long page session, for no other" \
    python3 tests/tools/window_check.py alerts "$B/page_sessions.oracle.json" \
    "$o/alerts.jsonl" --alert long_session --at-least
exit 0
