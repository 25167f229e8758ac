#!/usr/bin/env python3
"""make.py - hostile TLS captures with their key logs, for tests/tls_hostile_check.py.

Each is a TCP session on port 465 (TLS from the first byte) whose records are really
encrypted with the keys in the key log beside it (TLS 1.2 AES-128-GCM, RFC 5288; the key
block from RFC 5246's PRF), so smtpscope decrypts them and meets what is inside:

  reent    inside TLS, a STARTTLS answered 220 followed by TLS records (a large one): TLS
           inside TLS must be counted, never fed back into the TLS layer that is decrypting.
  small    the same with a small inner record.
  client   the client sends STARTTLS then 70 KB of TLS-looking records before any reply
           (the held bytes overflow): same rule.
  tls13cbc a TLS 1.3 ServerHello choosing a CBC suite, and a key log holding TLS 1.3
           secrets for it: a suite TLS 1.3 cannot use is "unsupported", never decrypted.
  blind    an application_data record before the ServerHello: it must not turn decryption
           off for the session.

Found by review (stop 12); made here so that they stay regression tests. Needs
python3-cryptography; the outputs are kept in the repository, so the test does not.
    python3 tests/data/tls-hostile/make.py
"""
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
CR, SR, MS = bytes([0x11] * 32), bytes([0x22] * 32), bytes([0x33] * 48)


def prf(secret, label, seed, n):
    seed, out, a = label + seed, b"", label + seed
    while len(out) < n:
        a = hmac.new(secret, a, hashlib.sha256).digest()
        out += hmac.new(secret, a + seed, hashlib.sha256).digest()
    return out[:n]


KB = prf(MS, b"key expansion", SR + CR, 40)
KEYS = [(KB[0:16], KB[32:36]), (KB[16:32], KB[36:40])]  # client, server


class Gcm:
    def __init__(self):
        self.seq = [0, 0]

    def rec(self, d, pt, typ=23):
        key, iv = KEYS[d]
        explicit = struct.pack(">Q", self.seq[d])
        aad = struct.pack(">QBHH", self.seq[d], typ, 0x0303, len(pt))
        self.seq[d] += 1
        body = explicit + AESGCM(key).encrypt(iv + explicit, pt, aad)
        return struct.pack(">BHH", typ, 0x0303, len(body)) + body


def hs(msgtype, body):
    m = bytes([msgtype]) + struct.pack(">I", len(body))[1:] + body
    return struct.pack(">BHH", 22, 0x0303, len(m)) + m


CH = hs(1, b"\x03\x03" + CR + b"\x00" + b"\x00\x02\xc0\x2f" + b"\x01\x00" + b"\x00\x00")
SH = hs(2, b"\x03\x03" + SR + b"\x00" + b"\xc0\x2f" + b"\x00" + b"\x00\x00")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def pcap(path, flow):
    cip, sip, cport, sport = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), 40000, 465
    out, t = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)], [1700000000]

    def pkt(d, flags, sq, ak, data=b""):
        src, dst = (cip, sip) if d == 0 else (sip, cip)
        sp, dp = (cport, sport) if d == 0 else (sport, cport)
        tcp = struct.pack("!HHIIBBHHH", sp, dp, sq & 0xFFFFFFFF, ak & 0xFFFFFFFF, 5 << 4, flags,
                          65535, 0, 0)
        ph = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(data))
        tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp + data)) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(data), 1, 0x4000, 64, 6,
                         0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        fr = b"\x00" * 11 + b"\x01" + b"\x08\x00" + ip + tcp + data
        t[0] += 1
        out.append(struct.pack("<IIII", t[0], 0, len(fr), len(fr)) + fr)

    nxt = [1001, 5001]
    pkt(0, 0x02, 1000, 0)
    pkt(1, 0x12, 5000, 1001)
    pkt(0, 0x10, 1001, 5001)
    for d, data in flow:
        while data:
            seg, data = data[:1400], data[1400:]
            pkt(d, 0x18, nxt[d], nxt[1 - d], seg)
            nxt[d] += len(seg)
    pkt(0, 0x11, nxt[0], nxt[1])
    pkt(1, 0x11, nxt[1], nxt[0] + 1)
    pkt(0, 0x10, nxt[0] + 1, nxt[1] + 1)
    with open(os.path.join(HERE, path), "wb") as f:
        f.write(b"".join(out))


def reent(name, inner_len):
    g = Gcm()
    inner = b"\x16\x03\x03\x00\x01\x00" + b"\x17\x03\x03" + struct.pack(">H", inner_len)
    pcap(name, [(0, CH), (1, SH), (1, g.rec(1, b"220 hi ESMTP\r\n")),
                (0, g.rec(0, b"EHLO a\r\n")), (1, g.rec(1, b"250-hi\r\n250 STARTTLS\r\n")),
                (0, g.rec(0, b"STARTTLS\r\n")),
                (1, g.rec(1, b"220 go\r\n" + inner + b"A" * inner_len)),
                (1, g.rec(1, b"250 more\r\n"))])


def client():
    g = Gcm()
    inner = b"\x16\x03\x03\x00\x01\x00"
    while len(inner) < 70000:
        inner += b"\x17\x03\x03\x10\x00" + b"B" * 4096
    pt, flow = b"STARTTLS\r\n" + inner, [(0, CH), (1, SH)]
    flow += [(1, g.rec(1, b"220 hi ESMTP\r\n")), (0, g.rec(0, b"EHLO a\r\n")),
             (1, g.rec(1, b"250-hi\r\n250 STARTTLS\r\n"))]
    while pt:
        flow.append((0, g.rec(0, pt[:16000])))
        pt = pt[16000:]
    flow.append((1, g.rec(1, b"454 no\r\n")))
    pcap("client.pcap", flow)


def tls13cbc():
    sh13 = hs(2, b"\x03\x03" + SR + b"\x00" + b"\x00\x2f" + b"\x00" + b"\x00\x06" +
              b"\x00\x2b\x00\x02\x03\x04")
    pcap("tls13cbc.pcap", [(0, CH), (1, sh13), (1, b"\x17\x03\x03\x00\x28" + b"\x55" * 40)])
    with open(os.path.join(HERE, "tls13cbc.keylog"), "w") as f:
        f.write("SERVER_HANDSHAKE_TRAFFIC_SECRET %s %s\n" % (CR.hex(), "44" * 32))
        f.write("CLIENT_HANDSHAKE_TRAFFIC_SECRET %s %s\n" % (CR.hex(), "45" * 32))


def blind():
    g = Gcm()
    pcap("blind.pcap", [(0, CH), (0, b"\x17\x03\x03\x00\x20" + b"\x00" * 32), (1, SH),
                        (1, g.rec(1, b"220 hi ESMTP\r\n")), (0, g.rec(0, b"EHLO a\r\n")),
                        (1, g.rec(1, b"250 hi\r\n")), (0, g.rec(0, b"MAIL FROM:<a@b>\r\n")),
                        (1, g.rec(1, b"250 ok\r\n"))])


if __name__ == "__main__":
    reent("reent.pcap", 9000)
    reent("small.pcap", 16)
    client()
    tls13cbc()
    blind()
    with open(os.path.join(HERE, "tls12.keylog"), "w") as f:
        f.write("CLIENT_RANDOM %s %s\n" % (CR.hex(), MS.hex()))
