#!/usr/bin/env python3
"""s8_check.py -- the independent side of bench S8 (records into a lake and
into PostgreSQL): reads the generated input with Python's json module and
eddy's Parquet files with pyarrow, never with eddy's code.

  s8_check.py users USERS.jsonl OUT.csv OUT.keyed
      the users as CSV in the columns of bench/configs/s8_postgres.yaml (id,
      first_name, last_name, email, gender, city, registered, age), for
      psql's \\copy, and as "id<TAB>json" lines (kcat -K: keyed by id, so a
      user's versions stay in order in one partition); prints {"records",
      "distinct_ids", "final_age_sum"}: the sum of the ages of each id's last
      version (what an upsert by id leaves)
  s8_check.py tweets TWEETS.jsonl
      prints {"records", "distinct_ids"}
  s8_check.py lake DIR
      reads every visible Parquet file under DIR (hive partitions) with
      pyarrow; prints {"rows", "distinct_ids", "files"}
"""
import csv
import json
import sys


def users(inp, out, keyed):
    n, last = 0, {}
    with open(inp, encoding="utf-8") as f, open(out, "w", newline="", encoding="utf-8") as o, \
            open(keyed, "w", encoding="utf-8") as k:
        w = csv.writer(o)
        for line in f:
            u = json.loads(line)
            n += 1
            last[u["id"]] = u["dob"]["age"]
            w.writerow([u["id"], u["name"]["first"], u["name"]["last"], u["email"], u["gender"],
                        u["location"]["city"], u["registered"]["date"], u["dob"]["age"]])
            k.write("%d\t%s" % (u["id"], line))
    return {"records": n, "distinct_ids": len(last), "final_age_sum": sum(last.values())}


def tweets(inp):
    n, ids = 0, set()
    with open(inp, encoding="utf-8") as f:
        for line in f:
            n += 1
            ids.add(json.loads(line)["id"])
    return {"records": n, "distinct_ids": len(ids)}


def lake(path):
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    d = ds.dataset(path, format="parquet", partitioning="hive",
                   ignore_prefixes=[".", "_"])
    t = d.to_table(columns=["id"])
    return {"rows": t.num_rows, "distinct_ids": pc.count_distinct(t["id"]).as_py(),
            "files": len(d.files)}


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "users" and len(sys.argv) == 5:
        out = users(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "tweets" and len(sys.argv) == 3:
        out = tweets(sys.argv[2])
    elif cmd == "lake" and len(sys.argv) == 3:
        out = lake(sys.argv[2])
    else:
        sys.exit(__doc__)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
