#!/usr/bin/env python3
"""Avro messages for t_avro.sh, written by fastavro (an independent encoder),
with the same events as JSON lines for tests/tools/window_oracle.py.

    avro_messages.py SCHEMA.avsc N SEED OUTDIR [--framing none|confluent] [--schema-id ID]

Writes, in OUTDIR:
  messages.bin   the messages, separated by DELIM (for kcat -D), in order:
                 N good datums of the bucket counter's schema
                 (config/examples/bucket_counter.avsc), with a bad message
                 after every N/8 good ones;
  events.jsonl   one line per message in the same order: the good event as
                 JSON (what the datum holds), or the line BAD (a line that is
                 not a JSON object, which the oracle counts as a reject);
  bad.tsv        per bad message: its index (from 0) and a phrase its
                 reject error must contain.
The bad messages: a truncated datum, a trailing byte, an enum index out of
range, a union index out of range, a string length beyond the message, and
with Confluent framing a wrong schema id and a wrong magic byte (without
framing: bytes that are no varint).
"""
import argparse
import copy
import io
import json
import random
import struct

import fastavro

DELIM = b"~~EDDY~AVRO~MSG~~"


def encode(schema, rec):
    b = io.BytesIO()
    fastavro.schemaless_writer(b, fastavro.parse_schema(schema), rec)
    return b.getvalue()


def with_type(schema, field, typ):
    """The schema with one field's type replaced (to write invalid data)."""
    s = copy.deepcopy(schema)
    s["name"] = s["name"] + "Bad"
    for f in s["fields"]:
        if f["name"] == field:
            f["type"] = typ
            f.pop("default", None)
        elif isinstance(f["type"], dict) and f["type"].get("type") == "enum":
            f["type"] = dict(f["type"], name=f["type"]["name"] + "Bad")
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("schema")
    ap.add_argument("n", type=int)
    ap.add_argument("seed", type=int)
    ap.add_argument("out")
    ap.add_argument("--framing", default="none", choices=["none", "confluent"])
    ap.add_argument("--schema-id", type=int, default=1)
    a = ap.parse_args()
    schema = json.load(open(a.schema))
    levels = next(f["type"]["symbols"] for f in schema["fields"] if f["name"] == "level")
    rnd = random.Random(a.seed)
    servers = ["Iceman", "Storm", "Rogue", "Cyclops", 'Jean "Phoenix" Grey', "\u03a9mega"]
    topics = ["Dreams", "Nightmares", "Visions"]
    users = [None, "ana", "bo", "c\u00e9cile"]
    t0 = 1767225600  # 2026-01-01T00:00:00Z
    frame = (b"\x00" + struct.pack(">I", a.schema_id)) if a.framing == "confluent" else b""

    def good(i):
        return {"origin_server": rnd.choice(servers), "topic": rnd.choice(topics),
                "timestamp": t0 + i // 10 + rnd.randint(-2, 0),
                "level": rnd.choice(levels), "user": rnd.choice(users),
                "tags": [rnd.choice("xyz") for _ in range(rnd.randint(0, 3))]}

    def bad(k, i):
        r = good(i)
        d = encode(schema, r)
        kinds = [
            (frame + d[:-1], "does not match the schema at byte"),
            (frame + d + b"\x00", "1 trailing bytes after the datum"),
            (frame + encode(with_type(schema, "level", "int"), dict(r, level=9)),
             "field 'level' (enum Level): enum index 9 out of range (4 symbols)"),
            (frame + encode(with_type(schema, "user", "long"), dict(r, user=5)),
             "field 'user' (union): union branch index 5 out of range (2 branches)"),
            (frame + encode(with_type(schema, "origin_server", "long"), dict(r, origin_server=2**40)),
             "field 'origin_server' (string): string length 1099511627776 goes beyond"),
        ]
        if a.framing == "confluent":
            kinds += [(b"\x00" + struct.pack(">I", a.schema_id + 1) + d,
                       "Confluent schema id %d at byte 1, expected %d" % (a.schema_id + 1, a.schema_id)),
                      (b"\x05" + struct.pack(">I", a.schema_id) + d,
                       "byte 0 is 0x05, expected the Confluent magic byte 0x00")]
        else:
            kinds += [(b"\xff" * 12, "bad varint")]
        return kinds[k % len(kinds)]

    msgs, events, bads = [], [], []
    every = max(1, a.n // 8)
    k = 0
    for i in range(a.n):
        r = good(i)
        msgs.append(frame + encode(schema, r))
        events.append(json.dumps(r, ensure_ascii=False))
        if i % every == every - 1:
            m, phrase = bad(k, i)
            bads.append("%d\t%s" % (len(msgs), phrase))
            msgs.append(m)
            events.append("BAD")
            k += 1
    for m in msgs:
        assert DELIM not in m
    with open(a.out + "/messages.bin", "wb") as f:
        f.write(DELIM.join(msgs))
    with open(a.out + "/events.jsonl", "w", encoding="utf-8") as f:
        f.write("\n".join(events) + "\n")
    with open(a.out + "/bad.tsv", "w", encoding="utf-8") as f:
        f.write("\n".join(bads) + "\n")


main()
