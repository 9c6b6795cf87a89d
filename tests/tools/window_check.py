#!/usr/bin/env python3
"""window_check.py — compares what a sink holds with what
tests/tools/window_oracle.py says it must hold. Prints one line, `MATCH
(...)` or `MISMATCH: ...` with the first differences, and exits 0 or 1.

    window_check.py sql ORACLE.json DUMP.tsv --values a,b [--approx c=0.02] [--close] [--at-least]
        DUMP: tab-separated rows: the key columns (in the aggregation's
        order), window_start and window_end in epoch ms, then the values.
        --close compares with the rows emitted at close (close_values).
        --at-least (after kill -9: at-least-once): every window present and
        no value below the oracle's.
    window_check.py zsets ORACLE.json DUMP.tsv
        DUMP: `zset<TAB>member<TAB>score` for every member of every sorted
        set of the sink (the oracle's per-window top N).
    window_check.py kafka ORACLE.json DUMP.jsonl --values a,b [--approx c=0.02] [--once]
        DUMP: the topic's messages, one JSON changelog row a line, in log
        order; the last row of each (key, window) is compared. --once: every
        window exactly once, with its close_values (emit: on_close).
    window_check.py alerts ORACLE.json DUMP.jsonl --alert NAME [--at-least]
        DUMP: alert records (JSON); the (key, window) of NAME's alerts must be
        the oracle's, each once (--at-least, after kill -9: each at least
        once, none other).
    window_check.py records EXPECTED.json DUMP.txt [--field records|late_routed]
        DUMP: message values, one a line; as a multiset they must be the
        oracle's records (per-record alerts, or late records routed to a sink).

Window bounds in Kafka rows are read from "window": {"start", "end"} or from
top-level "window_start"/"window_end".
"""
import argparse
import collections
import json
import sys


def close(a, b, approx=None):
    if a is None or b is None:
        return a is None and b is None
    a, b = float(a), float(b)
    if approx is not None:
        return abs(a - b) <= approx * max(abs(b), 1.0)
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0) or abs(a - b) < 1e-6


def approx_map(items):
    out = {}
    for it in items or []:
        name, _, tol = it.partition("=")
        out[name] = float(tol)
    return out


def expected_rows(oracle, use_close):
    rows = {}
    for r in oracle["rows"]:
        vals = r.get("close_values") if use_close else r["values"]
        if use_close and vals is None:
            continue  # reached only by late records: no row at close
        rows[(tuple(r["key"].values()), r["window_start"], r["window_end"])] = vals
    return rows


def report(ok, what, diffs):
    if ok:
        print("MATCH (%s)" % what)
        return 0
    print("MISMATCH: %s; %s" % (what, "; ".join(diffs[:5])))
    return 1


def compare(expected, actual, names, approx, what, at_least=False):
    diffs = []
    for k in sorted(set(expected) - set(actual)):
        diffs.append("missing %s" % (k,))
    for k in sorted(set(actual) - set(expected)):
        diffs.append("unexpected %s" % (k,))
    for k in sorted(set(expected) & set(actual)):
        for i, n in enumerate(names):
            if at_least and actual[k][i] is not None and expected[k][n] is not None and \
                    float(actual[k][i]) >= float(expected[k][n]) - 1e-6:
                continue
            if not close(actual[k][i], expected[k][n], approx.get(n)):
                diffs.append("%s %s: %r, expected %r" % (k, n, actual[k][i], expected[k][n]))
    return report(not diffs, "%d %s" % (len(expected), what) if not diffs else
                  "%d expected, %d found" % (len(expected), len(actual)), diffs)


def num(x):
    if x in ("", "NULL", "\\N", None):
        return None
    return float(x)


