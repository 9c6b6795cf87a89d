#!/usr/bin/env python3
"""window_oracle.py — what a windowed eddy aggregation must produce, computed
independently of eddy (Python standard library only, plus PyYAML for
--config) from the JSON-lines events as `eddy gen` writes them, read in
arrival order.

    window_oracle.py --spec SPEC.json EVENTS.jsonl [-o OUT.json]
    window_oracle.py --config PIPELINE.yaml --aggregation NAME EVENTS.jsonl [-o OUT.json]
    window_oracle.py --config PIPELINE.yaml --alert NAME EVENTS.jsonl      (per-record alert)

SPEC is a JSON object with the names of eddy's YAML (docs/config.md):

    {"key": ["category"],                       # fields; {"col": "path"} pairs too
     "where": "status != \\"cancelled\\"",      # eddy's where language (optional)
     "time": {"field": "ts", "format": "epoch_ms", "max_out_of_orderness": "2s"},
     "window": {"tumbling": "1m", "allowed_lateness": "10s",
                "late": "drop", "emit": "on_update"},   # or hopping+slide, session
     "compute": {"orders": "count", "revenue": "sum(amount)"},
     "alerts": [{"name": "highvolume", "when": "orders > 100"}],
     "top": {"zset": "top:products:{window_start}", "member": "{product_id}",
             "score": "reviews", "keep_top": 10}}

With --config the same is read from the pipeline: the aggregation, the
`time` of its source, the alerts `on:` it, and the redis sink it feeds (its
zset/member/score/keep_top); ${VAR} and ${VAR:-default} are taken from the
environment as eddy does.

The semantics (checked against actors/aggregate/ed_window.h and
actors/sources/ed_watermark.h; they must agree):

Input and rejects.  Each line is one record (JSON object); the line number
(from 1) is its position.  A line that is not a JSON object is a reject.  If
the source has `time`, the record's event time is `time.field` read in
`time.format` (epoch_ms / epoch_s: numbers or numeric text, rounded to the
nearest ms, half away from zero; iso8601: YYYY-MM-DD[Thh:mm[:ss[.fff]]]
[Z|±hh[:mm]], no zone = UTC, digits beyond ms truncated; auto: numbers below
1e11 are seconds, else ms, strings ISO-8601); a missing, null or unparseable
time, or one outside ±2^53 ms, makes the record a reject ("time field 'ts'
is missing" / "not a valid time") before anything else looks at it.  Then
`where` filters (a record that does not pass is neither counted nor late);
then a key field that is missing or null, or a compute field that is
missing, null or not a number (numbers, booleans as 0/1, numeric text), is
a reject of this aggregation.  approx_distinct(f) takes any value but a
missing or null one; values are distinct by their text (a key's text).

Watermark.  One partition, so arrival order decides lateness.  Let
M(r) = the highest event time of the records *before* r (in arrival order)
that had a valid time — whether or not `where` kept them or another field
rejected them (the source observes every event time).  The watermark a
record is judged against is W(r) = M(r) − max_out_of_orderness, or "none"
(−∞) before the first valid time.  (Counting r itself would change nothing
for r's own windows: each ends after r's time.)  End of input is W = +∞:
every window closes.  This is per record on purpose: ed_watermark.h has the
aggregator judge a whole batch against the watermark before the batch, and
then whether a record is late depends on where batches were cut (timing);
eddy's result agrees with this oracle only if each record is judged against
the watermark its upstream had just before it (with one upstream, as here).

Windows.  Bounds aligned to the epoch, [start, end), floor division for
negative times.  tumbling D: [⌊t/D⌋·D, +D).  hopping D slide S: the D/S
windows [k·S, k·S + D) that contain t.  session GAP: per key, a record at t
is the window [t, t + GAP); sessions whose half-open intervals overlap
merge (a gap of exactly GAP splits).

Lateness (ed_window.h).  With L = allowed_lateness, a window [s, e) is, for
a record judged against W: on time if W < e; late (still updated) if
e ≤ W < e + L; too late (expired) if W ≥ e + L.  A tumbling/hopping record
is *too late* only if it is too late for every window it belongs to; then
`late: drop` drops it (counted), `late: <sink>` routes it unchanged (listed
with its line), `late: update` applies it to all its windows anyway.  A
record too late for some of its windows only is applied to the others; the
expired ones are skipped (counted in `skipped_windows`) under drop and sink,
and updated under update.  Sessions: the record merges only the key's
sessions that are not expired under W(r) (expired sessions are final and
freed); it is too late iff its merged session is expired (so only when it
merges nothing and t + GAP + L ≤ W(r)); under update such a record is a
session of its own, [t, t + GAP), emitted as a new row (not merged with
other too-late records).

Results.  Per (key, window) the final values over every record applied to
it; first/last: the value of the record with the earliest/latest event
time, of equal times the first/last to arrive (docs/config.md).  `emit: on_close` emits exactly the
windows that received a record, each once when the window closes: when the
watermark reaches end + L (value = its on-time records and its late ones
within L: `close_values`); `late: update` records for a closed window make
a new version, emitted at its next close, so the sum of the versions
equals `values`.  `emit: on_update` upserts changed windows at each
flush; the final row equals `values` (how many versions depends on flush
timing and is not predicted).  Sinks that add deltas (SQL, ZINCRBY) end at
`values` also after `late: update` rewrote an expired window; a sink that
writes the aggregator's current value (ZADD, first/last, approx_distinct)
would hold only the late part then — the oracle always gives the truth.

Top N (a Redis sorted set per window, `keep_top: N`): per zset key (the
template with {column}, {window_start}, {window_end} in epoch ms) the
members ranked by (score, member bytes) descending, the first N: what an
exact leaderboard holds (Redis orders equal scores by member and trims the
lowest ranks first; scores that only grow and are written as the current
value leave exactly this set).

Windowed alerts (`when: METRIC OP NUMBER`, or any where-expression over the
compute names): once per key and window on crossing; the oracle lists the
(key, window) whose final value satisfies the condition — exact for metrics
that only grow or only shrink (count, sum of non-negatives, min, max,
approx_distinct) and for on_close (one row per window) without `late: update`; other cases are marked
`"exact": false`.  Per-record alerts (`on:` a source with `where:`): every
record with a valid time (if the source has `time`) that passes `where`, in
arrival order.

Output: one JSON object (sorted keys) — see `s_result` below for the fields.
"""
import argparse
import calendar
import json
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import where_cases  # noqa: E402  (the independent evaluator of the where language)

