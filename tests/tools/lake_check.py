#!/usr/bin/env python3
"""lake_check.py -- the independent reader of tests/integration/t_lake.sh.

Reads a lake written by eddy's lake sink with third-party readers only
(`zstdcat` for JSON lines, pyarrow for Parquet) and compares it with the
tweets that were produced (the `eddy gen tweets` file): prints TAP lines.

  lake_check.py LAKE_DIR FORMAT INPUT.jsonl TOPIC [--dups none|tail]

--dups none: every input tweet is in exactly one row; tail (after kill -9):
every tweet at least once, and the rows read twice are, per Kafka partition,
one run of consecutive offsets (what the last uncommitted checkpoint read).
"""
import datetime
import json
import os
import subprocess
import sys

lake, fmt, inp, topic = sys.argv[1:5]
dups = sys.argv[sys.argv.index("--dups") + 1] if "--dups" in sys.argv else "none"
failed = 0


def tap(ok, what, detail=""):
    global failed
    print(("ok - " if ok else "not ok - ") + what)
    if not ok:
        failed += 1
        for line in str(detail).splitlines()[:20]:
            print("# " + line)


def iso_ms(s):
    return int(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
               .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000 + 0.5)


visible, hidden = [], []
for d, _, files in os.walk(lake):
    for f in files:
        (hidden if f.startswith(".") else visible).append(os.path.join(d, f))
ext = ".parquet" if fmt == "parquet" else ".jsonl.zst"
tap(all(f.endswith(ext) for f in visible), f"every visible file is a {ext} file",
    [f for f in visible if not f.endswith(ext)])
tap(all(os.path.basename(f) == ".eddy-lake.lock" for f in hidden),
    "no stage or temporary file is left after the run", hidden)

rows = []  # (partition dir, row dict)
ts_types = set()  # Parquet: a `ts` column's types other than timestamp[us, tz=UTC]
for f in visible:
    part = os.path.relpath(os.path.dirname(f), lake)
    if fmt == "parquet":
        import pyarrow.parquet as pq
        t = pq.read_table(f)
        if "ts" in t.schema.names and str(t.schema.field("ts").type) != "timestamp[us, tz=UTC]":
            ts_types.add(str(t.schema.field("ts").type))
        for r in t.to_pylist():
            if r.get("ts") is not None:  # TIMESTAMP(isAdjustedToUTC=true): aware, UTC
                r["ts"] = int(r["ts"].timestamp() * 1000 + 0.5)
            rows.append((part, r))
    else:
        out = subprocess.run(["zstdcat", f], check=True, capture_output=True).stdout
        for line in out.decode("utf-8").splitlines():
            r = json.loads(line)
            r["ts"] = iso_ms(r["ts"]) if r.get("ts") is not None else None
            rows.append((part, r))

if fmt == "parquet":
    tap(not ts_types, "the timestamp column ts is TIMESTAMP(isAdjustedToUTC=true, MICROS) "
        "(pyarrow: timestamp[us, tz=UTC])", sorted(ts_types))

tweets = {}
for line in open(inp, encoding="utf-8"):
    t = json.loads(line)
    tweets[t["id"]] = t

seen = {}
for part, r in rows:
    seen.setdefault(r["id"], []).append((part, r))
missing = [i for i in tweets if i not in seen]
extra = [i for i in seen if i not in tweets]
tap(not missing and not extra, f"every one of the {len(tweets)} input tweets is in the lake, "
    "and nothing else", f"missing {missing[:5]} ({len(missing)}), extra {extra[:5]}")
twice = {i: v for i, v in seen.items() if len(v) > 1}
if dups == "none":
    tap(not twice, "no tweet is written twice", f"{len(twice)} twice, e.g. {list(twice)[:5]}")
else:
    runs = {}
    for i, v in twice.items():
        for _, r in v[:1]:
            runs.setdefault(r["partition"], []).append(r["offset"])
    ok = all(sorted(o) == list(range(min(o), max(o) + 1)) for o in runs.values())
    tap(ok, f"the {len(twice)} tweets written twice are one run of consecutive offsets per "
        "partition (the last checkpoint not committed)", {p: (min(o), max(o), len(o))
                                                          for p, o in runs.items()})
    tap(len(twice) < len(tweets) // 2, f"fewer than half the tweets are written twice "
        f"({len(twice)})")

bad = []
for i, v in seen.items():
    t = tweets.get(i)
    if t is None:
        continue
    for part, r in v:
        ts = iso_ms(t["created_at"])
        d = datetime.datetime.fromtimestamp(ts / 1000, datetime.timezone.utc)
        want = {"id": t["id"], "ts": ts, "text": t["text"], "user": t["user"]["screen_name"],
                "followers": t["user"]["followers_count"], "truncated": t["truncated"],
                "topic": topic, "key": t["id_str"]}
        got = {k: r.get(k) for k in want}
        if got != want:
            bad.append(f"id {i}: got {got}, expected {want}")
        if part != d.strftime("dt=%Y-%m-%d/hour=%H"):
            bad.append(f"id {i}: in partition {part}, created_at {t['created_at']}")
tap(not bad, "every row's values equal its input tweet, in the partition of its created_at",
    "\n".join(bad[:10]))

offs = {}
for _, r in rows:
    offs.setdefault(r["partition"], set()).add(r["offset"])
tap(sum(len(o) for o in offs.values()) == len(tweets) and len(offs) > 1,
    f"@partition/@offset: {len(tweets)} distinct Kafka positions over {len(offs)} partitions",
    {p: len(o) for p, o in offs.items()})
sys.exit(0)
