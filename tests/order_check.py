#!/usr/bin/env python3
"""order_check.py - what a reader of a saved capture expects of its order, -c and ports.

Captures made here from the repo's samples (never edited by hand):
  overlap.pcap   samples/multi-message.pcap (a long session) with samples/bad-sender.pcap
                 (a short one) moved in time to begin 1 ms after it: the short session
                 begins second and ends first.
  p587.pcap      samples/port-2525.pcap with its server port rewritten to 587.
Checks:
  order   the text transcript of overlap.pcap lists the sessions in the order they began
          (Session 1 is the long one), with one thread and with --threads 2;
  -c 1    only the first session to end is written; the one still open when -c stopped the
          capture is not written as if it had ended (no "unfinished" session), and the
          summary says it was not shown (text and JSON sessions_not_shown);
  ports   packets to port 587 that look like SMTP are named in the summary with the -p to add
          (text, and JSON smtp_like_ports).

Usage: python3 tests/order_check.py [--bin PATH]
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "..", "samples")


def read_pcap(path):
    data = open(path, "rb").read()
    if struct.unpack("<I", data[:4])[0] != 0xA1B2C3D4:
        raise ValueError("%s: not a little-endian microsecond pcap" % path)
    recs, off = [], 24
    while off + 16 <= len(data):
        sec, usec, cl, wl = struct.unpack("<IIII", data[off:off + 16])
        recs.append([sec * 1000000 + usec, wl, bytearray(data[off + 16:off + 16 + cl])])
        off += 16 + cl
    return data[:24], recs


def write_pcap(path, header, recs):
    with open(path, "wb") as f:
        f.write(header)
        for ts, wl, frame in recs:
            f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(frame), wl))
            f.write(frame)


def tcp_offset(frame):
    """Ethernet + IPv4 (the samples are captured on lo)."""
    return 14 + (frame[14] & 0x0F) * 4


def client_port(frame):
    t = tcp_offset(frame)
    sport, dport = struct.unpack("!HH", frame[t:t + 4])
    return sport if dport in (25, 2525, 587) else dport


def make(tmp):
    hdr, long_ = read_pcap(os.path.join(SAMPLES, "multi-message.pcap"))
    _, short = read_pcap(os.path.join(SAMPLES, "bad-sender.pcap"))
    shift = long_[0][0] + 1000 - short[0][0]
    merged = sorted(long_ + [[ts + shift, wl, fr] for ts, wl, fr in short], key=lambda r: r[0])
    assert short[-1][0] + shift < long_[-1][0], "the short session must end first"
    write_pcap(os.path.join(tmp, "overlap.pcap"), hdr, merged)
    _, p2525 = read_pcap(os.path.join(SAMPLES, "port-2525.pcap"))
    for rec in p2525:
        t = tcp_offset(rec[2])
        for o in (t, t + 2):
            if struct.unpack("!H", rec[2][o:o + 2])[0] == 2525:
                rec[2][o:o + 2] = struct.pack("!H", 587)
    write_pcap(os.path.join(tmp, "p587.pcap"), hdr, p2525)
    make_ftp(tmp, hdr)
    return client_port(long_[0][2]), client_port(short[0][2])


def frame(src, dst, sport, dport, seq, payload, flags=0x18):
    """Ethernet, IPv4, TCP (checksums left zero: smtpscope does not need them)."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0, 64, 6, 0,
                     bytes(src), bytes(dst))
    return bytearray(b"\x00" * 12 + b"\x08\x00" + ip + tcp + payload)


def make_ftp(tmp, header):
    """An FTP greeting (220 too) and a login on port 21: not SMTP, so no hint."""
    c, sv = (10, 0, 0, 1), (10, 0, 0, 2)
    frames = [frame(sv, c, 21, 40000, 1, b"220 (vsFTPd 3.0.3)\r\n"),
              frame(c, sv, 40000, 21, 1, b"USER anonymous\r\n"),
              frame(sv, c, 21, 40000, 23, b"331 Please specify the password.\r\n")]
    recs = [[1700000000000000 + i, len(f), f] for i, f in enumerate(frames)]
    write_pcap(os.path.join(tmp, "ftp.pcap"), header, recs)


