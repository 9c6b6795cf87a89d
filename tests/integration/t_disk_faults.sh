#!/usr/bin/env bash
# Disk faults (issue 10 §3): a full disk under eddy's own files, then space
# again. The disk is a small tmpfs mounted by the test (we run as root, so
# chmod would not stop eddy) and filled with a ballast file until a write
# fails with ENOSPC; freeing the ballast gives the space back. Without
# `mount` (not root, no CAP_SYS_ADMIN) the test fails: it skips nothing.
#
# (a) the directory source's state file on the full disk (configs/
#     disk_words.yaml: word count into SQLite):
#   - the error names the state file, says "No space left on device" and
#     what to do; eddy keeps counting (no crash), and the state file keeps
#     the positions it last persisted (byte for byte: no torn file, no
#     position committed that could not be written);
#   - when space returns the state file catches up while eddy runs, a
#     SIGTERM ends it with exit 0, and SQLite equals tr | sort | uniq -c of
#     the input; a restart reads nothing again;
#   - SIGTERM while the disk is still full: exit 1, naming the positions
#     that could not be saved; the restart reads again exactly the files
#     whose positions were lost (SQLite = the oracle of A + B + B).
# (b) the lake's directory on the full disk (configs/disk_lake.yaml: Kafka
#     tweets into a Parquet lake, files published every second):
#   - the retried flush names the stage file, ENOSPC and what to do; the
#     sources are paused (backpressure): eddy reads a bounded part of the
#     input produced meanwhile, its RSS grows by at most 100 MB;
#   - when space returns the lake catches up without a restart, and after
#     SIGTERM every tweet is in exactly one visible file, no stage file
#     left (tests/tools/lake_check.py: pyarrow, an independent reader);
#   - SIGTERM while full waits for the final flush; a second one exits 2,
#     and the restart publishes the stage it left (nothing lost);
#   - full between a stage's last append and its publication (a Parquet
#     file needs space its stage did not): the stage is published at a later
#     flush once space returns, without a restart.
# (c) the SQLite sink's database on the full disk: the flush is retried
#     (SQLITE_FULL, named with what to do), the sources pause, and when
#     space returns SQLite equals the oracle without a restart.
# EDDY_DF_PARTS picks some ("state sqlite lake"); EDDY_DF_DOCS the corpus size.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
. tests/lib/oracle.sh
EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
PY=${EDDY_CACHE:-$HOME/.cache/eddy}/venv/bin/python
W=$EDDY_ROOT/tests/out/disk_faults
RUN=$(date +%s)
MOUNTS=()
PIDS=()
cleanup() {
    local p m
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null; done
}
trap cleanup EXIT
for m in "$W"/disk_*; do mountpoint -q "$m" 2>/dev/null && umount "$m"; done
rm -rf "$W"; mkdir -p "$W"

