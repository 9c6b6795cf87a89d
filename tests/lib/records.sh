# shellcheck shell=bash
# records.sh — the record pipelines of the tutorials (issue 9) end to end
# against the real servers: generated input (`eddy gen`, docs/gen.md) in a
# fresh ONE-partition Kafka topic (so each record's offset is its line in the
# generated file), the example pipeline of config/examples run under
# --exit-when-idle, what its sinks hold printed, and compared with an
# independent computation over the same input (tests/tools/records_check.py,
# tests/tools/transforms_oracle.py) read back by third-party readers
# (pyarrow, psql, the DataStax Python driver, kcat, redis-cli). Used by
# scripts/demo-records (make demo-records) and, on less input, by
# tests/integration/t_records.sh. It builds on tests/lib/patterns.sh
# (pat_verdict, pat_same, pat_stat, pat_gen, pat_run: sourced here) and needs
# `eval "$(scripts/services env postgres mariadb redis kafka cassandra)"`,
# the current directory at the repository root and:
#
#   PAT_OUT      a directory for the input, dumps, logs and answers
#   PAT_RUN      a run id: topics and consumer groups are new per run
#   EDDY_PREFIX  prefix of the tables and Redis keys ("" = the examples' names)
#   EDDY_CASSANDRA_KEYSPACE  the Cassandra keyspace (default eddy)
#
#   rec_lake N RATE      tweets → `where … matches` → the Parquet lake (tweets_lake.yaml)
#   rec_users N          users → PostgreSQL and MariaDB (users_to_postgres.yaml) and
#                        Cassandra (users_to_cassandra.yaml), upserted by id
#   rec_sentiment N      reviews → the Lua scorer → the sentiment topic (sentiment.yaml)
#
# Each prints what it does and what the sinks hold, then one verdict line per
# check, and appends `LABEL<TAB>VERDICT` to $PAT_OUT/verdicts. It returns 0
# only if every check matched.
# shellcheck source=patterns.sh
. tests/lib/patterns.sh
REC_PY=${EDDY_CACHE:-$HOME/.cache/eddy}/venv/bin/python # pyarrow, cassandra-driver (scripts/deps)
REC_CHECK=tests/tools/records_check.py

# rec_by_exit CMD...: a verdict line from a checker that says what differs and
# exits 1: "MATCH (its last line)" on exit 0, else "MISMATCH: its first line".
rec_by_exit() {
    local out
    if out=$("$@" 2>&1); then echo "MATCH (${out##*$'\n'})"
    else echo "MISMATCH: ${out%%$'\n'*}"; fi
}

# rec_check_source NAME SOURCE N: the run read N records and rejected none.
rec_check_source() {
    pat_same "$1: records read, rejected" "$3 0" \
        "$(pat_stat "$PAT_OUT/$1.stats.json" sources "$2" inputs) $(pat_stat "$PAT_OUT/$1.stats.json" sources "$2" rejected)"
}

rec_lake() {
    local n=$1 rate=$2 conf=config/examples/tweets_lake.yaml ok=0 ev=$PAT_OUT/tweets.jsonl
    echo "== tweets to the bronze lake ($conf): those about data science, AI, machine learning"
    echo "   or big data (where: text matches …) → Parquet (zstd), partitioned by dt=/hour= of created_at"
    export EDDY_TWEETS_TOPIC="tweets.records.$PAT_RUN" EDDY_GROUP="eddy-lake-$PAT_RUN"
    export EDDY_LAKE=$PAT_OUT/lake/bronze/tweets
    rm -rf "$PAT_OUT/lake"
    pat_gen tweets "$n" "$rate" "$ev" "$EDDY_TWEETS_TOPIC" || return 1
    pat_run lake $conf || ok=1
    echo "   the lake $EDDY_LAKE, read with pyarrow:"
    "$REC_PY" $REC_CHECK lake-show "$EDDY_LAKE"
    echo "   checks against tests/tools/records_check.py (Python's re, pyarrow) over the same $n tweets:"
    pat_verdict "lake: each matching tweet once, in its partition, equal" \
        "$REC_PY" $REC_CHECK lake "$EDDY_LAKE" "$ev" "$EDDY_TWEETS_TOPIC" || ok=1
    pat_verdict "lake: ts is a TIMESTAMP adjusted to UTC" "$REC_PY" $REC_CHECK lake-schema "$EDDY_LAKE" || ok=1
    pat_same "lake: rows written (the tweets Python's re matches)" \
        "$("$REC_PY" $REC_CHECK lake-count "$ev")" "$(pat_stat "$PAT_OUT/lake.stats.json" sinks bronze rows_written)" || ok=1
    rec_check_source lake tweets "$n" || ok=1
    return $ok
}

