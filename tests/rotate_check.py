#!/usr/bin/env python3
"""rotate_check.py - the files a service keeps writing, offline (issue 17, point 3).

Against the real binary on bundled samples (no root needed; as root, -Z root keeps the
files in the test's own directory writable):
- -w FILE -C SIZE: FILE, FILE1, FILE2 ... as tcpdump names them, each a valid pcap, each but
  the last past SIZE by less than one packet, and together exactly the packets one -w file
  holds, in order;
- -C with -W COUNT: a ring FILE0 .. FILE(COUNT-1), the number as wide as the largest;
- -G SECONDS (strftime names) on a capture fed through a FIFO in two halves 2.2 s apart:
  two files, together every packet; with -W 1 the run stops after the first (exit 0);
- --output FILE appends (a second run adds its records after the first's), creates 0600,
  refuses a symbolic link and a file with a second name, and every line is one whole record;
- as root dropping to nobody, a rotation that cannot create its file in root's directory is
  said on stderr, the packets go on into the file open, and the exit status is 1;
- SIGHUP while reading a FIFO, after both files were moved: both are begun again at the next
  tick (4096 packets), every packet in one pcap or the other, every record whole;
- usage errors: -C/-G/-W without -w, -W alone, a bad -C size.

    python3 tests/rotate_check.py --bin build/smtpscope
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "..", "samples")
FAILS = []


def check(ok, what, detail=""):
    print("rotate: %s: %s%s" % ("PASS" if ok else "FAIL", what, "" if ok else " (%s)" % detail))
    if not ok:
        FAILS.append(what)


def records(path):
    """The packet records of a pcap (header + data bytes each), or None if not a pcap."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24 or data[:4] not in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"):
        return None
    end = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    out, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        out.append(data[off:off + 16 + incl])
        off += 16 + incl
    return out if off == len(data) else None


def run(binary, args, **kw):
    base = [binary] + (["-Z", "root"] if os.geteuid() == 0 else [])
    kw.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(base + args, stderr=subprocess.PIPE, timeout=60, **kw)


def size_rotation(binary, work, sample):
    one = os.path.join(work, "one.pcap")
    p = run(binary, ["-r", sample, "-q", "-o", "json", "-w", one], stdout=subprocess.DEVNULL)
    whole = records(one)
    check(p.returncode == 0 and whole, "single -w file written (%d packets)" % len(whole or []),
          p.stderr)
    p = run(binary, ["-r", sample, "-q", "-o", "json", "-w", os.path.join(work, "c.pcap"),
                     "-C", "1k"])
    names = sorted((n for n in os.listdir(work) if n.startswith("c.pcap")),
                   key=lambda n: int(n[6:] or 0))
    want = ["c.pcap"] + ["c.pcap%d" % i for i in range(1, len(names))]
    check(p.returncode == 0 and names == want and len(names) >= 3,
          "-C 1k: tcpdump's names %s ... %s" % (names[0] if names else "-", names[-1] if names else "-"),
          "%s %s" % (names, p.stderr))
    parts = [records(os.path.join(work, n)) for n in names]
    check(all(x is not None for x in parts), "-C 1k: every file a whole pcap")
    joined = [r for x in parts if x for r in x]
    check(joined == whole, "-C 1k: together the packets of one -w file, in order",
          "%d vs %d packets" % (len(joined), len(whole or [])))
    biggest = max(len(r) for r in whole or [b""])
    sizes = [os.path.getsize(os.path.join(work, n)) for n in names[:-1]]
    check(all(1024 < s <= 1024 + biggest for s in sizes),
          "-C 1k: each file but the last ends past 1024 bytes by less than a packet", sizes)

    p = run(binary, ["-r", sample, "-q", "-o", "json", "-w", os.path.join(work, "ring.pcap"),
                     "-C", "1k", "-W", "2"])
    ring = sorted(n for n in os.listdir(work) if n.startswith("ring.pcap"))
    check(p.returncode == 0 and ring == ["ring.pcap0", "ring.pcap1"],
          "-C 1k -W 2: a ring of ring.pcap0 and ring.pcap1", ring)
    last = records(os.path.join(work, "ring.pcap%d" % ((len(names) - 1) % 2)))
    check(last == parts[-1], "-C 1k -W 2: the newest file holds the last packets")
    p = run(binary, ["-r", sample, "-q", "-o", "json", "-w", os.path.join(work, "w.pcap"),
                     "-C", "1k", "-W", "11"])
    wide = sorted(n for n in os.listdir(work) if n.startswith("w.pcap"))
    check(p.returncode == 0 and wide and wide[0] == "w.pcap00",
          "-W 11: numbers two digits wide (w.pcap00)", wide)


