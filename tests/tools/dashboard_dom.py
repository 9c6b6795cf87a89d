#!/usr/bin/env python3
"""Reads the figures eddy's dashboard shows (web/dashboard.js) out of a DOM
dump (chromium --dump-dom) and compares them with /v1/pipeline and /metrics
fetched at the same moment, and with an independent word count.

    dashboard_dom.py DOM PIPELINE_JSON METRICS_TXT EXPECTED_JSON

EXPECTED_JSON: {"words": N, "distinct": N, "redis": [[member, score], ...]
(ZREVRANGE of the leaderboard's key, or null)}. Prints TAP lines, one per
comparison; exits 1 if any failed.

    dashboard_dom.py --partitions DOM PIPELINE_JSON

compares the page's source partitions table (committed, read and end
offsets, lag, watermark per source, topic and partition) with
/v1/pipeline's sources[].partitions fetched right after (t_kafka_figures.sh,
while those figures hold still).
"""
import json
import sys
from html.parser import HTMLParser

from tap import Tap


class Dom(HTMLParser):
    """Collects elements by the data- attributes the dashboard writes."""

    def __init__(self):
        super().__init__()
        self.nodes, self.edges, self.rows, self.cards, self.body = [], [], {}, {}, {}
        self.table = None
        self.tbody = False
        self.row = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class", "")
        if tag == "body":
            self.body = a
        elif tag == "g" and "node" in cls.split():
            self.nodes.append(a)
        elif tag == "g" and "edge" in cls.split():
            self.edges.append(a)
        elif tag == "table":
            self.table = a.get("id")
            self.rows[self.table] = []
        elif tag == "tbody":
            self.tbody = True
        elif tag == "tr" and self.table and self.tbody:
            self.row = {"attrs": a, "cells": []}
            self.rows[self.table].append(self.row)
        elif tag == "td" and self.row is not None:
            self.row["cells"].append(a.get("data-v"))
        elif tag == "div" and "card" in cls.split():
            self.cards[a.get("id")] = a.get("data-v")

    def handle_endtag(self, tag):
        if tag == "table":
            self.table = None
        elif tag == "tbody":
            self.tbody = False
        elif tag == "tr":
            self.row = None


def metrics(path):
    m = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        k, v = line.rsplit(" ", 1)
        m[k] = float(v)
    return m


def partitions(dom_path, pipeline_path):
    dom = Dom()
    dom.feed(open(dom_path).read())
    p = json.load(open(pipeline_path))
    shown = {(r["attrs"]["data-source"], r["attrs"]["data-topic"], int(r["attrs"]["data-partition"])):
             tuple(None if c == "" else int(c) for c in r["cells"][3:8])
             for r in dom.rows.get("partitions", [])}
    want = {(s["name"], q["topic"], q["partition"]):
            (q["committed_offset"], q["read_offset"], q["end_offset"], q["lag_records"], q["watermark_ms"])
            for s in p["sources"] for q in s["partitions"]}
    ok = shown == want and len(want) > 0
    print(("ok" if ok else "not ok") + " - dashboard: source partitions table (committed, read, end, "
          f"lag, watermark) = /v1/pipeline sources[].partitions ({len(want)} partitions)")
    if not ok:
        print(f"# shown: {shown!r}\n# want:  {want!r}")
    return 0 if ok else 1


