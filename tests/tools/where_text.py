"""where_text.py — the text of eddy's where language parsed into the node
tuples that where_cases.py evaluates (an independent reading of the grammar in
docs/config.md, for the test oracles; eddy's own parser is actors/decode/ed_where.c).

    parse_where(text) -> node        raises WhereError naming the column/token
    where_true(node, record) -> bool  None (no where) is true
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import where_cases  # noqa: E402  (the independent evaluator of the where language)

class WhereError(ValueError):
    pass


WHERE_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<punct>[()\[\],%])
  | (?P<num>-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<bq>`[^`]*`)
  | (?P<word>@?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_0-9][A-Za-z0-9_]*)*)
""", re.X)
KEYWORDS = {"and", "or", "not", "in", "is", "missing", "true", "false",
            "contains", "starts_with", "ends_with", "matches"}


def where_tokens(text):
    out, i = [], 0
    while i < len(text):
        if text[i] in "\"'":
            q, j, s = text[i], i + 1, []
            while True:
                if j >= len(text):
                    raise WhereError("unterminated string at column %d" % (i + 1))
                c = text[j]
                if c == "\\" and j + 1 < len(text) and text[j + 1] in (q, "\\"):
                    s.append(text[j + 1])
                    j += 2
                elif c == q:
                    break
                else:
                    s.append(c)
                    j += 1
            out.append(("str", "".join(s)))
            i = j + 1
            continue
        m = WHERE_TOKEN.match(text, i)
        if not m:
            raise WhereError("unexpected character %r at column %d" % (text[i], i + 1))
        i = m.end()
        kind = m.lastgroup
        if kind == "ws":
            continue
        v = m.group(kind)
        if kind == "num":
            out.append(("lit", float(v) if re.search(r"[.eE]", v) else int(v)))
        elif kind == "bq":
            out.append(("field", v[1:-1]))
        elif kind == "word" and v in KEYWORDS:
            out.append(("kw", v))
        elif kind == "word":
            out.append(("field", v))
        else:
            out.append((kind, v))
    return out


def parse_where(text):
    """Text of eddy's where language → the node tuples of where_cases."""
    toks = where_tokens(text)
    pos = [0]

    def peek(k=0):
        return toks[pos[0] + k] if pos[0] + k < len(toks) else (None, None)

    def take(kind=None, val=None):
        t = peek()
        if (kind and t[0] != kind) or (val is not None and t[1] != val):
            raise WhereError("in %r: expected %s, found %r" % (text, val or kind, t[1]))
        pos[0] += 1
        return t

    def literal():
        t = take()
        if t[0] == "lit" or t[0] == "str":
            return t[1]
        if t == ("kw", "true") or t == ("kw", "false"):
            return t[1] == "true"
        raise WhereError("in %r: expected a literal, found %r" % (text, t[1]))

    def predicate():
        f = take("field")[1]
        t = peek()
        mod = None
        if t == ("punct", "%"):  # FIELD % N CMP ...
            take()
            mod = take("lit")[1]
            if mod == 0:
                raise WhereError("in %r: '%%' needs a number other than 0" % text)
            t = peek()
            if t[0] != "op":
                raise WhereError("in %r: expected a comparison after '%s %% N'" % (text, f))
        if t[0] == "op":
            take()
            if peek()[0] == "field":
                node = ("cmpf", f, t[1], take()[1])
            else:
                node = ("cmp", f, t[1], literal())
            return node if mod is None else node + (float(mod),)
        if t == ("kw", "is"):
            take()
            neg = peek() == ("kw", "not")
            if neg:
                take()
            take("kw", "missing")
            return ("missing", f, neg)
        neg = t == ("kw", "not")
        if neg:
            take()
        if peek() == ("kw", "in"):
            take()
            take("punct", "[")
            items = [literal()]
            while peek() == ("punct", ","):
                take()
                if peek() == ("punct", "]"):
                    break
                items.append(literal())
            take("punct", "]")
            return ("in", f, neg, items)
        if neg:
            raise WhereError("in %r: 'not' after a field must be followed by 'in'" % text)
        if t[0] == "kw" and t[1] in ("contains", "starts_with", "ends_with", "matches"):
            take()
            return (t[1], f, take("str")[1])
        raise WhereError("in %r: expected an operator after %r, found %r" % (text, f, t[1]))

    def unary():
        if peek() == ("kw", "not"):
            take()
            return ("not", unary())
        if peek() == ("punct", "("):
            take()
            e = expr()
            take("punct", ")")
            return ("paren", e)
        return predicate()

    def chain(sub, kw, node):
        items = [sub()]
        while peek() == ("kw", kw):
            take()
            items.append(sub())
        return items[0] if len(items) == 1 else (node, items)

    def conj():
        return chain(unary, "and", "and")

    def expr():
        return chain(conj, "or", "or")

    e = expr()
    if pos[0] != len(toks):
        raise WhereError("in %r: unexpected %r after the expression" % (text, peek()[1]))
    return e


def where_true(node, rec):
    return node is None or where_cases.evaluate(node, rec, where_cases.Counts())
