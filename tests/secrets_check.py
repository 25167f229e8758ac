#!/usr/bin/env python3
"""AUTH credentials never reach any output format unless --show-secrets (issue 13).

Writes a small capture (tmp dir) with the ways a credential can slip past
masking: AUTH words split by TAB or several blanks, AUTH LOGIN with swapped,
empty or non-standard prompts and an empty user name, an answer pipelined
past a refused AUTH, and a session whose capture begins with a bare
credential line. Then runs `BIN -r CAP -o FORMAT` for text, json, csv and ecs
and fails if a secret (base64 or decoded, in any letter case) is printed;
with --show-secrets the same run must print them (so the check can fail).
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile

SECRETS = ["AGJvYgBodW50ZXIy", "hunter2", "czNjcjN0", "s3cr3t"]  # "\0bob\0hunter2", "s3cr3t"
FORMATS = ["text", "json", "csv", "ecs"]

GREET = [("S", "220 mx ESMTP\r\n"), ("C", "EHLO h\r\n"), ("S", "250-mx\r\n250 AUTH PLAIN LOGIN\r\n")]
BYE = [("C", "QUIT\r\n"), ("S", "221 bye\r\n")]
# one session each: the last AUTH of a session is the one whose user name is reported
AUTH_SESSIONS = [
    [("C", "AUTH PLAIN\tAGJvYgBodW50ZXIy\r\n"), ("S", "535 5.7.8 no\r\n")],
    [("C", "AUTH\tPLAIN AGJvYgBodW50ZXIy\r\n"), ("S", "535 5.7.8 no\r\n")],
    [("C", "AUTH\tPLAIN\tAGJvYgBodW50ZXIy\r\n"), ("S", "535 5.7.8 no\r\n")],
    [("C", "AUTH  PLAIN \t AGJvYgBodW50ZXIy\r\n"), ("S", "535 5.7.8 no\r\n")],
    # prompts swapped: "Password:" first, then "Username:"
    [("C", "AUTH LOGIN\r\n"), ("S", "334 UGFzc3dvcmQ6\r\n"), ("C", "YWxpY2U=\r\n"),
     ("S", "334 VXNlcm5hbWU6\r\n"), ("C", "czNjcjN0\r\n"), ("S", "535 5.7.8 no\r\n")],
    # empty prompts and an empty user name
    [("C", "AUTH LOGIN\r\n"), ("S", "334 \r\n"), ("C", "\r\n"), ("S", "334 \r\n"),
     ("C", "czNjcjN0\r\n"), ("S", "535 5.7.8 no\r\n")],
    # an answer pipelined past a refused AUTH: no 334 ever comes
    [("C", "AUTH PLAIN\r\nAGJvYgBodW50ZXIy\r\n"),
     ("S", "504 5.5.4 no\r\n502 5.5.2 Error: command not recognized\r\n")],
]
# the capture begins between the 334 and the password
MIDSTREAM_SESSION = [("C", "czNjcjN0\r\n"), ("S", "535 5.7.8 Error: authentication failed\r\n"),
                     ("C", "QUIT\r\n"), ("S", "221 bye\r\n")]


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, data=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    return b"\0" * 12 + b"\x08\x00" + ip + tcp


def session(records, t, cport, turns, handshake):
    cli, srv, cs, ss = bytes([192, 168, 0, 2]), bytes([10, 0, 0, 1]), 1000, 5000

    def put(pkt):
        t[0] += 10000
        records.append(struct.pack("<IIII", t[0] // 10**6, t[0] % 10**6, len(pkt), len(pkt)) + pkt)

    if handshake:
        put(frame(cli, srv, cport, 25, cs, 0, 0x02))
        put(frame(srv, cli, 25, cport, ss, cs + 1, 0x12))
        cs, ss = cs + 1, ss + 1
        put(frame(cli, srv, cport, 25, cs, ss, 0x10))
    for who, text in turns:
        data = text.encode()
        if who == "C":
            put(frame(cli, srv, cport, 25, cs, ss, 0x18, data))
            cs += len(data)
        else:
            put(frame(srv, cli, 25, cport, ss, cs, 0x18, data))
            ss += len(data)
    put(frame(cli, srv, cport, 25, cs, ss, 0x11))
    put(frame(srv, cli, 25, cport, ss, cs + 1, 0x11))
    put(frame(cli, srv, cport, 25, cs + 1, ss + 1, 0x10))


def write_capture(path):
    records, t = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)], [1700000000 * 10**6]
    for i, turns in enumerate(AUTH_SESSIONS):
        session(records, t, 40001 + i, GREET + turns + BYE, True)
    session(records, t, 40100, MIDSTREAM_SESSION, False)
    with open(path, "wb") as f:
        f.write(b"".join(records))


def leaks(binary, cap, fmt, extra):
    out = subprocess.run([binary, "-r", cap, "-o", fmt] + extra, capture_output=True,
                         check=True).stdout.decode("utf-8", "replace").lower()
    return [s for s in SECRETS if s.lower() in out]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="build/smtpscope")
    args = ap.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        cap = os.path.join(tmp, "auth-masking.pcap")
        write_capture(cap)
        for fmt in FORMATS:
            found = leaks(args.bin, cap, fmt, [])
            shown = leaks(args.bin, cap, fmt, ["--show-secrets"])
            ok = not found and shown
            failed += not ok
            print("%s %s: %s" % ("PASS" if ok else "FAIL", fmt,
                                 "printed %s" % found if found else
                                 "masked (and shown with --show-secrets)" if shown else
                                 "--show-secrets printed nothing: the check cannot fail"))
    print("secrets: %d passed, %d failed" % (len(FORMATS) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