NONE = -math.inf
END = math.inf
EVENT_TIME_MAX = 1 << 53


# ------------------------------------------------------------ small parsers

DUR_UNITS = {"": 1, "ms": 1, "s": 1000, "m": 60000, "h": 3600000}


def duration_ms(v, what="duration"):
    """'500ms', '2s', '1m', '1h', or a number of ms, to integer ms."""
    if isinstance(v, bool):
        raise ValueError("%s: expected a duration, got %r" % (what, v))
    if isinstance(v, (int, float)):
        return int(v)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|)\s*", str(v))
    if not m:
        raise ValueError("%s: expected a duration like 500ms, 2s, 1m, 1h; got %r" % (what, v))
    ms = float(m.group(1)) * DUR_UNITS[m.group(2)]
    if ms != int(ms):
        raise ValueError("%s: %r is not a whole number of ms" % (what, v))
    return int(ms)


class RawInt(int):
    """A JSON integer that remembers how it was written (for key text)."""
    text = ""


class RawFloat(float):
    text = ""


def _raw_int(s):
    x = RawInt(int(s))
    x.text = s
    return x


def _raw_float(s):
    x = RawFloat(float(s))
    x.text = s
    return x


def parse_record(line):
    """The JSON object of a line, numbers keeping their text; None if the
    line is not a JSON object."""
    try:
        rec = json.loads(line, parse_int=_raw_int, parse_float=_raw_float)
    except ValueError:
        return None
    return rec if isinstance(rec, dict) else None


