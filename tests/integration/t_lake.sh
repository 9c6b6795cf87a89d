#!/usr/bin/env bash
# The lake sink end to end through real Kafka: `eddy gen tweets` → a
# 3-partition topic → tests/integration/configs/tweets_lake.yaml → files
# partitioned by dt/hour of created_at. tests/tools/lake_check.py reads the
# lake with third-party readers (zstdcat; pyarrow for Parquet) and compares
# every row with the generated tweets: each in exactly one file of the right
# partition, values equal, Kafka positions distinct. Wrong-typed records are
# counted and routed to the rejects lake naming position and column. Then a
# SIGTERM in mid-stream and a restart write no tweet twice.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
PY=${EDDY_CACHE:-$HOME/.cache/eddy}/venv/bin/python
B=$EDDY_ROOT/tests/out/lake
rm -rf "$B"; mkdir -p "$B"
RUN=$(date +%s)
N=20000
CFG=tests/integration/configs/tweets_lake.yaml

# run_lake LABEL FORMAT: the whole topic through the lake, then the checks.
run_lake() {
    local label=$1 fmt=$2 o=$B/$1
    mkdir -p "$o"
    export EDDY_TWEETS_TOPIC="eddy.test.lake.$RUN.$label" EDDY_GROUP="eddy-test-lake-$RUN-$label"
    export EDDY_LAKE=$o/lake EDDY_LAKE_FORMAT=$fmt
    scripts/kafka-topics create "$EDDY_TWEETS_TOPIC" 3 >/dev/null
    "$EDDY" gen tweets --count $N --rate 5 --seed 9 --topic "$EDDY_TWEETS_TOPIC" 2>/dev/null
    "$EDDY" gen tweets --count $N --rate 5 --seed 9 --out "$o/tweets.jsonl" 2>/dev/null
    # Three records that do not fit: a string id, a text number, a boolean as text.
    printf '%s\n' '{"id":"x1","created_at":"2026-01-01T00:00:00.000Z","text":"a"}' \
        '{"id":5,"created_at":"2026-01-01T00:00:00.000Z","text":"b","user":{"followers_count":"many"}}' \
        '{"id":6,"created_at":"2026-01-01T00:00:00.000Z","text":"c","truncated":"no"}' |
        kcat -b "$EDDY_KAFKA" -P -t "$EDDY_TWEETS_TOPIC" -p 1
    "$EDDY" run -c $CFG --exit-when-idle 3s --stats "$o/stats.json" 2> "$o/log"; rc=$?
    check_eq "$label: run exits 0" 0 "$rc"
    check_eq "$label: --stats: $N rows written, 3 rejected" "$N 3" \
        "$(json_get "$o/stats.json" sinks lake rows_written) $(json_get "$o/stats.json" sinks lake rows_rejected)"
    "$PY" tests/tools/lake_check.py "$EDDY_LAKE" "$fmt" "$o/tweets.jsonl" "$EDDY_TWEETS_TOPIC"
    zstdcat "$EDDY_LAKE.rejects"/part-*.jsonl.zst > "$o/rejects.jsonl" 2>/dev/null
    "$PY" - "$o/rejects.jsonl" "$EDDY_TWEETS_TOPIC" > "$o/rejects.txt" <<'PYEOF'
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(json.loads(l)["value"])
    print(d["position"].replace(sys.argv[2], "T"), d["column"], d["error"].split(";")[0])
PYEOF
    check_eq "$label: the 3 misfits are in the rejects lake, naming position and column" \
"T/1@$(($(kcat -b "$EDDY_KAFKA" -Q -t "$EDDY_TWEETS_TOPIC:1:-1" 2>/dev/null | awk '{print $NF}') - 3)) id field 'id' is a string
T/1@$(($(kcat -b "$EDDY_KAFKA" -Q -t "$EDDY_TWEETS_TOPIC:1:-1" 2>/dev/null | awk '{print $NF}') - 2)) followers field 'user.followers_count' is a string
T/1@$(($(kcat -b "$EDDY_KAFKA" -Q -t "$EDDY_TWEETS_TOPIC:1:-1" 2>/dev/null | awk '{print $NF}') - 1)) truncated field 'truncated' is a string" \
        "$(sort -t@ -k2n "$o/rejects.txt")"
    check "$label: the log names a rejected record's position and column" \
        grep -q "record rejected at $EDDY_TWEETS_TOPIC/1@[0-9]* (source tweets), column id" "$o/log"
}
run_lake jsonl jsonl
# Parquet under a non-UTC zone: timestamps are instants (isAdjustedToUTC=true),
# partitions are UTC, whatever TZ the writer runs in.
TZ=America/New_York run_lake parquet parquet

