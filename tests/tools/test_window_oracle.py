#!/usr/bin/env python3
"""Self-tests of tests/tools/window_oracle.py on small cases computed by
hand (run by `tests/run unit`, TAP output). Each case states the events and
what the rules of the oracle's docstring give, worked out on paper."""
import json
import os
import random
import subprocess
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import window_oracle as wo  # noqa: E402
import where_cases  # noqa: E402

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def ev(*items):
    """Lines of JSON events from (ts, fields...) tuples: dicts merged with ts."""
    out = []
    for it in items:
        if isinstance(it, str):
            out.append(it)
            continue
        ts, extra = it if isinstance(it, tuple) else (it, {})
        d = {"ts": ts}
        d.update(extra)
        out.append(json.dumps(d))
    return out


def spec(**kw):
    d = {"key": ["k"], "time": {"field": "ts", "format": "epoch_ms"},
         "window": {"tumbling": "10s"}, "compute": {"n": "count"}}
    for k, v in kw.items():
        if k in ("window", "time") and isinstance(v, dict):
            d[k] = {a: b for a, b in dict(d[k], **v).items() if b is not None}
        else:
            d[k] = v
    return wo.Spec(d)


def rows(res, *cols):
    """[(key text..., start, end, value of each col)] of a result."""
    out = []
    for r in res["rows"]:
        out.append(tuple(r["key"].values()) + (r["window_start"], r["window_end"]) +
                   tuple(r["values"][c] for c in cols))
    return out


def eq(actual, expected, what=""):
    if actual != expected:
        raise AssertionError("%s\n  expected: %r\n  actual:   %r" % (what, expected, actual))


# ------------------------------------------------------------------ cases

@case
def tumbling_all_functions():
    # k=a at 1000 (v 5), 4000 (v 2), 9999 (v 7) -> [0, 10000); 10000 (v 1) -> [10000, 20000)
    # k=b at 500 (v 3) -> [0, 10000)
    lines = ev((1000, {"k": "a", "v": 5}), (500, {"k": "b", "v": 3}), (4000, {"k": "a", "v": 2}),
               (9999, {"k": "a", "v": 7}), (10000, {"k": "a", "v": 1}))
    s = spec(compute={"n": "count", "s": "sum(v)", "lo": "min(v)", "hi": "max(v)",
                      "m": "avg(v)", "f": "first(v)", "l": "last(v)", "d": "approx_distinct(v)"})
    res = wo.run(s, lines)
    eq(rows(res, "n", "s", "lo", "hi", "m", "f", "l", "d"), [
        ("a", 0, 10000, 3, 14.0, 2.0, 7.0, 14 / 3, 5.0, 7.0, 3),
        ("a", 10000, 20000, 1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1),
        ("b", 0, 10000, 1, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 1)])
    eq(res["late_dropped"], [], "nothing is late in order")
    eq(res["emitted"], 3)


@case
def first_last_by_event_time():
    # first/last follow event time, not arrival; equal times: first/last to arrive
    lines = ev((5000, {"k": "a", "v": 1}), (2000, {"k": "a", "v": 2}), (8000, {"k": "a", "v": 3}),
               (2000, {"k": "a", "v": 4}), (8000, {"k": "a", "v": 5}), (6000, {"k": "a", "v": 6}))
    s = spec(time={"max_out_of_orderness": "1m"}, compute={"f": "first(v)", "l": "last(v)"})
    eq(rows(wo.run(s, lines), "f", "l"), [("a", 0, 10000, 2.0, 5.0)])


@case
def negative_times_floor():
    # t = -1 lies in [-10000, 0), t = 0 in [0, 10000)
    res = wo.run(spec(), ev((-1, {"k": "a"}), (0, {"k": "a"})))
    eq(rows(res, "n"), [("a", -10000, 0, 1), ("a", 0, 10000, 1)])


