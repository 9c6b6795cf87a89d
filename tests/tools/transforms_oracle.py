#!/usr/bin/env python3
"""The oracles of t_transforms.sh, written from the documentation
(docs/transforms.md) and the scorer's description, not from eddy's code.

    transforms_oracle.py sentiment REVIEWS.jsonl OUTPUT.tsv NEGATIVE.txt
    transforms_oracle.py orders ORDERS.jsonl OUTPUT.tsv REVENUE.txt

sentiment: the scorer of config/examples/sentiment.lua written again in
Python (its own copy of the lexicon). REVIEWS.jsonl: the input; OUTPUT.tsv:
what eddy produced, "KEY<TAB>VALUE" per message; NEGATIVE.txt: "product_id
count" lines read back from Redis. Every input review (a JSON object) must
arrive exactly once, keyed by its review_id, equal to the review plus score,
words and sentiment; the negative counts per product must agree.

orders: the steps of tests/integration/configs/transforms_orders.yaml
computed in Python: the records (members and their order) and, from
REVENUE.txt ("category orders revenue_eur" from PostgreSQL), the per-category
sums. Prints what differs and exits 1 then.
"""
import collections
import json
import re
import sys

POSITIVE = set("""good great excellent fantastic amazing awesome love loved lovely perfect
  perfectly best happy recommend recommended quickly fast sturdy solid beautiful nice
  superb wonderful reliable works worth""".split())
NEGATIVE = set("""bad poor awful terrible horrible disappointing disappointed broke broken
  damaged defective worst waste cheap flimsy slow useless refund returned worse faulty
  stopped""".split())
NEGATORS = {"not", "never", "no", "hardly"}


def score(review):
    out = dict(review)
    text = review.get("text")
    if not isinstance(text, str):
        out["sentiment"] = "unknown"
        return out
    s, n, negate = 0, 0, False
    for w in re.findall(r"[a-z]+", text.lower()):
        n += 1
        v = 1 if w in POSITIVE else -1 if w in NEGATIVE else 0
        s += -v if negate else v
        negate = w in NEGATORS
    out.update(score=s, words=n,
               sentiment="positive" if s > 0 else "negative" if s < 0 else "neutral")
    return out


def read_output(path):
    """KEY<TAB>VALUE lines → [(key, value text)]."""
    out = []
    for line in open(path, encoding="utf-8"):
        key, _, value = line.rstrip("\n").partition("\t")
        out.append((key, value))
    return out


def transform_order(o):
    """The steps of transforms_orders.yaml; None = filtered; raises
    ValueError for a record the set step rejects."""
    if not ("status" in o and o["status"] is not None and o["status"] != "cancelled"):
        return None
    a = o.get("amount")
    if not isinstance(a, (int, float)) or isinstance(a, bool):
        raise ValueError("amount is not a number")
    if not isinstance(o.get("category"), str) or not isinstance(o.get("status"), str):
        raise ValueError("category or status is not a string")
    out = dict(o)
    out["amount_eur"] = float(a) * 0.908
    out["label"] = o["category"] + "/" + o["status"]
    out["net"] = (float(a) - 10) / 2
    for f in ("ts", "customer"):
        out.pop(f, None)
    out["amount_eur_x2"] = out["amount_eur"] * 2
    return out


def orders(orders_path, output_path, revenue_path):
    want, rejects, filtered = {}, 0, 0
    sums, counts = collections.defaultdict(float), collections.Counter()
    for line in open(orders_path, encoding="utf-8"):
        try:
            o = json.loads(line)
            t = transform_order(o)
        except ValueError:
            rejects += 1
            continue
        if t is None:
            filtered += 1
            continue
        want[str(o["order_id"])] = t
        sums[t["category"]] += t["amount_eur"]
        counts[t["category"]] += 1
    bad, got = [], collections.Counter()
    for key, value in read_output(output_path):
        got[key] += 1
        d = json.loads(value, object_pairs_hook=lambda pairs: pairs)
        if key not in want:
            bad.append("unexpected key %r: %s" % (key, value))
        elif d != list(want[key].items()):
            bad.append("key %s: eddy %s, oracle %s" % (key, value, json.dumps(want[key])))
    for k in want:
        if got[k] != 1:
            bad.append("order %s arrived %d times" % (k, got[k]))
    seen = set()
    for line in open(revenue_path):
        cat, n, rev = line.split()
        seen.add(cat)
        if int(n) != counts[cat] or abs(float(rev) - sums[cat]) > 1e-6 * max(1.0, sums[cat]):
            bad.append("category %s: eddy %s orders %s EUR, oracle %d orders %.6f EUR" %
                       (cat, n, rev, counts[cat], sums[cat]))
    if seen != set(counts):
        bad.append("categories differ: eddy %s, oracle %s" % (sorted(seen), sorted(counts)))
    for b in bad[:20]:
        print(b)
    print("%d orders expected, %d messages, %d filtered, %d rejected, %d problems" %
          (len(want), sum(got.values()), filtered, rejects, len(bad)))
    return 1 if bad else 0


def sentiment(reviews_path, output_path, negative_path):
    want, neg = {}, collections.Counter()
    for line in open(reviews_path, encoding="utf-8"):
        try:
            r = json.loads(line)
        except ValueError:
            continue  # a reject
        if not isinstance(r, dict):
            continue
        e = score(r)
        want[str(r["review_id"])] = e
        if e["sentiment"] == "negative":
            neg[str(r["product_id"])] += 1
    got, bad = collections.Counter(), []
    for key, value in read_output(output_path):
        got[key] += 1
        if key not in want:
            bad.append("unexpected key %r: %s" % (key, value))
        elif json.loads(value) != want[key]:
            bad.append("key %s: eddy %s, oracle %s" % (key, value, json.dumps(want[key])))
    for k in want:
        if got[k] != 1:
            bad.append("review %s arrived %d times" % (k, got[k]))
    red = {}
    for line in open(negative_path):
        p, c = line.split()
        red[p] = int(float(c))
    if red != dict(neg):
        diff = sorted(set(red.items()) ^ set(neg.items()))[:10]
        bad.append("negative counts per product differ (%d vs %d products): %s" %
                   (len(red), len(neg), diff))
    for b in bad[:20]:
        print(b)
    print("%d reviews expected, %d messages, %d problems" % (len(want), sum(got.values()), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    fn = {"sentiment": sentiment, "orders": orders}[sys.argv[1]]
    sys.exit(fn(*sys.argv[2:5]))
