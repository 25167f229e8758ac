#!/usr/bin/env python3
"""coverage.py - line coverage of `make test`'s checks, from a build made with --coverage.

`make coverage` builds build/cov with -O0 --coverage -DSMTPSCOPE_COVERAGE (which keeps the user
it runs as, so that every process can write its counters), runs check-tree there, then this
script reads gcov's figures for every source of the library and smtpscope.c and prints them,
the whole last; it fails under --min (90).
"""
import argparse
import glob
import os
import re
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build/cov")
    ap.add_argument("--min", type=float, default=90.0)
    a = ap.parse_args()
    srcs = sorted(glob.glob("*/*.c")) + ["smtpscope.c"]
    srcs = [s for s in srcs if s.split("/")[0] in
            ("capture", "reassembly", "decode", "report", "shard", "tls", "probe") or s == "smtpscope.c"]
    total = hit = 0
    for src in srcs:
        obj = os.path.join(a.build, "obj", os.path.dirname(src))
        out = subprocess.run(["gcov", "-n", "-o", obj, src], capture_output=True, text=True).stdout
        m = re.search(r"File '%s'\nLines executed:([0-9.]+)%% of (\d+)" % re.escape(src), out)
        if not m:  # never compiled into a checked binary: said, not hidden
            print("%-24s    no figures from gcov" % src)
            continue
        pct, lines = float(m.group(1)), int(m.group(2))
        total += lines
        hit += round(pct * lines / 100)
        print("%-24s %6.1f%% of %5d lines" % (src, pct, lines))
    whole = 100.0 * hit / total if total else 0.0
    print("coverage: %d of %d lines, %.1f%% (minimum %.0f%%)" % (hit, total, whole, a.min))
    return 0 if whole >= a.min else 1


if __name__ == "__main__":
    sys.exit(main())
