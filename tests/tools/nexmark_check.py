#!/usr/bin/env python3
"""Checks of the Nexmark events (docs/gen.md#nexmark) and of the Nexmark
queries of bench S10, computed here from the events `eddy gen nexmark`
wrote — independently of eddy's engine.

  nexmark_check.py fields FILE RATE START       every documented property
  nexmark_check.py rows FILE DB TABLE           the nexmark source's records
                                                (SQLite table of all fields)
                                                are exactly FILE's events
  nexmark_check.py query Q FILE DB TABLE        a query's result in SQLite
                                                equals Python's (q0 q1 q2 q5 q7)
  nexmark_check.py columns Q                    the sink columns of query Q's
                                                check (YAML flow mapping)

Exit 0 when it holds; otherwise 1 with the first difference on stderr.
"""
import json
import math
import sqlite3
import sys

FIELDS = {
    0: ["event_type", "id", "name", "email", "credit_card", "city", "state", "date_time"],
    1: ["event_type", "id", "item_name", "description", "initial_bid", "reserve", "date_time",
        "expires", "seller", "category"],
    2: ["event_type", "auction", "bidder", "price", "channel", "url", "date_time"],
}
ALL = ["event_type", "id", "name", "email", "credit_card", "city", "state", "item_name",
       "description", "initial_bid", "reserve", "expires", "seller", "category", "auction",
       "bidder", "price", "channel", "url", "date_time"]
FIRST = ["Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter",
         "Walter"]
LAST = ["Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"]
CITIES = ["Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond",
          "Seattle", "Kent", "Cheyenne"]
STATES = ["AZ", "CA", "ID", "OR", "WA", "WY"]
HOT = ["Google", "Facebook", "Baidu", "Apple"]


def fail(msg):
    print("nexmark_check: " + msg, file=sys.stderr)
    sys.exit(1)


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def last_person(n):
    return n // 50


def last_auction(n):
    epoch, off = divmod(n, 50)
    if off < 1:
        return (epoch - 1) * 3 + 2
    return epoch * 3 + (2 if off >= 4 else off - 1)


def word_ok(s, lo, hi, sep):
    if not lo <= len(s) <= hi or not s[0].isalpha() or not s[-1].isalpha():
        return False
    return all("a" <= c <= "z" or (sep and c == sep) for c in s)


def near(name, got, want, tol):
    if abs(got - want) > tol:
        fail("%s is %.4f, expected %.4f ± %.4f" % (name, got, want, tol))


