#!/usr/bin/env python3
"""Writes the S9 word-count input and what the job must produce from it.

    s9_corpus.py LINES OUT.tsv > EXPECT.json

OUT.tsv holds LINES lines `DOC<TAB>LINE`, for kcat -K '\\t' (key = document
name, value = the line): the Debian copyright files (/usr/share/doc/*/copyright,
the ones that are valid UTF-8, empty lines left out) in name order, repeated
as often as needed; copy c of a file is the document `PKG.c`.

EXPECT.json is computed here, independently of eddy and of Spark, with the
definition of a word in actors/decode/ed_tokenize.h (a maximal run of ASCII
letters and digits and bytes >= 0x80, ASCII letters lowercased):
{lines, words, distinct_words, distinct_doc_words, md5_words, md5_doc_words}
where md5_words is the MD5 of the lines `word count` (sorted bytewise, each
ending in a newline) and md5_doc_words that of `doc word count`.
"""
import collections
import glob
import hashlib
import json
import os
import re
import sys

WORD = re.compile(rb"[A-Za-z0-9\x80-\xff]+")
LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")


def files():
    out = []
    for path in sorted(glob.glob("/usr/share/doc/*/copyright")):
        try:
            data = open(path, "rb").read()
            data.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        lines = [ln for ln in data.split(b"\n") if ln]
        if lines:
            out.append((os.path.basename(os.path.dirname(path)).encode(), lines))
    return out


def main():
    want, out = int(sys.argv[1]), sys.argv[2]
    corpus = files()
    if not corpus:
        sys.exit("s9_corpus.py: no readable /usr/share/doc/*/copyright files")
    words, by_doc = collections.Counter(), collections.Counter()
    n = nwords = 0
    with open(out, "wb") as f:
        copy = 0
        while n < want:
            for name, lines in corpus:
                doc = b"%s.%d" % (name, copy)
                for ln in lines:
                    if n == want:
                        break
                    f.write(doc + b"\t" + ln + b"\n")
                    n += 1
                    for w in WORD.findall(ln.translate(LOWER)):
                        words[w] += 1
                        by_doc[(doc, w)] += 1
                        nwords += 1
                if n == want:
                    break
            copy += 1

    def md5(items):
        h = hashlib.md5()
        for line in sorted(items):
            h.update(line + b"\n")
        return h.hexdigest()

    json.dump({"lines": n, "words": nwords, "distinct_words": len(words),
               "distinct_doc_words": len(by_doc),
               "md5_words": md5(b"%s %d" % (w, c) for w, c in words.items()),
               "md5_doc_words": md5(b"%s %s %d" % (d, w, c) for (d, w), c in by_doc.items())},
              sys.stdout)
    print()


if __name__ == "__main__":
    main()
