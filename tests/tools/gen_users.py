#!/usr/bin/env python3
"""gen_users.py — deterministic random user records, the randomuser.me shape.

Writes one JSON object per line to stdout:

    {"id": 17, "name": {"title": "Ms", "first": "Ana", "last": "Berg"},
     "gender": "female", "email": "ana.berg17@example.org",
     "location": {"city": "Oslo", "country": "Norway", "postcode": "0150"},
     "registered": {"date": "2014-06-01T10:20:30.123Z", "age": 10},
     "dob": {"date": "1980-02-03T04:05:06.000Z", "age": 44}}

Same --seed, same output (Python's `random.Random(seed)`, no clock). Ids are
1..--ids, drawn with repetition, so later records of an id replace earlier
ones in an upsert. With --bad N, N extra lines are mixed in at fixed
positions, each a record that a users table with id bigint, email
varchar(120) not null and registered timestamptz must reject:

    not-json        a line that is not JSON
    no-id           the id is missing
    string-id       the id is a string ("x17")
    long-email      an email of 121 characters
    bad-date        registered.date is "yesterday"
    null-email      the email is null

What a table must then hold is computed independently, from the lines
alone, by tests/tools/cassandra_check.py (tests/integration/t_cassandra.sh,
the one user of this generator: `eddy gen users` writes no misfits).
"""
import argparse
import json
import random

FIRST = {"female": ["Ana", "Emma", "Zoë", "Ingrid", "Maya", "Léa", "Sofia", "Hana"],
         "male": ["Ole", "Liam", "José", "Noah", "Arne", "Kenji", "Luca", "Omar"]}
LAST = ["Berg", "Smith", "O'Neil", "Müller", "García", "Nakamura", "Dubois", "Kowalski"]
CITIES = [("Oslo", "Norway"), ("Lyon", "France"), ("Kyoto", "Japan"), ("Porto", "Portugal"),
          ("Austin", "United States"), ("Graz", "Austria"), ("Cork", "Ireland")]
KINDS = ["not-json", "no-id", "string-id", "long-email", "bad-date", "null-email"]


def iso(rng, year0, year1):
    """An ISO-8601 UTC time with milliseconds between the two years."""
    y = rng.randint(year0, year1)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
        y, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59),
        rng.randint(0, 59), rng.randint(0, 999))


def user(rng, uid):
    gender = rng.choice(["female", "male"])
    first, last = rng.choice(FIRST[gender]), rng.choice(LAST)
    city, country = rng.choice(CITIES)
    return {"id": uid,
            "name": {"title": "Ms" if gender == "female" else "Mr", "first": first,
                     "last": last},
            "gender": gender,
            "email": "%s.%s%d@example.org" % (first.lower(), last.lower(), uid),
            "location": {"city": city, "country": country,
                         "postcode": "%04d" % rng.randint(0, 9999)},
            "registered": {"date": iso(rng, 2005, 2024), "age": rng.randint(0, 20)},
            "dob": {"date": iso(rng, 1950, 2005), "age": rng.randint(18, 75)}}


def bad(rng, kind, uid):
    u = user(rng, uid)
    if kind == "not-json":
        return '{"id": %d, "name": ' % uid
    if kind == "no-id":
        del u["id"]
    elif kind == "string-id":
        u["id"] = "x%d" % uid
    elif kind == "long-email":
        u["email"] = "a" * 109 + "@example.org"  # 121 characters
    elif kind == "bad-date":
        u["registered"]["date"] = "yesterday"
    elif kind == "null-email":
        u["email"] = None
    return json.dumps(u, ensure_ascii=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=1000, help="good records")
    ap.add_argument("--ids", type=int, default=0, help="ids drawn from 1..IDS (default: count)")
    ap.add_argument("--bad", type=int, default=0, help="misfitting lines mixed in")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    ids = a.ids or a.count
    total = a.count + a.bad
    # Bad lines at evenly spread positions, cycling through the kinds.
    bad_at = {(i + 1) * total // (a.bad + 1): KINDS[i % len(KINDS)] for i in range(a.bad)}
    for line in range(1, total + 1):
        if line in bad_at:
            print(bad(rng, bad_at[line], rng.randint(1, ids)))
        else:
            print(json.dumps(user(rng, rng.randint(1, ids)), ensure_ascii=False))


if __name__ == "__main__":
    main()
