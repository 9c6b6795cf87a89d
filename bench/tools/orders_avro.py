#!/usr/bin/env python3
"""Writes the S11 input: the S2 order events (JSON lines, bench/tools/gen_orders.py)
as Avro binary datums written by fastavro under bench/configs/s11_orders.avsc,
each preceded by its length (4 bytes, little-endian), in the same order.

    orders_avro.py SCHEMA.avsc IN.jsonl OUT.bin
"""
import io
import json
import struct
import sys

import fastavro


def main():
    schema = fastavro.parse_schema(json.load(open(sys.argv[1])))
    tmp = sys.argv[3] + ".tmp"
    with open(sys.argv[2], encoding="ascii") as f, open(tmp, "wb") as out:
        b = io.BytesIO()
        for line in f:
            b.seek(0)
            b.truncate()
            fastavro.schemaless_writer(b, schema, json.loads(line))
            d = b.getvalue()
            out.write(struct.pack("<I", len(d)))
            out.write(d)
    import os
    os.replace(tmp, sys.argv[3])


main()
