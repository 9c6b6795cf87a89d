#!/usr/bin/env python3
"""Cases and the independent verdicts for it_json_oracle: random mutations of
valid JSON objects, each judged by Python's json module (the oracle).

    json_cases.py COUNT SEED OUT

Writes one line per case:  VERDICT HEXCASE A B
  VERDICT  1 if Python accepts the bytes as one JSON object, else 0
  HEXCASE  the case's bytes, hex
  A, B     what the fields "a" and "b.c" hold when accepted (first
           occurrence of a duplicated key wins, as in eddy):
             m (missing)  n (null)  t / f (bools)  o (object or array)
             s:HEX (string, UTF-8 bytes of the decoded value, hex)
             d:HEXFLOAT (number, float.hex() of its double value)
             x (not comparable: the string holds a lone surrogate, which
               eddy writes as U+FFFD and Python keeps)
           "-" when rejected.
Bytes that are not UTF-8 are kept through surrogateescape, so a raw byte
>= 0x80 inside a string is a valid string byte (eddy passes it through)
and outside one is an error, as for eddy.
"""
import json
import random
import sys

SEEDS = [
    b'{"a": 1}',
    b'{"a":"hello","b":{"c":2.5}}',
    b'{"order_id":10000001,"ts":1735689600005,"customer":"c144194","product_id":"p01824",'
    b'"category":"food","amount":66.56,"status":"paid","a":-0.0}',
    b'{ "a" : [1, 2, {"x": [true, false, null]}], "b" : { "c" : "tab\\tnl\\nq\\"bs\\\\" } }',
    b'{"a":"caf\\u00e9 \\ud83d\\ude00 \xc3\xa9","b":{"c":{"d":[]}},"a":"dup"}',
    b'{"b":{"c":-12.5e-3,"c":1},"a":1E+2,"z":[[],[[]],{}],"e":""}',
    b'{"a":true,"b":{"c":null}}',
    b'\t{"a":12345678901234567890,"b":{"c":0.1e1}} \r\n',
    b'{"a":{"a":"nested"},"b":{"c":"\\/\\b\\f\\r"}}',
    b'{"a":1.7976931348623157e308,"b":{"c":5e-324}}',
]
ALPHABET = b'{}[]:,"\\ \t\r\nabcdeflnrstu0123456789.-+eE/\x00\x01\x1f\x7f\x80\xc3\xa9\xff'


def mutate(rng, s):
    s = bytearray(s)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        op = rng.randrange(6)
        i = rng.randrange(len(s) + 1)
        if op == 0 and s:  # delete a byte
            del s[min(i, len(s) - 1)]
        elif op == 1:  # insert a byte
            s.insert(i, rng.choice(ALPHABET))
        elif op == 2 and s:  # replace a byte
            s[min(i, len(s) - 1)] = rng.choice(ALPHABET)
        elif op == 3:  # truncate
            del s[i:]
        elif op == 4 and s:  # duplicate a span
            j = rng.randrange(len(s))
            k = min(len(s), j + rng.randrange(1, 12))
            s[i:i] = s[j:k]
        elif op == 5 and s:  # delete a span
            del s[i:i + rng.randrange(1, 8)]
    return bytes(s)


def first_wins(pairs):
    d = {}
    for k, v in pairs:
        d.setdefault(k, v)
    return d


def reject_constant(name):
    raise ValueError(name)  # NaN, Infinity: not JSON


def describe(v, case):
    if v is None:
        return 'n'
    if v is True:
        return 't'
    if v is False:
        return 'f'
    if isinstance(v, (dict, list)):
        return 'o'
    if isinstance(v, str):
        lone = any(0xD800 <= ord(ch) <= 0xDFFF for ch in v)
        if lone and (b'\\ud' in case.lower()):
            return 'x'  # maybe an escaped lone surrogate: U+FFFD in eddy
        try:
            return 's:' + v.encode('utf-8', 'surrogateescape').hex()
        except UnicodeEncodeError:
            return 'x'

    return 'd:' + float(v).hex()


def verdict(case):
    try:
        text = case.decode('utf-8', 'surrogateescape')
        v = json.loads(text, object_pairs_hook=first_wins, parse_constant=reject_constant)
    except (ValueError, RecursionError):
        return '0', '-', '-'
    if not isinstance(v, dict):
        return '0', '-', '-'
    a = describe(v['a'], case) if 'a' in v else 'm'
    b = v.get('b')
    bc = describe(b['c'], case) if isinstance(b, dict) and 'c' in b else 'm'
    return '1', a, bc


def main():
    count, seed, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rng = random.Random(seed)
    with open(out, 'w') as f:
        for n in range(count):
            base = SEEDS[n % len(SEEDS)]
            case = base if n < len(SEEDS) else mutate(rng, base)
            ok, a, bc = verdict(case)
            f.write('%s %s %s %s\n' % (ok, case.hex() or '-', a, bc))


if __name__ == '__main__':
    main()