def value_text(v):
    """A value as eddy writes it into a key: strings as they are, numbers
    as written in the input, true/false, other JSON as compact JSON."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (RawInt, RawFloat)):
        return v.text
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


NUM_TEXT = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def to_num(v):
    """A number from a field value (numbers, booleans, numeric text), or None."""
    if v is where_cases.MISSING or v is None:
        return None
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str) and v and NUM_TEXT.fullmatch(v):
        return float(v)
    return None


def round_half_away(x):
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
                 r"(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?")


def parse_iso(s):
    m = ISO.fullmatch(s)
    if not m:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    h = int(m.group(4) or 0)
    mi = int(m.group(5) or 0)
    sec = int(m.group(6) or 0)
    frac = int(((m.group(7) or "") + "000")[:3])
    off = 0
    if m.group(9):
        oh, om = int(m.group(10)), int(m.group(11) or 0)
        if oh > 23 or om > 59:
            return None
        off = (oh * 60 + om) * (-1 if m.group(9) == "-" else 1)
    if not 1 <= mo <= 12 or h > 23 or mi > 59 or sec > 60:
        return None
    mdays = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]
    leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
    if not 1 <= d <= mdays or (mo == 2 and d == 29 and not leap):
        return None
    days = calendar.timegm((y, mo, d, 0, 0, 0)) // 86400
    return (((days * 24 + h) * 60 + mi) * 60 + sec - off * 60) * 1000 + frac


def event_time(v, fmt):
    """Event time in ms of a field value, or None if it is not a valid time."""
    if v is where_cases.MISSING or v is None or isinstance(v, bool):
        return None
    x = None
    if isinstance(v, (int, float)) or (isinstance(v, str) and NUM_TEXT.fullmatch(v or "x")):
        x = float(v)
    if fmt == "iso8601":
        ms = parse_iso(v) if isinstance(v, str) else None
    elif x is not None and fmt in ("epoch_ms", "epoch_s", "auto"):
        if fmt == "epoch_s" or (fmt == "auto" and abs(x) < 1e11):
            x *= 1000.0
        ms = round_half_away(x) if math.isfinite(x) and abs(x) <= 9.2e18 else None
    elif fmt == "auto" and isinstance(v, str):
        ms = parse_iso(v)
    else:
        ms = None
    if ms is None or not -EVENT_TIME_MAX <= ms <= EVENT_TIME_MAX:
        return None
    return ms


from where_text import WhereError, parse_where, where_true  # noqa: E402,F401  (re-exported)




# ------------------------------------------------------------- windows

class Spec:
    """An aggregation as the oracle needs it (validated)."""

    def __init__(self, d):
        self.name = d.get("name", "aggregation")
        self.keys = []  # (column, path)
        key = d.get("key")
        if key is None:
            raise ValueError("spec: 'key' is required")
        for k in key if isinstance(key, list) else [key]:
            if isinstance(k, dict):
                (col, path), = k.items()
            else:
                col, path = str(k).replace(".", "_"), str(k)
            self.keys.append((col, path))
        self.where_text = d.get("where")
        self.where = parse_where(self.where_text) if self.where_text else None
        t = d.get("time")
        self.time_field = t.get("field") if t else None
        self.time_format = (t or {}).get("format", "auto")
        self.ooo = duration_ms((t or {}).get("max_out_of_orderness", 0), "max_out_of_orderness")
        w = d.get("window") or {}
        self.kind = None
        for k in ("tumbling", "hopping", "session"):
            if k in w:
                if self.kind:
                    raise ValueError("window: give one of tumbling, hopping, session")
                self.kind = k
        if not self.kind:
            raise ValueError("window: tumbling, hopping or session is required")
        self.size = duration_ms(w[self.kind], self.kind)
        self.slide = duration_ms(w["slide"], "slide") if self.kind == "hopping" else self.size
        if self.size <= 0 or self.slide <= 0 or self.slide > self.size or self.size % self.slide:
            raise ValueError("window: sizes must be > 0 and the slide must divide the size")
        self.lateness = duration_ms(w.get("allowed_lateness", 0), "allowed_lateness")
        self.late = w.get("late", "drop")
        self.emit = w.get("emit", "on_close" if self.kind == "session" else "on_update")
        if self.emit not in ("on_update", "on_close"):
            raise ValueError("window: emit must be on_update or on_close")
        if self.kind == "session" and self.emit == "on_update":
            raise ValueError("window: session windows emit on_close only")
        self.compute = []  # (name, fn, field)
        for name, f in (d.get("compute") or {"count": "count"}).items():
            m = re.fullmatch(r"\s*([A-Za-z_]+)\s*(?:\(\s*([^)]*?)\s*\))?\s*", str(f))
            if not m:
                raise ValueError("compute %s: cannot read %r" % (name, f))
            fn, field = m.group(1).lower(), m.group(2) or None
            if fn not in ("count", "sum", "min", "max", "avg", "first", "last", "approx_distinct"):
                raise ValueError("compute %s: unknown function %r" % (name, fn))
            if (fn == "count") != (field is None):
                raise ValueError("compute %s: %s takes %s field" % (name, fn, "no" if fn == "count" else "one"))
            self.compute.append((name, fn, field))
        self.alerts = []
        for a in d.get("alerts") or []:
            self.alerts.append((a["name"], a["when"], parse_when(a["when"], self)))
        self.top = d.get("top")

    def windows(self, t):
        """The tumbling/hopping windows containing t, oldest first."""
        newest = (t // self.slide) * self.slide
        n = self.size // self.slide
        return [(newest - i * self.slide, newest - i * self.slide + self.size)
                for i in range(n - 1, -1, -1)]

    def classify(self, end, w):
        if w < end:
            return "on_time"
        if w < end + self.lateness:
            return "late"
        return "too_late"


WHEN_SIMPLE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|>|<=|<|==)\s*(-?[0-9.]+(?:[eE][+-]?\d+)?)\s*")


def parse_when(text, spec):
    m = WHEN_SIMPLE.fullmatch(text)
    if m:
        node = ("cmp", m.group(1), m.group(2), float(m.group(3)))
    else:
        node = parse_where(text)
    names = {c[0] for c in spec.compute}

    def fields(n):
        if n[0] in ("or", "and"):
            return [f for s in n[1] for f in fields(s)]
        if n[0] in ("not", "paren"):
            return fields(n[1])
        return [n[1]] + ([n[3]] if n[0] == "cmpf" else [])
    for f in fields(node):
        if f not in names:
            raise ValueError("alert %r: %r is not a compute of the aggregation" % (text, f))
    return node


class State:
    """Values of one (key, window)."""

    def __init__(self, spec):
        self.spec = spec
        self.n = 0
        self.acc = [None] * len(spec.compute)

    def apply(self, vals, idx):
        """Adds one record; idx orders records for first/last: (event time,
        arrival position)."""
        self.n += 1
        for i, (_, fn, _) in enumerate(self.spec.compute):
            v, a = vals[i], self.acc[i]
            if fn == "count":
                self.acc[i] = (a or 0) + 1
            elif fn == "sum":
                self.acc[i] = (a or 0.0) + v
            elif fn == "min":
                self.acc[i] = v if a is None else min(a, v)
            elif fn == "max":
                self.acc[i] = v if a is None else max(a, v)
            elif fn == "avg":
                s, c = a or (0.0, 0)
                self.acc[i] = (s + v, c + 1)
            elif fn == "first":  # earliest event time; of equal times the first to arrive
                self.acc[i] = (idx, v) if a is None or idx < a[0] else a
            elif fn == "last":  # latest event time; of equal times the last to arrive
                self.acc[i] = (idx, v) if a is None or idx > a[0] else a
            else:  # approx_distinct: the exact set; eddy's estimate is checked within a bound
                self.acc[i] = (a or set()) | {v}

    def merge(self, other):
        """Adds another state's records (sessions that merge)."""
        for i, (_, fn, _) in enumerate(self.spec.compute):
            a, b = self.acc[i], other.acc[i]
            if b is None:
                continue
            if a is None:
                self.acc[i] = b
            elif fn in ("count", "sum"):
                self.acc[i] = a + b
            elif fn in ("min", "first"):
                self.acc[i] = min(a, b)
            elif fn in ("max", "last"):
                self.acc[i] = max(a, b)
            elif fn == "avg":
                self.acc[i] = (a[0] + b[0], a[1] + b[1])
            else:
                self.acc[i] = a | b
        self.n += other.n

    def values(self):
        out = {}
        for i, (name, fn, _) in enumerate(self.spec.compute):
            a = self.acc[i]
            if fn == "avg":
                out[name] = a[0] / a[1] if a else None
            elif fn in ("first", "last"):
                out[name] = a[1] if a else None
            elif fn == "approx_distinct":
                out[name] = len(a) if a else 0
            else:
                out[name] = a
        return out

    def copy(self):
        c = State(self.spec)
        c.n = self.n
        c.acc = list(self.acc)
        return c


