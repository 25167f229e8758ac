#!/usr/bin/env python3
"""TLS decryption throughput: STARTTLS sessions read with and without their key log.

Makes SESSIONS real STARTTLS sessions (Python's ssl, client and server in memory through
MemoryBIO: real TLS 1.3 and 1.2 handshakes and records, nothing on a network), each sending
one message of SIZE KiB inside TLS, with the client's keys written to a key log as
SSLKEYLOGFILE writers do (keylog_filename); wraps every byte in TCP segments of at most 1448
bytes into a pcap. Then times `smtpscope -r PCAP -o json` without the key log (the
handshake is followed, the records only counted) and with it (every record decrypted and
the SMTP inside read), and checks that with the key log every session was decrypted, every
message seen and no record failed.

    python3 bench/tlsbench.py --bin build/smtpscope --rusage build/bench/rusage
"""
import argparse
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench_run  # noqa: E402  measure() through bench/rusage.c

MSS = 1448


class Pcap:
    """A pcap of IPv4/TCP segments (Ethernet) with correct sequence numbers, no checksums."""

    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.t = 1_700_000_000.0

    def packet(self, src, dst, sport, dport, seq, ack, flags, payload=b""):
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                          5 << 4, flags, 65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0, 64, 6,
                         0, socket.inet_aton(src), socket.inet_aton(dst))
        frame = b"\x00" * 12 + b"\x08\x00" + ip + tcp + payload
        self.t += 0.0001
        sec = int(self.t)
        self.f.write(struct.pack("<IIII", sec, int((self.t - sec) * 1e6), len(frame),
                                 len(frame)))
        self.f.write(frame)

    def close(self):
        self.f.close()


class Flow:
    """One TCP connection: handshake, data each way in order, FIN."""

    def __init__(self, pcap, n):
        self.p = pcap
        self.c = ("10.%d.%d.2" % (n >> 8 & 255, n & 255), 20000 + n % 40000)
        self.s = ("192.0.2.25", 25)
        self.seq = [1000, 5000]  # client, server
        self.p.packet(*self.ends(0), self.seq[0], 0, 0x02)
        self.p.packet(*self.ends(1), self.seq[1], self.seq[0] + 1, 0x12)
        self.seq = [self.seq[0] + 1, self.seq[1] + 1]
        self.p.packet(*self.ends(0), self.seq[0], self.seq[1], 0x10)

    def ends(self, side):
        a, b = (self.c, self.s) if side == 0 else (self.s, self.c)
        return a[0], b[0], a[1], b[1]

    def send(self, side, data):
        for i in range(0, len(data), MSS):
            chunk = data[i:i + MSS]
            self.p.packet(*self.ends(side), self.seq[side], self.seq[1 - side], 0x18, chunk)
            self.seq[side] += len(chunk)

    def close(self):
        self.p.packet(*self.ends(0), self.seq[0], self.seq[1], 0x11)
        self.p.packet(*self.ends(1), self.seq[1], self.seq[0] + 1, 0x11)
        self.p.packet(*self.ends(0), self.seq[0] + 1, self.seq[1] + 1, 0x10)


def pump(cli, srv, cin, cout, sin, sout, flow):
    """Move what each TLS object wrote to the other, and into the capture."""
    moved = True
    while moved:
        moved = False
        data = cout.read()
        if data:
            flow.send(0, data)
            sin.write(data)
            moved = True
        data = sout.read()
        if data:
            flow.send(1, data)
            cin.write(data)
            moved = True
        for obj in (cli, srv):
            try:
                obj.do_handshake()
            except ssl.SSLWantReadError:
                pass


