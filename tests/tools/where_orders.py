#!/usr/bin/env python3
"""Order events for t_where and what eddy must make of them, computed here in
plain Python (the oracle: the filters are written out by hand below, not
parsed from the config).

    where_orders.py gen COUNT SEED OUT.jsonl
    where_orders.py expect IN.jsonl OUTDIR

gen writes one JSON object per line: order_id, ts, customer {id, tier},
product_id, category, amount, status, note. Some records lack a status or a
customer tier, some amounts are numeric strings ("12.50"), cancelled orders
may lack an amount, and notes talk (or not) about data science, AI, machine
learning or big data in mixed case.

expect writes, into OUTDIR:
  revenue     "category orders revenue(2 decimals)" for
              where: status != "cancelled", sorted by category
  big_failed  "category orders" for
              where: status == "failed" and amount > 1000
  ai          "product_id mentions" for
              where: note matches "(?i)\\b(data science|ai|machine learning|big data)\\b"
                     or customer.tier in ["gold", "platinum"] and not (status is missing)
  critical    the order_id of every record matching the big_failed filter, sorted
  filtered    "aggregation records_filtered_out" per aggregation, and
              "critical matched"
"""
import json
import os
import random
import re
import sys

CATEGORIES = ["books", "toys", "food", "garden", "music", "tools"]
NOTES = [
    "fast delivery please", "gift for my data science team", "AI-powered blender",
    "Machine Learning for dummies", "big data, bigger box", "BIG DATA edition",
    "maintain the garden", "said: ai", "artificial ideas", "databases science",
    "ai", "Data Science!", "fair price", "machine learnings", "",
]
AI_RE = re.compile(r"(?i)\b(data science|ai|machine learning|big data)\b")


def gen(count, seed, out):
    rng = random.Random(seed)
    weights = [1.0 / (i + 1) for i in range(50)]  # Zipf-like product popularity
    with open(out, "w") as f:
        for i in range(count):
            status = rng.choices(["paid", "failed", "cancelled", "refunded", None],
                                 [60, 15, 15, 5, 5])[0]
            rec = {
                "order_id": 1000000 + i,
                "ts": 1767225600000 + i * 37,
                "customer": {"id": "c%d" % rng.randrange(5000)},
                "product_id": "p%02d" % rng.choices(range(50), weights)[0],
                "category": rng.choice(CATEGORIES),
            }
            tier = rng.choice(["gold", "silver", "platinum", "bronze", None])
            if tier:
                rec["customer"]["tier"] = tier
            amount = round(rng.uniform(1, 2000), 2) if rng.random() < 0.8 else \
                round(rng.uniform(900, 5000), 2)
            r = rng.random()
            if status == "cancelled" and r < 0.3:
                pass  # no amount: filtered out before the sum needs it
            elif r < 0.05:
                rec["amount"] = "%.2f" % amount  # a numeric string
            else:
                rec["amount"] = amount
            if status is not None:
                rec["status"] = status
            rec["note"] = rng.choice(NOTES)
            f.write(json.dumps(rec) + "\n")


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def big_failed(rec):
    return rec.get("status") == "failed" and is_num(rec.get("amount")) and rec["amount"] > 1000


def revenue_filter(rec):
    return isinstance(rec.get("status"), str) and rec["status"] != "cancelled"


def ai_filter(rec):
    note = rec.get("note")
    if isinstance(note, str) and AI_RE.search(note):
        return True
    tier = rec.get("customer", {}).get("tier")
    return tier in ("gold", "platinum") and rec.get("status") is not None


def expect(path, outdir):
    recs = [json.loads(line) for line in open(path)]
    os.makedirs(outdir, exist_ok=True)
    revenue, big, ai, critical = {}, {}, {}, []
    filtered = {"revenue_per_category": 0, "big_failed": 0, "ai_mentions": 0}
    for rec in recs:
        if revenue_filter(rec):
            n, s = revenue.get(rec["category"], (0, 0.0))
            revenue[rec["category"]] = (n + 1, s + float(rec["amount"]))
        else:
            filtered["revenue_per_category"] += 1
        if big_failed(rec):
            big[rec["category"]] = big.get(rec["category"], 0) + 1
            critical.append(rec["order_id"])
        else:
            filtered["big_failed"] += 1
        if ai_filter(rec):
            ai[rec["product_id"]] = ai.get(rec["product_id"], 0) + 1
        else:
            filtered["ai_mentions"] += 1
    with open(os.path.join(outdir, "revenue"), "w") as f:
        for c in sorted(revenue):
            f.write("%s %d %.2f\n" % (c, revenue[c][0], revenue[c][1]))
    with open(os.path.join(outdir, "big_failed"), "w") as f:
        for c in sorted(big):
            f.write("%s %d\n" % (c, big[c]))
    with open(os.path.join(outdir, "ai"), "w") as f:
        for p in sorted(ai):
            f.write("%s %d\n" % (p, ai[p]))
    with open(os.path.join(outdir, "critical"), "w") as f:
        for o in sorted(critical):
            f.write("%d\n" % o)
    with open(os.path.join(outdir, "filtered"), "w") as f:
        for a in sorted(filtered):
            f.write("%s %d\n" % (a, filtered[a]))
        f.write("critical %d\n" % len(critical))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "gen":
        gen(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) == 4 and sys.argv[1] == "expect":
        expect(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
