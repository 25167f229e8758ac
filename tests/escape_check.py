#!/usr/bin/env python3
"""Wire bytes through every output format (issue 13 item 11), on a generated capture.

One SMTP session whose command arguments, reply texts and Subject hold a NUL, U+202E,
U+200B, U+009B (CSI), ESC, a backslash, a byte C0 and bytes that are not UTF-8. Checked:
  - JSON and ECS: each wire field comes back byte for byte with
    .encode("utf-8", "surrogateescape") (report.h);
  - CSV: each cell comes back byte for byte once \\\\, \\xNN and \\uNNNN are undone;
  - text and CSV: no NUL, ESC, C1, bidi or zero-width character is written as itself.
"""
import argparse
import csv
import io
import json
import re
import struct
import subprocess
import sys
import tempfile

CLIENT, SERVER = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
CPORT, SPORT = 40000, 25

# (who, bytes): the conversation; every odd field is in both a command and a reply.
ODD = [
    b"a\x00b",  # NUL in the middle: what follows must be there
    b"x\xe2\x80\xaey",  # U+202E RIGHT-TO-LEFT OVERRIDE
    b"z\xe2\x80\x8bw",  # U+200B ZERO WIDTH SPACE
    b"c\xc2\x9b31m",  # U+009B CSI
    b"e\x1b[2J",  # ESC
    b"back\\x00slash",  # a backslash that looks like an escape
    b"\xc0\x80 and \xc0",  # the bytes decode/ uses to keep NUL, sent as such
    b"caf\xe9 caf\xc3\xa9 \xff",  # Latin-1, UTF-8, a byte never in UTF-8
]
TURNS = [("S", b"220 mx ESMTP\r\n")]
for i, odd in enumerate(ODD):
    TURNS.append(("C", b"NOOP " + odd + b"\r\n"))
    TURNS.append(("S", b"250 " + odd + b"\r\n"))
TURNS += [
    ("C", b"MAIL FROM:<" + ODD[0] + b"@d>\r\n"), ("S", b"250 Ok\r\n"),
    ("C", b"RCPT TO:<" + ODD[1] + b"@d>\r\n"), ("S", b"250 Ok\r\n"),
    ("C", b"DATA\r\n"), ("S", b"354 go\r\n"),
    ("C", b"Subject: " + ODD[1] + ODD[0] + b"\r\n\r\nbody\r\n.\r\n"), ("S", b"250 Ok\r\n"),
    ("C", b"QUIT\r\n"), ("S", b"221 Bye\r\n"),
]


def ipv4_tcp(src, dst, sport, dport, seq, ack, flags, payload):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0, 64, 6, 0,
                     src, dst)
    return b"\x00" * 12 + b"\x08\x00" + ip + tcp + payload


def capture():
    """A pcap (Ethernet) of the conversation: handshake, the turns, FIN both ways."""
    pkts, cseq, sseq = [], 1000, 5000
    SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01

    def c2s(flags, data=b""):
        pkts.append(ipv4_tcp(CLIENT, SERVER, CPORT, SPORT, cseq, sseq, flags, data))

    def s2c(flags, data=b""):
        pkts.append(ipv4_tcp(SERVER, CLIENT, SPORT, CPORT, sseq, cseq, flags, data))

    pkts.append(ipv4_tcp(CLIENT, SERVER, CPORT, SPORT, cseq - 1, 0, SYN, b""))
    pkts.append(ipv4_tcp(SERVER, CLIENT, SPORT, CPORT, sseq - 1, cseq, SYN | ACK, b""))
    c2s(ACK)
    for who, data in TURNS:
        if who == "C":
            c2s(PSH | ACK, data)
            cseq += len(data)
        else:
            s2c(PSH | ACK, data)
            sseq += len(data)
    c2s(FIN | ACK)
    cseq += 1
    s2c(FIN | ACK)
    sseq += 1
    c2s(ACK)
    out = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
    for i, p in enumerate(pkts):
        out += struct.pack("<IIII", 1700000000 + i, 0, len(p), len(p)) + p
    return out


