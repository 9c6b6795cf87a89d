#!/usr/bin/env bash
# Crash-point sweep (issue 10 §3): the word count of eo_words.yaml (Kafka →
# PostgreSQL ×2, MariaDB, SQLite, Redis ×2) is killed with SIGKILL at seeded,
# reproducible points, restarted each time while more documents arrive on
# the topic, then run to the end. Points: inside a sink's flush before the
# plugin writes (sink_before_write), between a SQL sink's writes and its
# COMMIT (sql_before_commit), after the COMMIT before the ack
# (sink_after_write), in a source at a barrier (source_barrier), between two
# chunks of a Redis flush (redis_after_chunk), and at a random time (timed); the K-th hit of a point dies (EDDY_CRASH_AT=POINT:K,
# actors/ed_eo.h). With delivery: exactly_once every sink's totals must be
# EXACT against the coreutils word count of what was published; with
# at_least_once nothing may be below it.
#
#   t_crash_sweep.sh [--long]    --long: 60 crash points instead of 22
# EDDY_SWEEP_SEED picks the points (default 10; printed to repeat a run).
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
. tests/lib/oracle.sh
EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
W=$EDDY_ROOT/tests/out/crash_sweep
rm -rf "$W"; mkdir -p "$W"
SEED=${EDDY_SWEEP_SEED:-10}
CRASHES=22
[ "${1:-}" = --long ] && CRASHES=60
RUN=$(date +%s)$$
CONF=tests/integration/configs/eo_words.yaml
echo "# seed $SEED, $CRASHES crash points (EDDY_SWEEP_SEED=$SEED to repeat)"

