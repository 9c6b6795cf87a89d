#!/usr/bin/env python3
"""Checks an S9 orders table (eddy's or the Spark peer's) against the events.

    s9_orders_check.py EVENTS.jsonl TABLE.tsv

EVENTS.jsonl: the orders as `eddy gen orders --out` wrote them (the same
options and seed as the run that filled the topic give the same bytes).
TABLE.tsv: `window_start  category  orders  revenue  biggest` per row, as the
mariadb client prints `SELECT UNIX_TIMESTAMP(window_start) * 1000, category,
orders, revenue, biggest` with -N -B.

The expected rows are computed here, independently of eddy and Spark: the
orders whose status is not "cancelled", grouped by category and 1-minute
tumbling window of `ts` (epoch ms; window start = ts - ts mod 60000), with
count, sum and max of `amount`. The input has no late order (`--disorder`
below both jobs' watermark delay), so every order counts. Counts and maxima
must be equal, sums within 0.01. Prints `ok ROWS ORDERS` or the first
differences (exit 1).
"""
import json
import sys


def main():
    exp = {}
    with open(sys.argv[1]) as f:
        for line in f:
            o = json.loads(line)
            if o["status"] == "cancelled":
                continue
            k = (o["ts"] - o["ts"] % 60000, o["category"])
            c, s, m = exp.get(k, (0, 0.0, float("-inf")))
            exp[k] = (c + 1, s + o["amount"], max(m, o["amount"]))
    got = {}
    with open(sys.argv[2]) as f:
        for line in f:
            ws, cat, n, rev, big = line.rstrip("\n").split("\t")
            got[(int(float(ws)), cat)] = (int(n), float(rev), float(big))
    bad = []
    for k in sorted(set(exp) | set(got)):
        e, g = exp.get(k), got.get(k)
        if e is None or g is None or e[0] != g[0] or abs(e[1] - g[1]) > 0.01 or abs(e[2] - g[2]) > 1e-9:
            bad.append("window %d category %s: expected %s, table has %s" % (k[0], k[1], e, g))
    if bad:
        print("%d of %d rows differ; first: %s" % (len(bad), len(exp), "; ".join(bad[:5])))
        sys.exit(1)
    print("ok %d %d" % (len(exp), sum(v[0] for v in exp.values())))


if __name__ == "__main__":
    main()