def run(binary, pcap, fmt):
    proc = subprocess.run([binary, "-r", pcap, "-o", fmt, "-q"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)
    if proc.returncode != 0:
        raise SystemExit("escape: %s -o %s failed: %s" % (binary, fmt, proc.stderr.decode()))
    return proc.stdout


def wire(s):
    return s.encode("utf-8", "surrogateescape")


def csv_unescape(cell):
    """A CSV cell back to bytes: \\\\, \\xNN and \\uNNNN undone (csv.c)."""
    out, i = bytearray(), 0
    b = cell.encode("utf-8")
    while i < len(b):
        if b[i:i + 1] == b"\\":
            if b[i + 1:i + 2] == b"\\":
                out += b"\\"
                i += 2
            elif b[i + 1:i + 2] == b"x":
                out.append(int(b[i + 2:i + 4], 16))
                i += 4
            elif b[i + 1:i + 2] == b"u":
                out += chr(int(b[i + 2:i + 6], 16)).encode("utf-8")
                i += 6
            else:
                raise ValueError("a lone backslash in %r" % cell)
        else:
            out.append(b[i])
            i += 1
    return bytes(out)


INERT = [b"\x00", b"\x1b", b"\xc2\x9b", b"\xe2\x80\xae", b"\xe2\x80\x8b"]


def check(binary):
    problems = []
    with tempfile.NamedTemporaryFile(suffix=".pcap") as f:
        f.write(capture())
        f.flush()
        outs = {fmt: run(binary, f.name, fmt) for fmt in ("json", "ecs", "csv", "text")}

    sessions = [r for r in map(json.loads, outs["json"].splitlines()) if r.get("type") == "session"]
    if len(sessions) != 1:
        return ["json: %d sessions, want 1" % len(sessions)]
    s = sessions[0]
    noops = [c for c in s["commands"] if c["cmd"] == "NOOP"]
    for c, odd in zip(noops, ODD):
        if wire(c["arg"]) != odd:
            problems.append("json: arg %r, want %r" % (wire(c["arg"]), odd))
        if wire(c["reply"]["text"]) != odd:
            problems.append("json: reply %r, want %r" % (wire(c["reply"]["text"]), odd))
    m = s["messages"][0]
    for got, want in ((m["mail_from"], ODD[0] + b"@d"), (m["rcpt_to"][0], ODD[1] + b"@d"),
                      (m["subject"], ODD[1] + ODD[0])):
        if wire(got) != want:
            problems.append("json: %r, want %r" % (wire(got), want))

    ecs = outs["ecs"].decode("utf-8")
    for field, want in (("email.from.address", ODD[0] + b"@d"), ("email.subject", ODD[1] + ODD[0])):
        docs = [json.loads(l) for l in ecs.splitlines()]
        found = False
        for d in docs:
            v = d
            for k in field.split("."):
                v = v.get(k) if isinstance(v, dict) else None
            if isinstance(v, list):
                v = v[0] if v else None
            if isinstance(v, str):
                found = True
                if wire(v) != want:
                    problems.append("ecs: %s %r, want %r" % (field, wire(v), want))
        if not found:
            problems.append("ecs: no %s" % field)

    rows = list(csv.DictReader(io.StringIO(outs["csv"].decode("utf-8"), newline="")))
    noops = [r for r in rows if r["command"] == "NOOP"]
    for r, odd in zip(noops, ODD):
        for col in ("argument", "reply_text"):
            if csv_unescape(r[col]) != odd:
                problems.append("csv: %s %r (%r), want %r" % (col, csv_unescape(r[col]), r[col], odd))
    if len(noops) != len(ODD):
        problems.append("csv: %d NOOP rows, want %d" % (len(noops), len(ODD)))

    for fmt in ("csv", "text"):
        for b in INERT:
            if b in outs[fmt]:
                problems.append("%s: %r written as itself" % (fmt, b))
    if b"NOOP a\\x00b" not in outs["text"] or b"250 a\\x00b" not in outs["text"]:
        problems.append("text: the NUL in the command or reply is not \\x00")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="build/smtpscope")
    args = ap.parse_args()
    problems = check(args.bin)
    for p in problems:
        print("escape: FAIL " + p)
    print("escape: %s (%d fields, 4 formats)" % ("FAIL" if problems else "PASS", len(ODD) * 2 + 3))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