def render(template, key_cols, ws, we):
    def sub(m):
        name = m.group(1)
        if name == "window_start":
            return str(ws)
        if name == "window_end":
            return str(we)
        if name not in key_cols:
            raise ValueError("template %r: {%s} is not a key column" % (template, name))
        return key_cols[name]
    return re.sub(r"\{([^{}]*)\}", sub, template)


def s_late_away(spec, pos, line, dropped, routed):
    """A too-late record under `late: drop` (listed in dropped) or `late:
    SINK` (listed with its line in routed): True. Under update: False (the
    caller applies it)."""
    if spec.late == "drop":
        dropped.append(pos)
        return True
    if spec.late != "update":
        routed.append({"line": pos, "record": line.rstrip("\n")})
        return True
    return False


def run(spec, lines):
    """Runs the aggregation over the lines (arrival order); returns the result."""
    rejects, routed, dropped, updated = [], [], [], []
    filtered = skipped = expired_updates = 0
    max_t = NONE
    states = {}     # (keytuple, start, end) -> State
    close_vals = {}  # same -> values when the watermark reached the end (on-time records)
    sessions = {}   # keytuple -> sorted list of [start, end]
    records = 0
    for idx, line in enumerate(lines):
        if not line.strip():
            continue
        records += 1
        pos = idx + 1
        rec = parse_record(line)
        if rec is None:
            rejects.append({"line": pos, "why": "not a JSON object"})
            continue
        t = None
        if spec.time_field:
            tv = where_cases.get(rec, spec.time_field)
            t = event_time(tv, spec.time_format)
            if t is None:
                why = "missing" if tv is where_cases.MISSING or tv is None else "not a valid time"
                rejects.append({"line": pos, "why": "time field '%s' is %s" % (spec.time_field, why)})
                continue
        else:
            raise ValueError("spec: an event-time aggregation needs time.field")
        wm = max_t - spec.ooo if max_t != NONE else NONE
        max_t = max(max_t, t)
        if not where_true(spec.where, rec):
            filtered += 1
            continue
        key, bad = [], None
        for col, path in spec.keys:
            v = where_cases.get(rec, path)
            if v is where_cases.MISSING or v is None:
                bad = "key field '%s' is %s" % (path, "null" if v is None else "missing")
                break
            key.append(value_text(v))
        vals = []
        for name, fn, field in spec.compute:
            if bad or fn == "count":
                vals.append(None)
                continue
            v = where_cases.get(rec, field)
            if fn == "approx_distinct":
                if v is where_cases.MISSING or v is None:
                    bad = "field '%s' is %s" % (field, "null" if v is None else "missing")
                vals.append(value_text(v) if not bad else None)
                continue
            x = to_num(v)
            if x is None:
                bad = "field '%s' is %s" % (field, "missing" if v is where_cases.MISSING else "not a number")
            vals.append(x)
        if bad:
            rejects.append({"line": pos, "why": bad})
            continue
        key = tuple(key)

        if spec.kind == "session":
            live = [s for s in sessions.get(key, []) if s[1] + spec.lateness > wm]
            merged = [s for s in live if s[0] < t + spec.size and t < s[1]]
            start = min([t] + [s[0] for s in merged])
            end = max([t + spec.size] + [s[1] for s in merged])
            if not merged and spec.classify(end, wm) == "too_late":
                if s_late_away(spec, pos, line, dropped, routed):
                    continue
                expired_updates += 1
                updated.append(pos)
                sessions.setdefault(key, [])
                states.setdefault((key, start, end), State(spec)).apply(vals, (t, pos))
                continue
            st = State(spec)
            for s in merged:
                st.merge(states.pop((key, s[0], s[1])))
            st.apply(vals, (t, pos))
            states[(key, start, end)] = st
            sessions[key] = sorted([s for s in sessions.get(key, []) if s not in merged] + [[start, end]])
            continue

        wins = spec.windows(t)
        classes = [spec.classify(e, wm) for _, e in wins]
        if all(c == "too_late" for c in classes) and s_late_away(spec, pos, line, dropped, routed):
            continue
        if spec.late == "update" and "too_late" in classes:
            updated.append(pos)
        for (s, e), c in zip(wins, classes):
            if c == "too_late" and spec.late != "update":
                skipped += 1
                continue
            if c == "too_late":
                expired_updates += 1
            k = (key, s, e)
            st = states.get(k)
            if st is None:
                st = states[k] = State(spec)
            if c == "too_late" and k not in close_vals:
                # The window closed (W >= end + L): its on-close row was fixed before this record.
                close_vals[k] = st.copy() if st.n else None
            st.apply(vals, (t, pos))
    return s_result(spec, states, close_vals, rejects, routed, dropped, filtered, skipped,
                    expired_updates, records, updated)