def main():
    if sys.argv[1] == "--partitions":
        return partitions(sys.argv[2], sys.argv[3])
    dom = Dom()
    dom.feed(open(sys.argv[1]).read())
    p = json.load(open(sys.argv[2]))
    m = metrics(sys.argv[3])
    exp = json.load(open(sys.argv[4]))
    tap = Tap("dashboard: ", "shown")
    check = tap.check

    check("the page refreshed at least twice", int(dom.body.get("data-ticks", "0")) >= 2, True)
    byid = {a["id"]: a for a in p["actors"]}
    linked = {a["id"] for a in p["actors"] if a["to"]} | {l["to"] for a in p["actors"] for l in a["to"]}
    check("graph nodes = the actors on links of /v1/pipeline",
          sorted(n["data-actor"] for n in dom.nodes), sorted(byid[i]["name"] for i in linked))
    check("graph edges = the links of /v1/pipeline (from, to, kinds)",
          sorted((e["data-from"], e["data-to"], e["data-kinds"]) for e in dom.edges),
          sorted((a["name"], byid[l["to"]]["name"], ",".join(l["kinds"]))
                 for a in p["actors"] for l in a["to"]))
    check("graph nodes: records in and out = /v1/pipeline",
          {n["data-actor"]: (int(n["data-records-in"]), int(n["data-records-out"])) for n in dom.nodes},
          {byid[i]["name"]: (byid[i]["records_in"], byid[i]["records_out"]) for i in linked})
    check("graph: mailbox depths = /v1/pipeline",
          {n["data-actor"]: int(n["data-mailbox"]) for n in dom.nodes},
          {byid[i]["name"]: byid[i]["mailbox"] for i in linked})
    check("edges carry their receiver's mailbox depth",
          all(int(e["data-mailbox"]) == next(a["mailbox"] for a in p["actors"] if a["name"] == e["data-to"])
              for e in dom.edges), True)
    aggs_in = sum(int(n["data-records-in"]) for n in dom.nodes if n["data-kind"] == "aggregator")
    check("records into the aggregator nodes = words + events (Python)", aggs_in,
          exp["words"] + exp["events"])
    actors = {r["attrs"]["data-actor"]: r["cells"] for r in dom.rows.get("actors", [])}
    check("actors table: every actor with records in/out = /v1/pipeline",
          {k: (int(v[4]), int(v[5])) for k, v in actors.items()},
          {a["name"]: (a["records_in"], a["records_out"]) for a in p["actors"]})
    src = {r["attrs"]["data-source"]: r["cells"] for r in dom.rows.get("sources", [])}
    check("sources table: inputs, records, rejected = /v1/pipeline stats",
          {k: (int(v[2]), int(v[3]), int(v[4])) for k, v in src.items()},
          {k: (v["inputs"], v["records"], v["rejected"]) for k, v in p["stats"]["sources"].items()})
    check("sources table: records = words, events (Python)", (int(src["docs"][3]), int(src["events"][3])),
          (exp["words"], exp["events"]))
    check("sources table: watermark = /v1/pipeline = max(ts) - 2 s (Python)",
          {k: v[6] for k, v in src.items()},
          {"docs": "", "events": str(exp["watermark"])})
    # Lag is wall clock minus watermark: the page's was read a moment earlier.
    lag_page = int(src["events"][7] or -1)
    lag_now = next(s["lag_ms"] for s in p["sources"] if s["name"] == "events")
    check("sources table: watermark lag = a moment before /v1/pipeline's",
          0 <= lag_now - lag_page < 60000 and lag_page > 0, True)
    sinks = {r["attrs"]["data-sink"]: r["cells"] for r in dom.rows.get("sinks", [])}
    check("sinks table: rows written = /metrics eddy_sink_rows_written_total",
          {k: int(v[2]) for k, v in sinks.items()},
          {s["name"]: int(m[f'eddy_sink_rows_written_total{{sink="{s["name"]}"}}']) for s in p["sinks"]})
    check("sinks table: writes = /v1/pipeline",
          {k: int(v[4]) for k, v in sinks.items()}, {s["name"]: s["writes"] for s in p["sinks"]})
    # Checkpoints go on while the pipeline idles: the page's is older, not newer.
    check("sinks table: 1 <= last durable checkpoint <= /v1/pipeline's a moment later",
          all(1 <= int(sinks[s["name"]][7]) <= s["last_durable_checkpoint"] for s in p["sinks"]), True)
    check("card: records aggregated = /metrics eddy_aggregator_records_total = words + events",
          (int(dom.cards.get("card-aggregated")),
           int(sum(v for k, v in m.items() if k.startswith("eddy_aggregator_records_total")))),
          (exp["words"] + exp["events"], exp["words"] + exp["events"]))
    check("card: keys = distinct words + users (Python)", int(dom.cards.get("card-keys")),
          exp["distinct"] + exp["users"])
    if exp.get("redis") is not None:
        lb = [(r["attrs"]["data-member"], r["attrs"]["data-score"]) for r in dom.rows.get("leaderboard", [])]
        check("leaderboard = ZREVRANGE … WITHSCORES (redis-cli)", lb, [tuple(x) for x in exp["redis"]])
        check("leaderboard ranks are 1..N", [int(r["attrs"]["data-rank"]) for r in dom.rows["leaderboard"]],
              list(range(1, len(exp["redis"]) + 1)))
        check("leaderboard scores = the top counts (Python)", [int(s) for _, s in lb], exp["top_counts"])
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
