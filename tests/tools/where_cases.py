#!/usr/bin/env python3
"""Random `where:` expressions and records, judged by an evaluator of the
language written here from its documentation (docs/config.md, "where") —
the oracle for test_where's random cases.

    where_cases.py NEXPR NREC SEED OUT

Writes, one per line:
  R HEXJSON                       NREC records (JSON objects, UTF-8, hex)
  E HEXEXPR BITS MISSING WRONG    NEXPR expressions (text, hex); BITS has one
                                  0/1 per record, in order; MISSING and WRONG
                                  are the predicates over all records that
                                  were false because a field was missing
                                  (or null) / had another type, counted left
                                  to right with and/or stopping early.
Deterministic for a seed.
"""
import json
import random
import re
import sys

MISSING = object()

FIELDS = ["a", "b", "s", "t", "flag", "n.x", "n.y", "o"]
# The type each field holds most of the time (the rest is random).
PREFERRED = {"a": "num", "b": "num", "s": "str", "t": "str", "flag": "bool",
             "n.x": "num", "n.y": "str", "o": "other"}
NUMS = [0, 1, 2, 3, -1, -2, 0.5, -1.25, 2.5e-3, 1e3, 1e16, 100, 1000, 1000.5, -0.0]
STRS = ["", "a", "ab", "abc", "b", "ba", "zz", "a b", "Data Science", "data science",
        "big data", "Machine Learning", "AI", "ai", "said AI.", "é", "É", "café", "CAFÉ",
        "été", "x\"y", "it's", "back\\slash", "tab\there", "日本", "123", "a1b2",
        "failed", "paid", "cancelled", "FAILED"]
PATTERNS = ["^a", "b$", "a.c", "(?i)data science", "(?i)^CAF", "é", "(?i)É", "\\d", "^$",
            "a|b", "[ab]+c", "(?i)\\bai\\b", "\\s", "^.{3}$", "x\"y", "it's", "\\\\", "^\\w+$",
            "(?i)(machine learning|big data)", "^[^a-z]*$", "l{2}", "(a)(b)?", "日"]
OPS = ["==", "!=", "<", "<=", ">", ">="]


def rand_value(rng, kind, nums=None, strs=None):
    """A value of `kind` most of the time, of a random kind (or MISSING) else.
    nums/strs: the pools to draw from (default: this oracle's)."""
    if rng.random() < 0.25:
        kind = rng.choice(["num", "str", "bool", "null", "missing", "other"])
    if kind == "num":
        return rng.choice(nums or NUMS) if rng.random() < 0.8 else round(rng.uniform(-100, 100), 2)
    if kind == "str":
        return rng.choice(strs or STRS)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "other":
        return rng.choice([{"k": 1}, [1, 2], [], {}])
    return MISSING


def rand_record(rng, fields=None, preferred=None, nums=None, strs=None):
    """A record over `fields` (dotted paths one level deep), each of its
    `preferred` kind most of the time (default: this oracle's)."""
    rec = {}
    for f in fields or FIELDS:
        v = rand_value(rng, (preferred or PREFERRED)[f], nums, strs)
        if v is MISSING:
            continue
        if "." in f:
            head, tail = f.split(".")
            if head not in rec:
                rec[head] = {} if rng.random() < 0.9 else rng.choice(["str", 5, None])
            if isinstance(rec[head], dict):
                rec[head][tail] = v
        else:
            rec[f] = v
    return rec


# ------------------------------------------------------------- the oracle

def get(rec, path):
    cur = rec
    for seg in path.split("."):
        if not isinstance(cur, dict) or seg not in cur:
            return MISSING
        cur = cur[seg]
    return cur


def typ(v):
    if v is MISSING or v is None:
        return "absent"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "num"
    if isinstance(v, str):
        return "str"
    return "other"


def key(v):
    """Value for ordering: numbers as numbers, strings as UTF-8 bytes."""
    return v.encode("utf-8") if isinstance(v, str) else v


