#!/usr/bin/env python3
"""gen_check.py — independent checks of `eddy gen` output (JSON lines).

    gen_check.py fields KIND FILE          every field present, typed, in range
    gen_check.py zipf FILE FIELD N         Zipf(1) skew over N items
    gen_check.py times FILE RATE START D   ts within [base - D, base], disorder present if D > 0
    gen_check.py late FILE RATE START D F LATE_BY   share of late events ≈ F, each LATE_BY back
    gen_check.py alerts FILE RATE START    bursts cross 100 orders per 10 s, nothing else does
    gen_check.py same_but_ts A B           A and B equal except for ts

Exit 0 if the check holds, 1 with a reason on stderr otherwise. Written from
docs/gen.md, not from the generator's code.
"""
import json
import math
import re
import sys
from collections import Counter

CATEGORIES = {"electronics", "books", "clothing", "home", "toys", "sports", "beauty", "grocery"}
NAMED_PAGES = ["/", "/search", "/cart", "/checkout", "/login", "/deals", "/help", "/about",
               "/blog", "/account"]
COUNTRIES = {"US", "IN", "DE", "GB", "BR", "FR", "JP", "CA", "ES", "AU", "MX", "NL", "SE"}
REFERRERS = {"google.com", "direct", "facebook.com", "twitter.com", "bing.com", "newsletter",
             "reddit.com", "linkedin.com", "duckduckgo.com"}


def fail(msg):
    print("gen_check: " + msg, file=sys.stderr)
    sys.exit(1)


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.endswith(b"\n"):
        fail(f"{path}: does not end with a newline")
    out = []
    for n, line in enumerate(raw.split(b"\n")[:-1], 1):
        try:
            out.append(json.loads(line))
        except ValueError as e:
            fail(f"{path}:{n}: not JSON: {e}")
    return out


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


TWEET_KEYS = ["id", "id_str", "created_at", "text", "truncated", "user", "entities", "lang"]
TWEET_TAGS = {"DataScience", "MachineLearning", "AI", "BigData", "Python", "100DaysOfCode",
              "coffee", "weekend"}
TWITTER_EPOCH_MS = 1288834974657


def check_tweets(path):
    """Tweets (docs/gen.md): snowflake ids from the base time, ISO created_at,
    hashtags whose indices point at '#tag' in text (code points), per-user
    fixed screen name and followers, the documented on-topic share."""
    recs = load(path)
    users, ids, on = {}, set(), 0
    topic = re.compile(r"\b(data science|machine learning|ai|big data)\b", re.I)
    for n, r in enumerate(recs, 1):
        where = f"{path}:{n}"
        if list(r) != TWEET_KEYS:
            fail(f"{where}: fields {list(r)}; expected {TWEET_KEYS}")
        if not is_int(r["id"]) or r["id_str"] != str(r["id"]) or r["id"] in ids:
            fail(f"{where}: id {r['id']!r} / id_str {r['id_str']!r} not a new integer id")
        ids.add(r["id"])
        m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z", r["created_at"])
        if not m:
            fail(f"{where}: created_at {r['created_at']!r} is not ISO-8601 UTC with ms")
        if (r["id"] >> 22) + TWITTER_EPOCH_MS < 10**12:
            fail(f"{where}: id {r['id']} does not carry a snowflake time")
        if not isinstance(r["truncated"], bool) or r["lang"] not in ("en", "es", "de", "fr", "ja", "pt"):
            fail(f"{where}: truncated {r['truncated']!r} / lang {r['lang']!r}")
        u = r["user"]
        if list(u) != ["id", "screen_name", "followers_count"] or \
                not 1000000 <= u["id"] < 1020000 or not is_int(u["followers_count"]) or \
                not 0 <= u["followers_count"] < 10**6:
            fail(f"{where}: user {u!r}")
        if users.setdefault(u["id"], (u["screen_name"], u["followers_count"])) != \
                (u["screen_name"], u["followers_count"]):
            fail(f"{where}: user {u['id']} changed screen_name or followers_count")
        tags = r["entities"]["hashtags"]
        if len(tags) > 2 or len({t["text"] for t in tags}) != len(tags):
            fail(f"{where}: hashtags {tags!r}")
        for t in tags:
            a, b = t["indices"]
            if t["text"] not in TWEET_TAGS or r["text"][a:b] != "#" + t["text"]:
                fail(f"{where}: hashtag {t!r} does not point at its text in {r['text']!r}")
        on += bool(topic.search(re.sub(r" #\w+", "", r["text"])))
    share = on / len(recs)
    if abs(share - 0.35) > 4 * math.sqrt(0.35 * 0.65 / len(recs)) + 0.002:
        fail(f"on-topic share {share:.3f}, documented 0.35")
    print(f"# {len(recs)} tweets: every field present and valid, {share:.3f} on topic")


