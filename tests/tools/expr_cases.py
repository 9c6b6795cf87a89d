#!/usr/bin/env python3
"""Random `set:` expressions (arithmetic on fields, docs/transforms.md) and
records, judged by an evaluator written here from the documentation — the
oracle for test_transform's random cases.

    expr_cases.py NEXPR NREC SEED OUT

Writes, one per line:
  R HEXJSON                NREC records (JSON objects, hex)
  E HEXEXPR RES RES ...    NEXPR expressions (text, hex), then one result per
                           record: X (the evaluation fails), N:REPR (a
                           number, Python's repr of the float), S:HEX (a
                           string), B:0/B:1, Z (null), O (object or array).
Deterministic for a seed.

The language: + - * / % on two numbers (IEEE doubles, left to right; % as
Python's float %), + on two
strings (concatenation), unary minus on a number; anything else, a missing
field, a division or modulo by zero or a result that is not finite fails the
evaluation. A field alone is its value, whatever its type.
"""
import json
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from where_cases import MISSING, get, rand_record  # noqa: E402  (records as where's oracle draws them)

FIELDS = ["a", "b", "c", "s", "t", "n.x", "z"]
PREFERRED = {"a": "num", "b": "num", "c": "num", "s": "str", "t": "str", "n.x": "num", "z": "num"}
NUMS = [0, 1, 2, 3, -1, -2, 0.5, -1.25, 2.5e-3, 1e3, 1e16, 100, 7, 1e308, 0.1, 0.2, 3.3]
STRS = ["", "a", "ab", "é", "x\"y", "日本", "12", "back\\slash", " "]
LITS = ["0", "1", "2", "0.5", "10", "1e3", "0.908", "3.25", "1e308", "0.1", "7"]
SLITS = ['""', '"x"', "'y'", '" - "', '"é"']


class Fail(Exception):
    pass


NUM_FIELDS = ["a", "b", "c", "n.x", "z"]
STR_FIELDS = ["s", "t"]


def rand_expr(rng, want, depth=0):
    """An expression tree of type `want` (num or str; now and then the
    other, for type errors): ('lit', text, value) | ('field', name) |
    ('neg', e) | (op, l, r)."""
    if rng.random() < 0.04:
        want = "str" if want == "num" else "num"
    r = rng.random()
    if depth > 3 or r < 0.3:
        if rng.random() < 0.55:
            return ("field", rng.choice(NUM_FIELDS if want == "num" else STR_FIELDS))
        if want == "num":
            t = rng.choice(LITS)
            return ("lit", t, float(t))
        t = rng.choice(SLITS)
        return ("lit", t, t[1:-1])
    if want == "str":
        return ("+", rand_expr(rng, want, depth + 1), rand_expr(rng, want, depth + 1))
    if r < 0.38:
        return ("neg", rand_expr(rng, want, depth + 1))
    op = rng.choice("+-*/%")
    return (op, rand_expr(rng, want, depth + 1), rand_expr(rng, want, depth + 1))


PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "%": 2}


def text(e, rng):
    """The expression's text; parentheses where needed, sometimes more."""
    kind = e[0]
    if kind == "field":
        return e[1]
    if kind == "lit":
        return e[1]
    if kind == "neg":
        inner = text(e[1], rng)
        if e[1][0] in PREC:
            inner = "(" + inner + ")"
        return "-" + inner
    lt, rt = text(e[1], rng), text(e[2], rng)
    if e[1][0] in PREC and PREC[e[1][0]] < PREC[kind]:
        lt = "(" + lt + ")"
    if e[2][0] in PREC and PREC[e[2][0]] <= PREC[kind]:
        rt = "(" + rt + ")"
    if rng.random() < 0.1:
        lt = "(" + lt + ")"
    sp = rng.choice([" ", ""])
    return lt + sp + kind + sp + rt


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def finite(x):
    if not math.isfinite(x):
        raise Fail()
    return x


def ev(e, rec):
    kind = e[0]
    if kind == "lit":
        return e[2]
    if kind == "field":
        v = get(rec, e[1])
        if v is MISSING:
            raise Fail()
        return float(v) if is_num(v) else v
    if kind == "neg":
        v = ev(e[1], rec)
        if not is_num(v):
            raise Fail()
        return finite(-v)
    a, b = ev(e[1], rec), ev(e[2], rec)
    if kind == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    if not is_num(a) or not is_num(b):
        raise Fail()
    if kind == "+":
        return finite(a + b)
    if kind == "-":
        return finite(a - b)
    if kind == "*":
        return finite(a * b)
    if b == 0:
        raise Fail()
    if kind == "%":
        return finite(a % b)  # Python's float %: the sign of the divisor
    return finite(a / b)


def result(e, rec):
    try:
        v = ev(e, rec)
    except Fail:
        return "X"
    if v is None:
        return "Z"
    if isinstance(v, bool):
        return "B:%d" % v
    if is_num(v):
        return "N:" + repr(float(v))
    if isinstance(v, str):
        return "S:" + v.encode().hex()
    return "O"


def main():
    nexpr, nrec, seed, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rng = random.Random(seed)
    recs = [rand_record(rng, FIELDS, PREFERRED, NUMS, STRS) for _ in range(nrec)]
    with open(out, "w") as f:
        for r in recs:
            f.write("R " + json.dumps(r, ensure_ascii=False).encode().hex() + "\n")
        for _ in range(nexpr):
            e = rand_expr(rng, "str" if rng.random() < 0.2 else "num")
            f.write("E " + text(e, rng).encode().hex() + " " +
                    " ".join(result(e, r) for r in recs) + "\n")


if __name__ == "__main__":
    main()