@case
def late_drop_at_the_boundary():
    # ooo 2s. After 12000, W = 10000: [0, 10000) is expired (W >= end, L = 0),
    # so 9000 (line 2) is dropped. After 11999 alone W = 9999 < 10000: on time.
    lines = ev((12000, {"k": "a"}), (9000, {"k": "a"}))
    res = wo.run(spec(time={"max_out_of_orderness": "2s"}), lines)
    eq(res["late_dropped"], [2])
    eq(rows(res, "n"), [("a", 10000, 20000, 1)])
    res = wo.run(spec(time={"max_out_of_orderness": "2s"}), ev((11999, {"k": "a"}), (9000, {"k": "a"})))
    eq(res["late_dropped"], [])
    eq(rows(res, "n"), [("a", 0, 10000, 1), ("a", 10000, 20000, 1)])


@case
def allowed_lateness_updates_and_close_value():
    # L = 5s, ooo 0: 1000 on time; 12000 makes W = 12000: [0,10000) complete,
    # 3000 (line 3) is late but within L (12000 < 15000): applied, before the
    # close row (the window closes at W >= 15000). 15000 makes W = 15000 >=
    # 15000: closed, 4000 (line 5) is too late.
    lines = ev((1000, {"k": "a"}), (12000, {"k": "a"}), (3000, {"k": "a"}),
               (15000, {"k": "a"}), (4000, {"k": "a"}))
    s = spec(window={"allowed_lateness": "5s", "emit": "on_close"})
    res = wo.run(s, lines)
    eq(rows(res, "n"), [("a", 0, 10000, 2), ("a", 10000, 20000, 2)])
    eq(res["rows"][0]["close_values"], {"n": 2}, "the close row holds the records within L")
    eq(res["rows"][1]["close_values"], {"n": 2})
    eq(res["late_dropped"], [5])


@case
def late_sink_routes_the_line():
    lines = ev((20000, {"k": "a"}), (5000, {"k": "b", "x": 1}))
    res = wo.run(spec(window={"late": "dead_letters"}), lines)
    eq(res["late_routed"], [{"line": 2, "record": lines[1]}])
    eq(res["late_dropped"], [])
    eq(rows(res, "n"), [("a", 20000, 30000, 1)])


@case
def late_update_applies_anyway():
    lines = ev((20000, {"k": "a"}), (5000, {"k": "a"}), (6000, {"k": "a"}))
    res = wo.run(spec(window={"late": "update", "emit": "on_close"}), lines)
    eq(rows(res, "n"), [("a", 0, 10000, 2), ("a", 20000, 30000, 1)])
    eq(res["expired_updates"], 2)
    eq(res["late_updated"], [2, 3])
    eq(res["rows"][0]["close_values"], None, "window reached only by too-late records")


@case
def late_update_counts_records_once():
    # hopping 10s slide 5s under W = 30000: 2000 is in [-5000,5000) and
    # [0,10000), both expired: one record updated, two windows; 27000 is in
    # [20000,30000) (expired) and [25000,35000) (open): one more record.
    s = spec(window={"tumbling": None, "hopping": "10s", "slide": "5s", "late": "update"})
    lines = ev((30000, {"k": "a"}), (2000, {"k": "a"}), (27000, {"k": "a"}), (31000, {"k": "a"}))
    res = wo.run(s, lines)
    eq(res["late_updated"], [2, 3])
    eq(res["expired_updates"], 3)
    eq(res["late_dropped"], [])


@case
def hopping_partly_late():
    # hopping 10s slide 5s: t = 12000 is in [5000,15000) and [10000,20000).
    # After 16000 (W = 16000): [5000,15000) expired, [10000,20000) open:
    # 12000 is applied to the newer window only, one window skipped.
    s = spec(window={"tumbling": None, "hopping": "10s", "slide": "5s"})
    lines = ev((12000, {"k": "a"}), (16000, {"k": "a"}), (12000, {"k": "a"}), (4000, {"k": "a"}))
    res = wo.run(s, lines)
    eq(rows(res, "n"), [("a", 5000, 15000, 1), ("a", 10000, 20000, 3), ("a", 15000, 25000, 1)])
    eq(res["skipped_windows"], 1)
    eq(res["late_dropped"], [4], "4000: too late for both of its windows")