USER_KEYS = ["id", "gender", "name", "location", "email", "login", "dob", "registered", "phone",
             "picture"]
USER_COUNTRIES = {"United States": int, "Germany": int, "United Kingdom": str, "France": int,
                  "Brazil": str, "India": int, "Japan": str, "Australia": int}
ISO_MS = r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z"


def check_users(path):
    """Users (docs/gen.md): the randomuser.me shape; ids 1, 2, … in order of
    first appearance, 10 % of the events after the first update an earlier
    id with the same name, gender, birth date and login; a postcode that is
    a number or a string by country; registered.date = the event time."""
    import datetime
    recs = load(path)
    fixed, updates, top = {}, 0, 0
    for n, r in enumerate(recs, 1):
        where = f"{path}:{n}"
        if list(r) != USER_KEYS:
            fail(f"{where}: fields {list(r)}; expected {USER_KEYS}")
        if not is_int(r["id"]) or not 1 <= r["id"] <= top + 1:
            fail(f"{where}: id {r['id']!r} is neither an earlier id nor the next one ({top + 1})")
        nm, loc = r["name"], r["location"]
        if list(nm) != ["title", "first", "last"] or r["gender"] not in ("female", "male"):
            fail(f"{where}: name {nm!r} / gender {r['gender']!r}")
        if list(loc) != ["city", "country", "postcode"] or loc["country"] not in USER_COUNTRIES or \
                type(loc["postcode"]) is not USER_COUNTRIES[loc["country"]]:
            fail(f"{where}: location {loc!r}")
        for f in ("dob", "registered"):
            if not re.fullmatch(ISO_MS, r[f]["date"]):
                fail(f"{where}: {f}.date {r[f]['date']!r} is not ISO-8601 UTC with ms")
        born = datetime.datetime.fromisoformat(r["dob"]["date"].replace("Z", "+00:00"))
        reg = datetime.datetime.fromisoformat(r["registered"]["date"].replace("Z", "+00:00"))
        if abs((reg - born).days / 365.2425 - r["dob"]["age"]) > 1 or not 1950 <= born.year <= 2005:
            fail(f"{where}: dob {r['dob']!r} against registered {reg}")
        if not re.fullmatch(r"[a-z]+\.[a-z]+%d@example\.com" % r["id"], r["email"]) or \
                not r["login"]["username"].endswith(str(r["id"])):
            fail(f"{where}: email {r['email']!r} / login {r['login']!r}")
        person = (r["gender"], nm["first"], nm["last"], r["dob"]["date"], r["email"],
                  r["login"]["username"])
        if r["id"] <= top:
            updates += 1
            if fixed[r["id"]] != person:
                fail(f"{where}: user {r['id']} changed a fixed field: {person} vs {fixed[r['id']]}")
        else:
            top, fixed[r["id"]] = r["id"], person
    share = updates / max(len(recs) - 1, 1)
    if abs(share - 0.10) > 4 * math.sqrt(0.1 * 0.9 / len(recs)) + 0.002:
        fail(f"update share {share:.3f}, documented 0.10")
    print(f"# {len(recs)} users events: {top} users, {share:.3f} updates, every field valid")


