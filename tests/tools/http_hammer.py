#!/usr/bin/env python3
"""Sends a bounded number of bad and good requests, concurrently, to eddy's
HTTP endpoint (loopback only) and checks every answer: a 4xx for what is
bad, 200 for what is good, never a 5xx, a reset connection or a hang.

    http_hammer.py --port P --requests 3000 --threads 16 --table buckets

Prints one JSON line: {"requests": n, "by_status": {...}, "bad": [first
failures], "seconds": s}; exits 1 if any answer was not what it should be.
Written for tests/integration/t_sql.sh.
"""
import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse


def cases(table):
    q = lambda s: "/v1/sql?q=" + urllib.parse.quote(s)  # noqa: E731
    good = [
        (q(f"SELECT count(*) FROM {table}"), "GET", {200}),
        (q(f"SELECT * FROM {table} ORDER BY window_start LIMIT 5"), "GET", {200}),
        ("/a/" + table, "GET", {200}),
        ("/c/" + urllib.parse.quote(f"SELECT sum(count) AS n FROM {table}"), "GET", {200}),
        ("/metrics", "GET", {200}),
    ]
    bad = [
        (q("SELEC 1"), "GET", {400}),
        (q(f"DELETE FROM {table}"), "GET", {400}),
        (q(f"UPDATE {table} SET count = 0"), "GET", {400}),
        (q(f"INSERT INTO {table} (window_start) VALUES (1)"), "GET", {400}),
        (q(f"DROP TABLE {table}"), "GET", {400}),
        (q("PRAGMA writable_schema = ON"), "GET", {400}),
        (q("ATTACH DATABASE '/tmp/eddy-hammer.db' AS x"), "GET", {400}),
        (q("BEGIN"), "GET", {400}),
        (q("SELECT 1; DELETE FROM " + table), "GET", {400}),
        (q("SELECT load_extension('/tmp/x')"), "GET", {400}),
        (q("SELECT * FROM no_such_table"), "GET", {400}),
        (q("SELECT randomblob(1000000000)"), "GET", {400}),
        ("/v1/sql", "GET", {400}),
        ("/v1/sql?q=", "GET", {400}),
        ("/v1/sql?q=%zz%", "GET", {400}),
        (q("SELECT 1") + "&limit=0", "GET", {400}),
        (q("SELECT 1") + "&limit=abc", "GET", {400}),
        (q("SELECT 1") + "&db=nosuch", "GET", {404}),
        ("/a/no_such_table", "GET", {400}),
        ("/a/", "GET", {400}),
        ("/c/", "GET", {400}),
        ("/c/" + urllib.parse.quote("DELETE FROM " + table), "GET", {400}),
        ("/nowhere", "GET", {404}),
        ("/v1/sql?q=" + "x" * 70000, "GET", {400, 413, 414, 431}),
        (q("SELECT 1"), "POST", {405, 413}),
        (q("SELECT 1"), "DELETE", {405}),
    ]
    return good, bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--table", default="buckets")
    a = ap.parse_args()
    good, bad = cases(a.table)
    slow = ("/v1/sql?q=" + urllib.parse.quote(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
        "SELECT count(*) FROM c"), "GET", {400})
    # 3 in 4 requests bad, a handful of them slow (each holds a server
    # thread for the time limit).
    plan = []
    for i in range(a.requests):
        if i % 1000 == 500:
            plan.append(slow)
        elif i % 4 == 0:
            plan.append(good[(i // 4) % len(good)])
        else:
            plan.append(bad[i % len(bad)])
    lock = threading.Lock()
    by_status, failures = {}, []
    nxt = [0]

    def worker():
        while True:
            with lock:
                if nxt[0] >= len(plan):
                    return
                path, method, want = plan[nxt[0]]
                nxt[0] += 1
            body = b"x" * 10 if method == "POST" else None
            try:
                c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=20)
                c.request(method, path, body=body, headers={"Connection": "close"})
                r = c.getresponse()
                data = r.read()
                st = r.status
                c.close()
                ok = st in want and (st < 400 or method != "GET" or b'"error"' in data
                                     or st in (413, 414, 431))
                if st == 200 and path.startswith("/v1/sql"):
                    json.loads(data)
            except Exception as e:  # noqa: BLE001
                st, ok, data = f"error {type(e).__name__}: {e}", False, b""
            with lock:
                by_status[str(st)] = by_status.get(str(st), 0) + 1
                if not ok and len(failures) < 10:
                    failures.append({"path": path[:120], "method": method, "status": st,
                                     "want": sorted(want), "body": data[:200].decode("latin-1")})

    t0 = time.time()
    ts = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out = {"requests": len(plan), "by_status": by_status, "bad": failures,
           "seconds": round(time.time() - t0, 2)}
    print(json.dumps(out))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