@case
def sessions_merge_and_split():
    # gap 5s: 0 -> [0,5000); 3000 -> [0,8000); 9000 -> [9000,14000) (8000 <= 9000: apart);
    # 6000 -> [6000,11000) overlaps both -> [0,14000); last(v) is 9000's 3 (event time). Key b: 0 and 5000 exactly GAP apart:
    # [0,5000) and [5000,10000) do not overlap -> two sessions.
    # (max_out_of_orderness 1m: nothing here is late; sessions_late is about that)
    s = wo.Spec({"key": ["k"], "time": {"field": "ts", "format": "epoch_ms", "max_out_of_orderness": "1m"},
                 "window": {"session": "5s"}, "compute": {"n": "count", "f": "first(v)", "l": "last(v)"}})
    lines = ev((0, {"k": "a", "v": 1}), (3000, {"k": "a", "v": 2}), (9000, {"k": "a", "v": 3}),
               (0, {"k": "b", "v": 0}), (5000, {"k": "b", "v": 0}), (6000, {"k": "a", "v": 4}))
    res = wo.run(s, lines)
    eq(rows(res, "n", "f", "l"), [("a", 0, 14000, 4, 1.0, 3.0), ("b", 0, 5000, 1, 0.0, 0.0),
                                  ("b", 5000, 10000, 1, 0.0, 0.0)])
    eq(res["emit"], "on_close")


@case
def sessions_late():
    # gap 5s, L 0: 0 -> [0,5000); 20000 makes W = 20000; 1000: its window [1000,6000)
    # merges nothing live ([0,5000) expired) and 6000 <= W: too late, dropped.
    # 17000: [17000,22000) is open (W < 22000): a new session.
    s = wo.Spec({"key": ["k"], "time": {"field": "ts", "format": "epoch_ms"},
                 "window": {"session": "5s"}})
    lines = ev((0, {"k": "a"}), (20000, {"k": "a"}), (1000, {"k": "a"}), (17000, {"k": "a"}))
    res = wo.run(s, lines)
    eq(res["late_dropped"], [3])
    eq(rows(res, "count"), [("a", 0, 5000, 1), ("a", 17000, 25000, 2)])
    s = wo.Spec({"key": ["k"], "time": {"field": "ts", "format": "epoch_ms"},
                 "window": {"session": "5s", "late": "update"}})
    res = wo.run(s, lines)
    eq(rows(res, "count"), [("a", 0, 5000, 1), ("a", 1000, 6000, 1), ("a", 17000, 25000, 2)])


@case
def sessions_expired_is_final():
    # gap 10s, L 0: 0 -> [0,10000); 10000 -> [10000,20000) (exactly GAP: apart);
    # 12000 joins it -> [10000,22000) and makes W = 12000, so [0,10000) is
    # expired; 9500 -> [9500,19500) overlaps both but merges only the open
    # one (eddy's aggregator must not merge an expired session that its
    # close pass has not emitted yet).
    s = wo.Spec({"key": ["k"], "time": {"field": "ts", "format": "epoch_ms"},
                 "window": {"session": "10s"}})
    lines = ev((0, {"k": "a"}), (10000, {"k": "a"}), (12000, {"k": "a"}), (9500, {"k": "a"}))
    res = wo.run(s, lines)
    eq(rows(res, "count"), [("a", 0, 10000, 1), ("a", 9500, 22000, 3)])
    eq(res["late_dropped"], [])


@case
def where_filters_but_watermark_moves():
    # Line 1 is cancelled: filtered, but its time 30000 still moves W to 30000,
    # so line 2 (5000) is too late; line 3 at 31000 is counted.
    s = spec(where='status != "cancelled"')
    lines = ev((30000, {"k": "a", "status": "cancelled"}), (5000, {"k": "a", "status": "ok"}),
               (31000, {"k": "a", "status": "ok"}), (32000, {"k": "a"}))
    res = wo.run(s, lines)
    eq(res["filtered"], 2, "cancelled, and the record without status (missing: false)")
    eq(res["late_dropped"], [2])
    eq(rows(res, "n"), [("a", 30000, 40000, 1)])


