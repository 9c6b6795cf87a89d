#!/usr/bin/env bash
# Sink outages under load (issue 10 §3): the word count of
# configs/outage_words.yaml (a directory source; PostgreSQL, MariaDB, Redis
# and a Kafka changelog as sinks) runs while one server is
#   frozen:  SIGSTOP (every process of it), then SIGCONT
#   stopped: scripts/services stop, then start (Redis: SHUTDOWN SAVE, below)
# for EDDY_OUTAGE_SECONDS (default 5; 30 with EDDY_OUTAGE_LONG=1). The first
# half of the input is dropped before, the second half as the outage begins,
# so the input keeps coming while the server is away. Checked:
#   - nothing lost: every word in every sink, none below the truth
#     (tests/lib/oracle.sh: tr | sort | uniq -c); the sinks whose server
#     stayed up exact;
#   - memory bounded: eddy's RSS (/proc/PID/status VmRSS, sampled every
#     0.5 s) grows by at most 100 MB during the outage, and the sources were
#     paused ("pausing sources (backpressure)" in the log);
#   - caught up: the server holds the whole input within 5 s of its return.
# EDDY_OUTAGE_SERVERS / EDDY_OUTAGE_MODES pick some (default
# "postgres mariadb redis kafka" / "freeze stop"); EDDY_SO_DOCS the corpus
# size (default 300 documents).
set -uo pipefail
cd "$EDDY_ROOT"
OUTAGE=${EDDY_OUTAGE_SECONDS:-5}
. tests/lib/tap.sh
. tests/lib/oracle.sh
. tests/lib/wordcount.sh
[ "${EDDY_OUTAGE_LONG:-0}" = 1 ] && OUTAGE=30
W=$EDDY_ROOT/tests/out/sink_outages
rm -rf "$W"; mkdir -p "$W/corpus"
EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
CONF=tests/integration/configs/outage_words.yaml
CATCHUP=5
RSS_GROWTH_MB=100
RUN=$(date +%s)
WC_PID=
FROZEN=
cleanup() {
    [ -n "$FROZEN" ] && kill -CONT $FROZEN 2>/dev/null
    [ -n "$WC_PID" ] && kill -KILL "$WC_PID" 2>/dev/null
}
trap cleanup EXIT

