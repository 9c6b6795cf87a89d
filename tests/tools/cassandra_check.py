#!/usr/bin/env python3
"""cassandra_check.py — what a Cassandra users table must hold, computed from
the input lines alone, compared with what the DataStax Python driver
(PyPI cassandra-driver, not eddy's client) reads back from the server.

    cassandra_check.py expect INPUT...   prints the expected rows and rejects
    cassandra_check.py compare HOST:PORT KEYSPACE TABLE INPUT...
        exits 0 when the table holds exactly the expected rows (the last
        fitting record of each id, every column equal), else prints the
        differences and exits 1
    cassandra_check.py rejects INPUT...  prints "LINE COLUMN" per misfit
        (COLUMN "-" for a line that is not a JSON object), input order;
        LINE counts the lines of all inputs together, from 1

The columns are those of config/examples/users_to_cassandra.yaml, with the
rules of docs/sinks.md "Records as rows": id bigint (primary key), email
varchar(120) not null, registered timestamptz, age bigint, the others text
(a JSON number kept as its JSON text). Times compare in ms since the epoch.
"""
import datetime
import json
import sys

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
MS = datetime.timedelta(milliseconds=1)
# column: (dotted path, type, required)
COLS = {
    "id": ("id", "bigint", True),
    "first_name": ("name.first", "text", False),
    "last_name": ("name.last", "text", False),
    "email": ("email", "varchar120", True),
    "city": ("location.city", "text", False),
    "postcode": ("location.postcode", "text", False),
    "registered": ("registered.date", "time", False),
    "age": ("dob.age", "bigint", False),
}


class Misfit(Exception):
    def __init__(self, col):
        super().__init__(col)
        self.col = col


def field(rec, path):
    for part in path.split("."):
        if not isinstance(rec, dict) or part not in rec:
            return None
        rec = rec[part]
    return rec


def value(col, v, cols=COLS):
    _, typ, required = cols[col]
    if v is None:
        if required:
            raise Misfit(col)
        return None
    if typ == "bigint":
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v):
            raise Misfit(col)
        return int(v)
    if typ == "time":
        if not isinstance(v, str):
            raise Misfit(col)
        try:
            t = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            raise Misfit(col) from None
        if t.tzinfo is None:
            t = t.replace(tzinfo=datetime.timezone.utc)
        return (t - EPOCH) // MS
    if isinstance(v, (dict, list)):
        raise Misfit(col)
    s = v if isinstance(v, str) else json.dumps(v)
    if typ == "varchar120" and len(s) > 120:
        raise Misfit(col)
    return s


def lines(paths):
    for p in paths:
        with open(p, encoding="utf-8", errors="surrogateescape") as f:
            yield from f


def expected(paths, cols=COLS):
    """(rows by id, [(line, column)] of the misfits); cols: column -> (dotted
    path, type, required) as COLS (tests/tools/records_check.py passes the
    PostgreSQL table's)."""
    rows, bad = {}, []
    for n, line in enumerate(lines(paths), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise Misfit("-")
            row = {c: value(c, field(rec, cols[c][0]), cols) for c in cols}
        except json.JSONDecodeError:
            bad.append((n, "-"))
            continue
        except Misfit as m:
            bad.append((n, m.col))
            continue
        rows[row["id"]] = row
    return rows, bad


def read_back(hostport, keyspace, table):
    from cassandra.cluster import Cluster  # PyPI cassandra-driver, in the eddy venv
    host, port = hostport.rsplit(":", 1)
    cluster = Cluster([host], port=int(port))
    try:
        s = cluster.connect()
        got = {}
        for r in s.execute('SELECT * FROM "%s"."%s"' % (keyspace, table)):
            row = {}
            for c in COLS:
                v = getattr(r, c)
                if isinstance(v, datetime.datetime):
                    v = (v.replace(tzinfo=datetime.timezone.utc) - EPOCH) // MS
                row[c] = v
            got[row["id"]] = row
        return got
    finally:
        cluster.shutdown()


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "expect":
        rows, bad = expected(args)
        for k in sorted(rows):
            print(json.dumps(rows[k], sort_keys=True))
        print("rejects", len(bad))
    elif cmd == "rejects":
        for n, c in expected(args)[1]:
            print(n, c)
    elif cmd == "compare":
        want, _ = expected(args[3:])
        got = read_back(args[0], args[1], args[2])
        diffs = []
        for k in sorted(set(want) | set(got)):
            if want.get(k) != got.get(k):
                diffs.append("id %s: expected %s, read %s" % (k, want.get(k), got.get(k)))
        print("expected %d rows, read %d, %d differ" % (len(want), len(got), len(diffs)))
        for d in diffs[:10]:
            print(d)
        sys.exit(1 if diffs else 0)
    else:
        sys.exit("usage: cassandra_check.py expect|rejects|compare ...")


if __name__ == "__main__":
    main()