def compare(op, a, b):
    """True/False, or None if not comparable."""
    ta, tb = typ(a), typ(b)
    if ta != tb or ta == "other":
        return None
    if ta == "bool" and op not in ("==", "!="):
        return None
    x, y = key(a), key(b)
    return {"==": x == y, "!=": x != y, "<": x < y, "<=": x <= y,
            ">": x > y, ">=": x >= y}[op]


class Counts:
    def __init__(self):
        self.missing = 0
        self.wrong = 0


def evaluate(node, rec, c):
    kind = node[0]
    if kind == "or":
        for sub in node[1]:
            if evaluate(sub, rec, c):
                return True
        return False
    if kind == "and":
        for sub in node[1]:
            if not evaluate(sub, rec, c):
                return False
        return True
    if kind == "not":
        return not evaluate(node[1], rec, c)
    if kind == "paren":
        return evaluate(node[1], rec, c)
    v = get(rec, node[1])
    if kind == "missing":
        return (typ(v) == "absent") != node[2]
    if typ(v) == "absent" or (kind == "cmpf" and typ(get(rec, node[3])) == "absent"):
        c.missing += 1
        return False
    if kind in ("cmp", "cmpf"):
        other = node[3] if kind == "cmp" else get(rec, node[3])
        if len(node) > 4:  # FIELD % N: Python's float %
            if typ(v) != "num":
                c.wrong += 1
                return False
            v = float(v) % node[4]
        r = compare(node[2], v, other)
    elif kind == "in":
        same = [x for x in node[3] if typ(x) == typ(v)]
        r = None if not same or typ(v) == "other" else \
            (any(key(x) == key(v) for x in same) != node[2])
    elif typ(v) != "str":
        r = None
    elif kind == "contains":
        r = node[2].encode() in v.encode()
    elif kind == "starts_with":
        r = v.encode().startswith(node[2].encode())
    elif kind == "ends_with":
        r = v.encode().endswith(node[2].encode())
    else:  # matches
        r = re.search(node[2], v) is not None
    if r is None:
        c.wrong += 1
        return False
    return r


# ------------------------------------------------- random expression text

def ws(rng, required):
    r = rng.random()
    if not required and r < 0.3:
        return ""
    return rng.choice([" ", " ", " ", "  ", "\n", "\t "])


def render_string(rng, s):
    q = rng.choice(['"', "'"])
    out = []
    for i, ch in enumerate(s):
        if ch == "\\":
            nxt = s[i + 1] if i + 1 < len(s) else None
            # A lone backslash before anything but a backslash or the quote
            # is kept as written; doubling it is always right too.
            out.append("\\" if nxt not in (None, "\\", q) and rng.random() < 0.5 else "\\\\")
        elif ch == q:
            out.append("\\" + q)
        else:
            out.append(ch)
    return q + "".join(out) + q


