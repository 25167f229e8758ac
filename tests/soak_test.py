#!/usr/bin/env python3
"""soak_test.py - ten minutes and more of SMTP through one smtpscope, memory flat, no session lost
(issue 17, point 3).

The capture: every bundled sample, replayed ITERATIONS times PERIOD seconds apart (capture
time), each copy on addresses of its own (two octets of every IPv4 address XORed with the
copy's number and the sample's, so no two copies share a flow; the IP header checksum
redone), which spans more than 10 minutes of capture time. What smtpscope must find:
ITERATIONS times the sessions of reading the samples one by one (--idle IDLE on both sides).

1. Simulated clock, offline: the capture is fed to `smtpscope -r - -o json --idle IDLE`
   through a pipe, PERIOD*SLICE seconds of capture time at a time with a short pause, so the
   10+ minutes go through in ~15 s of real time with smtpscope's clock (the packets' times)
   running as it would have live.
2. Live (root and network namespaces; one SKIP line otherwise): the same capture replayed by
   tcpreplay --multiplier over a veth pair into `smtpscope -i vs -o json --idle IDLE`
   (default buffer, --idle LIVE_IDLE), i.e. the same 10+ minutes of traffic in ~30 s of real
   time. A live capture stamps packets with the real clock, so here smtpscope sees 30 s go
   by (hence an idle timeout scaled down with it): the simulated clock is part 1's; part 2
   is the same load through the kernel and libpcap.
For both: RSS (VmRSS, and RssAnon, the heap: the packet ring and the mapped binary are not
smtpscope's growth) every 0.5 s, printed; after the first sixth (warm-up), the last third's
largest RssAnon must be within 5% (or 256 KiB) of the first third's; and sessions counted
(records, and the summary) == sessions replayed, kernel drops 0.

    python3 tests/soak_test.py --bin build/smtpscope
"""
import argparse
import glob
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
ROOT = os.path.dirname(HERE)
ITERATIONS, PERIOD, IDLE = 160, 4.0, 30  # 640 s of capture time
SLICE = 10  # copies fed per pause, offline
MULTIPLIER = 20  # live: 640 s in 32 s
LIVE_IDLE = 2  # live: real seconds; the longest silence inside a copy is 3 s / MULTIPLIER
FAILS = []


def say(kind, what):
    print("soak: %s: %s" % (kind, what), flush=True)


def check(ok, what, detail=""):
    say("PASS" if ok else "FAIL", what + ("" if ok else " (%s)" % str(detail)[:500]))
    if not ok:
        FAILS.append(what)


def read_pcap(path):
    d = open(path, "rb").read()
    assert d[:4] == b"\xd4\xc3\xb2\xa1" and struct.unpack("<I", d[20:24])[0] == 1, path
    out, off = [], 24
    while off + 16 <= len(d):
        s, us, incl, orig = struct.unpack("<IIII", d[off:off + 16])
        out.append((s + us / 1e6, orig, d[off + 16:off + 16 + incl]))
        off += 16 + incl
    return d[:24], out