# rec_cql KEYSPACE STATEMENT: one CQL statement through the Python driver.
rec_cql() {
    "$REC_PY" -c 'import sys
from cassandra.cluster import Cluster
h, p = sys.argv[1].rsplit(":", 1)
c = Cluster([h], port=int(p)); c.connect().execute(sys.argv[2]); c.shutdown()' "$EDDY_CASSANDRA" "$1"
}

rec_users() {
    local n=$1 ok=0 ev=$PAT_OUT/users.jsonl table=${EDDY_PREFIX}users ks=${EDDY_CASSANDRA_KEYSPACE:-eddy}
    echo "== users upserted by id: config/examples/users_to_postgres.yaml → PostgreSQL (and MariaDB),"
    echo "   config/examples/users_to_cassandra.yaml → Cassandra, both reading the same topic"
    export EDDY_USERS_TOPIC="users.records.$PAT_RUN" EDDY_USERS_TABLE=$table EDDY_CASSANDRA_KEYSPACE=$ks
    export EDDY_REJECTS_TOPIC="users.rejects.$PAT_RUN"
    psql -q "$EDDY_PG_DSN" -c "DROP TABLE IF EXISTS $table" > /dev/null 2>&1
    pat_my "DROP TABLE IF EXISTS $table" 2>/dev/null
    rec_cql "DROP TABLE IF EXISTS \"$ks\".\"$table\"" 2>/dev/null
    pat_gen users "$n" 1000 "$ev" "$EDDY_USERS_TOPIC" || return 1
    EDDY_GROUP="eddy-users-pg-$PAT_RUN" pat_run users_pg config/examples/users_to_postgres.yaml || ok=1
    EDDY_GROUP="eddy-users-cassandra-$PAT_RUN" pat_run users_cassandra config/examples/users_to_cassandra.yaml || ok=1
    echo "   PostgreSQL $table: $(psql -qAt "$EDDY_PG_DSN" -c "SELECT count(*) FROM $table" 2>&1) rows; three of them:"
    psql -q "$EDDY_PG_DSN" -c "SELECT id, first_name, last_name, email, city, registered FROM $table
                               ORDER BY id LIMIT 3" 2>&1 | sed 's/^/      /'
    echo "   MariaDB $table: $(pat_my "SELECT count(*) FROM $table" 2>&1) rows"
    "$REC_PY" $REC_CHECK cassandra-show "$EDDY_CASSANDRA" "$ks" "$table" 2>&1
    psql -qAt "$EDDY_PG_DSN" -c "SELECT row_to_json(u) FROM $table u" > "$PAT_OUT/users_pg.jsonl" 2>&1
    mariadb -N -B -r -h "$EDDY_MYSQL_HOST" -P "$EDDY_MYSQL_PORT" -u "$EDDY_MYSQL_USER" "$EDDY_MYSQL_DB" \
        -e "SELECT JSON_OBJECT('id', id, 'first_name', first_name, 'last_name', last_name,
            'email', email, 'gender', gender, 'city', city, 'registered', registered, 'age', age)
            FROM $table" > "$PAT_OUT/users_my.jsonl" 2>&1
    local ids
    ids=$(python3 -c 'import json, sys; print(len({json.loads(l)["id"] for l in open(sys.argv[1])}))' "$ev")
    echo "   checks against tests/tools/records_check.py over the same $n users ($ids ids: the others are updates):"
    pat_verdict "users: PostgreSQL rows (psql row_to_json)" \
        "$REC_PY" $REC_CHECK users-pg "$ev" "$PAT_OUT/users_pg.jsonl" || ok=1
    pat_verdict "users: Cassandra rows (Python driver)" \
        "$REC_PY" $REC_CHECK users-cassandra "$EDDY_CASSANDRA" "$ks" "$table" "$ev" || ok=1
    pat_verdict "users: MariaDB rows (JSON_OBJECT)" \
        "$REC_PY" $REC_CHECK users-my "$ev" "$PAT_OUT/users_my.jsonl" || ok=1
    rec_check_source users_pg users "$n" || ok=1
    rec_check_source users_cassandra users "$n" || ok=1
    pat_same "users: rows written to PostgreSQL, MariaDB, Cassandra" "$n $n $n" \
        "$(pat_stat "$PAT_OUT/users_pg.stats.json" sinks pg_users rows_written) $(pat_stat "$PAT_OUT/users_pg.stats.json" sinks my_users rows_written) $(pat_stat "$PAT_OUT/users_cassandra.stats.json" sinks cassandra_users rows_written)" || ok=1
    return $ok
}

