#!/usr/bin/env python3
"""Hostile-input stress runs: memory must stay bounded whatever the capture holds.

Writes three captures (standard library only, deterministic) and runs smtpscope on each,
reporting wall time, CPU time and peak RSS of the child (getrusage), and failing when the
peak goes over the limit (200 MB, issue 3); then again with --threads 2 (limit 256 MB: two
flow tables, two rings, and the sessions ended between two merges):

  syn-flood   1,000,000 SYNs from distinct clients to port 25, never answered
  long-line   one session whose client sends "EHLO " and 100 MB without a line end
  ooo-flood   2,000 sessions, each with a hole at the start and 50 KB queued behind it
  hash-flood  20,000 IPv6 SYNs from one /64, chosen to share one bucket under the flow
              table's old unkeyed hash (issue 13); hash-random is 20,000 random ones from
              the same /64 (tests/hash_flood.py compares their times)
  frag-flood  65,528 one-byte IPv4 fragments, 8 datagrams of 8,191 pieces at rising
              offsets: each used to walk every piece held (issue 13 item 8)
  junk-commands 200 sessions open at once, 3,000 unknown commands each, all answered:
              the sessions' records draw on one budget (--limit decode-memory)

usage: python3 bench/stress.py [--bin build/smtpscope] [--dir build/stress] [--limit-mb 200]
                               [--threads-limit-mb 256]
"""
import argparse
import os
import struct
import subprocess
import sys
import time

SERVER = bytes([192, 0, 2, 25])
ETH = b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x08\x00"
SYN, ACK, PSH = 0x02, 0x10, 0x08


def pcap_header():
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def frame(src, sport, dst, dport, seq, ack, flags, payload=b"", ts=0.0):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      0x50, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0, 64, 6, 0,
                     src, dst)
    pkt = ETH + ip + tcp + payload
    sec = int(ts)
    return struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(pkt), len(pkt)) + pkt


def client_ip(i):
    return bytes([10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])


def write_syn_flood(path, n=1_000_000):
    with open(path, "wb") as f:
        f.write(pcap_header())
        for i in range(n):
            f.write(frame(client_ip(i // 50000), 1024 + i % 50000, SERVER, 25, i * 7919, 0,
                          SYN, ts=1700000000 + i / 20000))


def handshake(f, cip, cport, ts):
    f.write(frame(cip, cport, SERVER, 25, 1000, 0, SYN, ts=ts))
    f.write(frame(SERVER, 25, cip, cport, 5000, 1001, SYN | ACK, ts=ts))
    f.write(frame(cip, cport, SERVER, 25, 1001, 5001, ACK, ts=ts))
    greeting = b"220 mx.example ESMTP\r\n"
    f.write(frame(SERVER, 25, cip, cport, 5001, 1001, PSH | ACK, greeting, ts=ts))
    return 5001 + len(greeting)


def write_long_line(path, total=100 * 1024 * 1024, mss=1460):
    cip = client_ip(1)
    with open(path, "wb") as f:
        f.write(pcap_header())
        sseq = handshake(f, cip, 40000, 1700000000.0)
        chunk = b"a" * mss
        seq = 1001
        f.write(frame(cip, 40000, SERVER, 25, seq, sseq, PSH | ACK, b"EHLO ", ts=1700000000.1))
        seq += 5
        sent = 0
        while sent < total:
            f.write(frame(cip, 40000, SERVER, 25, seq, sseq, ACK, chunk,
                          ts=1700000000.1 + sent / 1e9))
            seq += mss
            sent += mss


def write_ooo_flood(path, flows=2000, segs=50, size=1000):
    body = b"x" * size
    with open(path, "wb") as f:
        f.write(pcap_header())
        for i in range(flows):
            cip = client_ip(100000 + i)
            sseq = handshake(f, cip, 30000 + i % 30000, 1700000000 + i / 1000)
            for j in range(segs):  # the first `size` bytes never come
                f.write(frame(cip, 30000 + i % 30000, SERVER, 25, 1001 + (j + 1) * size, sseq,
                              ACK, body, ts=1700000000 + i / 1000))


SERVER6 = bytes.fromhex("20010db8000000000000000000000025")
PREFIX6 = bytes.fromhex("20010db800010002")  # one /64, above SERVER6: the client is endpoint 1
ETH6 = b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x86\xdd"
M64 = (1 << 64) - 1


def frame6(src, sport, dst, dport, seq, flags, ts):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, 0, 0x50, flags, 65535, 0, 0)
    ip = struct.pack("!IHBB16s16s", 0x60000000, len(tcp), 6, 64, src, dst)
    pkt = ETH6 + ip + tcp
    sec = int(ts)
    return struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(pkt), len(pkt)) + pkt


def old_flow_hash_state(words):
    """The flow table's hash before issue 13 (reassembly/flow.c key_hash), over some words."""
    h = 0x9E3779B97F4A7C15
    for w in words:
        h = ((h ^ w) * 0xFF51AFD7ED558CCD) & M64
        h ^= h >> 32
    return h


