# shellcheck shell=bash
# wordcount.sh — helpers to run the word-count job end to end against the
# real servers and read back what each sink holds. Used by scripts/demo and
# tests/integration/t_wordcount.sh. Needs `eval "$(scripts/services env)"`.
#
#   wc_env RUN_ID        isolate a run: EDDY_PREFIX, topics, group, inbox
#   wc_clean             drop this run's tables and sorted sets
#   wc_drop FILE...      drop files into the inbox atomically (hidden name, then rename)
#   wc_pg TABLE / wc_pg_by_doc TABLE        "word count" / "doc word count", C-sorted
#   wc_my TABLE / wc_my_by_doc TABLE        the same from MariaDB
#   wc_redis ZSET                           "member score" C-sorted
#   wc_redis_by_doc PREFIX DOCS...          "doc word count" from PREFIX<doc> sets
#   wc_alert_words TOPIC                    words of the alert records, sorted
#   wc_check_atleast NAME EXPECTED ACTUAL   TAP check (tests/lib/tap.sh): every key of
#                                           EXPECTED ("key value" lines) is in ACTUAL with
#                                           a value >= its own (at-least-once)
EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}

wc_env() {
    local id=$1
    export EDDY_PREFIX="t_${id}_"
    export EDDY_DOCS_TOPIC="eddy.test.docs.${id}"
    export EDDY_ALERTS_TOPIC="streaming.alerts.words.${id}"
    export EDDY_GROUP="eddy-test-${id}"
    export EDDY_INBOX="$EDDY_ROOT/tests/out/inbox-${id}"
    rm -rf "$EDDY_INBOX"
    mkdir -p "$EDDY_INBOX"
}

wc_clean() {
    local p=$EDDY_PREFIX
    psql -q "$EDDY_PG_DSN" -v ON_ERROR_STOP=1 -c "DROP TABLE IF EXISTS ${p}word_counts, ${p}word_counts_by_doc" >/dev/null 2>&1
    mariadb -h "$EDDY_MYSQL_HOST" -P "$EDDY_MYSQL_PORT" -u "$EDDY_MYSQL_USER" "$EDDY_MYSQL_DB" \
        -e "DROP TABLE IF EXISTS ${p}word_counts, ${p}word_counts_by_doc" 2>/dev/null
    local keys
    keys=$(redis-cli -p "$EDDY_REDIS_PORT" --raw KEYS "${p}top:words*")
    if [ -n "$keys" ]; then
        printf '%s\n' "$keys" | xargs -d '\n' redis-cli -p "$EDDY_REDIS_PORT" DEL >/dev/null
    fi
}

wc_drop() {
    local f base
    for f in "$@"; do
        base=$(basename "$f")
        cp "$f" "$EDDY_INBOX/.$base.tmp"
        mv "$EDDY_INBOX/.$base.tmp" "$EDDY_INBOX/$base"
    done
}

wc_pg() { psql -qAt -F ' ' "$EDDY_PG_DSN" -c "SELECT word, count FROM $1" | LC_ALL=C sort; }
wc_pg_by_doc() { psql -qAt -F ' ' "$EDDY_PG_DSN" -c "SELECT doc, word, count FROM $1" | LC_ALL=C sort; }
wc_my() {
    mariadb -N -B -h "$EDDY_MYSQL_HOST" -P "$EDDY_MYSQL_PORT" -u "$EDDY_MYSQL_USER" "$EDDY_MYSQL_DB" \
        -e "SELECT word, count FROM $1" | tr '\t' ' ' | LC_ALL=C sort
}
wc_my_by_doc() {
    mariadb -N -B -h "$EDDY_MYSQL_HOST" -P "$EDDY_MYSQL_PORT" -u "$EDDY_MYSQL_USER" "$EDDY_MYSQL_DB" \
        -e "SELECT doc, word, count FROM $1" | tr '\t' ' ' | LC_ALL=C sort
}
wc_redis() {
    redis-cli -p "$EDDY_REDIS_PORT" --raw ZRANGE "$1" 0 -1 WITHSCORES | paste -d ' ' - - | LC_ALL=C sort
}
wc_redis_by_doc() {
    local prefix=$1 doc; shift
    for doc in "$@"; do
        redis-cli -p "$EDDY_REDIS_PORT" --raw ZRANGE "$prefix$doc" 0 -1 WITHSCORES | paste -d ' ' - - |
            sed "s|^|$doc |"
    done | LC_ALL=C sort
}
wc_alert_words() {
    kcat -b "$EDDY_KAFKA" -C -t "$1" -o beginning -e -q -f '%s\n' 2>/dev/null |
        python3 -c 'import sys, json
for l in sys.stdin:
    l = l.strip()
    if l: print(json.loads(l)["key"]["word"])' | LC_ALL=C sort
}

wc_check_atleast() {
    local res
    res=$(python3 - "$2" "$3" <<'PY'
import sys
def load(p):
    d = {}
    for l in open(p, 'rb'):
        if not l.strip():
            continue
        k, v = l.rstrip(b'\n').rsplit(b' ', 1)
        d[k] = float(v)
    return d
e, a = load(sys.argv[1]), load(sys.argv[2])
missing = sum(1 for k in e if k not in a)
below = sum(1 for k, v in e.items() if k in a and a[k] < v)
above = sum(1 for k, v in e.items() if k in a and a[k] > v)
print(missing, below, above)
PY
)
    local missing below above
    read -r missing below above <<< "$res"
    if [ "$missing" = 0 ] && [ "$below" = 0 ]; then
        tap_ok "$1"
        echo "# $1: $above keys above the truth (re-delivered after the interruption)"
    else
        tap_fail "$1" "missing keys: $missing, keys below the truth: $below"
    fi
}