rec_sentiment() {
    local n=$1 ok=0 conf=config/examples/sentiment.yaml ev=$PAT_OUT/reviews.jsonl
    echo "== reviews scored for sentiment ($conf: config/examples/sentiment.lua) → the sentiment topic"
    export EDDY_REVIEWS_TOPIC="reviews.records.$PAT_RUN" EDDY_GROUP="eddy-sentiment-$PAT_RUN"
    export EDDY_SENTIMENT_TOPIC="${EDDY_PREFIX}streaming.sentiment.output.$PAT_RUN"
    export EDDY_SENTIMENT_REJECTS_TOPIC="${EDDY_PREFIX}streaming.sentiment.rejects.$PAT_RUN"
    pat_redis_clean "${EDDY_PREFIX}negative_reviews"
    scripts/kafka-topics create "$EDDY_SENTIMENT_TOPIC" 1 > /dev/null || return 1
    pat_gen reviews "$n" 100 "$ev" "$EDDY_REVIEWS_TOPIC" || return 1
    pat_run sentiment $conf || ok=1
    kcat -b "$EDDY_KAFKA" -C -t "$EDDY_SENTIMENT_TOPIC" -o beginning -e -q -f '%k\t%s\n' \
        > "$PAT_OUT/sentiment.tsv" 2>/dev/null
    redis-cli -p "$EDDY_REDIS_PORT" --raw ZRANGE "${EDDY_PREFIX}negative_reviews" 0 -1 WITHSCORES |
        paste -d ' ' - - > "$PAT_OUT/negative.txt"
    echo "   Kafka $EDDY_SENTIMENT_TOPIC: $(grep -c . "$PAT_OUT/sentiment.tsv") messages (kcat); the first five:"
    head -n 5 "$PAT_OUT/sentiment.tsv" | python3 -c 'import json, sys
for line in sys.stdin:
    k, v = line.rstrip("\n").split("\t", 1)
    r = json.loads(v)
    print("      key %-6s %-8s score %3s  %s" % (k, r.get("sentiment"), r.get("score"), r.get("text")))'
    echo "   Redis ${EDDY_PREFIX}negative_reviews: $(grep -c . "$PAT_OUT/negative.txt") products with negative reviews"
    echo "   checks against tests/tools/transforms_oracle.py (the scorer again in Python) over the same $n reviews:"
    pat_verdict "sentiment: every review once, keyed by id, scored" rec_by_exit \
        python3 tests/tools/transforms_oracle.py sentiment "$ev" "$PAT_OUT/sentiment.tsv" "$PAT_OUT/negative.txt" || ok=1
    rec_check_source sentiment reviews "$n" || ok=1
    return $ok
}