def tls_session(flow, cctx, sctx, body):
    flow.send(1, b"220 mx.bench.test ESMTP\r\n")
    flow.send(0, b"EHLO client.bench.test\r\n")
    flow.send(1, b"250-mx.bench.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
    flow.send(0, b"STARTTLS\r\n")
    flow.send(1, b"220 2.0.0 Ready to start TLS\r\n")
    cin, cout, sin, sout = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    cli = cctx.wrap_bio(cin, cout, server_hostname="mx.bench.test")
    srv = sctx.wrap_bio(sin, sout, server_side=True)
    for _ in range(10):
        pump(cli, srv, cin, cout, sin, sout, flow)

    def say(obj, text):
        obj.write(text)
        pump(cli, srv, cin, cout, sin, sout, flow)
        peer = srv if obj is cli else cli
        try:
            while peer.read(65536):
                pass
        except ssl.SSLWantReadError:
            pass
        pump(cli, srv, cin, cout, sin, sout, flow)

    say(cli, b"EHLO client.bench.test\r\n")
    say(srv, b"250-mx.bench.test\r\n250 8BITMIME\r\n")
    say(cli, b"MAIL FROM:<a@client.bench.test>\r\n")
    say(srv, b"250 2.1.0 Ok\r\n")
    say(cli, b"RCPT TO:<b@bench.test>\r\n")
    say(srv, b"250 2.1.5 Ok\r\n")
    say(cli, b"DATA\r\n")
    say(srv, b"354 End data with <CR><LF>.<CR><LF>\r\n")
    for i in range(0, len(body), 16000):
        say(cli, body[i:i + 16000])
    say(cli, b".\r\n")
    say(srv, b"250 2.0.0 Ok: queued as BENCH\r\n")
    say(cli, b"QUIT\r\n")
    say(srv, b"221 2.0.0 Bye\r\n")
    flow.close()


def make(path, keylog, sessions, size_kib, workdir):
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                    "/CN=mx.bench.test", "-days", "2", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    line = b"Subject: bench\r\n\r\n" + b"x" * 76 + b"\r\n"
    body = line * (size_kib * 1024 // len(line))
    pcap = Pcap(path)
    if os.path.exists(keylog):
        os.unlink(keylog)
    for n in range(sessions):
        cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        cctx.check_hostname = False
        cctx.verify_mode = ssl.CERT_NONE
        cctx.keylog_filename = keylog
        if n % 2:  # half TLS 1.2 (AES-128-GCM), half TLS 1.3 (AES-256-GCM)
            cctx.maximum_version = ssl.TLSVersion.TLSv1_2
            cctx.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
        tls_session(Flow(pcap, n), cctx, sctx, body)
    pcap.close()


def summary(out):
    lines = out.decode().splitlines()
    return json.loads(lines[-1]) if lines else {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="build/smtpscope")
    ap.add_argument("--rusage", default="build/bench/rusage")
    ap.add_argument("--dir", default="build/bench")
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--size", type=int, default=256, help="KiB per message")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    bench_run.RUSAGE = args.rusage
    os.makedirs(args.dir, exist_ok=True)
    pcap = os.path.join(args.dir, "tls-%d.pcap" % args.sessions)
    keylog = pcap[:-5] + ".keylog"
    with tempfile.TemporaryDirectory() as work:
        make(pcap, keylog, args.sessions, args.size, work)
    mb = os.path.getsize(pcap) / 1e6
    plain = [args.bin, "-r", pcap, "-o", "json", "-p", "25"]
    keyed = plain + ["--tls-keylog", keylog]
    res = {}
    for name, argv in (("no key log", plain), ("--tls-keylog", keyed)):
        runs = sorted(bench_run.measure(argv) for _ in range(args.runs))
        res[name] = runs[len(runs) // 2]
    out = subprocess.run(keyed, capture_output=True, check=True).stdout
    s = summary(out)
    kl = s.get("tls_keylog") or {}
    ok = (kl.get("sessions_decrypted") == args.sessions and kl.get("failed_records") == 0 and
          s.get("messages_accepted", s.get("messages")) is not None)
    delivered = sum(1 for line in out.decode().splitlines()
                    if '"type":"session"' in line and json.loads(line).get("outcome") == "delivered")
    ok = ok and delivered == args.sessions
    print("tls bench: %s, %.1f MB, %d STARTTLS sessions (half TLS 1.3 AES-256-GCM, half TLS 1.2 "
          "AES-128-GCM), %d KiB each" % (pcap, mb, args.sessions, args.size))
    for name, (cpu, wall, rss) in res.items():
        print("  %-14s CPU %.3f s (%.0f MB/s), wall %.3f s, peak RSS %.1f MB"
              % (name, cpu, mb / max(cpu, 1e-9), wall, rss))
    extra = res["--tls-keylog"][0] - res["no key log"][0]
    print("  decryption throughput: %.0f MB/s of TLS (CPU added by the key log: %.3f s); "
          "%d of %d sessions decrypted and delivered, %s records failed"
          % (mb / max(extra, 1e-9), extra, delivered, args.sessions, kl.get("failed_records")))
    print("tls bench: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