def check_no_ftp_hint(binary, pcap):
    _, out, err = run(binary, "-r", pcap, "-o", "json")
    like = json.loads(out.splitlines()[-1]).get("smtp_like_ports")
    return None if like == [] else "an FTP greeting taken for SMTP: %s" % like


def run(binary, *args):
    p = subprocess.run([binary, "-Z", "root"] + list(args) if os.geteuid() == 0 else
                       [binary] + list(args), capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def check_order(binary, pcap, long_port, short_port, threads):
    _, out, _ = run(binary, "-r", pcap, "--threads", str(threads))
    heads = re.findall(r"^Session (\d+) .*?:(\d+) -> ", out, re.M)
    want = [("1", str(long_port)), ("2", str(short_port))]
    if heads != want:
        return "sessions in the transcript %s, want %s (the order they began)" % (heads, want)
    return None


def check_count(binary, pcap, long_port, short_port):
    _, out, err = run(binary, "-r", pcap, "-c", "1")
    heads = re.findall(r"^Session \d+ .*?:(\d+) -> .*$", out, re.M)
    if heads != [str(short_port)]:
        return "-c 1 wrote sessions from ports %s, want only %d (the first to end)" % (
            heads, short_port)
    if "unfinished" in out or "not shown" not in err:
        return "-c 1: the open session is written, or not said to be left out: %r" % err[-300:]
    _, out, _ = run(binary, "-r", pcap, "-c", "1", "-o", "json")
    recs = [json.loads(line) for line in out.splitlines()]
    sessions = [r for r in recs if r["type"] == "session"]
    summary = recs[-1]
    if len(sessions) != 1 or summary.get("sessions_not_shown") != 1:
        return "-c 1 -o json: %d sessions, sessions_not_shown %s" % (
            len(sessions), summary.get("sessions_not_shown"))
    return None


def check_count_extract(binary, pcap, tmp):
    """-c 1 --extract: a message written to disk is in index.jsonl, shown or not."""
    d = os.path.join(tmp, "mail")
    run(binary, "-r", pcap, "-c", "1", "--extract", d, "-q")
    emls = sorted(f for f in os.listdir(d) if f.endswith((".eml", ".eml.partial")))
    index = [json.loads(l) for l in open(os.path.join(d, "index.jsonl"))]
    named = sorted(os.path.basename(e.get("file", "")) for e in index)
    if not emls or named != emls:
        return "files %s, index names %s" % (emls, named)
    return None


def check_ports(binary, pcap):
    _, out, err = run(binary, "-r", pcap)
    if "port 587 look like SMTP" not in err or "-p 25,587" not in err:
        return "no hint for port 587 in the summary: %r" % err[-300:]
    _, out, _ = run(binary, "-r", pcap, "-o", "json")
    like = json.loads(out.splitlines()[-1]).get("smtp_like_ports")
    if not like or like[0]["port"] != 587 or like[0]["packets"] < 1:
        return "smtp_like_ports %s" % like
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "smtpscope"))
    a = ap.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        long_port, short_port = make(tmp)
        overlap, p587 = os.path.join(tmp, "overlap.pcap"), os.path.join(tmp, "p587.pcap")
        cases = [("order, one thread", lambda: check_order(a.bin, overlap, long_port,
                                                             short_port, 1)),
                 ("order, --threads 2", lambda: check_order(a.bin, overlap, long_port,
                                                              short_port, 2)),
                 ("-c 1", lambda: check_count(a.bin, overlap, long_port, short_port)),
                 ("-c 1 --extract: every file indexed",
                  lambda: check_count_extract(a.bin, overlap, tmp)),
                 ("port 587 hint", lambda: check_ports(a.bin, p587)),
                 ("no hint for FTP's 220", lambda: check_no_ftp_hint(
                     a.bin, os.path.join(tmp, "ftp.pcap")))]
        for name, fn in cases:
            err = fn()
            print("%s %s%s" % ("FAIL" if err else "PASS", name, ": " + err if err else ""))
            failed += bool(err)
    print("order: %d of %d passed" % (len(cases) - failed, len(cases)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
