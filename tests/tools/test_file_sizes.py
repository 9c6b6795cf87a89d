#!/usr/bin/env python3
"""test_file_sizes.py -- the project's size rule, checked (run by `tests/run
unit`, TAP output): no file that git tracks is over 800 lines (the standard
"no file over 800 lines": split a file before it crosses the line).
Data files (corpora, captured inputs, results) are not code or prose and are
left out: tests/fuzz/corpus/, bench/results/, *.json, *.jsonl, *.csv, *.avsc,
*.lock (generated: Cargo.lock).
"""
import os
import subprocess
import sys

LIMIT = 800
SKIP_DIRS = ("tests/fuzz/corpus/", "bench/results/")
SKIP_EXT = (".json", ".jsonl", ".csv", ".avsc", ".png", ".svg", ".lock")


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    files = subprocess.run(["git", "-C", root, "ls-files"], capture_output=True, text=True,
                           check=True).stdout.split()
    over, n = [], 0
    for f in files:
        if f.startswith(SKIP_DIRS) or f.endswith(SKIP_EXT):
            continue
        path = os.path.join(root, f)
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as fh:
            data = fh.read()
        if b"\0" in data:
            continue
        n += 1
        lines = data.count(b"\n")
        if lines > LIMIT:
            over.append((f, lines))
    print("1..2")
    print(("ok" if n > 100 else "not ok") + " 1 - %d tracked text files read" % n)
    if over:
        print("not ok 2 - files over %d lines: %s" %
              (LIMIT, ", ".join("%s (%d)" % o for o in over)))
        return 1
    print("ok 2 - no file over %d lines" % LIMIT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