@case
def rejects_name_their_line():
    s = spec(compute={"t": "sum(v)"})
    lines = ['{"k":"a","v":1}', 'not json', '{"ts":"soon","k":"a","v":1}', '{"ts":1,"v":1}',
             '{"ts":2,"k":"a","v":"x"}', '{"ts":3,"k":null,"v":1}', '{"ts":4,"k":"a","v":"2.5"}', '']
    res = wo.run(s, lines)
    eq(res["rejects"], [
        {"line": 1, "why": "time field 'ts' is missing"},
        {"line": 2, "why": "not a JSON object"},
        {"line": 3, "why": "time field 'ts' is not a valid time"},
        {"line": 4, "why": "key field 'k' is missing"},
        {"line": 5, "why": "field 'v' is not a number"},
        {"line": 6, "why": "key field 'k' is null"}])
    eq(rows(res, "t"), [("a", 0, 10000, 2.5)], "numeric text is a number")
    eq(res["records"], 7)


@case
def time_formats():
    eq(wo.event_time(1767225600, "epoch_s"), 1767225600000)
    eq(wo.event_time(1.0005, "epoch_s"), 1001, "rounded half away from zero")
    eq(wo.event_time("1767225600000", "epoch_ms"), 1767225600000)
    eq(wo.event_time(1767225600, "auto"), 1767225600000, "auto: < 1e11 is seconds")
    eq(wo.event_time(1767225600000, "auto"), 1767225600000)
    eq(wo.event_time("2026-01-01T00:00:00Z", "iso8601"), 1767225600000)
    eq(wo.event_time("2026-01-01T01:00:00.1239+01:00", "auto"), 1767225600123)
    eq(wo.event_time("2026-01-01", "iso8601"), 1767225600000)
    eq(wo.event_time("2026-02-29T00:00:00Z", "iso8601"), None, "2026 is no leap year")
    eq(wo.event_time("2026-01-01T00:00:00Z", "epoch_ms"), None)
    eq(wo.event_time(True, "auto"), None)
    eq(wo.event_time(2 ** 54, "epoch_ms"), None, "outside +-2^53 ms")


@case
def key_text_keeps_numbers_as_written():
    s = spec(key=["p", "c.id", {"col": "name"}])
    res = wo.run(s, ['{"ts":0,"p":800,"c":{"id":1.50},"name":"x"}'])
    eq(res["rows"][0]["key"], {"p": "800", "c_id": "1.50", "col": "x"})


@case
def top_n_ties_and_cut():
    # scores: p1 5, p2 3, p3 3, p4 1 in [0,10000); keep_top 2 -> p1 5, then of
    # the tie at 3 the larger member "p3" (Redis ranks ties by member).
    s = spec(key=["p"], compute={"reviews": "count"},
             top={"zset": "top:{window_start}", "member": "{p}", "score": "reviews", "keep_top": 2})
    lines = ev(*[(i, {"p": p}) for i, p in enumerate(["p1"] * 5 + ["p2"] * 3 + ["p3"] * 3 + ["p4"])])
    lines += ev((10000, {"p": "p4"}))
    res = wo.run(s, lines)
    eq(res["top"], [{"zset": "top:0", "members": [["p1", 5], ["p3", 3]]},
                    {"zset": "top:10000", "members": [["p4", 1]]}])


@case
def windowed_alerts_once_per_window():
    # orders > 2 per product per 10 s: p1 has 3 in [0,10000) and 1 in [10000,20000).
    s = spec(key=["p"], compute={"orders": "count"},
             alerts=[{"name": "highvolume", "when": "orders > 2"}], window={"emit": "on_close"})
    lines = ev((1, {"p": "p1"}), (2, {"p": "p1"}), (3, {"p": "p2"}), (4, {"p": "p1"}),
               (10001, {"p": "p1"}))
    res = wo.run(s, lines)
    eq(res["alerts"], [{"alert": "highvolume", "key": {"p": "p1"}, "window_start": 0,
                        "window_end": 10000, "value": 3, "exact": True}])


