#!/usr/bin/env python3
"""records_check.py -- the independent checks of `make demo-records`
(tests/lib/records.sh): what the record pipelines' sinks must hold, computed
from the generated input alone, compared with what third-party readers read
back (pyarrow for the Parquet lake, psql's row_to_json for PostgreSQL, the
DataStax Python driver for Cassandra), never with eddy's own code.

    records_check.py lake-count TWEETS.jsonl
        the number of tweets about data science, AI, machine learning or big
        data (the filter of config/examples/tweets_lake.yaml, in Python's re)
    records_check.py lake-show LAKE
        the lake's partitions: files and rows per dt=/hour= directory (pyarrow)
    records_check.py lake LAKE TWEETS.jsonl TOPIC
        every matching tweet in exactly one row, in the partition of its
        created_at, every column of config/examples/tweets_lake.yaml equal to
        the input (the Kafka position: partition 0, offset = its line number
        from 0, as the input is the whole of a fresh one-partition topic), no
        other row, no hidden (stage or temporary) file left
    records_check.py lake-schema LAKE
        every file's `ts` column is a Parquet TIMESTAMP adjusted to UTC
        (pyarrow: timestamp[us, tz=UTC])
    records_check.py users-pg USERS.jsonl DUMP
        DUMP: `SELECT row_to_json(u) FROM users u` (psql -At) against the last
        fitting record of each id (config/examples/users_to_postgres.yaml's
        columns, the rules of tests/tools/cassandra_check.py)
    records_check.py users-my USERS.jsonl DUMP
        the same for MariaDB: DUMP is `SELECT JSON_OBJECT('id', id, …) FROM
        users` (mariadb -N -B -r), `registered` a DATETIME(3) in UTC
    records_check.py users-cassandra HOST:PORT KEYSPACE TABLE USERS.jsonl
        the Cassandra table against the same (cassandra_check.py's columns)
    records_check.py cassandra-show HOST:PORT KEYSPACE TABLE
        the row count and three rows, read with the Python driver

A check prints one line first: "MATCH (…)" or "MISMATCH: …", then details;
it exits 0 on MATCH, 1 on MISMATCH.
"""
import datetime
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cassandra_check as cc  # noqa: E402  (the users' rules, shared)

ABOUT_DATA = re.compile(r"(?i)data science|\bai\b|machine learning|big data")
UTC = datetime.timezone.utc
# users_to_postgres.yaml's columns: cassandra_check.py's (users_to_cassandra.yaml)
# with gender in place of postcode; (dotted path, type, required)
PG_COLS = {c: v for c, v in cc.COLS.items() if c != "postcode"}
PG_COLS["gender"] = ("gender", "text", False)


def verdict(problems, summary):
    if problems:
        print("MISMATCH: %s (%d problems)" % (problems[0], len(problems)))
        for p in problems[1:10]:
            print("  " + p)
        return 1
    print("MATCH (%s)" % summary)
    return 0


def ms_of(iso):
    """Epoch ms of an ISO-8601 time; one without an offset (MariaDB's
    DATETIME(3), which the sink writes in UTC) is read as UTC."""
    t = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return round(t.timestamp() * 1000)


def matching(tweets_path):
    """[(offset, tweet)] of the tweets the example's filter keeps."""
    out = []
    with open(tweets_path, encoding="utf-8") as f:
        for off, line in enumerate(f):
            t = json.loads(line)
            if ABOUT_DATA.search(t["text"]):
                out.append((off, t))
    return out


def lake_files(lake):
    visible, hidden = [], []
    for d, _, files in os.walk(lake):
        for f in files:
            (hidden if f.startswith(".") else visible).append(os.path.join(d, f))
    return sorted(visible), sorted(hidden)


def lake_show(lake):
    import pyarrow.parquet as pq
    parts = {}
    for f in lake_files(lake)[0]:
        p = parts.setdefault(os.path.relpath(os.path.dirname(f), lake), [0, 0])
        p[0] += 1
        p[1] += pq.ParquetFile(f).metadata.num_rows
    print("      %-28s %5s %8s" % ("partition", "files", "rows"))
    for k in sorted(parts):
        print("      %-28s %5d %8d" % (k, parts[k][0], parts[k][1]))
    print("      %-28s %5d %8d" % ("total", sum(v[0] for v in parts.values()),
                                   sum(v[1] for v in parts.values())))
    return 0


