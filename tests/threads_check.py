#!/usr/bin/env python3
"""--threads N writes exactly what one thread writes.

For every capture under samples/, samples/edge/ and samples/trust/, the shared corpus (../shared/corpus, skipped
when absent) and two captures made by bench/gen.py (many interleaved sessions, retransmissions,
reordering, IPv6), one of them also with its clock jumping back and forth and both read with
--idle 1 so that most sessions end in sweeps for idle flows,
runs `BIN -r PCAP -o FORMAT --audit` with one thread and with several, and compares standard
output, standard error (the summary) and the exit status byte for byte. Exit 1 on a difference.
usage: python3 tests/threads_check.py [--bin build/smtpscope] [--quick]
"""
import argparse
import glob
import shutil
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORPUS = os.path.join(ROOT, "..", "shared", "corpus")
sys.path.insert(0, os.path.join(ROOT, "bench"))
import stress  # noqa: E402  (the SYN flood's frame writer)


# ECS metric records of a capture without sessions carry the time of the run (report/ecs.c).
WALL_CLOCK = re.compile(rb'^\{"@timestamp":"[^"]*"(?=,"ecs":\{[^}]*\},"event":\{"kind":"metric")', re.M)


def run(binary, pcap, extra, threads):
    cmd = [binary, "-r", pcap, "--audit"] + extra + ["--threads", str(threads)]
    fmt = extra[extra.index("-o") + 1] if "-o" in extra else "text"
    if fmt in ("text", "csv"):  # --audit alone writes only the hosts: the sessions too
        cmd.append("--transcripts")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    return proc.returncode, WALL_CLOCK.sub(b'{"@timestamp":"-"', proc.stdout), proc.stderr


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a.splitlines(), b.splitlines())):
        if x != y:
            return f"line {i + 1}: {x[:120]!r} / {y[:120]!r}"
    return f"lengths {len(a)} / {len(b)}"


def generated(tmp):
    """Two bench captures, made here: small enough for make test, busy enough to interleave;
    a copy of the first whose clock jumps back and forth (every 7th packet up to 3 s early),
    so that sweeps for idle flows meet time going backwards; and 6,000 flows open at the end."""
    out = []
    for name, mb, conc in (("mix-a.pcap", 12, 400), ("mix-b.pcap", 6, 60)):
        path = os.path.join(tmp, name)
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen.py"), "--size-mb",
                        str(mb), "--concurrency", str(conc), "--seed", "11", "-o", path, "-q"],
                       check=True, timeout=300)
        out.append(path)
    out.append(jittered(out[0], os.path.join(tmp, "mix-a-jitter.pcap")))
    out.append(open_at_end(os.path.join(tmp, "open-at-end.pcap")))
    return out


def open_at_end(dst, n=6000):
    """n connection attempts never answered: all still open when the input ends, so the
    workers end thousands of flows at once and hand them back in batches as they go
    (bench/stress.py's SYN flood, smaller)."""
    with open(dst, "wb") as f:
        f.write(stress.pcap_header())
        for i in range(n):
            f.write(stress.frame(stress.client_ip(i // 50000), 1024 + i % 50000, stress.SERVER,
                                 25, 1000 + i, 0, stress.SYN, ts=1700000000 + i / 10000))
    return dst


def jittered(src, dst):
    """A classic pcap (microseconds, little-endian, as gen.py writes) with some times moved back."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    assert struct.unpack_from("<I", data, 0)[0] == 0xA1B2C3D4, "gen.py writes LE microsecond pcap"
    at, n = 24, 0
    while at + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack_from("<IIII", data, at)
        n += 1
        if n % 7 == 0:
            t = max(0, sec * 1000000 + usec - (n * 7919) % 3000000)
            struct.pack_into("<II", data, at, t // 1000000, t % 1000000)
        at += 16 + incl
    with open(dst, "wb") as f:
        f.write(data)
    return dst


def tls_capture(tmp):
    """40 STARTTLS sessions with their key log (bench/tlsbench.py); None without openssl."""
    if not shutil.which("openssl"):
        print("threads: note: no openssl, the generated TLS capture is skipped")
        return None
    import tlsbench  # noqa: E402  (bench/, on the path for stress)
    pcap, keylog = os.path.join(tmp, "tls.pcap"), os.path.join(tmp, "tls.keylog")
    tlsbench.make(pcap, keylog, 40, 16, tmp)
    return pcap, keylog


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="build/smtpscope")
    ap.add_argument("--quick", action="store_true", help="json only, fewer thread counts")
    args = ap.parse_args()
    captures = sorted(p for d in ("", "edge", "trust")
                      for p in glob.glob(os.path.join(ROOT, "samples", d, "*.pcap")))
    corpus = sorted(p for p in glob.glob(os.path.join(CORPUS, "**", "*"), recursive=True)
                    if p.endswith((".pcap", ".pcapng", ".trace")))
    if not corpus:
        print("threads: note: ../shared/corpus not found, its captures are skipped")
    formats = [["-o", "json"]] if args.quick else [["-o", "json"], ["-o", "text", "--color=always"],
                                                   ["-o", "csv"], ["-o", "ecs"]]
    checked = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        gen = generated(tmp)
        jobs = [(p, f, (2, 3)) for p in captures + corpus for f in formats]
        jobs += [(p, f, (2, 4) if args.quick else (2, 3, 4, 7)) for p in gen for f in formats]
        jobs += [(p, ["-o", "json", "--idle", "1"], (2, 3)) for p in (gen[0], gen[2])]
        jobs += [(gen[3], ["-o", "json"], (2, 3, 4))]
        # TLS decrypted with a key log shared by every thread (tls/keylog.c's lock)
        for pcap in sorted(glob.glob(os.path.join(ROOT, "samples", "keylog", "*.pcap"))):
            keylog = pcap[:-5] + ".keylog"
            if os.path.exists(keylog):
                jobs.append((pcap, ["-o", "json", "-p", "25,465", "--tls-keylog", keylog], (2,)))
        tls = tls_capture(tmp)
        if tls:
            jobs.append((tls[0], ["-o", "json", "--tls-keylog", tls[1]], (2, 3, 4)))
        for pcap, extra, counts in jobs:
            want = run(args.bin, pcap, extra, 1)
            for n in counts:
                got = run(args.bin, pcap, extra, n)
                checked += 1
                if got != want:
                    failed += 1
                    what = ("exit status %d / %d" % (want[0], got[0]) if want[0] != got[0] else
                            "stdout " + first_difference(want[1], got[1]) if want[1] != got[1] else
                            "stderr " + first_difference(want[2], got[2]))
                    print(f"FAIL {os.path.relpath(pcap, ROOT)} {' '.join(extra)} --threads {n}: "
                          f"{what}")
    print(f"threads: {checked} runs with 2-7 threads compared with one thread, {failed} differ")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