def render_literal(rng, v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return render_string(rng, v)
    return repr(v) if isinstance(v, float) else str(v)


def render_field(rng, f):
    return "`" + f + "`" if rng.random() < 0.1 else f


def rand_literal(rng, allow_bool=True, prefer=None):
    r = rng.random()
    if prefer in ("num", "str", "bool") and rng.random() < 0.7:
        r = {"num": 0.0, "str": 0.5, "bool": 0.95}[prefer]
    if r < 0.45:
        return rng.choice(NUMS) if rng.random() < 0.9 else round(rng.uniform(-100, 100), 2)
    if r < 0.9 or not allow_bool:
        return rng.choice(STRS)
    return rng.random() < 0.5


def rand_predicate(rng):
    f = rng.choice(FIELDS)
    fr = render_field(rng, f)
    r = rng.random()
    if r < 0.35:
        op = rng.choice(OPS)
        lit = rand_literal(rng, op in ("==", "!="), PREFERRED[f])
        text = fr + ws(rng, False) + op + ws(rng, False) + render_literal(rng, lit)
        if rng.random() < 0.25:  # FIELD % N CMP literal
            mod = rng.choice([2, 3, 7, 123, -3, 0.5, 2.5, 1e3])
            if rng.random() < 0.6:  # a remainder that occurs, as `auction % 123 == 0` does
                lit = float(rng.choice([0, 1, 2, -1, 0.5]))
                text = fr + ws(rng, False) + op + ws(rng, False) + render_literal(rng, lit)
            i = len(fr)
            text = text[:i] + ws(rng, False) + "%" + ws(rng, False) + render_literal(rng, mod) + \
                ws(rng, False) + text[i:]
            return ("cmp", f, op, lit, float(mod)), text
        return ("cmp", f, op, lit), text
    if r < 0.45:
        op = rng.choice(OPS)
        g = rng.choice([x for x in FIELDS if PREFERRED[x] == PREFERRED[f]] + FIELDS)
        return ("cmpf", f, op, g), fr + ws(rng, False) + op + ws(rng, False) + render_field(rng, g)
    if r < 0.6:
        neg = rng.random() < 0.3
        items = [rand_literal(rng, True, PREFERRED[f]) for _ in range(rng.randint(1, 6))]
        body = ("," + ws(rng, False)).join(render_literal(rng, x) for x in items)
        if rng.random() < 0.2:
            body += ","
        text = fr + ws(rng, True) + ("not" + ws(rng, True) if neg else "") + "in" + \
            ws(rng, False) + "[" + ws(rng, False) + body + ws(rng, False) + "]"
        return ("in", f, neg, items), text
    if r < 0.7:
        neg = rng.random() < 0.4
        return ("missing", f, neg), fr + ws(rng, True) + "is" + ws(rng, True) + \
            ("not" + ws(rng, True) if neg else "") + "missing"
    if r < 0.85:
        op = rng.choice(["contains", "starts_with", "ends_with"])
        s = rng.choice(STRS)
        if s and rng.random() < 0.5:  # a piece of a string
            i = rng.randrange(len(s))
            s = s[i:rng.randint(i, len(s))]
        return (op, f, s), fr + ws(rng, True) + op + ws(rng, True) + render_string(rng, s)
    p = rng.choice(PATTERNS)
    return ("matches", f, p), fr + ws(rng, True) + "matches" + ws(rng, True) + render_string(rng, p)


def rand_expr(rng, depth):
    """(node, text, level): level 0 = or-chain, 1 = and-chain, 2 = unary."""
    r = rng.random()
    if depth <= 0 or r < 0.3:
        node, text = rand_predicate(rng)
        return node, text, 2
    if r < 0.45:
        sub, text, level = rand_expr(rng, depth - 1)
        if level < 2:
            sub, text = ("paren", sub), "(" + ws(rng, False) + text + ws(rng, False) + ")"
        return ("not", sub), "not" + ws(rng, True) + text, 2
    if r < 0.55:
        sub, text, _ = rand_expr(rng, depth - 1)
        return ("paren", sub), "(" + ws(rng, False) + text + ws(rng, False) + ")", 2
    kw = "and" if r < 0.8 else "or"
    want = 1 if kw == "and" else 0  # operands must bind at least this tightly
    subs, texts = [], []
    for _ in range(rng.randint(2, 4)):
        sub, text, level = rand_expr(rng, depth - 1)
        if level <= want:
            sub, text = ("paren", sub), "(" + ws(rng, False) + text + ws(rng, False) + ")"
        subs.append(sub)
        texts.append(text)
    return (kw, subs), (ws(rng, True) + kw + ws(rng, True)).join(texts), want


def main():
    nexpr, nrec, seed, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rng = random.Random(seed)
    recs = [rand_record(rng) for _ in range(nrec)]
    with open(out, "w") as f:
        for rec in recs:
            f.write("R " + json.dumps(rec, ensure_ascii=False).encode().hex() + "\n")
        for _ in range(nexpr):
            node, text, _ = rand_expr(rng, rng.randint(0, 4))
            c = Counts()
            bits = "".join("1" if evaluate(node, rec, c) else "0" for rec in recs)
            f.write("E %s %s %d %d\n" % (text.encode().hex(), bits, c.missing, c.wrong))


if __name__ == "__main__":
    main()