def lake(lake_dir, tweets_path, topic):
    import pyarrow.parquet as pq
    visible, hidden = lake_files(lake_dir)
    problems = []
    problems += ["not a Parquet file: " + f for f in visible if not f.endswith(".parquet")]
    problems += ["hidden file left: " + f for f in hidden if not f.endswith(".eddy-lake.lock")]
    got = {}
    for f in visible:
        part = os.path.relpath(os.path.dirname(f), lake_dir)
        for r in pq.read_table(f).to_pylist():
            got.setdefault(r["id"], []).append((part, r))
    want = matching(tweets_path)
    ids = set()
    for off, t in want:
        ids.add(t["id"])
        rows = got.get(t["id"], [])
        if len(rows) != 1:
            problems.append("tweet %d (offset %d) is in %d rows" % (t["id"], off, len(rows)))
            continue
        part, r = rows[0]
        ms = ms_of(t["created_at"])
        when = datetime.datetime.fromtimestamp(ms / 1000, UTC)
        ts = r["ts"]
        if isinstance(ts, datetime.datetime):
            ts = round((ts if ts.tzinfo else ts.replace(tzinfo=UTC)).timestamp() * 1000)
        expect = {"id": t["id"], "ts": ms, "text": t["text"], "lang": t.get("lang"),
                  "user_id": t["user"]["id"], "screen_name": t["user"]["screen_name"],
                  "followers": t["user"]["followers_count"],
                  "hashtags": t["entities"]["hashtags"], "topic": topic, "partition": 0,
                  "offset": off}
        have = dict(r, ts=ts, hashtags=json.loads(r["hashtags"]) if r.get("hashtags") else None)
        have = {k: have.get(k) for k in expect}
        if have != expect:
            diff = {k: (have[k], expect[k]) for k in expect if have[k] != expect[k]}
            problems.append("tweet %d: (lake, input) differ in %s" % (t["id"], diff))
        if part != when.strftime("dt=%Y-%m-%d/hour=%H"):
            problems.append("tweet %d created %s is in partition %s" % (t["id"], t["created_at"], part))
    extra = [i for i in got if i not in ids]
    if extra:
        problems.append("%d rows are no matching tweet, e.g. id %s" % (len(extra), extra[0]))
    nparts = len({p for rows in got.values() for p, _ in rows})
    return verdict(problems, "%d tweets of %d, each once in its partition (%d partitions, %d files), "
                   "every column equal" % (len(want), sum(1 for _ in open(tweets_path)), nparts,
                                           len(visible)))


def lake_schema(lake_dir):
    import pyarrow.parquet as pq
    problems, n = [], 0
    for f in lake_files(lake_dir)[0]:
        n += 1
        typ = pq.read_schema(f).field("ts").type
        if str(typ) != "timestamp[us, tz=UTC]":
            problems.append("%s: ts is %s, not timestamp[us, tz=UTC]" % (f, typ))
    if n == 0:
        problems.append("no file in " + lake_dir)
    return verdict(problems, "%d files: ts is TIMESTAMP(isAdjustedToUTC=true, MICROS)" % n)


def users_compare(want, got, where):
    problems = ["id %s: expected %s, %s holds %s" % (k, want.get(k), where, got.get(k))
                for k in sorted(set(want) | set(got)) if want.get(k) != got.get(k)]
    return verdict(problems, "%d ids, the last version of each, every column equal" % len(want))


def users_dump(users_path, dump_path, where):
    """A dump of one JSON object per row (PostgreSQL row_to_json, MariaDB
    JSON_OBJECT) against the last fitting record of each id."""
    want, _ = cc.expected([users_path], PG_COLS)
    got = {}
    for line in open(dump_path, encoding="utf-8"):
        if line.strip():
            r = json.loads(line)
            if r.get("registered") is not None:
                r["registered"] = ms_of(r["registered"])
            got[r["id"]] = {c: r.get(c) for c in PG_COLS}
    return users_compare(want, got, where)


def users_pg(users_path, dump_path):
    return users_dump(users_path, dump_path, "PostgreSQL")


def users_my(users_path, dump_path):
    return users_dump(users_path, dump_path, "MariaDB")


def users_cassandra(hostport, keyspace, table, users_path):
    want, _ = cc.expected([users_path])
    return users_compare(want, cc.read_back(hostport, keyspace, table), "Cassandra")


def cassandra_show(hostport, keyspace, table):
    from cassandra.cluster import Cluster
    host, port = hostport.rsplit(":", 1)
    cluster = Cluster([host], port=int(port))
    try:
        s = cluster.connect()
        q = '"%s"."%s"' % (keyspace, table)
        n = s.execute("SELECT count(*) FROM " + q).one()[0]
        print("   Cassandra %s.%s: %d rows (SELECT count(*), Python driver); three of them:" %
              (keyspace, table, n))
        for r in s.execute("SELECT id, first_name, last_name, email, city, registered FROM %s "
                           "WHERE id IN (1, 2, 3)" % q):
            print("      %-5s %-10s %-10s %-36s %-14s %s" % tuple(r))
    finally:
        cluster.shutdown()
    return 0


def main():
    cmds = {"lake-count": lambda p: print(len(matching(p))) or 0, "lake-show": lake_show,
            "lake": lake, "lake-schema": lake_schema, "users-pg": users_pg, "users-my": users_my,
            "users-cassandra": users_cassandra, "cassandra-show": cassandra_show}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit("usage: records_check.py %s ..." % "|".join(cmds))
    sys.exit(cmds[sys.argv[1]](*sys.argv[2:]))


if __name__ == "__main__":
    main()
