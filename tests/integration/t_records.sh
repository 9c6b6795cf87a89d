#!/usr/bin/env bash
# The record pipelines as `make demo-records` runs them (tests/lib/records.sh),
# on less input: tweets_lake.yaml (Kafka → `where … matches` → the Parquet
# lake, read with pyarrow), users_to_postgres.yaml and users_to_cassandra.yaml
# (Kafka → PostgreSQL, MariaDB, Cassandra, read with psql and the Python
# driver), sentiment.yaml (Kafka → Lua → Kafka, read with kcat), each on
# `eddy gen` input in a one-partition topic, compared with
# tests/tools/records_check.py and tests/tools/transforms_oracle.py.
# Every verdict must be MATCH; then input or dumps with one value changed
# must give MISMATCH (each comparison can fail).
# services: cassandra (tests/run starts it for this script)
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
export EDDY=${EDDY:-$EDDY_ROOT/bin/eddy} PAT_OUT=$EDDY_ROOT/tests/out/records PAT_RUN="t$(date +%s)$$"
export EDDY_PREFIX="t_rec${PAT_RUN}_" EDDY_CASSANDRA_KEYSPACE="eddy_rec$PAT_RUN"
. tests/lib/records.sh
rm -rf "$PAT_OUT"; mkdir -p "$PAT_OUT"
: > "$PAT_OUT/verdicts"

# 4,000 tweets at 1 per second (66 minutes: two hour partitions), 2,000
# users (about 1,800 ids), 2,000 reviews.
pat_check_job lake 5 rec_lake 4000 1
pat_check_job users 7 rec_users 2000
pat_check_job sentiment 3 rec_sentiment 2000
check "lake: the output shows two hour partitions and their row counts" \
    test "$(grep -cE '^ +dt=2026-01-01/hour=0[01] +1 +[0-9]+$' "$PAT_OUT/lake.out")" = 2
check "users: the output shows three PostgreSQL rows and three Cassandra rows" \
    test "$(grep -cE '^ +[123] +(\| )?Grace|^ +[123] ' "$PAT_OUT/users.out")" -ge 6
check_eq "sentiment: the output shows five scored reviews" 5 "$(grep -cE '^ +key [0-9]+ ' "$PAT_OUT/sentiment.out")"

# The checks can fail: one tweet's text changed in the input, one e-mail
# changed in the PostgreSQL dump, one age in the MariaDB dump, one e-mail in
# the input Cassandra is compared with, one score changed on the sentiment
# topic, and a tweet the filter drops added to the input.
mismatch() { # NAME CMD...: CMD's first line is a MISMATCH and it exits 1
    local name=$1 out rc; shift
    out=$("$@" 2>&1); rc=$?
    check "$name" test "$rc" = 1 -a "${out:0:8}" = MISMATCH
}
o=$PAT_OUT
"$REC_PY" - "$o/tweets.jsonl" > "$o/bad_tweets.jsonl" <<'PY'
import json, re, sys
done = False
for line in open(sys.argv[1]):
    t = json.loads(line)
    if not done and re.search(r"(?i)machine learning", t["text"]):
        t["text"] = t["text"].replace("achine", "ACHINE", 1); done = True
    print(json.dumps(t, ensure_ascii=False))
PY
mismatch "a tweet whose text differs by one word is a MISMATCH (lake)" \
    "$REC_PY" $REC_CHECK lake "$o/lake/bronze/tweets" "$o/bad_tweets.jsonl" "$EDDY_TWEETS_TOPIC"
sed '1s/"text":"/"text":"big data /' "$o/tweets.jsonl" > "$o/more_tweets.jsonl"
mismatch "a matching tweet missing from the lake is a MISMATCH" \
    "$REC_PY" $REC_CHECK lake "$o/lake/bronze/tweets" "$o/more_tweets.jsonl" "$EDDY_TWEETS_TOPIC"
sed '1s/"email":"/"email":"x/' "$o/users_pg.jsonl" > "$o/bad_pg.jsonl"
mismatch "a PostgreSQL row with one e-mail changed is a MISMATCH" \
    "$REC_PY" $REC_CHECK users-pg "$o/users.jsonl" "$o/bad_pg.jsonl"
sed '1s/"age": [0-9]*/"age": 999/' "$o/users_my.jsonl" > "$o/bad_my.jsonl"
mismatch "a MariaDB row with one age changed is a MISMATCH" \
    "$REC_PY" $REC_CHECK users-my "$o/users.jsonl" "$o/bad_my.jsonl"
sed '$s/"email":"/"email":"x/' "$o/users.jsonl" > "$o/bad_users.jsonl"
mismatch "Cassandra against an input with one e-mail changed is a MISMATCH" \
    "$REC_PY" $REC_CHECK users-cassandra "$EDDY_CASSANDRA" "$EDDY_CASSANDRA_KEYSPACE" \
    "${EDDY_PREFIX}users" "$o/bad_users.jsonl"
sed '1s/"score":\(-\?[0-9]*\)/"score":9\1/' "$o/sentiment.tsv" > "$o/bad_sentiment.tsv"
check "the sentiment dump was changed" bash -c '! cmp -s "$0" "$1"' "$o/sentiment.tsv" "$o/bad_sentiment.tsv"
check "a review with its score changed is a MISMATCH (transforms_oracle.py exits 1)" bash -c '! python3 \
    tests/tools/transforms_oracle.py sentiment "$0/reviews.jsonl" "$0/bad_sentiment.tsv" "$0/negative.txt"' "$o"
check_eq "pat_verdict records a failing rec_by_exit as MISMATCH and returns 1" "1 MISMATCH: no" \
    "$(PAT_OUT=$PAT_OUT/neg; mkdir -p "$PAT_OUT"; pat_verdict x rec_by_exit sh -c 'echo no; exit 1' > /dev/null; echo "$? $(cut -f2 "$PAT_OUT/verdicts")")"

rec_cql "DROP KEYSPACE IF EXISTS $EDDY_CASSANDRA_KEYSPACE" 2>/dev/null
for t in users; do
    psql -q "$EDDY_PG_DSN" -c "DROP TABLE IF EXISTS ${EDDY_PREFIX}$t" > /dev/null 2>&1
    pat_my "DROP TABLE IF EXISTS ${EDDY_PREFIX}$t" 2>/dev/null
done
exit 0