def failed_rotation(binary, work, sample):
    """As root dropping to nobody, -C cannot begin FILE1 in root's directory: said, nothing lost."""
    if os.geteuid() != 0:
        print("rotate: SKIP: a rotation that fails (needs root to drop)")
        return
    if b"coverage build" in subprocess.run([binary, "-V"], capture_output=True).stdout:
        print("rotate: SKIP: a rotation that fails (a coverage build keeps root)")
        return
    d = os.path.join(work, "rootonly")
    os.mkdir(d, 0o755)
    first = os.path.join(d, "x.pcap")
    p = subprocess.run([binary, "-r", sample, "-q", "-o", "json", "-w", first, "-C", "1k"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    err = p.stderr.decode(errors="replace")
    whole = records(os.path.join(work, "one.pcap"))
    check(p.returncode == 1 and "still writing" in err and "Permission denied" in err and
          os.listdir(d) == ["x.pcap"] and records(first) == whole,
          "-C as nobody in root's directory: said, exit 1, every packet kept in the first file",
          "exit %d, %s, %s" % (p.returncode, os.listdir(d), err))


def feed_fifo(fifo, pcap, pause):
    """Write the pcap into the FIFO in two halves (by packets), pause seconds apart."""
    with open(pcap, "rb") as f:
        data = f.read()
    recs = records(pcap)
    half = 24 + sum(len(r) for r in recs[:len(recs) // 2])
    try:
        with open(fifo, "wb") as w:
            w.write(data[:half])
            w.flush()
            time.sleep(pause)
            w.write(data[half:])
    except BrokenPipeError:
        pass  # -G -W 1 stopped reading: expected


def time_rotation(binary, work, sample):
    for count in (None, 1):
        d = os.path.join(work, "g%s" % (count or ""))
        os.mkdir(d)
        fifo = os.path.join(d, "in.pcap")
        os.mkfifo(fifo)
        t = threading.Thread(target=feed_fifo, args=(fifo, sample, 2.2))
        t.start()
        args = ["-r", fifo, "-q", "-o", "json", "-w", os.path.join(d, "cap-%H%M%S.pcap"), "-G", "1"]
        p = run(binary, args + (["-W", str(count)] if count else []), stdout=subprocess.DEVNULL)
        t.join(10)
        files = sorted(n for n in os.listdir(d) if n.startswith("cap-"))
        got = [r for n in files for r in (records(os.path.join(d, n)) or [])]
        allrec = records(sample)
        if count is None:
            # two halves 2.2 s apart: at least two files (a slow build may see a third second)
            check(p.returncode == 0 and len(files) >= 2 and got == allrec,
                  "-G 1: two files or more named by strftime, together every packet",
                  "%s, %d of %d packets, %s" % (files, len(got), len(allrec), p.stderr))
        else:
            check(p.returncode == 0 and len(files) == 1 and got == allrec[:len(got)] and
                  0 < len(got) < len(allrec),
                  "-G 1 -W 1: stops once the first file is over (exit 0)",
                  "exit %d, %s, %d packets" % (p.returncode, files, len(got)))


def output_file(binary, work, sample):
    out = os.path.join(work, "sessions.json")
    p1 = run(binary, ["-r", sample, "-o", "json", "--output", out])
    n1 = len(open(out).read().splitlines()) if os.path.exists(out) else 0
    p2 = run(binary, ["-r", sample, "-o", "json", "--output", out])
    lines = open(out).read().splitlines()
    whole = all(json.loads(x).get("type") for x in lines)
    check(p1.returncode == p2.returncode == 0 and n1 > 1 and len(lines) == 2 * n1 and whole,
          "--output appends: %d records, then %d, each line whole" % (n1, len(lines)),
          p1.stderr + p2.stderr)
    check(p1.stdout == b"" and os.stat(out).st_mode & 0o777 == 0o600,
          "--output: nothing on stdout, the file created 0600", oct(os.stat(out).st_mode))
    link = os.path.join(work, "link.json")
    os.symlink(out, link)
    p = run(binary, ["-r", sample, "-o", "json", "--output", link])
    check(p.returncode == 1 and b"symbolic link" in p.stderr and len(lines) ==
          len(open(out).read().splitlines()), "--output refuses a symbolic link", p.stderr)
    hard = os.path.join(work, "hard.json")
    os.link(out, hard)
    p = run(binary, ["-r", sample, "-o", "json", "--output", hard])
    check(p.returncode == 1 and b"hard links" in p.stderr, "--output refuses a file with a "
          "second name", p.stderr)


def sighup_offline(binary, work, sample):
    """-r from a FIFO: the files moved, SIGHUP, then more than a tick's 4096 packets: begun again."""
    d = os.path.join(work, "hup")
    os.mkdir(d)
    fifo, out, cap = (os.path.join(d, n) for n in ("in.pcap", "s.json", "c.pcap"))
    os.mkfifo(fifo)
    data = open(sample, "rb").read()
    recs = records(sample)
    body = b"".join(recs)
    rounds = 4200 // len(recs) + 1
    p = subprocess.Popen([binary, "-r", fifo, "-o", "json", "--output", out, "-w", cap] +
                         (["-Z", "root"] if os.geteuid() == 0 else []), stderr=subprocess.PIPE)
    with open(fifo, "wb") as w:
        w.write(data[:24] + body * rounds)
        w.flush()
        time.sleep(0.5)
        os.rename(out, out + ".1")
        os.rename(cap, cap + ".1")
        p.send_signal(1)
        time.sleep(0.2)
        w.write(body * rounds)
    err = p.stderr.read().decode(errors="replace")
    p.wait(60)
    lines = [json.loads(x) for f in (out + ".1", out) if os.path.exists(f) for x in open(f)]
    pk = [records(f) if os.path.exists(f) else None for f in (cap + ".1", cap)]
    summary = [x for x in lines if x.get("type") == "summary"]
    check(p.returncode == 0 and all(pk) and summary and os.path.getsize(out) > 0 and
          sum(len(x) for x in pk) == summary[0]["packets"] == 2 * rounds * len(recs),
          "SIGHUP reading a FIFO: both files begun again, no packet or record lost",
          "exit %d, pcaps %s, %s" % (p.returncode, [len(x) if x else x for x in pk], err[-200:]))


def usage(binary, sample):
    for args, says in ((["-C", "1"], b"work only with -w"), (["-w", "x", "-W", "2"], b"-W works only"),
                       (["-w", "x", "-C", "1x"], b"-C takes"), (["-w", "x", "-G", "0"], b"-G")):
        p = run(binary, ["-r", sample] + args)
        check(p.returncode == 2 and says in p.stderr, "usage: %s refused" % " ".join(args), p.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    sample = os.path.join(SAMPLES, "multi-message.pcap")
    work = tempfile.mkdtemp(prefix="smtpscope-rotate.")
    try:
        size_rotation(binary, work, sample)
        failed_rotation(binary, work, sample)
        time_rotation(binary, work, sample)
        output_file(binary, work, sample)
        sighup_offline(binary, work, sample)
        usage(binary, sample)
    finally:
        if FAILS:
            print("rotate: work files kept in %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("rotate: %s" % ("%d failure(s)" % len(FAILS) if FAILS else "all passed"))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