def colliding_iid(sport):
    """The interface id that gives (client sport, SERVER6 port 25) the same old hash as all others.

    The key was five 64-bit words, each xored in then mixed: family and ports, then the
    lower address (SERVER6), then the higher (PREFIX6 + iid). The last word is xored into a
    state the attacker can compute, so picking it cancels whatever the ports did."""
    w0 = 6 | 25 << 32 | sport << 48  # family, 3 pad bytes, port[0] (server), port[1], little endian
    le = lambda b: int.from_bytes(b, "little")
    h3 = old_flow_hash_state([w0, le(SERVER6[:8]), le(SERVER6[8:]), le(PREFIX6)])
    return (h3 ^ 0x5A5A5A5A5A5A5A5A).to_bytes(8, "little")


def write_hash_flood(path, n=20000, colliding=True):
    import random
    rng = random.Random(13)
    with open(path, "wb") as f:
        f.write(pcap_header())
        for i in range(n):
            sport = 1024 + i
            iid = colliding_iid(sport) if colliding else rng.getrandbits(64).to_bytes(8, "little")
            f.write(frame6(PREFIX6 + iid, sport, SERVER6, 25, i * 7919, SYN,
                           1700000000 + i / 10000))


def write_hash_random(path, n=20000):
    write_hash_flood(path, n, colliding=False)


def fragment(src, ident, off8, payload, more, ts):
    """One IPv4 fragment of a TCP datagram: offset in 8-byte units, MF as told."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident,
                     (0x2000 if more else 0) | off8, 64, 6, 0, src, SERVER)
    pkt = ETH + ip + payload
    sec = int(ts)
    return struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(pkt), len(pkt)) + pkt


def write_frag_flood(path, datagrams=8, pieces=8191):
    """65,528 one-byte fragments: 8 datagrams of 8,191 each, offsets rising (issue 13 item 8)."""
    with open(path, "wb") as f:
        f.write(pcap_header())
        n = 0
        for d in range(datagrams):
            for i in range(pieces):
                f.write(fragment(client_ip(d), 1000 + d, i, b"x", True,
                                 1700000000 + n / 100000))
                n += 1


def write_junk_commands(path, flows=200, commands=3000):
    """200 sessions of 3,000 unknown commands, each answered 500: their records pile up."""
    reply = b"500 5.5.2 Error: command not recognized\r\n"
    with open(path, "wb") as f:
        f.write(pcap_header())
        state = []
        for i in range(flows):
            cip, cport = client_ip(200000 + i), 20000 + i
            state.append([cip, cport, 1001, handshake(f, cip, cport, 1700000000 + i / 1000)])
        for n in range(commands):  # round robin: every session is open at once
            line = b"XJUNK %05d " % n + b"0123456789" * 6 + b"\r\n"
            for st in state:
                cip, cport, cseq, sseq = st
                ts = 1700000001 + n / 1000
                f.write(frame(cip, cport, SERVER, 25, cseq, sseq, PSH | ACK, line, ts=ts))
                f.write(frame(SERVER, 25, cip, cport, sseq, cseq + len(line), PSH | ACK, reply,
                              ts=ts))
                st[2], st[3] = cseq + len(line), sseq + len(reply)


CASES = [("syn-flood", write_syn_flood), ("long-line", write_long_line),
         ("ooo-flood", write_ooo_flood), ("hash-flood", write_hash_flood),
         ("hash-random", write_hash_random), ("frag-flood", write_frag_flood),
         ("junk-commands", write_junk_commands)]


def last_line(path):
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 8192))
        lines = f.read().splitlines()
    return lines[-1].decode() if lines else ""


def run(binary, path, out, extra=()):
    """Run one capture; the rusage of exactly this child, from wait4()."""
    t0 = time.monotonic()
    with open(out, "wb") as sink, open(out + ".err", "wb") as err:
        proc = subprocess.Popen([binary, "-r", path, "-o", "json", *extra], stdout=sink,
                                stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    with open(out + ".err", "rb") as err:
        stderr = err.read().decode(errors="replace")
    # ru_maxrss is in KiB on Linux
    return (proc.returncode, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0,
            last_line(out), stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="build/smtpscope")
    ap.add_argument("--dir", default="build/stress")
    ap.add_argument("--limit-mb", type=float, default=200.0)
    ap.add_argument("--threads-limit-mb", type=float, default=256.0,
                    help="the same runs with --threads 2: two flow tables, two rings, and the "
                    "sessions ended between two merges")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    failed = False
    for name, writer in CASES:
        path = os.path.join(args.dir, name + ".pcap")
        if not os.path.exists(path):
            writer(path)
        for extra, limit in (((), args.limit_mb), (("--threads", "2"), args.threads_limit_mb)):
            rc, wall, cpu, rss, summary, err = run(args.bin, path, path + ".json", extra)
            ok = rc == 0 and rss <= limit
            failed |= not ok
            print(f"{'PASS' if ok else 'FAIL'} {name}{' ' + ' '.join(extra) if extra else ''}: "
                  f"{os.path.getsize(path) / 1e6:.0f} MB input, exit {rc}, wall {wall:.2f} s, "
                  f"cpu {cpu:.2f} s, peak RSS {rss:.1f} MB (limit {limit:.0f})")
            print(f"     summary: {summary[:400]}")
            if err.strip():
                print(f"     stderr: {err.strip()[:300]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