def check_fields(kind, path):
    if kind == "tweets":
        return check_tweets(path)
    if kind == "users":
        return check_users(path)
    recs = load(path)
    keys = {
        "orders": ["order_id", "ts", "customer", "product_id", "category", "amount", "status"],
        "alerts": ["order_id", "ts", "customer", "product_id", "category", "amount", "status"],
        "reviews": ["review_id", "ts", "product_id", "rating", "text"],
        "views": ["ts", "page", "user", "country", "referrer"],
    }[kind]
    cat_of, unit = {}, {}
    for n, r in enumerate(recs, 1):
        where = f"{path}:{n}"
        if list(r) != keys:
            fail(f"{where}: fields {list(r)}; expected {keys}")
        if not is_int(r["ts"]) or not 10**12 < r["ts"] < 10**14:
            fail(f"{where}: ts {r['ts']!r} is not epoch ms")
        if kind in ("orders", "alerts"):
            if r["order_id"] != n:
                fail(f"{where}: order_id {r['order_id']!r}; expected {n}")
            if not re.fullmatch(r"c\d+", r["customer"]) or int(r["customer"][1:]) >= 50000:
                fail(f"{where}: customer {r['customer']!r}")
            p = r["product_id"]
            if not is_int(p) or not 1 <= p <= 1000:
                fail(f"{where}: product_id {p!r}")
            if r["category"] not in CATEGORIES:
                fail(f"{where}: category {r['category']!r}")
            if cat_of.setdefault(p, r["category"]) != r["category"]:
                fail(f"{where}: product {p} in two categories")
            a = r["amount"]
            if not isinstance(a, (int, float)) or not 4.99 <= a <= 2000.0:
                fail(f"{where}: amount {a!r}")
            cents = round(a * 100)
            if abs(a * 100 - cents) > 1e-6:
                fail(f"{where}: amount {a!r} has more than 2 decimals")
            # amount = unit price × quantity 1..4: the smallest amount seen
            # per product divides every other one
            unit.setdefault(p, []).append(cents)
            if r["status"] not in ("completed", "pending", "cancelled", "failed"):
                fail(f"{where}: status {r['status']!r}")
        elif kind == "reviews":
            if r["review_id"] != n:
                fail(f"{where}: review_id {r['review_id']!r}")
            if not is_int(r["product_id"]) or not 1 <= r["product_id"] <= 1000:
                fail(f"{where}: product_id {r['product_id']!r}")
            if not is_int(r["rating"]) or not 1 <= r["rating"] <= 5:
                fail(f"{where}: rating {r['rating']!r}")
            if not isinstance(r["text"], str) or not re.fullmatch(r"[A-Za-z][A-Za-z ,:]+", r["text"]):
                fail(f"{where}: text {r['text']!r}")
        else:
            pg = r["page"]
            if pg not in NAMED_PAGES and not (re.fullmatch(r"/products/\d+", pg) and
                                              1 <= int(pg.split("/")[2]) <= 1000):
                fail(f"{where}: page {pg!r}")
            if not re.fullmatch(r"u\d+", r["user"]) or int(r["user"][1:]) >= 100000:
                fail(f"{where}: user {r['user']!r}")
            if r["country"] not in COUNTRIES:
                fail(f"{where}: country {r['country']!r}")
            if r["referrer"] not in REFERRERS:
                fail(f"{where}: referrer {r['referrer']!r}")
    for p, amounts in unit.items():
        # amount = one unit price per product × a quantity 1..4: the smallest
        # amount is price × q for some q, and that price divides all of them
        lo = min(amounts)
        ok = any(lo % q == 0 and 499 <= lo // q <= 50000 and
                 all(c % (lo // q) == 0 and 1 <= c // (lo // q) <= 4 for c in amounts)
                 for q in (1, 2, 3, 4))
        if not ok:
            fail(f"product {p}: amounts (cents) {sorted(set(amounts))[:6]} are not one unit "
                 f"price × 1..4")
    if kind == "reviews":
        shares = Counter(r["rating"] for r in recs)
        want = {5: .40, 4: .25, 3: .12, 2: .08, 1: .15}
        for k, w in want.items():
            got = shares[k] / len(recs)
            if abs(got - w) > 4 * math.sqrt(w * (1 - w) / len(recs)) + 0.002:
                fail(f"rating {k}: share {got:.3f}, documented {w}")
    if kind in ("orders", "alerts"):
        want = {"orders": {"completed": .80, "pending": .08, "cancelled": .07, "failed": .05},
                "alerts": {"completed": .75, "pending": .08, "cancelled": .07, "failed": .10}}[kind]
        shares = Counter(r["status"] for r in recs)
        for k, w in want.items():
            got = shares[k] / len(recs)
            if abs(got - w) > 4 * math.sqrt(w * (1 - w) / len(recs)) + 0.002:
                fail(f"status {k}: share {got:.3f}, documented {w}")
    print(f"# {len(recs)} {kind} records: every field present and valid")


def check_zipf(path, field, n):
    recs = load(path)
    counts = sorted(Counter(r[field] for r in recs).values(), reverse=True)
    total = len(recs)
    h = sum(1 / r for r in range(1, n + 1))
    top1, top10 = counts[0] / total, sum(counts[:10]) / total
    want1, want10 = 1 / h, sum(1 / r for r in range(1, 11)) / h
    # least squares of log(count) on log(rank) over the 50 most popular items
    xs = [math.log(r) for r in range(1, 51)]
    ys = [math.log(c) for c in counts[:50]]
    mx, my = sum(xs) / 50, sum(ys) / 50
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    print(f"# {field}: top share {top1:.4f} (Zipf {want1:.4f}), top-10 {top10:.4f} "
          f"({want10:.4f}), log-log slope {slope:.3f} (-1)")
    if abs(top1 - want1) > 0.01 or abs(top10 - want10) > 0.015:
        fail(f"{field}: shares {top1:.4f}/{top10:.4f}; Zipf(1) over {n} gives "
             f"{want1:.4f}/{want10:.4f}")
    if not -1.12 < slope < -0.88:
        fail(f"{field}: log-log slope {slope:.3f}, expected about -1")
    if len(counts) < n * 0.9:
        fail(f"{field}: only {len(counts)} of {n} items seen")


def base_of(i, rate, start):
    return start + math.floor(i * 1000 / rate)


def check_times(path, rate, start, d):
    recs = load(path)
    hi = None
    behind = []
    inversions = 0
    for i, r in enumerate(recs):
        b = base_of(i, rate, start)
        if not b - d <= r["ts"] <= b:
            fail(f"{path}:{i + 1}: ts {r['ts']} outside [base - {d}, base] = [{b - d}, {b}]")
        if hi is not None:
            if r["ts"] < hi - d:
                fail(f"{path}:{i + 1}: ts {r['ts']} more than {d} ms behind an earlier {hi}")
            inversions += r["ts"] < hi
        hi = r["ts"] if hi is None else max(hi, r["ts"])
        behind.append(b - r["ts"])
    mean = sum(behind) / len(behind)
    print(f"# disorder {d}: mean lag {mean:.1f} ms, {inversions} of {len(recs)} out of order")
    if d == 0:
        if inversions or max(behind):
            fail("no disorder asked, yet events are out of order or off their base time")
        return
    # uniform on [0, d]: mean d/2, standard error d/sqrt(12 n)
    if abs(mean - d / 2) > 5 * d / math.sqrt(12 * len(recs)):
        fail(f"mean lag {mean:.1f} ms; uniform over [0, {d}] gives {d / 2}")
    if inversions < len(recs) * 0.2:
        fail(f"only {inversions} events out of order")


def check_late(path, rate, start, d, frac, late_by):
    recs = load(path)
    late = 0
    for i, r in enumerate(recs):
        lag = base_of(i, rate, start) - r["ts"]
        if lag > d:
            if not late_by <= lag <= late_by + d:
                fail(f"{path}:{i + 1}: lag {lag} ms is neither ≤ {d} nor {late_by}..{late_by + d}")
            late += 1
    share = late / len(recs)
    sd = math.sqrt(frac * (1 - frac) / len(recs))
    print(f"# late share {share:.4f} (asked {frac}, sd {sd:.4f})")
    if abs(share - frac) > 5 * sd:
        fail(f"late share {share:.4f}, asked {frac}")


def check_alerts(path, rate, start):
    recs = load(path)
    win = Counter()
    for i, r in enumerate(recs):
        w = (base_of(i, rate, start) - start) // 10000
        win[(w, r["product_id"])] += 1
    best = {}
    for (w, p), c in win.items():
        if c > best.get(w, (0, 0))[0]:
            best[w] = (c, p)
    burst_prods = []
    for w in sorted(best):
        c, p = best[w]
        is_burst = w % 6 == 2  # seconds [20, 30) of each minute
        if is_burst and c <= 120:
            fail(f"10-s window {w} (a burst): the busiest product has only {c} orders")
        if not is_burst and c >= 100:
            fail(f"10-s window {w} (no burst): product {p} has {c} orders")
        if is_burst:
            burst_prods.append(p)
    crit = sum(1 for r in recs if r["status"] == "failed" and r["amount"] > 1000)
    print(f"# {len(burst_prods)} bursts on products {burst_prods}; {crit} failed orders above "
          f"1000 ({100 * crit / len(recs):.2f} %)")
    if len(burst_prods) < 3 or len(set(burst_prods)) < 2:
        fail("too few bursts, or always the same product")
    if not 0.004 < crit / len(recs) < 0.03:
        fail(f"failed orders above 1000: {crit} of {len(recs)}")


def check_same_but_ts(a, b):
    ra, rb = load(a), load(b)
    if len(ra) != len(rb):
        fail(f"{len(ra)} vs {len(rb)} records")
    moved = 0
    for n, (x, y) in enumerate(zip(ra, rb), 1):
        moved += x["ts"] != y["ts"]
        x.pop("ts"), y.pop("ts")
        if x != y:
            fail(f"record {n} differs outside ts: {x} vs {y}")
    if not moved:
        fail("no ts differs: the time options had no effect")
    print(f"# equal except ts ({moved} of {len(ra)} moved)")


def main():
    a = sys.argv[1:]
    if not a:
        fail(__doc__)
    cmd = a[0]
    if cmd == "fields":
        check_fields(a[1], a[2])
    elif cmd == "zipf":
        check_zipf(a[1], a[2], int(a[3]))
    elif cmd == "times":
        check_times(a[1], float(a[2]), int(a[3]), int(a[4]))
    elif cmd == "late":
        check_late(a[1], float(a[2]), int(a[3]), int(a[4]), float(a[5]), int(a[6]))
    elif cmd == "alerts":
        check_alerts(a[1], float(a[2]), int(a[3]))
    elif cmd == "same_but_ts":
        check_same_but_ts(a[1], a[2])
    else:
        fail(f"unknown check {cmd}")


if __name__ == "__main__":
    main()