# small_disk DIR SIZE: a tmpfs of SIZE at DIR; the test fails without it.
small_disk() {
    mkdir -p "$1"
    local err
    if ! err=$(mount -t tmpfs -o "size=$2,mode=0755" "eddy-test-disk" "$1" 2>&1); then
        tap_fail "mount a $2 tmpfs at $1 (the test needs root or CAP_SYS_ADMIN)" "$err"
        exit 1
    fi
    MOUNTS+=("$1")
}
# fill DIR: the ballast takes every free block; a 1-byte write then fails.
fill() {
    dd if=/dev/zero of="$1/ballast" bs=4k status=none 2>/dev/null
    ! sh -c "printf x > '$1/.probe'" 2>/dev/null
    local full=$?
    rm -f "$1/.probe"
    return $full
}
unfill() { rm -f "$1/ballast"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# ---------------------------------------------------------------- (a)
# The word-count corpus (DOCS, in $W/corpus) and helpers of (a) and (c).
words_corpus() {
    if [ ! -d "$W/corpus" ]; then
        mkdir -p "$W/corpus"
        ls /usr/share/doc/*/copyright | LC_ALL=C sort | head -n "${EDDY_DF_DOCS:-120}" |
            while read -r f; do cp "$f" "$W/corpus/$(basename "$(dirname "$f")")"; done
    fi
    mapfile -t DOCS < <(ls "$W/corpus" | LC_ALL=C sort)
}
drop() { # INBOX DOC...: atomically (hidden name, then rename)
    local in=$1 d; shift
    for d in "$@"; do
        cp "$W/corpus/$d" "$in/.$d.tmp" && mv "$in/.$d.tmp" "$in/$d"
    done
}
dump_db() { sqlite3 -separator ' ' "$EDDY_SQLITE_PATH" 'SELECT word, count FROM word_counts' | LC_ALL=C sort; }
words() { oracle_wordcount "$@" | awk '{ n += $2 } END { print n + 0 }'; }
done_in_state() { # DOC...: the state file says done for each
    local d
    for d in "$@"; do grep -qxF "done $d" "$EDDY_STATE_FILE" 2>/dev/null || return 1; done
}
stop_exact() { # LABEL PID TAG: SIGTERM exits 0, SQLite equals the oracle of the corpus
    kill -TERM "$2"; wait_pid 60 "$2"
    check_eq "$1: SIGTERM: exit 0" 0 "$?"
    oracle_wordcount "$W"/corpus/* > "$W/$3.expected"
    dump_db > "$W/$3.got"
    check_files_eq "$1: SQLite equals tr | sort | uniq -c of the input ($(words "$W"/corpus/*) words)" \
        "$W/$3.expected" "$W/$3.got"
}
db_total_is() { # N: SQLite's word_counts sum to N
    [ "$(sqlite3 "$EDDY_SQLITE_PATH" 'SELECT sum(count) FROM word_counts' 2>/dev/null)" = "$1" ]
}

part_state() {
    local D=$W/disk_a
    small_disk "$D" 1m
    words_corpus
    local n=${#DOCS[@]} third=$((${#DOCS[@]} / 3))
    local A=("${DOCS[@]:0:third}") B=("${DOCS[@]:third:third}") C=("${DOCS[@]:2*third}")
    echo "# corpus: $n documents; state file on a 1 MB tmpfs"
    local wa wab rc
    wa=$(cd "$W/corpus" && words "${A[@]}")
    wab=$(cd "$W/corpus" && words "${A[@]}" "${B[@]}")

    # -- a1: full while running, then space again
    export EDDY_INBOX=$W/inbox1 EDDY_SQLITE_PATH=$W/words1.db EDDY_STATE_FILE=$D/state1/files.state
    mkdir -p "$EDDY_INBOX"
    drop "$EDDY_INBOX" "${A[@]}"
    "$EDDY" run -c tests/integration/configs/disk_words.yaml --stats "$W/a1.json" 2> "$W/a1.log" &
    local pid=$!; PIDS+=("$pid")
    check "state: the first third counted and its files done in the state file" \
        wait_for 60 sh -c "[ \"\$(sqlite3 '$EDDY_SQLITE_PATH' 'SELECT sum(count) FROM word_counts' 2>/dev/null)\" = $wa ] && grep -qxF 'done ${A[-1]}' '$EDDY_STATE_FILE'"
    check "state: the 1 MB tmpfs is full (a 1-byte write fails)" fill "$D"
    cp "$EDDY_STATE_FILE" "$W/a1.state.before"
    drop "$EDDY_INBOX" "${B[@]}"
    check "state: disk full: the second third is counted all the same (eddy runs on)" \
        wait_for 60 sh -c "[ \"\$(sqlite3 '$EDDY_SQLITE_PATH' 'SELECT sum(count) FROM word_counts' 2>/dev/null)\" = $wab ]"
    sleep 1.5 # several checkpoints, each trying to write the state file
    check "state: disk full: eddy is still running" kill -0 "$pid"
    check_files_eq "state: disk full: the state file keeps the positions it last persisted" \
        "$W/a1.state.before" "$EDDY_STATE_FILE"
    check "state: disk full: no temporary state file left behind" test ! -e "$EDDY_STATE_FILE.tmp"
    check "state: the error names the state file, ENOSPC and what to do" \
        grep -qE "cannot write state file '$EDDY_STATE_FILE' .*No space left on device.*free space" "$W/a1.log"
    local nerr
    nerr=$(grep -c "cannot write state file" "$W/a1.log")
    check "state: the error is not repeated at every checkpoint ($nerr lines)" test "$nerr" -le 3
    unfill "$D"
    check "state: space again: the state file catches up while eddy runs" \
        wait_for 30 done_in_state "${A[@]}" "${B[@]}"
    check "state: the log says the positions are committed again" \
        grep -q "input positions committed again at checkpoint" "$W/a1.log"
    drop "$EDDY_INBOX" "${C[@]}"
    check "state: the last third counted and done" \
        wait_for 60 done_in_state "${C[@]}"
    stop_exact state "$pid" a1
    "$EDDY" run -c tests/integration/configs/disk_words.yaml --exit-when-idle 1s \
        --stats "$W/a1r.json" 2> "$W/a1r.log"
    check_eq "state: the restart exits 0" 0 "$?"
    check_eq "state: the restart reads nothing again" 0 "$(json_get "$W/a1r.json" sources files inputs)"
    dump_db > "$W/a1r.got"
    check_files_eq "state: after the restart SQLite still equals the oracle" "$W/a1.expected" "$W/a1r.got"

    # -- a2: SIGTERM while the disk is full; then space and a restart
    export EDDY_INBOX=$W/inbox2 EDDY_SQLITE_PATH=$W/words2.db EDDY_STATE_FILE=$D/state2/files.state
    mkdir -p "$EDDY_INBOX"
    drop "$EDDY_INBOX" "${A[@]}"
    "$EDDY" run -c tests/integration/configs/disk_words.yaml 2> "$W/a2.log" &
    pid=$!; PIDS+=("$pid")
    wait_for 60 sh -c "[ \"\$(sqlite3 '$EDDY_SQLITE_PATH' 'SELECT sum(count) FROM word_counts' 2>/dev/null)\" = $wa ] && grep -qxF 'done ${A[-1]}' '$EDDY_STATE_FILE'"
    check "state, stop while full: the tmpfs is full" fill "$D"
    drop "$EDDY_INBOX" "${B[@]}"
    wait_for 60 sh -c "[ \"\$(sqlite3 '$EDDY_SQLITE_PATH' 'SELECT sum(count) FROM word_counts' 2>/dev/null)\" = $wab ]"
    kill -TERM "$pid"; wait_pid 60 "$pid"; rc=$?
    check_eq "state, stop while full: SIGTERM: exit 1 (the final positions could not be saved)" 1 "$rc"
    check "state, stop while full: the log says which positions were not saved and what a restart does" \
        grep -qE "input positions of source 'files' .*not saved.*No space left on device.*reads again" "$W/a2.log"
    unfill "$D"
    "$EDDY" run -c tests/integration/configs/disk_words.yaml --exit-when-idle 1s 2> "$W/a2r.log"
    check_eq "state, stop while full: the restart exits 0" 0 "$?"
    (cd "$W/corpus" && oracle_wordcount "${A[@]}" "${B[@]}" "${B[@]}") > "$W/a2.expected"
    dump_db > "$W/a2.got"
    check_files_eq "state, stop while full: the restart read again exactly the files not saved (SQLite = oracle of A + B + B)" \
        "$W/a2.expected" "$W/a2.got"
    check "state, stop while full: every file done in the state file" done_in_state "${DOCS[@]:0:2*third}"
}

# ---------------------------------------------------------------- (c)
# The SQLite sink's database on the full disk (state file elsewhere): the
# flush is retried (SQLITE_FULL), sources pause, exact when space returns.
part_sqlite() {
    local D=$W/disk_c
    small_disk "$D" 2m
    words_corpus
    local third=$((${#DOCS[@]} / 3))
    local A=("${DOCS[@]:0:third}") B=("${DOCS[@]:third}")
    local wa
    wa=$(cd "$W/corpus" && words "${A[@]}")
    export EDDY_INBOX=$W/inbox3 EDDY_SQLITE_PATH=$D/words.db EDDY_STATE_FILE=$W/state3/files.state
    mkdir -p "$EDDY_INBOX"
    drop "$EDDY_INBOX" "${A[@]}"
    "$EDDY" run -c tests/integration/configs/disk_words.yaml 2> "$W/c.log" &
    local pid=$!; PIDS+=("$pid")
    check "sqlite: the first third counted" wait_for 60 db_total_is "$wa"
    check "sqlite: the 2 MB tmpfs is full (a 1-byte write fails)" fill "$D"
    drop "$EDDY_INBOX" "${B[@]}"
    check "sqlite: disk full: the flush is retried, naming the database, SQLITE_FULL and what to do" \
        wait_for 30 grep -qE "sink 'db' \\(sqlite $EDDY_SQLITE_PATH\\).*database or disk is full.*free space on its file system" "$W/c.log"
    check "sqlite: disk full: the sources were paused (backpressure)" \
        wait_for 30 grep -q 'pausing sources (backpressure)' "$W/c.log"
    check "sqlite: disk full: nothing of the rest is in the database yet" db_total_is "$wa"
    check "sqlite: disk full: eddy is still running" kill -0 "$pid"
    unfill "$D"
    check "sqlite: space again: every file done, without a restart" \
        wait_for 60 done_in_state "${DOCS[@]}"
    stop_exact sqlite "$pid" c
}

# ---------------------------------------------------------------- (b)
part_lake() {
    local D=$W/disk_b fmt=parquet N=${EDDY_DF_TWEETS:-40000}
    small_disk "$D" 16m
    export EDDY_TWEETS_TOPIC="eddy.test.disk.$RUN" EDDY_GROUP="eddy-test-disk-$RUN"
    export EDDY_LAKE=$D/lake EDDY_LAKE_FORMAT=$fmt EDDY_HTTP_PORT=${EDDY_DF_HTTP_PORT:-$((${EDDY_KAFKA_PORT:-${EDDY_KAFKA##*:}} + 372))}
    scripts/kafka-topics create "$EDDY_TWEETS_TOPIC" 3 >/dev/null
    "$EDDY" gen tweets --count "$N" --seed 5 --out "$W/tweets.jsonl" 2>/dev/null
    # produced keyed by id_str, as `eddy gen --topic` does, in two halves
    python3 -c 'import json, sys
for l in open(sys.argv[1]): print(json.loads(l)["id_str"] + "\t" + l.rstrip("\n"))' \
        "$W/tweets.jsonl" > "$W/tweets.kv"
    local half=$((N / 4))
    produce() { kcat -b "$EDDY_KAFKA" -P -t "$EDDY_TWEETS_TOPIC" -K $'\t'; }
    head -n "$half" "$W/tweets.kv" | produce
    metric() { # NAME: its value, summed over labels
        curl -s "http://127.0.0.1:$EDDY_HTTP_PORT/metrics" |
            awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $NF } END { print s + 0 }'
    }
    "$EDDY" run -c tests/integration/configs/disk_lake.yaml --stats "$W/b.json" 2> "$W/b.log" &
    local pid=$!; PIDS+=("$pid")
    check "lake: the first quarter written" \
        wait_for 60 sh -c "[ \"\$(curl -s http://127.0.0.1:$EDDY_HTTP_PORT/metrics | awk '/^eddy_sink_rows_written_total/ { print \$NF }')\" = $half ]"
    local rss0 rss_max rss
    rss0=$(rss_kb "$pid"); rss_max=$rss0
    check "lake: the 16 MB tmpfs is full (a 1-byte write fails)" fill "$D"
    # The rest arrives while the disk is full: 12 chunks, one each 0.5 s.
    tail -n +"$((half + 1))" "$W/tweets.kv" > "$W/rest.kv"
    split -n l/12 "$W/rest.kv" "$W/rest.part."
    local t0=$SECONDS in1= in2 c
    for c in "$W"/rest.part.*; do
        produce < "$c"
        rss=$(rss_kb "$pid"); [ "$rss" -gt "$rss_max" ] && rss_max=$rss
        [ -z "$in1" ] && [ $((SECONDS - t0)) -ge 2 ] && in1=$(metric eddy_source_inputs_total)
        sleep 0.5
    done
    in2=$(metric eddy_source_inputs_total)
    echo "# lake, disk full: $in1 then $in2 of $N tweets read; RSS $((rss0 / 1024)) MB before, at most $((rss_max / 1024)) MB during"
    check "lake: disk full: eddy is still running" kill -0 "$pid"
    check "lake: disk full: the sources were paused (backpressure)" \
        grep -q 'pausing sources (backpressure)' "$W/b.log"
    check "lake: disk full: the source stopped reading while input kept arriving ($in1, then $in2, of $N)" \
        test "$in1" -eq "$in2" -a "$in2" -lt "$N"
    check "lake: disk full: RSS grew by at most 100 MB" test $((rss_max - rss0)) -le $((100 * 1024))
    check "lake: the retried flush names the stage file, ENOSPC and what to do" \
        grep -qE "lake $EDDY_LAKE\\): cannot write $EDDY_LAKE/.*\\.stage: No space left on device; free space" "$W/b.log"
    unfill "$D"
    local back=$SECONDS
    check "lake: space again: every tweet written without a restart" \
        wait_for 60 sh -c "[ \"\$(curl -s http://127.0.0.1:$EDDY_HTTP_PORT/metrics | awk '/^eddy_sink_rows_written_total/ { print \$NF }')\" = $N ]"
    echo "# lake: caught up $((SECONDS - back)) s after space returned"
    local stages
    stages=$(find "$EDDY_LAKE" -name '.part-*.stage' | wc -l)
    check "lake: space again: the files that could not be published are, without a restart ($stages stage file(s) left: the open one)" \
        test "$stages" -le 1
    kill -TERM "$pid"; wait_pid 60 "$pid"; local rc=$?
    check_eq "lake: SIGTERM: exit 0" 0 "$rc"
    check_eq "lake: --stats: $N rows written" "$N" "$(json_get "$W/b.json" sinks lake rows_written)"
    "$PY" tests/tools/lake_check.py "$EDDY_LAKE" "$fmt" "$W/tweets.jsonl" "$EDDY_TWEETS_TOPIC"

    # -- SIGTERM while full: the drain waits for the final flush (retried),
    # a second signal stops at once; the next start publishes what was staged.
    export EDDY_TWEETS_TOPIC="eddy.test.disk2.$RUN" EDDY_GROUP="eddy-test-disk2-$RUN" EDDY_LAKE=$D/lake2
    scripts/kafka-topics create "$EDDY_TWEETS_TOPIC" 3 >/dev/null
    head -n "$half" "$W/tweets.kv" | produce
    "$EDDY" run -c tests/integration/configs/disk_lake.yaml 2> "$W/b2.log" &
    pid=$!; PIDS+=("$pid")
    wait_for 60 sh -c "[ \"\$(curl -s http://127.0.0.1:$EDDY_HTTP_PORT/metrics | awk '/^eddy_sink_rows_written_total/ { print \$NF }')\" = $half ]"
    check "lake, stop while full: the tmpfs is full" fill "$D"
    tail -n +"$((half + 1))" "$W/tweets.kv" | head -n "$half" | produce
    wait_for 20 grep -q 'No space left on device' "$W/b2.log"
    kill -TERM "$pid"; sleep 3
    check "lake, stop while full: SIGTERM waits for the final flush (still running 3 s later)" kill -0 "$pid"
    kill -TERM "$pid"; wait_pid 30 "$pid"; rc=$?
    check_eq "lake, stop while full: a second SIGTERM stops at once (exit 2)" 2 "$rc"
    unfill "$D"
    "$EDDY" run -c tests/integration/configs/disk_lake.yaml --exit-when-idle 2s 2> "$W/b2r.log"
    check_eq "lake, stop while full: the restart exits 0" 0 "$?"
    check "lake, stop while full: the restart published the stage left by the stop" \
        grep -qE 'recovered [1-9][0-9]* stage file' "$W/b2r.log"
    head -n $((2 * half)) "$W/tweets.jsonl" > "$W/tweets2.jsonl"
    "$PY" tests/tools/lake_check.py "$EDDY_LAKE" "$fmt" "$W/tweets2.jsonl" "$EDDY_TWEETS_TOPIC" --dups tail

    # -- full between the append and the publication: a stage of 10,000 rows
    # rolls (5 s) when 8 KB are left: its next frame fits, its Parquet file
    # does not. The stage is published at a later flush once space returns.
    export EDDY_TWEETS_TOPIC="eddy.test.disk3.$RUN" EDDY_GROUP="eddy-test-disk3-$RUN"
    export EDDY_LAKE=$D/lake3 EDDY_ROLL_INTERVAL=5s
    local m=10000
    scripts/kafka-topics create "$EDDY_TWEETS_TOPIC" 3 >/dev/null
    head -n "$m" "$W/tweets.kv" | produce
    "$EDDY" run -c tests/integration/configs/disk_lake.yaml 2> "$W/b3.log" &
    pid=$!; PIDS+=("$pid")
    wait_for 60 sh -c "[ \"\$(curl -s http://127.0.0.1:$EDDY_HTTP_PORT/metrics | awk '/^eddy_sink_rows_written_total/ { print \$NF }')\" = $m ]"
    visible() { find "$EDDY_LAKE" -name 'part-*.parquet' | wc -l; }
    check_eq "lake, full at publication: $m tweets staged, no file published yet" 0 "$(visible)"
    fill "$D"
    truncate -s -8K "$D/ballast"
    sleep 5.5
    sed -n "$((m + 1))p" "$W/tweets.kv" | produce
    check "lake, full at publication: the publication fails, naming ENOSPC" \
        wait_for 30 grep -qE 'No space left on device; free space on its file system.*the records stay in the stage file' "$W/b3.log"
    check_eq "lake, full at publication: nothing visible yet" 0 "$(visible)"
    unfill "$D"
    sed -n "$((m + 2))p" "$W/tweets.kv" | produce
    check "lake, full at publication: space again: the stage is published at the next flush, without a restart" \
        wait_for 30 grep -q 'which could not be published before' "$W/b3.log"
    check "lake, full at publication: its file is visible while eddy runs" test "$(visible)" -ge 1
    kill -TERM "$pid"; wait_pid 60 "$pid"; rc=$?
    check_eq "lake, full at publication: SIGTERM: exit 0" 0 "$rc"
    head -n $((m + 2)) "$W/tweets.jsonl" > "$W/tweets3.jsonl"
    "$PY" tests/tools/lake_check.py "$EDDY_LAKE" "$fmt" "$W/tweets3.jsonl" "$EDDY_TWEETS_TOPIC"
}

for part in ${EDDY_DF_PARTS:-state sqlite lake}; do
    "part_$part"
done
exit 0