MONOTONE = {"count", "min", "max", "approx_distinct"}


def s_result(spec, states, close_vals, rejects, routed, dropped, filtered, skipped,
             expired_updates, records, updated):
    """The oracle's answer:
      rows             [{key:{col:text}, window_start, window_end, n, values:{...},
                         close_values:{...} (on_close: the row emitted at close;
                         None if the window got only late records)}]
                        sorted by key then window
      emitted          on_close: how many windows emit (= len(rows))
      rejects          [{line, why}]; late_dropped [lines]; late_routed [{line, record}]
      late_updated     [lines]: records applied to at least one expired window
                        (late: update; eddy's aggregations.NAME.late_updated)
      filtered         records `where` left out; skipped_windows; expired_updates
                        (windows: a hopping record may update several)
      top              [{zset, members:[[member, score], ...]}] sorted by zset
      alerts           [{alert, key, window_start, window_end, value, exact}]
    """
    cols = [c for c, _ in spec.keys]
    rows = []
    for (key, s, e), st in sorted(states.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        row = {"key": dict(zip(cols, key)), "window_start": s, "window_end": e, "n": st.n,
               "values": st.values()}
        if spec.emit == "on_close" and spec.kind == "session":
            # A session closes at end + L and merges only sessions not closed: its
            # one close row is final (a `late: update` record is a session of its own).
            row["close_values"] = row["values"]
        elif spec.emit == "on_close":
            k = (key, s, e)
            if k in close_vals:
                cv = close_vals[k]
                row["close_values"] = cv.values() if cv is not None else None
            else:
                row["close_values"] = row["values"]
        rows.append(row)
    out = {"aggregation": spec.name, "emit": spec.emit, "records": records, "rows": rows,
           "rejects": rejects, "late_dropped": dropped, "late_routed": routed,
           "late_updated": updated, "filtered": filtered, "skipped_windows": skipped, "expired_updates": expired_updates,
           "emitted": len(rows)}
    if spec.top:
        out["top"] = top_n(spec, rows)
    alerts = []
    fns = {name: fn for name, fn, _ in spec.compute}
    for name, when, node in spec.alerts:
        metrics = []

        def walk(n):
            if n[0] in ("or", "and"):
                for x in n[1]:
                    walk(x)
            elif n[0] in ("not", "paren"):
                walk(n[1])
            else:
                metrics.append(n[1])
        walk(node)
        exact = (spec.emit == "on_close" and spec.late != "update") or \
            (len(metrics) == 1 and fns[metrics[0]] in MONOTONE)
        for row in rows:
            vals = row["values"]
            if any(vals[m] is None for m in metrics):
                continue
            if where_cases.evaluate(node, vals, where_cases.Counts()):
                alerts.append({"alert": name, "key": row["key"], "window_start": row["window_start"],
                               "window_end": row["window_end"], "value": vals[metrics[0]],
                               "exact": exact})
    out["alerts"] = alerts
    return out


def top_n(spec, rows):
    t = spec.top
    score = t.get("score") or spec.compute[0][0]
    cols = [c for c, _ in spec.keys]
    zset_t = t["zset"]
    used = set(re.findall(r"\{([^{}]*)\}", zset_t))
    member_t = t.get("member") or ":".join("{%s}" % c for c in cols if c not in used)
    n = int(t.get("keep_top", 0) or 0)
    sets = {}
    for row in rows:
        z = render(zset_t, row["key"], row["window_start"], row["window_end"])
        m = render(member_t, row["key"], row["window_start"], row["window_end"])
        sets.setdefault(z, []).append([m, row["values"][score]])
    out = []
    for z in sorted(sets):
        ms = sorted(sets[z], key=lambda x: (x[1], x[0].encode()), reverse=True)
        out.append({"zset": z, "members": ms[:n] if n else ms})
    return out


def record_alerts(name, where_text, time_field, time_format, lines):
    """A per-record alert: the records (with a valid time, if the source has
    one) that pass `where`, in arrival order."""
    node = parse_where(where_text) if where_text else None
    out = []
    for idx, line in enumerate(lines):
        if not line.strip():
            continue
        rec = parse_record(line)
        if rec is None:
            continue
        if time_field and event_time(where_cases.get(rec, time_field), time_format) is None:
            continue
        if where_true(node, rec):
            out.append({"alert": name, "line": idx + 1, "record": line.rstrip("\n")})
    return {"alert": name, "records": out}


# ------------------------------------------------------------ config files

def interpolate(text):
    def sub(m):
        name, default = m.group(1), m.group(3)
        v = os.environ.get(name)
        if v is None or (v == "" and default is not None):
            if default is None:
                raise ValueError("${%s} is not set" % name)
            return default
        return v
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}", sub, text)