@case
def record_alerts_in_arrival_order():
    lines = ev((1, {"status": "failed", "amount": 2000}), (2, {"status": "failed", "amount": 10}),
               (3, {"status": "ok", "amount": 5000}), '{"status":"failed","amount":3000}',
               (4, {"status": "failed", "amount": 1000.5}))
    res = wo.record_alerts("critical", 'status == "failed" and amount > 1000', "ts", "epoch_ms", lines)
    eq([r["line"] for r in res["records"]], [1, 5], "line 4 has no time: a reject, not an alert")
    eq(res["records"][0]["record"], lines[0])


@case
def where_parser_precedence_and_literals():
    rec = {"a": 1, "b": 3, "c": 3, "s": "it's \\d", "t": None}
    for text, want in [
        ("not a == 1 or b == 2 and c == 3", False),
        ("not (a == 1 or b == 2) and c == 3", False),
        ("a == 2 or b == 3 and c == 3", True),
        ("s == 'it\\'s \\d'", True),
        ('s matches "\\\\d"', False),   # the regex \d: no digit in s
        ('s matches "\\\\\\\\d"', True),  # the regex \\d: a backslash, then d
        ("a in [2, 'x', 1,]", True),
        ("a not in [1]", False),
        ("t is missing and zz is missing and a is not missing", True),
        ("t != 1", False),
        ("b >= c and `b` <= c", True),
        ("s starts_with \"it\"", True),
    ]:
        eq(wo.where_true(wo.parse_where(text), rec), want, text)
    for bad in ["a ==", "a AND b == 1", "(a == 1", "a == 1 b", "a not == 1"]:
        try:
            wo.parse_where(bad)
        except wo.WhereError:
            continue
        raise AssertionError("parsed a bad expression: %r" % bad)


@case
def where_parser_against_random_expressions():
    # where_cases makes random expressions with their tree; parsing the text
    # must give a tree that evaluates the same on every record.
    rng = random.Random(7)
    recs = [where_cases.rand_record(rng) for _ in range(60)]
    for i in range(400):
        node, text, _ = where_cases.rand_expr(rng, rng.randint(0, 4))
        parsed = wo.parse_where(text)
        for rec in recs:
            want = where_cases.evaluate(node, rec, where_cases.Counts())
            got = where_cases.evaluate(parsed, rec, where_cases.Counts())
            if want != got:
                raise AssertionError("expression %d %r on %r: tree says %s, parsed text %s"
                                     % (i, text, rec, want, got))


@case
def bad_specs_are_refused():
    for w in [{"session": "5s", "emit": "on_update"}, {"hopping": "10s", "slide": "3s"},
              {"tumbling": "0s"}, {"hopping": "5s", "slide": "10s"}]:
        try:
            wo.Spec({"key": ["k"], "time": {"field": "ts"}, "window": w})
        except ValueError:
            continue
        raise AssertionError("accepted window %r" % w)


@case
def config_and_command_line():
    yml = """
sources:
  orders:
    kafka: { brokers: "${NO_SUCH_VAR_X:-b:1}", topic: o }
    format: json
    time: { field: ts, format: epoch_ms, max_out_of_orderness: 2s }
aggregations:
  per_cat:
    from: orders
    where: 'status != "cancelled"'
    key: [category]
    window: { tumbling: 1m, emit: on_close }
    compute: { orders: count, revenue: sum(amount) }
    to: [redis_top]
alerts:
  big: { on: per_cat, when: "orders >= ${NO_SUCH_VAR_Y:-2}", to: [k] }
  crit: { on: orders, where: 'amount > 100', to: [k] }
sinks:
  redis_top: { redis: { url: "redis://x" }, zset: "top:{window_start}", member: "{category}", score: revenue, keep_top: 1 }
  k: { kafka: { brokers: b, topic: t } }
"""
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "p.yaml")
        events = os.path.join(d, "e.jsonl")
        open(conf, "w").write(yml)
        open(events, "w").write("\n".join(ev(
            (1000, {"category": "books", "amount": 10, "status": "ok"}),
            (2000, {"category": "books", "amount": 200, "status": "ok"}),
            (3000, {"category": "toys", "amount": 500, "status": "cancelled"}),
            (4000, {"category": "toys", "amount": 20, "status": "ok"}))) + "\n")
        out = subprocess.run([sys.executable, os.path.join(HERE, "window_oracle.py"), "--config", conf,
                              "--aggregation", "per_cat", events], capture_output=True, text=True)
        eq(out.returncode, 0, out.stderr)
        res = json.loads(out.stdout)
        eq(rows(res, "orders", "revenue"), [("books", 0, 60000, 2, 210.0), ("toys", 0, 60000, 1, 20.0)])
        eq(res["top"], [{"zset": "top:0", "members": [["books", 210.0]]}])
        eq([(a["alert"], a["key"]) for a in res["alerts"]], [("big", {"category": "books"})])
        out = subprocess.run([sys.executable, os.path.join(HERE, "window_oracle.py"), "--config", conf,
                              "--alert", "crit", events], capture_output=True, text=True)
        eq(out.returncode, 0, out.stderr)
        eq([r["line"] for r in json.loads(out.stdout)["records"]], [2, 3])


