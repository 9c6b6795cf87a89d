#!/usr/bin/env python3
"""Compares eddy's per source partition figures with Kafka's own tools and
with the input, for t_partitions.sh.

    partitions_check.py EXPECTED_JSON DESCRIBE_TXT END_OFFSETS_TXT PIPELINE_JSON METRICS_TXT SOURCE

EXPECTED_JSON: {"topic": T, "counts": [n per partition], "last_ts": [event time
of each partition's last record], "bound_ms": max_out_of_orderness}.
DESCRIBE_TXT: `kafka-consumer-groups.sh --describe --group G` (scripts/kafka-topics
group-describe): TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG per line,
'-' when the group has no offset. END_OFFSETS_TXT: `kafka-get-offsets.sh`
(TOPIC:PARTITION:OFFSET). Prints TAP lines; exits 1 if any failed.
"""
import json
import sys

from tap import Tap


def main():
    exp = json.load(open(sys.argv[1]))
    topic = exp["topic"]
    kafka = {}
    for line in open(sys.argv[2]):
        f = line.split()
        if len(f) >= 6 and f[1] == topic:
            num = lambda s: None if s == "-" else int(s)
            kafka[int(f[2])] = {"committed": num(f[3]), "end": num(f[4]), "lag": num(f[5])}
    ends = {}
    for line in open(sys.argv[3]):
        t, p, o = line.strip().rsplit(":", 2)
        if t == topic:
            ends[int(p)] = int(o)
    source_wm = None
    for line in open(sys.argv[5]):
        if line.startswith(f'eddy_source_watermark_seconds{{source="{sys.argv[6]}"}} '):
            source_wm = float(line.split()[1])
    p = json.load(open(sys.argv[4]))
    src = next(s for s in p["sources"] if s["name"] == sys.argv[6])
    eddy = {q["partition"]: q for q in src["partitions"] if q["topic"] == topic}
    samples = {}
    for line in open(sys.argv[5]):
        if line.startswith("eddy_source_partition_") and f'topic="{topic}"' in line:
            name, v = line.rsplit(" ", 1)
            part = int(name.split('partition="')[1].split('"')[0])
            samples[(name.split("{")[0], part)] = float(v)
    tap = Tap()
    check = tap.check

    parts = list(range(len(exp["counts"])))
    check("eddy lists every partition of the topic", sorted(eddy), parts)
    check("committed offsets = CURRENT-OFFSET (kafka-consumer-groups --describe)",
          {i: eddy[i]["committed_offset"] for i in parts if i in eddy},
          {i: kafka.get(i, {}).get("committed") for i in parts})
    check("end offsets = LOG-END-OFFSET (kafka-consumer-groups --describe)",
          {i: eddy[i]["end_offset"] for i in parts if i in eddy},
          {i: kafka.get(i, {}).get("end") for i in parts})
    check("kafka-get-offsets --time -1 = records produced per partition (Python)",
          [ends.get(i) for i in parts], exp["counts"])
    check("end offsets = kafka-get-offsets --time -1",
          {i: eddy[i]["end_offset"] for i in parts if i in eddy}, {i: ends.get(i) for i in parts})
    check("lag = LAG (kafka-consumer-groups --describe)",
          {i: eddy[i]["lag_records"] for i in parts if i in eddy},
          {i: kafka.get(i, {}).get("lag") for i in parts})
    check("read offsets = records produced (all read)",
          {i: eddy[i]["read_offset"] for i in parts if i in eddy},
          {i: exp["counts"][i] for i in parts})
    check("partition watermarks = last event time - max_out_of_orderness (Python)",
          {i: eddy[i]["watermark_ms"] for i in parts if i in eddy},
          {i: exp["last_ts"][i] - exp["bound_ms"] for i in parts})
    # Every partition is assigned before its first record, so none runs
    # ahead: the source's watermark is the lowest partition's.
    low = min(exp["last_ts"]) - exp["bound_ms"]
    check("source watermark = the lowest partition's (Python), /v1/pipeline and /metrics",
          (src["watermark_ms"], source_wm), (low, low / 1000))
    fams = [("lag_records", "lag_records", 1), ("committed_offset", "committed_offset", 1),
            ("read_offset", "read_offset", 1), ("end_offset", "end_offset", 1),
            ("watermark_seconds", "watermark_ms", 1000)]
    for fam, key, div in fams:
        name = "eddy_source_partition_" + fam
        check(f"/metrics {name} = /v1/pipeline (a sample exactly where the figure is known)",
              {i: samples.get((name, i)) for i in parts},
              {i: None if eddy.get(i, {}).get(key) is None else eddy[i][key] / div for i in parts})
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