# The corpus: Debian copyright files, in chunks published one per run.
ls /usr/share/doc/*/copyright 2>/dev/null | LC_ALL=C sort | head -400 > "$W/docs"
ndocs=$(wc -l < "$W/docs")
split -n "l/$((CRASHES + 1))" -d -a 3 "$W/docs" "$W/chunk."
CHUNKS=("$W"/chunk.*)
TOPIC="eddy.test.eo.$RUN"
scripts/kafka-topics create "$TOPIC" 4 >/dev/null
export EDDY_DOCS_TOPIC=$TOPIC EDDY_FLUSH_INTERVAL=100ms

publish() { # CHUNKFILE: every line of its documents, key = the package name
    local f
    while IFS= read -r f; do
        awk -v d="$(basename "$(dirname "$f")")" '{ print d "\t" $0 }' "$f"
    done < "$1" | kcat -P -b "$EDDY_KAFKA" -t "$TOPIC" -K $'\t'
}

# The plan of crash points, from the seed (Python's random: reproducible).
python3 - "$SEED" "$CRASHES" > "$W/points" <<'PY'
import random, sys
r = random.Random(int(sys.argv[1]))
for _ in range(3 * int(sys.argv[2])):  # spares for points a short run never reaches
    p = r.choice(["sink_before_write", "sql_before_commit", "sink_after_write",
                  "source_barrier", "redis_after_chunk", "timed"])
    k = r.randint(300, 2500) if p == "timed" else r.randint(1, 8 if p[0] == "r" else 4)
    print(p, k)
PY

published=0
pub_next() {
    if [ "$published" -lt "${#CHUNKS[@]}" ]; then
        publish "${CHUNKS[$published]}"
        cat "${CHUNKS[$published]}" >> "$W/published"
        published=$((published + 1))
    fi
}

# sweep MODE PREFIX NPOINTS: runs until NPOINTS of them were killed at their
# point (a run that ends first takes the next point), then one to the end;
# sets CRASHED and NOT_REACHED.
sweep() {
    local mode=$1 prefix=$2 npoints=$3 i=0 point k rc pid
    export EDDY_DELIVERY=$mode EDDY_PREFIX=$prefix EDDY_GROUP="eddy-eo-$prefix$RUN"
    export EDDY_INSTANCE_ID="$prefix$RUN" EDDY_SQLITE_PATH="$W/$prefix.db"
    CRASHED=0 NOT_REACHED=0
    while [ $CRASHED -lt "$npoints" ] && read -r point k; do
        i=$((i + 1))
        [ "$mode" = exactly_once ] && pub_next
        if [ "$point" = timed ]; then
            "$EDDY" run -c "$CONF" 2>> "$W/$prefix.log" &
            pid=$!
            sleep "$(printf '0.%03d' $((k % 1000)))"; sleep $((k / 1000))
            kill -KILL "$pid" 2>/dev/null
            wait "$pid"; rc=$?
        else
            EDDY_CRASH_AT="$point:$k" "$EDDY" run -c "$CONF" --exit-when-idle 1s \
                2>> "$W/$prefix.log" &
            pid=$!
            wait_pid 30 "$pid"; rc=$?
        fi
        echo "$i $point:$k exit $rc" >> "$W/$prefix.runs"
        if [ $rc -eq 137 ]; then CRASHED=$((CRASHED + 1)); else NOT_REACHED=$((NOT_REACHED + 1)); fi
    done < "$W/points"
    "$EDDY" run -c "$CONF" --exit-when-idle 2s 2>> "$W/$prefix.log"
    FINAL_RC=$?
}

# Every sink's rows: "word count" (by doc: "doc word count"), C-sorted.
read_sinks() { # PREFIX
    local p=$1
    psql -qAt -F ' ' "$EDDY_PG_DSN" -c "SELECT word, count FROM ${p}word_counts" | LC_ALL=C sort > "$W/$p.pg"
    psql -qAt -F ' ' "$EDDY_PG_DSN" -c "SELECT doc, word, count FROM ${p}word_counts_by_doc" |
        LC_ALL=C sort > "$W/$p.pg_by_doc"
    mariadb -N -B -h "$EDDY_MYSQL_HOST" -P "$EDDY_MYSQL_PORT" -u "$EDDY_MYSQL_USER" "$EDDY_MYSQL_DB" \
        -e "SELECT word, count FROM ${p}word_counts" | tr '\t' ' ' | LC_ALL=C sort > "$W/$p.my"
    python3 - "$W/$p.db" "${p}word_counts" > "$W/$p.sq" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.text_factory = bytes
for w, c in db.execute("SELECT word, count FROM " + sys.argv[2]):
    sys.stdout.buffer.write((w if isinstance(w, bytes) else str(w).encode()) + b" %d\n" % c)
PY
    LC_ALL=C sort -o "$W/$p.sq" "$W/$p.sq"
    # Redis: "word score" from top:words, "doc word score" from words:DOC.
    redis-cli -p "$EDDY_REDIS_PORT" --raw ZRANGE "${p}top:words" 0 -1 WITHSCORES |
        paste -d ' ' - - | LC_ALL=C sort > "$W/$p.rd"
    local z
    redis-cli -p "$EDDY_REDIS_PORT" --raw --scan --pattern "${p}words:*" | while IFS= read -r z; do
        redis-cli -p "$EDDY_REDIS_PORT" --raw ZRANGE "$z" 0 -1 WITHSCORES | paste -d ' ' - - |
            awk -v d="${z#"${p}"words:}" '{ print d " " $0 }'
    done | LC_ALL=C sort > "$W/$p.rd_by_doc"
}

expected() { # the oracle over every document published so far
    mapfile -t files < "$W/published"
    oracle_wordcount "${files[@]}" > "$W/expected"
    rm -rf "$W/pubdir"; mkdir -p "$W/pubdir"
    for f in "${files[@]}"; do cat "$f" >> "$W/pubdir/$(basename "$(dirname "$f")")"; done
    oracle_wordcount_by_doc "$W/pubdir" > "$W/expected_by_doc"
}

atleast() { # EXPECTED ACTUAL: every expected key present with a count >= expected
    python3 - "$1" "$2" <<'PY'
import sys
def load(p):
    d = {}
    for l in open(p, 'rb'):
        if l.strip():
            k, v = l.rstrip(b'\n').rsplit(b' ', 1)
            d[k] = int(float(v))
    return d
e, a = load(sys.argv[1]), load(sys.argv[2])
low = [k for k in e if a.get(k, 0) < e[k]]
above = sum(1 for k in e if a.get(k, 0) > e[k])
print("%d keys below the truth, %d above" % (len(low), above))
sys.exit(1 if low else 0)
PY
}

# --- exactly_once: new documents before every run, a crash in each
sweep exactly_once "t_eo_${RUN}_" "$CRASHES"
while [ "$published" -lt "${#CHUNKS[@]}" ]; do pub_next; done
"$EDDY" run -c "$CONF" --exit-when-idle 2s 2>> "$W/t_eo_${RUN}_.log"
check_eq "exactly_once: the last run exits 0" 0 $?
echo "# exactly_once: $CRASHED runs killed at their point, $NOT_REACHED ended before it ($ndocs documents)"
check "exactly_once: at least 20 runs were killed (points in $W/t_eo_${RUN}_.runs)" \
    test "$CRASHED" -ge 20
replays=$(grep -c "exactly_once: replay checkpoint" "$W/t_eo_${RUN}_.log")
skips=$(grep -c "was applied before the restart: skipped" "$W/t_eo_${RUN}_.log")
echo "# exactly_once: $replays replay checkpoints, $skips replayed flushes skipped by a sink"
check "exactly_once: some restarts replayed and some sink skipped what it had" \
    test "$replays" -gt 0 -a "$skips" -gt 0
expected
P="t_eo_${RUN}_"
read_sinks "$P"
check_files_eq "exactly_once: postgres word counts exact" "$W/expected" "$W/$P.pg"
check_files_eq "exactly_once: postgres counts by document exact" "$W/expected_by_doc" "$W/$P.pg_by_doc"
check_files_eq "exactly_once: mariadb word counts exact" "$W/expected" "$W/$P.my"
check_files_eq "exactly_once: sqlite word counts exact" "$W/expected" "$W/$P.sq"
check_files_eq "exactly_once: redis word scores exact" "$W/expected" "$W/$P.rd"
check_files_eq "exactly_once: redis scores by document exact" "$W/expected_by_doc" "$W/$P.rd_by_doc"
resumed=$(grep -c "exactly_once: flush [0-9]* was applied in part" "$W/t_eo_${RUN}_.log")
echo "# exactly_once: at $resumed starts a Redis sink found a flush applied in part"
if grep -q "redis_after_chunk:.* exit 137" "$W/t_eo_${RUN}_.runs"; then
    check "exactly_once: a run killed between Redis chunks was resumed" test "$resumed" -gt 0
fi
fences=$(redis-cli -p "$EDDY_REDIS_PORT" --raw --scan --pattern "eddy:eo:eo_words:*:${P}*" | wc -l)
check_eq "exactly_once: one Redis fence per redis sink" 2 "$fences"
stored=$(psql -qAt "$EDDY_PG_DSN" -c "SELECT count(*) FROM eddy_checkpoints WHERE pipeline = 'eo_words' AND target IN ('${P}word_counts', '${P}word_counts_by_doc')")
check_eq "exactly_once: eddy_checkpoints holds one row per postgres sink" 2 "$stored"

# --- at_least_once over the same topic (everything published): 6 crashes
sweep at_least_once "t_alo_${RUN}_" 6
check_eq "at_least_once: the last run exits 0" 0 "$FINAL_RC"
P="t_alo_${RUN}_"
read_sinks "$P"
for s in pg my sq rd; do
    check "at_least_once: $s nothing below the truth ($(atleast "$W/expected" "$W/$P.$s" 2>&1 | tail -1))" \
        atleast "$W/expected" "$W/$P.$s"
done
check "at_least_once: postgres by document nothing below the truth" \
    atleast "$W/expected_by_doc" "$W/$P.pg_by_doc"
check "at_least_once: redis by document nothing below the truth" \
    atleast "$W/expected_by_doc" "$W/$P.rd_by_doc"

# --- clean up this run's tables and topic
for P in "t_eo_${RUN}_" "t_alo_${RUN}_"; do
    psql -q "$EDDY_PG_DSN" -c "DROP TABLE IF EXISTS ${P}word_counts, ${P}word_counts_by_doc; DELETE FROM eddy_checkpoints WHERE target LIKE '${P}%'" >/dev/null 2>&1
    mariadb -h "$EDDY_MYSQL_HOST" -P "$EDDY_MYSQL_PORT" -u "$EDDY_MYSQL_USER" "$EDDY_MYSQL_DB" \
        -e "DROP TABLE IF EXISTS ${P}word_counts; DELETE FROM eddy_checkpoints WHERE target LIKE '${P}%'" 2>/dev/null
    for pat in "${P}*" "eddy:eo:eo_words:*:${P}*"; do
        redis-cli -p "$EDDY_REDIS_PORT" --raw --scan --pattern "$pat" |
            xargs -r -d '\n' redis-cli -p "$EDDY_REDIS_PORT" DEL > /dev/null
    done
done
scripts/kafka-topics delete "$TOPIC" >/dev/null 2>&1
exit $((TAP_FAILED > 0))