ls /usr/share/doc/*/copyright | LC_ALL=C sort | head -n "${EDDY_SO_DOCS:-300}" |
    while read -r f; do cp "$f" "$W/corpus/$(basename "$(dirname "$f")")"; done
ndocs=$(ls "$W/corpus" | wc -l)
oracle_wordcount "$W"/corpus/* > "$W/expected"
TOTAL=$(awk '{ n += $2 } END { print n }' "$W/expected")
mapfile -t DOCS < <(ls "$W/corpus" | LC_ALL=C sort)
HALF=$((ndocs / 2))
echo "# corpus: $ndocs documents, $TOTAL words; outages of $OUTAGE s"

server_port() {
    case $1 in
        postgres) echo "$EDDY_PG_PORT" ;; mariadb) echo "$EDDY_MYSQL_PORT" ;;
        redis) echo "$EDDY_REDIS_PORT" ;; kafka) echo "$EDDY_KAFKA_PORT" ;;
    esac
}
# server_pids NAME: the process listening on its port and its children
# (PostgreSQL serves each connection from a child of the postmaster).
server_pids() {
    local pid
    pid=$(ss -ltnpH "sport = :$(server_port "$1")" | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2)
    [ -n "$pid" ] || return 1
    echo "$pid" $(pgrep -P "$pid")
}

# What each sink holds, as "word count" lines (C-sorted), and its total.
dump() { # SINK
    case $1 in
        postgres) wc_pg "${EDDY_PREFIX}word_counts" ;;
        mariadb) wc_my "${EDDY_PREFIX}word_counts" ;;
        redis) wc_redis "${EDDY_PREFIX}words" ;;
        kafka) kcat -b "$EDDY_KAFKA" -C -t "$EDDY_CHANGELOG_TOPIC" -o beginning -e -q -f '%s\n' 2>/dev/null |
            python3 -c 'import sys, json
m = {}
for l in sys.stdin:
    if l.strip():
        r = json.loads(l); w = r["key"]["word"]
        m[w] = max(m.get(w, 0), r["count"])
for w, c in m.items(): print(w, int(c))' | LC_ALL=C sort ;;
    esac 2>/dev/null
}
total() { dump "$1" | awk '{ n += $2 } END { print n + 0 }'; }
has_some() { [ "$(total "$1")" -gt 0 ]; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

drop_docs() { # FROM TO: documents [FROM, TO) of the corpus into the inbox
    local i
    for ((i = $1; i < $2; i++)); do
        cp "$W/corpus/${DOCS[$i]}" "$EDDY_INBOX/.${DOCS[$i]}.tmp"
        mv "$EDDY_INBOX/.${DOCS[$i]}.tmp" "$EDDY_INBOX/${DOCS[$i]}"
    done
}

outage_begin() { # SERVER MODE
    if [ "$2" = freeze ]; then
        FROZEN=$(server_pids "$1") && kill -STOP $FROZEN
    elif [ "$1" = redis ]; then
        # scripts/services runs Redis without persistence (--save ''), so a
        # plain stop would lose what eddy wrote before it: SHUTDOWN SAVE
        # writes it to dump.rdb, loaded again at start (a Redis deployed
        # with persistence), and the file is removed after the start.
        redis-cli -p "$EDDY_REDIS_PORT" SHUTDOWN SAVE >/dev/null 2>&1
        wait_for 20 sh -c "! redis-cli -p $EDDY_REDIS_PORT ping"
    else
        scripts/services stop "$1" >/dev/null
    fi
}
outage_end() { # SERVER MODE
    if [ "$2" = freeze ]; then
        kill -CONT $FROZEN; FROZEN=
    else
        local _
        for _ in 1 2 3; do
            if scripts/services start "$1" >/dev/null; then
                rm -f "$EDDY_SERVICES_DIR/redis/dump.rdb"
                return 0
            fi
            sleep 1
        done
        return 1
    fi
}

run_outage() { # SERVER MODE
    local srv=$1 mode=$2 r=$1_$2 label="$1 stopped $OUTAGE s"
    [ "$mode" = freeze ] && label="$srv frozen (SIGSTOP) $OUTAGE s"
    export EDDY_PREFIX="t_so_${r}_${RUN}_" EDDY_CHANGELOG_TOPIC="eddy.so.$r.$RUN"
    export EDDY_INBOX=$W/inbox-$r
    mkdir -p "$EDDY_INBOX"
    scripts/kafka-topics create "$EDDY_CHANGELOG_TOPIC" 1 >/dev/null
    drop_docs 0 "$HALF"
    "$EDDY" run -c "$CONF" --stats "$W/$r.json" 2> "$W/$r.log" &
    WC_PID=$!
    wait_for 60 has_some "$srv"
    local rss0 rss rss_max t0 back caught s
    rss0=$(rss_kb "$WC_PID"); rss_max=$rss0
    outage_begin "$srv" "$mode"
    check "$label: the outage begins" test $? -eq 0
    drop_docs "$HALF" "$ndocs"
    t0=$SECONDS
    while [ $((SECONDS - t0)) -lt "$OUTAGE" ]; do
        rss=$(rss_kb "$WC_PID"); [ "$rss" -gt "$rss_max" ] && rss_max=$rss
        sleep 0.5
    done
    outage_end "$srv" "$mode"
    check "$label: the server is back" test $? -eq 0
    back=$(date +%s.%N); caught=
    while :; do
        s=$(total "$srv")
        if [ "$s" -ge "$TOTAL" ]; then caught=$(echo "$(date +%s.%N) - $back" | bc); break; fi
        [ "$(echo "$(date +%s.%N) - $back > 60" | bc)" = 1 ] && break
        sleep 0.25
    done
    echo "# $label: RSS $((rss0 / 1024)) MB before, at most $((rss_max / 1024)) MB during; caught up ${caught:-never} s after the return"
    check "$label: the server holds the whole input within $CATCHUP s of its return" \
        test -n "$caught" -a "$(echo "${caught:-99} <= $CATCHUP" | bc)" = 1
    check "$label: RSS grew by at most $RSS_GROWTH_MB MB during the outage" \
        test $((rss_max - rss0)) -le $((RSS_GROWTH_MB * 1024))
    # A freeze of a few seconds may end before the flushes pile up.
    if [ "$OUTAGE" -ge 5 ]; then
        check "$label: the sources were paused (backpressure)" grep -q 'pausing sources (backpressure)' "$W/$r.log"
    fi
    kill -TERM "$WC_PID"
    wait_pid 120 "$WC_PID"; local rc=$?
    WC_PID=
    check_eq "$label: eddy exits 0 after SIGTERM" 0 "$rc"
    local k
    for k in postgres mariadb redis kafka; do
        dump "$k" > "$W/$r.$k"
        if [ "$k" = "$srv" ]; then
            wc_check_atleast "$label: $k (the one away): every word, none below the truth" "$W/expected" "$W/$r.$k"
        else
            check_files_eq "$label: $k exact" "$W/expected" "$W/$r.$k"
        fi
    done
}

for srv in ${EDDY_OUTAGE_SERVERS:-postgres mariadb redis kafka}; do
    for mode in ${EDDY_OUTAGE_MODES:-freeze stop}; do
        run_outage "$srv" "$mode"
    done
done
exit 0
