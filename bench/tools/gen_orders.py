#!/usr/bin/env python3
"""Writes the S2 input: N JSON order events, one per line (~130 bytes each),
deterministic for a given N and seed, plus a sidecar FILE.expect.json with
what any correct decode + aggregation by product_id must find:
events, distinct product_ids, sum of amount.

    gen_orders.py N OUT.jsonl [--seed S] [--products P]

Fields: order_id, ts, customer, product_id, category, amount, status.
product_id is drawn uniformly from P (default 10k) ids, so every id occurs;
amount has two decimals in [1, 2000).
"""
import argparse
import json
import math
import os
import random

CATEGORIES = ["books", "tech", "garden", "toys", "food", "sport", "beauty", "auto",
              "music", "fashion"]
STATUSES = ["new", "paid", "shipped", "done", "refunded"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--products", type=int, default=10000)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    ts0 = 1_735_689_600_000  # 2025-01-01T00:00:00Z in ms
    amounts = []
    products = set()
    nbytes = 0
    tmp = a.out + ".tmp"
    with open(tmp, "w", encoding="ascii", newline="\n") as f:
        buf = []
        for i in range(a.n):
            pid = rnd.randrange(a.products)
            cents = rnd.randrange(100, 200000)
            amount = cents / 100.0
            line = ('{"order_id":%d,"ts":%d,"customer":"c%06d",'
                    '"product_id":"p%05d","category":"%s","amount":%d.%02d,'
                    '"status":"%s"}\n') % (
                10_000_001 + i, ts0 + i * 7 + rnd.randrange(7), rnd.randrange(500000), pid,
                CATEGORIES[pid % len(CATEGORIES)], cents // 100, cents % 100,
                STATUSES[rnd.randrange(len(STATUSES))])
            buf.append(line)
            nbytes += len(line)
            amounts.append(amount)
            products.add(pid)
            if len(buf) >= 10000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))
    os.replace(tmp, a.out)
    with open(a.out + ".expect.json", "w") as f:
        json.dump({"events": a.n, "products": len(products), "sum_amount": math.fsum(amounts),
                   "bytes": nbytes, "avg_line_bytes": nbytes / a.n if a.n else 0,
                   "seed": a.seed}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
