#!/usr/bin/env python3
"""--audit at scale: every host's counts against the generator's truth.

Runs `BIN -r CAPTURE -o json --audit -q` and compares each {"type":"host"} record with what
bench/gen.py's truth file (CAPTURE with .truth.jsonl) says of that host in that role: sessions,
distinct peers, connection attempts refused and unanswered, and messages delivered. Every host
of the truth must be listed, and no other. Exit 1 on any difference.
usage: python3 bench/audit_check.py [--bin build/smtpscope] --capture build/bench/mix-100.pcap
"""
import argparse
import collections
import json
import subprocess
import sys


def truth_hosts(path):
    hosts = collections.defaultdict(lambda: {"sessions": 0, "peers": set(), "refused": 0,
                                             "no_answer": 0, "delivered": 0})
    with open(path) as f:
        for line in f:
            s = json.loads(line)
            if s.get("type") == "totals":
                continue
            for role, me, peer in (("client", s["client"], s["server"]),
                                   ("server", s["server"], s["client"])):
                h = hosts[(me, role)]
                h["sessions"] += 1
                h["peers"].add(peer)
                h["refused"] += s["state"] == "refused"
                h["no_answer"] += s["state"] == "no_answer"
                h["delivered"] += s["accepted"]
    return hosts


def our_hosts(binary, capture):
    out = subprocess.run([binary, "-r", capture, "-o", "json", "--audit", "-q"],
                         stdout=subprocess.PIPE, check=True, timeout=600).stdout
    hosts = {}
    for line in out.decode().splitlines():
        r = json.loads(line)
        if r["type"] == "host":
            hosts[(r["ip"], r["role"])] = {
                "sessions": r["sessions"], "peers": r["peers"],
                "refused": r["attempts"]["refused"], "no_answer": r["attempts"]["no_answer"],
                "delivered": r["messages"]["delivered"]}
    return hosts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="build/smtpscope")
    ap.add_argument("--capture", required=True)
    args = ap.parse_args()
    want = truth_hosts(args.capture.rsplit(".pcap", 1)[0] + ".truth.jsonl")
    got = our_hosts(args.bin, args.capture)
    problems = [f"{k}: missing" for k in want if k not in got]
    problems += [f"{k}: not in the truth" for k in got if k not in want]
    for k, w in want.items():
        g = got.get(k)
        if not g:
            continue
        w = dict(w, peers=len(w["peers"]))
        problems += [f"{k} {f}: {g[f]}, truth {w[f]}" for f in w if g[f] != w[f]]
    for p in problems[:10]:
        print("FAIL", p)
    print(f"audit: {len(got)} hosts ({sum(1 for k in got if k[1] == 'client')} clients, "
          f"{sum(1 for k in got if k[1] == 'server')} servers), {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