def ip_checksum(h):
    s = sum(struct.unpack("!%dH" % (len(h) // 2), h))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def moved(frame, a, b):
    """An Ethernet/IPv4 frame with octets 1 and 2 of both addresses XORed with a and b."""
    if frame[12:14] != b"\x08\x00":
        return frame
    f = bytearray(frame)
    ihl = (f[14] & 15) * 4
    for at in (14 + 12, 14 + 16):
        f[at + 1] ^= a
        f[at + 2] ^= b
    f[24:26] = b"\0\0"
    f[24:26] = struct.pack("!H", ip_checksum(bytes(f[14:14 + ihl])))
    return bytes(f)


def build(path, samples):
    """The soak capture; its copies in time order, as (time, bytes of the records)."""
    header, pkts = None, []
    for i, f in enumerate(samples):
        header, recs = read_pcap(f)
        t0 = recs[0][0]
        for k in range(ITERATIONS):
            base = 1700000000 + k * PERIOD + i * 0.01
            for t, orig, data in recs:
                pkts.append((base + (t - t0), orig, moved(data, k + 1, i + 1)))
    pkts.sort(key=lambda p: p[0])
    chunks, cur, edge = [], [], 1700000000 + SLICE * PERIOD
    with open(path, "wb") as out:
        out.write(header)
        for t, orig, data in pkts:
            rec = struct.pack("<IIII", int(t), int(round((t - int(t)) * 1e6)) % 1000000,
                              len(data), orig) + data
            out.write(rec)
            if t >= edge:
                chunks.append(b"".join(cur))
                cur, edge = [], edge + SLICE * PERIOD
            cur.append(rec)
    chunks.append(b"".join(cur))
    span = pkts[-1][0] - pkts[0][0]
    return header, chunks, span, len(pkts)


def rss(pid):
    v = {}
    try:
        for line in open("/proc/%d/status" % pid):
            k, _, rest = line.partition(":")
            if k in ("VmRSS", "RssAnon"):
                v[k] = int(rest.split()[0])
    except OSError:
        return None
    return v if len(v) == 2 else None


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.samples, self.stop = pid, [], threading.Event()
        self.t0 = time.time()

    def run(self):
        while not self.stop.wait(0.5) and len(self.samples) < 2000:
            r = rss(self.pid)
            if r:
                self.samples.append((time.time() - self.t0, r["VmRSS"], r["RssAnon"]))


def judge(what, samples):
    say("info", "%s: RSS samples (s: VmRSS/RssAnon kB): %s" % (what, " ".join(
        "%.1f:%d/%d" % s for s in samples)))
    if len(samples) < 12:
        check(False, "%s: enough RSS samples" % what, len(samples))
        return
    body = samples[len(samples) // 6:]
    third = len(body) // 3
    first, last = max(s[2] for s in body[:third]), max(s[2] for s in body[-third:])
    slack = max(first * 0.05, 256)
    check(last <= first + slack, "%s: memory flat: RssAnon max %d kB in the first third after "
          "warm-up, %d kB in the last (VmRSS %d -> %d kB, %d samples)" %
          (what, first, last, body[0][1], body[-1][1], len(samples)),
          "grew by %d kB, more than %d" % (last - first, slack))


def tally(path):
    sessions, summary = 0, None
    for line in open(path, errors="replace"):
        o = json.loads(line)
        if o.get("type") == "session":
            sessions += 1
        elif o.get("type") == "summary":
            summary = o
    return sessions, summary


def offline(binary, work, chunks, header, want):
    out = os.path.join(work, "offline.json")
    proc = subprocess.Popen([binary, "-r", "-", "-o", "json", "--idle", str(IDLE), "-q"],
                            stdin=subprocess.PIPE, stdout=open(out, "w"), stderr=subprocess.PIPE)
    sampler = Sampler(proc.pid)
    sampler.start()
    t0 = time.time()
    proc.stdin.write(header)
    for c in chunks:
        proc.stdin.write(c)
        proc.stdin.flush()
        time.sleep(0.6)
    proc.stdin.close()
    err = proc.stderr.read().decode(errors="replace")
    proc.wait(60)
    sampler.stop.set()
    sampler.join()
    n, summary = tally(out)
    say("info", "offline: %d s of capture time in %.1f s" % (len(chunks) * SLICE * PERIOD,
                                                            time.time() - t0))
    check(proc.returncode == 0, "offline: exit 0", err[-300:])
    check(n == want and summary and summary["sessions"] == want,
          "offline (simulated clock): %d sessions counted of %d replayed" % (n, want),
          summary and summary.get("sessions"))
    judge("offline", sampler.samples)


def live(binary, work, gen, want):
    ns = "smtpscope-soak-%d" % os.getpid()
    s, c = ns + "-s", ns + "-c"
    made = []

    def sh(*a):
        return subprocess.run(list(a), capture_output=True, text=True, timeout=120)

    try:
        for n in (s, c):
            p = sh("ip", "netns", "add", n)
            if p.returncode:
                say("SKIP", "live part: ip netns unusable: %s" % p.stderr.strip()[:100])
                return
            made.append(n)
        for cmd in (("ip", "link", "add", "name", "vs", "netns", s, "type", "veth", "peer", "name",
                     "vc", "netns", c), ("ip", "-n", s, "link", "set", "vs", "up"),
                    ("ip", "-n", c, "link", "set", "vc", "up")):
            p = sh(*cmd)
            if p.returncode:
                say("SKIP", "live part: no veth pair: %s" % p.stderr.strip()[:100])
                return
        for _ in range(50):
            if "LOWER_UP" in sh("ip", "-n", c, "link", "show", "vc").stdout:
                break
            time.sleep(0.1)
        out, err = os.path.join(work, "live.json"), os.path.join(work, "live.err")
        proc = subprocess.Popen(["ip", "netns", "exec", s, binary, "-i", "vs", "-o", "json",
                                 "--idle", str(LIVE_IDLE), "-Z", "root"],
                                stdout=open(out, "w"), stderr=open(err, "w"))
        pid = proc.pid
        for _ in range(200):  # ready: filter set, capabilities given up (the last step)
            st = open("/proc/%d/status" % pid).read() if proc.poll() is None else ""
            if "smtpscope" in st.split("\n")[0] and "NoNewPrivs:\t1" in st:
                break
            time.sleep(0.05)
        sampler = Sampler(pid)
        sampler.start()
        t0 = time.time()
        p = sh("ip", "netns", "exec", c, "tcpreplay", "-i", "vc", "--multiplier=%d" % MULTIPLIER, gen)
        took = time.time() - t0
        time.sleep(2)
        proc.send_signal(2)
        proc.wait(60)
        sampler.stop.set()
        sampler.join()
        say("info", "live: tcpreplay --multiplier=%d took %.1f s: %s" % (
            MULTIPLIER, took, " ".join(x.strip() for x in p.stdout.splitlines() if "Actual" in x)))
        n, summary = tally(out)
        check(p.returncode == 0 and proc.returncode == 0, "live: tcpreplay and smtpscope exit 0",
              p.stderr[-200:] + open(err).read()[-300:])
        check(n == want and summary and summary["sessions"] == want and
              summary.get("kernel_dropped") == 0,
              "live: %d sessions counted of %d replayed, kernel drops %s" %
              (n, want, summary and summary.get("kernel_dropped")))
        judge("live", sampler.samples)
    finally:
        for n in made:
            for pid in sh("ip", "netns", "pids", n).stdout.split():
                try:
                    os.kill(int(pid), 9)
                except OSError:
                    pass
            sh("ip", "netns", "del", n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    binary = os.path.realpath(ap.parse_args().bin)
    with open(binary, "rb") as f:
        asan = b"__asan_init" in f.read()
    if asan:  # AddressSanitizer keeps freed blocks (quarantine): RSS would grow by design
        os.environ["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                                            "quarantine_size_mb=0",
                                                            "thread_local_quarantine_size_kb=0"]))
        say("info", "AddressSanitizer build: run without its quarantine")
    samples = sorted(glob.glob(os.path.join(ROOT, "samples", "*.pcap")))
    work = tempfile.mkdtemp(prefix="smtpscope-soak.")
    try:
        per = 0
        for f in samples:
            p = subprocess.run([binary, "-r", f, "-o", "json", "--idle", str(IDLE)],
                               capture_output=True, text=True, timeout=60)
            per += sum(1 for x in p.stdout.splitlines() if '"type":"session"' in x)
        gen = os.path.join(work, "soak.pcap")
        header, chunks, span, npk = build(gen, samples)
        want = per * ITERATIONS
        say("info", "%d samples x %d copies, %d s apart: %d packets, %.0f s of capture time, "
            "%d sessions" % (len(samples), ITERATIONS, PERIOD, npk, span, want))
        check(span >= 600, "the capture spans 10 minutes or more")
        offline(binary, work, chunks, header, want)
        if os.geteuid() != 0:
            say("SKIP", "live part: not root (network namespaces need root)")
        elif not shutil.which("tcpreplay") or not shutil.which("ip"):
            say("SKIP", "live part: tcpreplay or ip missing")
        else:
            live(binary, work, gen, want)
    finally:
        if FAILS:
            say("note", "work files kept in %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    say("done", "%d failure(s)" % len(FAILS) if FAILS else "all passed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