@case
def window_check_matches_and_catches():
    import window_check as wc
    s = spec(key=["p"], compute={"n": "count", "d": "approx_distinct(u)"},
             top={"zset": "top:{window_start}", "member": "{p}", "score": "n", "keep_top": 1},
             alerts=[{"name": "hot", "when": "n > 1"}])
    res = wo.run(s, ev((1, {"p": "a", "u": 1}), (2, {"p": "a", "u": 2}), (3, {"p": "b", "u": 1})))
    with tempfile.TemporaryDirectory() as d:
        def f(name, text):
            path = os.path.join(d, name)
            open(path, "w").write(text)
            return path
        o = f("o.json", json.dumps(res))
        good = f("good.tsv", "a\t0\t10000\t2\t2.01\nb\t0\t10000\t1\t1\n")
        eq(wc.main(["sql", o, good, "--values", "n,d", "--approx", "d=0.02"]), 0)
        eq(wc.main(["sql", o, good, "--values", "n,d"]), 1, "2.01 is not 2 without --approx")
        eq(wc.main(["sql", o, f("bad.tsv", "a\t0\t10000\t3\t2\n"), "--values", "n,d"]), 1)
        more = f("more.tsv", "a\t0\t10000\t3\t2\nb\t0\t10000\t1\t1\n")
        eq(wc.main(["sql", o, more, "--values", "n,d", "--at-least"]), 0, "3 >= 2: at least")
        eq(wc.main(["sql", o, f("less.tsv", "a\t0\t10000\t1\t2\nb\t0\t10000\t1\t1\n"),
                    "--values", "n,d", "--at-least"]), 1, "1 < 2: below the truth")
        eq(wc.main(["zsets", o, f("z.tsv", "top:0\ta\t2\n")]), 0)
        eq(wc.main(["zsets", o, f("z2.tsv", "top:0\ta\t2\ntop:0\tb\t1\n")]), 1, "b was trimmed")
        rows = [{"key": {"p": "a"}, "window": {"start": 0, "end": 10000}, "n": 1, "d": 1},
                {"key": {"p": "a"}, "window_start": 0, "window_end": 10000, "n": 2, "d": 2},
                {"key": {"p": "b"}, "window": {"start": 0, "end": 10000}, "n": 1, "d": 1}]
        k = f("k.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
        eq(wc.main(["kafka", o, k, "--values", "n,d"]), 0, "the last row of each window counts")
        eq(wc.main(["kafka", o, k, "--values", "n,d", "--once"]), 1, "a emitted twice")
        al = f("a.jsonl", json.dumps({"alert": "hot", "key": {"p": "a"}, "window_start": 0,
                                       "window_end": 10000}) + "\n")
        eq(wc.main(["alerts", o, al, "--alert", "hot"]), 0)
        eq(wc.main(["alerts", o, f("a2.jsonl", open(al).read() * 2), "--alert", "hot"]), 1, "twice")


def main():
    print("1..%d" % len(CASES))
    failed = 0
    for i, fn in enumerate(CASES, 1):
        try:
            fn()
            print("ok %d - %s" % (i, fn.__name__))
        except Exception:  # a failing case is reported, the others still run
            failed += 1
            print("not ok %d - %s" % (i, fn.__name__))
            for line in traceback.format_exc().rstrip().split("\n"):
                print("# " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