# The example (config/examples/tweets_lake.yaml) over the same topic: its
# `where` (a per-record alert into the lake) against Python's re.
o=$B/example; mkdir -p "$o"
export EDDY_LAKE=$o/lake EDDY_GROUP="eddy-test-lake-$RUN-example"
"$EDDY" run -c config/examples/tweets_lake.yaml --exit-when-idle 3s --stats "$o/stats.json" 2> "$o/log"
check_eq "example: run exits 0" 0 "$?"
check "example: the lake holds exactly the tweets about data science, AI, ML or big data" \
    "$PY" - "$B/jsonl/tweets.jsonl" "$EDDY_LAKE" <<'PYEOF'
import glob, json, re, subprocess, sys
want = sorted(t["id"] for t in map(json.loads, open(sys.argv[1]))
              if re.search(r"(?i)data science|\bai\b|machine learning|big data", t["text"]))
import pyarrow.parquet as pq
got = []
for f in glob.glob(sys.argv[2] + "/dt=*/hour=*/part-*.parquet"):
    got += pq.read_table(f, columns=["id"]).column("id").to_pylist()
print(f"# {len(want)} expected, {len(got)} in the lake")
sys.exit(not (0 < len(want) < 20000 and sorted(got) == want))
PYEOF

# --- bad lake configs: file:line:col and what was expected
bad() { # NAME SINK-BODY EXPECTED-REGEX
    printf 'sources:\n  s: { directory: { path: /tmp }, format: json, to: [l] }\nsinks:\n  l: %s\n' "$2" > "$B/$1.yaml"
    "$EDDY" check -c "$B/$1.yaml" > "$B/$1.out" 2>&1; rc=$?
    check_eq "bad lake ($1): exit 78" 78 "$rc"
    check "bad lake ($1): $(sed -n 1p "$B/$1.out" | cut -c1-70)…" grep -qE "$3" "$B/$1.out"
}
bad no_columns '{ lake: { path: /tmp/x, format: jsonl } }' \
    "no_columns.yaml:4:3: sink 'l' has no columns; expected .columns:"
bad part_col '{ lake: { path: /tmp/x, format: jsonl, partition_by: "dt={day}" }, columns: { id: id } }' \
    "part_col.yaml:4:59: invalid partition_by .*\\{day\\} in \"dt=\\{day\\}\" is not one of .columns."
bad part_fmt '{ lake: { path: /tmp/x, format: jsonl, partition_by: "dt={ts}" }, columns: { ts: "t timestamp" } }' \
    "is a timestamp column; give its format, e.g. \\{ts:%Y-%m-%d\\}"
bad jsonl_snappy '{ lake: { path: /tmp/x, format: jsonl, compression: snappy }, raw: true }' \
    "jsonl_snappy.yaml:4:58: .*format: jsonl. is written as zstd"
bad col_type '{ lake: { path: /tmp/x, format: jsonl }, columns: { id: "id int32" } }' \
    "col_type.yaml:4:56: invalid columns in sink 'l': column 'id': unknown type 'int32'"
bad meta '{ lake: { path: /tmp/x, format: jsonl }, columns: { t: "@topik" } }' \
    "unknown metadata '@topik'; expected @topic, @partition"

