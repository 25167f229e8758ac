#!/usr/bin/env python3
"""Chosen-collision flood (issue 13 item 1): keyed hashing keeps it within 2x of random flows.

Builds two captures with bench/stress.py's writers: 20,000 IPv6 SYNs from one /64 chosen to
share one bucket under the flow table's old unkeyed hash, and 20,000 random ones from the same
/64. Runs smtpscope on each (best CPU time of three runs, from wait4) and fails when the flood
takes more than twice the random run. Before the keyed hash: about 6 s against 0.08 s.

usage: python3 tests/hash_flood.py [--bin build/smtpscope] [--dir build/hash-flood] [--max-ratio 2]
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
import stress  # noqa: E402


def cpu_time(binary, path, extra=()):
    best = None
    for _ in range(3):
        with open(os.devnull, "wb") as sink:
            proc = subprocess.Popen([binary, "-r", path, "-o", "json", *extra], stdout=sink)
            _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"FAIL: {binary} -r {path} exited {os.waitstatus_to_exitcode(status)}")
        t = usage.ru_utime + usage.ru_stime
        best = t if best is None else min(best, t)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="build/smtpscope")
    ap.add_argument("--dir", default="build/hash-flood")
    ap.add_argument("--max-ratio", type=float, default=2.0)
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    flood, rand = os.path.join(args.dir, "flood.pcap"), os.path.join(args.dir, "random.pcap")
    stress.write_hash_flood(flood)
    stress.write_hash_random(rand)
    failed = False
    for extra in ((), ("--threads", "2")):
        tf, tr = cpu_time(args.bin, flood, extra), cpu_time(args.bin, rand, extra)
        # a floor of 10 ms of CPU on the random run keeps timer noise out of the ratio
        ratio = tf / max(tr, 0.01)
        ok = ratio <= args.max_ratio
        failed |= not ok
        print(f"{'PASS' if ok else 'FAIL'} hash flood{' ' + ' '.join(extra) if extra else ''}: "
              f"colliding {tf:.3f} s cpu, random {tr:.3f} s cpu, ratio {ratio:.2f} "
              f"(limit {args.max_ratio:g})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
