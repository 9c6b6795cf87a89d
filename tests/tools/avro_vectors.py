#!/usr/bin/env python3
"""Writes tests/unit/avro_vectors.h: Avro binary datums written by fastavro
(an independent encoder) and, per datum, the values Python gives for a list
of field paths — what test_avro.c expects eddy's decoder to read.

    ~/.cache/eddy/venv/bin/python tests/tools/avro_vectors.py > tests/unit/avro_vectors.h

Expected values per path (a C string each):
  "m" missing, "n" null, "t" / "f" booleans,
  "i:TEXT" an int or long (decimal text, exact),
  "d:HEX" a float or double (float.hex() of the value as a double),
  "s:HEX" a string, bytes, fixed or enum symbol (its bytes, hex),
  "o:JSON" a record, array or map (its JSON text: schema field order, map
           entries in the order written, no spaces).
"""
import io
import json
import struct

import fastavro

SCHEMA = {
    "type": "record", "name": "Order", "namespace": "test.eddy",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "qty", "type": "int"},
        {"name": "price", "type": "double"},
        {"name": "ratio", "type": "float"},
        {"name": "paid", "type": "boolean"},
        {"name": "name", "type": "string"},
        {"name": "blob", "type": "bytes"},
        {"name": "code", "type": {"type": "fixed", "name": "Code", "size": 3}},
        {"name": "tier", "type": {"type": "enum", "name": "Tier",
                                  "symbols": ["BRONZE", "SILVER", "GOLD"]}},
        {"name": "note", "type": ["null", "string"]},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "long"}},
        {"name": "customer", "type": {
            "type": "record", "name": "Customer",
            "fields": [
                {"name": "cid", "type": "string"},
                {"name": "country", "type": ["null", "string"]},
                {"name": "address", "type": ["null", {
                    "type": "record", "name": "Address",
                    "fields": [{"name": "city", "type": "string"},
                               {"name": "zip", "type": "int"}]}]},
            ]}},
        {"name": "either", "type": ["long", "string", "Customer"]},
        {"name": "nothing", "type": "null"},
    ],
}

PATHS = ["id", "qty", "price", "ratio", "paid", "name", "blob", "code", "tier", "note",
         "tags", "attrs", "attrs.a", "attrs.zz", "customer.cid", "customer.country",
         "customer.address.city", "customer.address.zip", "customer.address", "either",
         "either.cid", "nothing", "customer"]


def base(**kw):
    r = {"id": 1, "qty": 2, "price": 3.5, "ratio": 0.25, "paid": True, "name": "n",
         "blob": b"", "code": b"abc", "tier": "BRONZE", "note": None, "tags": [],
         "attrs": {}, "customer": {"cid": "c1", "country": None, "address": None},
         "either": 7, "nothing": None}
    r.update(kw)
    return r


RECORDS = [
    base(),
    base(id=-(2**63), qty=-(2**31), price=-0.0, ratio=3.4028234663852886e38, paid=False,
         name="caf\u00e9 \u4e16\u754c \U0001F600", blob=bytes(range(256)), code=b"\x00\xff\x80",
         tier="GOLD", note="hello", tags=["a", "b\"c", ""], attrs={"a": 5, "b": -6, "a2": 2**62},
         customer={"cid": "c2", "country": "NL", "address": {"city": "Delft", "zip": 2611}},
         either="text"),
    base(id=2**63 - 1, qty=2**31 - 1, price=1e-300, ratio=1.401298464324817e-45,
         tier="SILVER", tags=["x"] * 70, attrs={str(i): i for i in range(40)},
         either={"cid": "inner", "country": "DE", "address": None}),
    base(price=float("nan"), ratio=float("inf"), note="", name=""),
    base(price=123456789.125, ratio=-1.5, id=0, qty=0,
         customer={"cid": "", "country": "FR", "address": {"city": "", "zip": -1}}),
    base(price=0.1, ratio=0.1),
]


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def get(rec, path):
    """Python's value at path (None-able), or the marker MISSING."""
    v = rec
    for seg in path.split("."):
        if isinstance(v, dict) and seg in v:
            v = v[seg]
        else:
            return MISSING
    return v


MISSING = object()


def jsonish(v):
    if isinstance(v, bytes):
        return v.decode("latin-1")
    if isinstance(v, dict):
        return {k: jsonish(x) for k, x in v.items()}
    if isinstance(v, list):
        return [jsonish(x) for x in v]
    return v


def expect(rec, path):
    v = get(rec, path)
    if v is MISSING:
        return "m"
    if v is None:
        return "n"
    if v is True:
        return "t"
    if v is False:
        return "f"
    if isinstance(v, int):
        return "i:%d" % v
    if isinstance(v, float):
        if path == "ratio":
            v = f32(v)
        return "d:" + v.hex() if v == v and abs(v) != float("inf") else \
            "s:" + ("NaN" if v != v else "Infinity" if v > 0 else "-Infinity").encode().hex()
    if isinstance(v, str):
        return "s:" + v.encode("utf-8").hex()
    if isinstance(v, bytes):
        return "s:" + v.hex()
    return "o:" + json.dumps(jsonish(v), separators=(",", ":"), ensure_ascii=False)


def c_bytes(b):
    return "".join("\\x%02x" % c for c in b)


def c_str(s):
    out = []
    for ch in s.encode("utf-8"):
        if ch in (0x22, 0x5C):
            out.append("\\" + chr(ch))
        elif 0x20 <= ch < 0x7F:
            out.append(chr(ch))
        else:
            out.append("\\x%02x\"\"" % ch)
    return '"' + "".join(out) + '"'


def main():
    parsed = fastavro.parse_schema(SCHEMA)
    print("/* avro_vectors.h — generated by tests/tools/avro_vectors.py with fastavro %s;"
          % fastavro.__version__)
    print(" * do not edit. Datums written by fastavro.schemaless_writer, expected values")
    print(" * from Python (see the script for the notation). */")
    print("static const char avro_schema_json[] = %s;" % c_str(json.dumps(SCHEMA)))
    print("static const char *const avro_paths[] = {%s};" % ", ".join(c_str(p) for p in PATHS))
    print("#define AVRO_NPATHS %d" % len(PATHS))
    print("typedef struct { const char *bytes; size_t len; const char *expect[%d]; } avro_vec_t;"
          % len(PATHS))
    print("static const avro_vec_t avro_vecs[] = {")
    for rec in RECORDS:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, rec)
        b = buf.getvalue()
        back = fastavro.schemaless_reader(io.BytesIO(b), parsed)
        assert back["id"] == rec["id"]
        exps = ", ".join(c_str(expect(rec, p)) for p in PATHS)
        print('    {"%s", %d, {%s}},' % (c_bytes(b), len(b), exps))
    print("};")
    print("#define AVRO_NVECS %d" % len(RECORDS))


main()