# restart_lake LABEL FORMAT SIGNAL DUPS: tweets produced in real time while
# eddy runs; eddy gets SIGNAL in mid-stream, then a second run reads the rest.
restart_lake() {
    local label=$1 fmt=$2 sig=$3 dups=$4 o=$B/$1
    mkdir -p "$o"
    export EDDY_TWEETS_TOPIC="eddy.test.lake.$RUN.$label" EDDY_GROUP="eddy-test-lake-$RUN-$label"
    export EDDY_LAKE=$o/lake EDDY_LAKE_FORMAT=$fmt EDDY_ROLL_INTERVAL=700ms EDDY_FLUSH=100ms
    scripts/kafka-topics create "$EDDY_TWEETS_TOPIC" 3 >/dev/null
    "$EDDY" gen tweets --count $N --rate 8000 --seed 11 --out "$o/tweets.jsonl" 2>/dev/null
    "$EDDY" run -c $CFG --stats "$o/stats1.json" 2> "$o/log1" & local pid=$!
    # 20000 tweets at 8000 per wall-clock second: eddy stops at about half.
    "$EDDY" gen tweets --count $N --rate 8000 --seed 11 --realtime --topic "$EDDY_TWEETS_TOPIC" 2>/dev/null &
    local gen=$!
    sleep 1.5
    if [ "$sig" = KILL ]; then
        # kill -9 only once a checkpoint made a file visible (its offsets are
        # committed right after): under load the first checkpoint can come
        # after 1.5 s, and a kill before it makes the restart read everything
        local i=0
        while [ $i -lt 300 ] && ! find "$EDDY_LAKE" -name 'part-*' -type f 2>/dev/null | grep -q .; do
            sleep 0.1; i=$((i + 1))
        done
        sleep 0.3
    fi
    kill -"$sig" "$pid"; wait "$pid"; local rc=$?
    wait "$gen"
    check "$label: eddy stopped by SIG$sig in mid-stream (exit $rc)" test "$rc" -ne 255
    "$EDDY" run -c $CFG --exit-when-idle 3s --stats "$o/stats2.json" 2> "$o/log2"; rc=$?
    check_eq "$label: the restart exits 0" 0 "$rc"
    local w1 w2
    w1=$(json_get "$o/stats1.json" sinks lake rows_written 2>/dev/null || echo 0)
    w2=$(json_get "$o/stats2.json" sinks lake rows_written)
    if [ "$sig" = KILL ]; then # no stats after kill -9: the restart must not start over
        check "$label: the restart wrote the rest, not everything again ($w2 of $N)" \
            test "$w2" -gt 0 -a "$w2" -lt "$N"
    else
        check "$label: both runs wrote part of the tweets ($w1 + $w2)" test "${w1:-0}" -gt 0 -a "$w2" -gt 0
    fi
    "$PY" tests/tools/lake_check.py "$EDDY_LAKE" "$fmt" "$o/tweets.jsonl" "$EDDY_TWEETS_TOPIC" --dups "$dups"
}
# The tweets carry Kafka timestamps of 2026-01-01: under the default 7-day
# retention the broker deleted unread input at its 5-minute retention check,
# and the restart skipped to the new log start (offsets missing from the lake).
check "the test broker has no time-based retention (scripts/services: log.retention.ms=-1)" \
    grep -qx 'log.retention.ms=-1' "${EDDY_SERVICES_DIR:-$EDDY_ROOT/.services}/kafka/server.properties"
restart_lake sigterm jsonl TERM none
restart_lake sigterm_parquet parquet TERM none
# kill -9 in mid-stream: nothing is lost (every tweet in the lake, stages left
# by the crash published at the restart), and the only tweets written twice
# are, per Kafka partition, one run of consecutive offsets: the checkpoints
# acked but not committed (docs/sinks-lake-cassandra.md "Guarantee").
restart_lake sigkill_parquet parquet KILL tail
restart_lake sigkill jsonl KILL tail
exit 0
