#!/usr/bin/env python3
"""-w: the SMTP packets written out, read back, give the same sessions.

For every capture under samples/ and samples/edge/ that reads cleanly, runs
`BIN -r PCAP -o json -w OUT` and then `BIN -r OUT -o json`, and checks that both runs give the
same sessions: endpoints, state, and every command with its reply code. Exit 1 on a difference.
usage: python3 tests/rewrite_check.py [--bin build/smtpscope] [--samples DIR ...]
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile


def sessions(cmd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    out = []
    for line in proc.stdout.decode().splitlines():
        r = json.loads(line)
        if r["type"] == "session":
            out.append((r["client"]["ip"], r["client"]["port"], r["server"]["ip"],
                        r["server"]["port"], r["state"],
                        tuple((c["cmd"], c["reply"] and c["reply"]["code"]) for c in r["commands"])))
    return proc.returncode, sorted(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="build/smtpscope")
    ap.add_argument("--samples", action="append")
    args = ap.parse_args()
    failed = checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for pcap in sorted(p for d in args.samples or ["samples", "samples/edge"]
                           for p in glob.glob(os.path.join(d, "*.pcap"))):
            out = os.path.join(tmp, "w.pcap")
            if os.path.exists(out):
                os.unlink(out)
            rc, first = sessions([args.bin, "-r", pcap, "-o", "json", "-w", out])
            if rc != 0:  # a damaged input (cut mid-record) is checked elsewhere
                continue
            _, again = sessions([args.bin, "-r", out, "-o", "json"])
            checked += 1
            if first != again:
                failed += 1
                print(f"FAIL {pcap}: {len(first)} sessions first, {len(again)} re-read; "
                      f"first difference: {next((a, b) for a, b in zip(first + [None], again + [None]) if a != b)}")
    print(f"rewrite: {checked} captures written with -w and read back, {failed} differ")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