def check_fields(path, rate, start):
    evs = load(path)
    n_types = [0, 0, 0]
    hot_auction = hot_bidder = hot_seller = hot_channel = 0
    urls = {}
    logp = []
    for n, e in enumerate(evs):
        t = 0 if n % 50 == 0 else 1 if n % 50 < 4 else 2
        if e.get("event_type") != t:
            fail("event %d: event_type %r, expected %d (n mod 50 = %d)" % (n, e.get("event_type"), t, n % 50))
        if list(e) != FIELDS[t]:
            fail("event %d: fields %s, expected %s" % (n, list(e), FIELDS[t]))
        for k, v in e.items():
            is_str = k in ("name", "email", "credit_card", "city", "state", "item_name",
                           "description", "channel", "url")
            if is_str != isinstance(v, str) or (not is_str and type(v) is not int):
                fail("event %d: %s = %r has the wrong type" % (n, k, v))
        if e["date_time"] != start + math.floor(n * 1000 / rate):
            fail("event %d: date_time %d, expected %d" % (n, e["date_time"], start + math.floor(n * 1000 / rate)))
        n_types[t] += 1
        lp, la = last_person(n), last_auction(n)
        if t == 0:
            if e["id"] != 1000 + lp:
                fail("person %d: id %d, expected %d" % (n, e["id"], 1000 + lp))
            first, last = e["name"].split(" ")
            if first not in FIRST or last not in LAST:
                fail("person %d: name %r" % (n, e["name"]))
            user, _, dom = e["email"].partition("@")
            if not (word_ok(user, 3, 6, None) and dom.endswith(".com") and word_ok(dom[:-4], 3, 4, None)):
                fail("person %d: email %r" % (n, e["email"]))
            g = e["credit_card"].split(" ")
            if len(g) != 4 or any(len(x) != 4 or not x.isdigit() for x in g):
                fail("person %d: credit_card %r" % (n, e["credit_card"]))
            if e["city"] not in CITIES or e["state"] not in STATES:
                fail("person %d: city/state %r %r" % (n, e["city"], e["state"]))
        elif t == 1:
            if e["id"] != 1000 + la:
                fail("auction %d: id %d, expected %d" % (n, e["id"], 1000 + la))
            if not word_ok(e["item_name"], 3, 19, " ") or not word_ok(e["description"], 3, 99, " "):
                fail("auction %d: item_name/description %r %r" % (n, e["item_name"], e["description"]))
            if not 100 <= e["initial_bid"] < e["reserve"] <= 2 * 10**8:
                fail("auction %d: initial_bid %d, reserve %d" % (n, e["initial_bid"], e["reserve"]))
            if not e["date_time"] < e["expires"]:
                fail("auction %d: expires %d not after date_time" % (n, e["expires"]))
            if not 10 <= e["category"] <= 14:
                fail("auction %d: category %d" % (n, e["category"]))
            seller = e["seller"] - 1000
            if not 0 <= seller <= lp + 10:
                fail("auction %d: seller %d beyond the newest person + 10" % (n, e["seller"]))
            hot_seller += seller == lp // 100 * 100
            logp.append(math.log10(e["initial_bid"] / 100) / 6)
        else:
            a, b = e["auction"] - 1000, e["bidder"] - 1000
            if not max(la - 100, 0) <= a <= la + 10 and a != la // 100 * 100:
                fail("bid %d: auction %d outside the in-flight auctions" % (n, e["auction"]))
            if not 0 <= b <= lp + 10:
                fail("bid %d: bidder %d beyond the newest person + 10" % (n, e["bidder"]))
            hot_auction += a == la // 100 * 100
            hot_bidder += b == lp // 100 * 100 + 1
            if not 100 <= e["price"] <= 10**8:
                fail("bid %d: price %d" % (n, e["price"]))
            logp.append(math.log10(e["price"] / 100) / 6)
            ch = e["channel"]
            if ch in HOT:
                hot_channel += 1
            elif not (ch.startswith("channel-") and 0 <= int(ch[8:]) < 10000):
                fail("bid %d: channel %r" % (n, ch))
            if urls.setdefault(ch, e["url"]) != e["url"]:
                fail("bid %d: channel %s has two URLs: %s and %s" % (n, ch, urls[ch], e["url"]))
            u = e["url"]
            if not u.startswith("https://www.nexmark.com/") or "/item.htm?query=1" not in u:
                fail("bid %d: url %r" % (n, u))
            words = u[len("https://www.nexmark.com/"):u.index("/item.htm")].split("/")
            if len(words) != 3 or not all(word_ok(w, 3, 4, "_") for w in words):
                fail("bid %d: url words %r" % (n, words))
            tail = u[u.index("?query=1") + 8:]
            if tail:
                c = int(ch[8:]) if ch.startswith("channel-") else None
                rev = int(format(c, "032b")[::-1], 2) if c is not None else None
                if tail != "&channel_id=%s" % rev:
                    fail("bid %d: url tail %r for %s" % (n, tail, ch))
    total = len(evs)
    if total % 50 == 0 and n_types != [total // 50, total // 50 * 3, total // 50 * 46]:
        fail("persons:auctions:bids = %s, expected 1:3:46" % n_types)
    bids, auctions = n_types[2], n_types[1]
    # hot with probability 1/2 (3/4), plus the random picks that land on it
    near("hot auction share", hot_auction / bids, 0.5 + 0.5 / 111, 0.01)
    near("hot bidder share", hot_bidder / bids, 0.75, 0.01)
    near("hot seller share", hot_seller / auctions, 0.75, 0.03)
    near("hot channel share", hot_channel / bids, 0.5, 0.01)
    near("mean of log10(price/100)/6 (uniform)", sum(logp) / len(logp), 0.5, 0.01)
    chan_urls = [u for c, u in urls.items() if c not in HOT]
    near("share of channel URLs with channel_id", sum("&channel_id=" in u for u in chan_urls) / len(chan_urls), 0.9, 0.02)


def rows_of_file(evs, cols):
    return sorted(tuple(e.get(c) for c in cols) for e in evs)


def db_rows(db, table, cols):
    con = sqlite3.connect(db)
    rows = con.execute("SELECT %s FROM %s" % (", ".join('"%s"' % c for c in cols), table)).fetchall()
    con.close()
    return sorted(rows, key=lambda r: tuple((x is None, x) for x in r))


def same(name, got, want):
    if got == want:
        return
    if len(got) != len(want):
        fail("%s: %d rows, expected %d" % (name, len(got), len(want)))
    for g, w in zip(got, want):
        if g != w:
            fail("%s: first difference: got %r, expected %r" % (name, g, w))


def norm(rows):
    return sorted(rows, key=lambda r: tuple((x is None, x) for x in r))


def check_rows(path, db, table):
    evs = load(path)
    same("records", db_rows(db, table, ALL), norm([tuple(e.get(c) for c in ALL) for e in evs]))


def expected(q, evs):
    bids = [e for e in evs if e["event_type"] == 2]
    if q == "q0":  # every event, unchanged
        return ALL, [tuple(e.get(c) for c in ALL) for e in evs]
    if q == "q1":
        return ["auction", "bidder", "price", "date_time"], [
            (b["auction"], b["bidder"], b["price"] * 0.908, b["date_time"]) for b in bids]
    if q == "q2":
        return ["auction", "price"], [(b["auction"], b["price"]) for b in bids
                                      if b["auction"] % 123 == 0]
    if q == "q5":  # bids per auction in hopping windows of 10 s every 2 s
        counts = {}
        for b in bids:
            t = b["date_time"]
            first = (t - 10000) // 2000 + 1
            for k in range(first, t // 2000 + 1):
                key = (k * 2000, b["auction"])
                counts[key] = counts.get(key, 0) + 1
        return ["window_start", "window_end", "auction", "bids"], [
            (w, w + 10000, str(a), c) for (w, a), c in counts.items()]
    if q == "q7":  # highest bid per tumbling 10 s window
        best = {}
        for b in bids:
            w = b["date_time"] // 10000 * 10000
            best[w] = max(best.get(w, 0), b["price"])
        return ["window_start", "window_end", "max_price"], [
            (w, w + 10000, float(p)) for w, p in best.items()]
    fail("unknown query " + q)


def columns(q):
    """The `columns:` of the SQLite sink that takes query q's records."""
    ints = {"event_type", "id", "initial_bid", "reserve", "expires", "seller", "category",
            "auction", "bidder", "price", "date_time"}
    cols = {"q0": ALL, "q1": ["auction", "bidder", "price", "date_time"],
            "q2": ["auction", "price"]}[q]
    typ = lambda c: "double" if (q, c) == ("q1", "price") else "bigint" if c in ints else "text"
    return "{ " + ", ".join("%s: %s %s" % (c, c, typ(c)) for c in cols) + " }"


def check_query(q, path, db, table):
    cols, want = expected(q, load(path))
    got = db_rows(db, table, cols)
    if q == "q1":  # a double through SQLite REAL: the same double
        got = [tuple(float(x) if i == 2 else x for i, x in enumerate(r)) for r in got]
    same(q, got, norm(want))
    print("%s: %d rows as computed" % (q, len(want)))


def main(argv):
    if len(argv) == 5 and argv[1] == "fields":
        check_fields(argv[2], float(argv[3]), int(argv[4]))
    elif len(argv) == 5 and argv[1] == "rows":
        check_rows(argv[2], argv[3], argv[4])
    elif len(argv) == 3 and argv[1] == "columns":
        print(columns(argv[2]))
    elif len(argv) == 6 and argv[1] == "query":
        check_query(argv[2], argv[3], argv[4], argv[5])
    else:
        fail(__doc__)


if __name__ == "__main__":
    main(sys.argv)