def cmd_sql(a, oracle):
    names = a.values.split(",")
    nkey = len(oracle["rows"][0]["key"]) if oracle["rows"] else 0
    actual = {}
    for line in open(a.dump, encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        if len(f) < 2:
            continue
        if nkey == 0:
            nkey = len(f) - 2 - len(names)
        key = tuple(f[:nkey])
        ws, we = int(float(f[nkey])), int(float(f[nkey + 1]))
        actual[(key, ws, we)] = [num(x) for x in f[nkey + 2:]]
    return compare(expected_rows(oracle, a.close), actual, names, approx_map(a.approx),
                   "rows" + (" (none below the truth)" if a.at_least else ""), a.at_least)


def bounds(row):
    w = row.get("window")
    if isinstance(w, dict):
        return int(w["start"]), int(w["end"])
    return int(row["window_start"]), int(row["window_end"])


def cmd_kafka(a, oracle):
    names = a.values.split(",")
    last, seen = {}, collections.Counter()
    for line in open(a.dump, encoding="utf-8"):
        if not line.strip():
            continue
        row = json.loads(line)
        ws, we = bounds(row)
        k = (tuple(str(v) for v in row["key"].values()), ws, we)
        seen[k] += 1
        last[k] = [row.get(n) for n in names]
    twice = ["%s emitted %d times" % (k, n) for k, n in seen.items() if n > 1] if a.once else []
    rc = compare(expected_rows(oracle, a.once), last, names, approx_map(a.approx), "windows")
    if twice:
        print("MISMATCH: " + "; ".join(twice[:5]))
        return 1
    return rc


def cmd_zsets(a, oracle):
    expected = {(t["zset"], m): s for t in oracle["top"] for m, s in t["members"]}
    actual = {}
    for line in open(a.dump, encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        if len(f) == 3:
            actual[(f[0], f[1])] = float(f[2])
    diffs = ["missing %s" % (k,) for k in sorted(set(expected) - set(actual))]
    diffs += ["unexpected %s" % (k,) for k in sorted(set(actual) - set(expected))]
    diffs += ["%s: score %s, expected %s" % (k, actual[k], expected[k])
              for k in sorted(set(expected) & set(actual)) if not close(actual[k], expected[k])]
    return report(not diffs, "%d sorted sets, %d members" % (len(oracle["top"]), len(expected))
                  if not diffs else "%d members expected, %d found" % (len(expected), len(actual)), diffs)


def cmd_alerts(a, oracle):
    expected = collections.Counter(
        (tuple(al["key"].values()), al["window_start"], al["window_end"])
        for al in oracle["alerts"] if al["alert"] == a.alert)
    actual = collections.Counter()
    for line in open(a.dump, encoding="utf-8"):
        if not line.strip():
            continue
        al = json.loads(line)
        if al.get("alert") != a.alert:
            continue
        ws, we = bounds(al)
        actual[(tuple(str(v) for v in al["key"].values()), ws, we)] += 1
    if a.at_least:  # after kill -9: an alert may fire again, but none may be missing or new
        actual = collections.Counter(set(actual))
    diffs = ["missing %s" % (k,) for k in sorted(expected - actual)]
    diffs += ["unexpected or repeated %s" % (k,) for k in sorted(actual - expected)]
    return report(not diffs, "%d alerts" % sum(expected.values()) if not diffs else
                  "%d alerts expected, %d found" % (sum(expected.values()), sum(actual.values())), diffs)


def cmd_records(a, oracle):
    expected = collections.Counter(r["record"] for r in oracle[a.field])
    actual = collections.Counter(line.rstrip("\n") for line in open(a.dump, encoding="utf-8")
                                 if line.strip())
    diffs = ["missing %s" % k[:80] for k in sorted(expected - actual)]
    diffs += ["unexpected %s" % k[:80] for k in sorted(actual - expected)]
    return report(not diffs, "%d records" % sum(expected.values()) if not diffs else
                  "%d records expected, %d found" % (sum(expected.values()), sum(actual.values())), diffs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("sql", "kafka", "zsets", "alerts", "records"):
        p = sub.add_parser(name)
        p.add_argument("oracle")
        p.add_argument("dump")
        if name in ("sql", "kafka"):
            p.add_argument("--values", required=True)
            p.add_argument("--approx", action="append")
        if name == "sql":
            p.add_argument("--close", action="store_true")
            p.add_argument("--at-least", action="store_true")
        if name == "kafka":
            p.add_argument("--once", action="store_true")
        if name == "alerts":
            p.add_argument("--alert", required=True)
            p.add_argument("--at-least", action="store_true")
        if name == "records":
            p.add_argument("--field", default="records")
    a = ap.parse_args(argv)
    with open(a.oracle, encoding="utf-8") as f:
        oracle = json.load(f)
    return globals()["cmd_" + a.cmd](a, oracle)


if __name__ == "__main__":
    sys.exit(main())