def load_config(path):
    """The pipeline as plain data. YAML 1.2 booleans only (true/false): for
    PyYAML's YAML 1.1 `on:` would be the boolean True."""
    import yaml  # PyYAML (Debian python3-yaml)

    class Loader(yaml.SafeLoader):
        pass
    Loader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                 list("tTfF"))
    with open(path, encoding="utf-8") as f:
        return yaml.load(interpolate(f.read()), Loader=Loader)


def spec_from_config(conf, agg_name):
    aggs = conf.get("aggregations") or {}
    if agg_name not in aggs:
        raise ValueError("no aggregation %r (have: %s)" % (agg_name, ", ".join(aggs)))
    a = aggs[agg_name]
    src = (conf.get("sources") or {})[a["from"]]
    d = {"name": agg_name, "key": a["key"], "where": a.get("where"), "time": src.get("time"),
         "window": a.get("window"), "compute": a.get("compute")}
    d["alerts"] = [dict(name=n, when=al["when"]) for n, al in (conf.get("alerts") or {}).items()
                   if al.get("on") == agg_name and "when" in al]
    sinks = conf.get("sinks") or {}
    for s in a.get("to") or []:
        sk = sinks.get(s) or {}
        if "redis" in sk:
            d["top"] = {k: sk.get(k) for k in ("zset", "member", "score", "keep_top")}
            break
    return Spec(d)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("events", help="JSON lines in arrival order ('-' = stdin)")
    ap.add_argument("--spec", help="the aggregation as JSON (a file name or the JSON text)")
    ap.add_argument("--config", help="an eddy pipeline (YAML)")
    ap.add_argument("--aggregation", help="with --config: the aggregation to compute")
    ap.add_argument("--alert", help="with --config: a per-record alert to compute")
    ap.add_argument("-o", "--out", default="-")
    args = ap.parse_args(argv)
    f = sys.stdin if args.events == "-" else open(args.events, encoding="utf-8")
    lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if args.config:
        conf = load_config(args.config)
        if args.alert:
            al = conf["alerts"][args.alert]
            src = conf["sources"][al["on"]]
            t = src.get("time") or {}
            res = record_alerts(args.alert, al.get("where"), t.get("field"), t.get("format", "auto"), lines)
        else:
            res = run(spec_from_config(conf, args.aggregation), lines)
    elif args.spec:
        text = open(args.spec).read() if os.path.exists(args.spec) else args.spec
        res = run(Spec(json.loads(text)), lines)
    else:
        ap.error("give --spec or --config")
    out = sys.stdout if args.out == "-" else open(args.out, "w")
    json.dump(res, out, sort_keys=True, ensure_ascii=False)
    out.write("\n")


if __name__ == "__main__":
    main()
