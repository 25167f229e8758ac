#!/usr/bin/env python3
"""Realistic mixed-traffic capture generator, with ground truth, for `make bench`.

    python3 bench/gen.py --size-mb 1000 --seed 1 -o build/bench/mix-1000.pcap

writes a pcap (EN10MB, microsecond timestamps) of about the asked size and, beside it,
`mix-1000.truth.jsonl`: what smtpscope must find in it. Same size and seed, same bytes.
Python standard library only.

What the capture holds
  * SMTP, ~70% of the bytes, ~21 sessions per MB: servers on port 25 (and ~5% on 2525),
    IPv4 and ~15% IPv6. The traffic is the same whatever the size, a bigger file is a
    longer capture: sessions start staggered, 70 a second (over 300 s for 1 GB, 30 s for
    100 MB), and last ~40 s on average (greeting delays, lookups, content scanning), so
    that ~3,000 are open at once once the start window outlasts a session (1,000-2,000 at
    the peak of a 100 MB file); their packets are merged by timestamp, one by one.
    Every TCP connection has its handshake (MSS option), MSS-sized segments (1460 IPv4,
    1440 IPv6), pure ACKs from the receiver every other segment, and a FIN close.
    Kinds (shares of sessions): ESMTP delivery 55% (pipelined or not, 1-5 recipients some
    refused 550 5.1.1 / 554 5.7.1 relay denied / 450 4.7.1 greylisted, several messages
    per session sometimes, NOOP/VRFY/RSET/unknown commands now and then, rejections after
    the body), STARTTLS then TLS records 15%, AUTH LOGIN/PLAIN 8% (with 535 failures),
    BDAT 4%, plain HELO 4%, greeting refused (554 / 421) 2%, refused connection attempts
    (SYN -> RST) 3%, unanswered SYNs 2%, resets by the client 3% (some in the middle of
    a message body), sessions still open at the end of the capture.
    Message sizes are heavy-tailed (lognormal, median ~9 KB, plus a Pareto tail up to
    25 MB); bodies have Subject and Message-ID headers, text and base64 lines, and lines
    that start with a dot (dot-stuffed on the wire).
    0.5% of data segments are retransmitted (same bytes), 0.3% of segment pairs are
    swapped (reordered).
  * Background, ~30% of the bytes: HTTP on port 80 (GET, heavy-tailed responses) and DNS
    on UDP 53.

The truth file (JSON Lines): one line per SMTP session
    {"client": ip, "cport": N, "server": ip, "sport": N, "state": "closed",
     "cmds": "CONNECT 220|EHLO 250|MAIL 250|RCPT 550|...|QUIT 221", "accepted": 1,
     "bodies": [[12345, "Invoice 4711"]]}
in the names of DESIGN.md's output contract ("CONNECT" for the greeting, "." for the reply
after a DATA body, "AUTH-DATA" for the lines of an AUTH exchange, nothing after a STARTTLS
220, "-" for a command whose reply is not in the capture; a refused or unanswered attempt
is "CONNECT -"; "accepted": messages answered 250 after their end; "bodies": the size once
dot-unstuffed and the Subject of every message whose end ("." or BDAT LAST) was sent, in
order), then one last line {"type": "totals", ...}: sessions, states, messages
accepted, reply counts per code, packets and bytes (all and SMTP only), concurrency.

How it is fast enough (~1 GB in well under two minutes on one core): packet headers are
packed with precompiled structs into per-direction byte templates (IPv4 header checksum
computed from a precomputed partial sum, TCP checksums left 0 as with offload); payloads
are slices of pools built once (text lines, base64 lines, random bytes for TLS); sessions
are Python generators, each with its own seeded random.Random, merged by a heap on the
packet timestamp; output is written in large blocks.
"""
import argparse
import base64
import bisect
import heapq
import json
import math
import os
import random
import socket
import struct
import sys
import time

BASE_TS = 1764583200  # 2025-12-01 10:00:00 UTC
US = 1_000_000
S_PER_MB = 0.3  # sessions start within 0.3 s per MB of capture: 300 s for 1 GB
IDLE_S = 300  # smtpscope's default --idle

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
P_RETX = 0.005
P_REORDER = 0.003

REC = struct.Struct("<IIII").pack
V4 = struct.Struct("!16sHH4sH12sIIH6s").pack  # eth+45 00, totlen, id, 40 00 ttl 06, csum, addrs+ports
V6 = struct.Struct("!18sH38sIIH6s").pack  # eth+60 00 00 00, paylen, 06 hl addrs ports
UDP4 = struct.Struct("!16sHH4sH8sHHHH").pack
UDP6 = struct.Struct("!18sH34sHHHH").pack
TCP_TAIL = struct.pack("!HHH", 64240, 0, 0)  # window, checksum (offloaded), urgent
MSS_OPT = {1460: b"\x02\x04\x05\xb4", 1440: b"\x02\x04\x05\xa0"}

MAC_ROUTER = bytes.fromhex("00163e5a0001")
MAC_SERVER = bytes.fromhex("00163e5a0019")


# ---------------------------------------------------------------------------------------
# Packet building


def fold(s):
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return s


def words(b):
    return sum(struct.unpack("!%dH" % (len(b) // 2), b))


class Conn:
    """One TCP connection seen at the server's side: builds its packets as (ts_us, record).

    Direction 0 is client -> server, 1 is server -> client. `t` is the current time in
    microseconds; callers advance it. seq[d] is the next sequence number direction d
    sends; acked[d] is how far the receiver of d has everything (what it acknowledges).
    """

    __slots__ = ("t", "seq", "acked", "hdr", "mss", "gap", "rng", "ipid", "pkts", "bytes",
                 "opt")

    def __init__(self, rng, v6, cip, cport, sip, sport, t, gap):
        self.rng = rng
        self.t = t
        self.gap = gap
        isn = [rng.getrandbits(32), rng.getrandbits(32)]
        self.seq = isn[:]
        self.acked = isn[:]
        self.ipid = [rng.getrandbits(16), rng.getrandbits(16)]
        self.mss = 1440 if v6 else 1460
        self.opt = MSS_OPT[self.mss]
        self.pkts = 0
        self.bytes = 0
        macs = [MAC_SERVER + MAC_ROUTER, MAC_ROUTER + MAC_SERVER]  # dst, src
        ends = [(cip, cport, sip, sport), (sip, sport, cip, cport)]
        self.hdr = []
        for d in (0, 1):
            src, sp, dst, dp = ends[d]
            ttl = 64 if d == 1 else rng.choice((45, 50, 52, 110, 113, 116, 238))
            if v6:
                pre = macs[d] + b"\x86\xdd\x60\x00\x00\x00"
                mid = bytes([6, ttl]) + src + dst + struct.pack("!HH", sp, dp)
                self.hdr.append(self._v6(pre, mid))
            else:
                pre = macs[d] + b"\x08\x00\x45\x00"
                mid1 = bytes([0x40, 0, ttl, 6])
                mid2 = src + dst + struct.pack("!HH", sp, dp)
                s0 = 0x4500 + words(mid1) + words(src + dst)
                self.hdr.append(self._v4(pre, mid1, mid2, s0, d))

    def _v4(self, pre, mid1, mid2, s0, d):
        ipid = self.ipid

        def h(plen, seq, ack, offfl):
            tot = 40 + plen
            i = ipid[d] = (ipid[d] + 1) & 0xFFFF
            s = s0 + tot + i
            s = (s & 0xFFFF) + (s >> 16)
            s = (s & 0xFFFF) + (s >> 16)
            return V4(pre, tot, i, mid1, ~s & 0xFFFF, mid2, seq, ack, offfl, TCP_TAIL)
        return h

    @staticmethod
    def _v6(pre, mid):
        def h(plen, seq, ack, offfl):
            return V6(pre, 20 + plen, mid, seq, ack, offfl, TCP_TAIL)
        return h

    def pkt(self, d, flags, payload=b"", seq=None, off=0x5000):
        """One packet from side d at time t; ack = what d has received of the other side."""
        t = self.t
        if seq is None:
            seq = self.seq[d]
        ack = self.acked[1 - d] if flags & ACK else 0
        h = self.hdr[d](len(payload), seq, ack, off | flags)
        n = len(h) + len(payload)
        self.pkts += 1
        self.bytes += n + 16
        return t, b"".join((REC(t // US, t % US, n, n), h, payload))

    # -- connection life -------------------------------------------------------------

    def syn(self):
        p = self.pkt(0, SYN, self.opt, off=0x6000)
        self.seq[0] = (self.seq[0] + 1) & 0xFFFFFFFF
        self.acked[0] = self.seq[0]
        return p

    def synack(self):
        p = self.pkt(1, SYN | ACK, self.opt, off=0x6000)
        self.seq[1] = (self.seq[1] + 1) & 0xFFFFFFFF
        self.acked[1] = self.seq[1]
        return p

    def fin(self, d):
        p = self.pkt(d, FIN | ACK)
        self.seq[d] = (self.seq[d] + 1) & 0xFFFFFFFF
        self.acked[d] = self.seq[d]
        return p

    def send(self, d, data):
        """Data from side d in MSS segments, ACKed every other segment by the receiver.

        A few segments are retransmitted (the same bytes again, after the next one) and a
        few pairs arrive swapped; the receiver's ACKs only ever cover what it has in order.
        """
        n = len(data)
        if n == 0:
            return
        mv = memoryview(data)
        mss = self.mss
        rng = self.rng
        hd = self.hdr[d]
        hr = self.hdr[1 - d]
        base = self.seq[d]
        nseg = (n + mss - 1) // mss
        gap = self.gap
        t = self.t
        pkts = 0
        nbytes = 0
        ack_other = self.acked[1 - d]
        i = 0
        unacked = 0
        pending_dup = None
        while i < nseg:
            if nseg - i >= 3 and rng.random() < P_REORDER:
                order = (i + 1, i)
            else:
                order = (i,)
            for k in order:
                off = k * mss
                seg = mv[off:off + mss]
                fl = ACK | PSH if k == nseg - 1 else ACK
                h = hd(len(seg), (base + off) & 0xFFFFFFFF, ack_other, 0x5000 | fl)
                ln = len(h) + len(seg)
                yield t, b"".join((REC(t // US, t % US, ln, ln), h, seg))
                pkts += 1
                nbytes += ln + 16
                t += gap
                if pending_dup is not None:  # a spurious retransmission of the one before
                    dk = pending_dup
                    pending_dup = None
                    doff = dk * mss
                    dseg = mv[doff:doff + mss]
                    dfl = ACK | PSH if dk == nseg - 1 else ACK
                    h = hd(len(dseg), (base + doff) & 0xFFFFFFFF, ack_other, 0x5000 | dfl)
                    ln = len(h) + len(dseg)
                    yield t, b"".join((REC(t // US, t % US, ln, ln), h, dseg))
                    pkts += 1
                    nbytes += ln + 16
                    t += gap
                if k < nseg - 1 and rng.random() < P_RETX:
                    pending_dup = k
            i += len(order)
            unacked += len(order)
            if unacked >= 2 and i < nseg:
                self.acked[d] = (base + min(i * mss, n)) & 0xFFFFFFFF
                t += 20
                h = hr(0, self.seq[1 - d], self.acked[d], 0x5000 | ACK)
                ln = len(h)
                yield t, REC(t // US, t % US, ln, ln) + h
                pkts += 1
                nbytes += ln + 16
                t += 20
                unacked = 0
        self.seq[d] = (base + n) & 0xFFFFFFFF
        self.acked[d] = self.seq[d]
        self.t = t
        self.pkts += pkts
        self.bytes += nbytes


def wsum(b):
    """Sum of the big-endian 16-bit words of b (odd length: zero-padded)."""
    n = len(b)
    t = sum(struct.unpack("!%dH" % (n // 2), b[:n - n % 2]))
    return t + (b[-1] << 8 if n % 2 else 0)


def dns_name(name):
    return b"".join(bytes([len(x)]) + x for x in name.encode().split(b".")) + b"\0"


def dns_templates(rng, n=400):
    """DNS exchanges a mail server makes (PTR of the client, DNSBL, MX, A/AAAA, SPF and DKIM
    TXT): [(query, its word sum, answer, its word sum)], without the 2-byte query id."""
    out = []
    for _ in range(n):
        ip = [rng.randint(11, 223), rng.randint(0, 255), rng.randint(0, 255),
              rng.randint(1, 254)]
        rev = ".".join(str(x) for x in reversed(ip))
        dom = rng.choice(REMOTE_DOMAINS)
        kind = rng.choice(("ptr", "dnsbl", "dnsbl", "mx", "a", "aaaa", "spf", "dkim"))
        if kind == "ptr":
            q, qt, ans = rev + ".in-addr.arpa", 12, [dns_name("mail.%s" % dom)]
        elif kind == "dnsbl":
            q, qt = rev + ".zen.dnsbl.example", 1
            ans = [bytes([127, 0, 0, rng.choice((2, 4, 10))])] if rng.random() < 0.1 else []
        elif kind == "mx":
            q, qt = dom, 15
            ans = [struct.pack("!H", 10 * (k + 1)) + dns_name("mx%d.%s" % (k + 1, dom))
                   for k in range(rng.randint(1, 3))]
        elif kind == "a":
            q, qt, ans = "mail." + dom, 1, [bytes(ip)]
        elif kind == "aaaa":
            q, qt, ans = "mail." + dom, 28, [b"\x20\x01\x0d\xb8" + rng.randbytes(12)]
        elif kind == "spf":
            txt = ("v=spf1 ip4:%d.%d.%d.0/24 include:_spf.%s ~all" % (ip[0], ip[1], ip[2], dom)
                   ).encode()
            q, qt, ans = dom, 16, [bytes([len(txt)]) + txt]
        else:
            key = b"v=DKIM1; k=rsa; p=" + base64.b64encode(rng.randbytes(162))[:216]
            q, qt = "s%d._domainkey.%s" % (rng.randint(1, 2), dom), 16
            ans = [bytes([len(key)]) + key]
        qd = dns_name(q) + struct.pack("!HH", qt, 1)
        query = struct.pack("!HHHHH", 0x0100, 1, 0, 0, 0) + qd
        rr = b"".join(b"\xc0\x0c" + struct.pack("!HHIH", qt, 1, rng.randint(60, 86400), len(a))
                      + a for a in ans)
        rcode = 0 if ans or kind != "dnsbl" else 3  # NXDOMAIN: not listed
        answer = struct.pack("!HHHHH", 0x8180 | rcode, 1, len(ans), 0, 0) + qd + rr
        out.append((query, wsum(query), answer, wsum(answer)))
    return out


def dns_flow(p, pools):
    """A DNS query from the mail server's resolver and its answer (UDP checksums right)."""
    rng = random.Random(p["seed"])
    query, qsum, answer, asum = pools.dns[rng.randrange(len(pools.dns))]
    qid = rng.getrandbits(16)
    v6, cip, cport, sip, t = p["v6"], p["cip"], p["cport"], p["sip"], p["t"]
    asum_addr = wsum(cip + sip)
    for d, (src, sp, dst, dp, body, bsum) in enumerate(((cip, cport, sip, 53, query, qsum),
                                                         (sip, 53, cip, cport, answer, asum))):
        plen = 2 + len(body)
        ulen = 8 + plen
        c = fold(asum_addr + 17 + ulen + sp + dp + ulen + qid + bsum)
        csum = (~c & 0xFFFF) or 0xFFFF
        macs = (MAC_SERVER + MAC_ROUTER) if d == 0 else (MAC_ROUTER + MAC_SERVER)
        if v6:
            h = UDP6(macs + b"\x86\xdd\x60\x00\x00\x00", ulen, bytes([17, 64]) + src + dst,
                     sp, dp, ulen, csum)
        else:
            tot = 20 + ulen
            i = rng.getrandbits(16)
            mid1 = bytes([0, 0, 64, 17])
            sm = fold(0x4500 + tot + i + words(mid1) + asum_addr)
            h = UDP4(macs + b"\x08\x00\x45\x00", tot, i, mid1, ~sm & 0xFFFF, src + dst,
                     sp, dp, ulen, csum)
        ln = len(h) + plen
        yield t, b"".join((REC(t // US, t % US, ln, ln), h, struct.pack("!H", qid), body))
        t += rng.randint(300, 40000)


# ---------------------------------------------------------------------------------------
# Content pools

WORDS = ("the of and to in is you that it he was for on are as with his they at be this "
         "have from or one had by word but not what all were we when your can said there use "
         "an each which she do how their if will up other about out many then them these so "
         "some her would make like him into time has look two more write go see number no way "
         "could people my than first water been call who oil its now find long down day did "
         "get come made may part invoice meeting report quarterly budget shipment order "
         "account password schedule review please attached regards thanks project delivery "
         "server update release notes customer support ticket").split()


class Pools:
    """Byte pools that every payload is sliced from (built once per run)."""

    def __init__(self, rng, text_mb=4, rand_mb=2):
        lines = []
        total = 0
        while total < text_mb * 1_000_000:
            r = rng.random()
            if r < 0.30:  # an attachment-like block of base64 lines
                for _ in range(rng.randint(20, 200)):
                    ln = base64.b64encode(rng.randbytes(57)) + b"\r\n"
                    lines.append(ln)
                    total += len(ln)
                continue
            ln = " ".join(rng.choices(WORDS, k=rng.randint(3, 13))).encode()
            if r < 0.33:
                ln = b"." + ln  # dot-stuffed on the wire: the body line starts with a dot
            elif r < 0.34:
                ln = b".." + ln
            elif r < 0.36:
                ln = b""
            ln = (b"." + ln if ln[:1] == b"." else ln) + b"\r\n"
            lines.append(ln)
            total += len(ln)
        self.text = b"".join(lines)
        self.text_mv = memoryview(self.text)
        self.starts = [0]
        for ln in lines:
            self.starts.append(self.starts[-1] + len(ln))
        self.rand = rng.randbytes(rand_mb * 1_000_000)
        self.dns = dns_templates(rng)
        self.rand_mv = memoryview(self.rand)

    def text_slice(self, rng, size):
        """About `size` bytes of whole CRLF lines (never a lone '.'), as memoryviews, and
        how many of those lines start with a dot (stuffed: one dot less once decoded)."""
        parts = []
        starts = self.starts
        text = self.text
        n = len(text)
        pos = starts[rng.randrange(len(starts) - 1)]
        left = size
        dots = 0
        while left > 0:
            want = pos + left
            if want >= n:
                end = n
            else:
                end = starts[bisect.bisect_left(starts, want)]
            parts.append(self.text_mv[pos:end])
            dots += text.count(b"\n.", pos, end) + (text[pos] == 0x2E)
            left -= end - pos
            pos = 0
        return parts, dots

    def rand_slice(self, rng, size):
        parts = []
        n = len(self.rand)
        pos = rng.randrange(n)
        while size > 0:
            take = min(size, n - pos)
            parts.append(self.rand_mv[pos:pos + take])
            size -= take
            pos = 0
        return parts


# ---------------------------------------------------------------------------------------
# SMTP sessions

LOCAL_DOMAINS = ("example.net", "example.org", "corp.example.com")
REMOTE_DOMAINS = ("mail.example.de", "sender.example.fr", "news.example.co.uk", "shop.example",
                  "bank.example.com", "lists.example.org", "gmail.example", "outlook.example")
USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter",
         "info", "sales", "support", "billing", "noreply", "hr", "postmaster")
SUBJECTS = ("Invoice", "Meeting notes", "Quarterly report", "Your order has shipped",
            "Re: project update", "Password reset", "Newsletter", "Fwd: contract draft",
            "Delivery status", "Welcome aboard", "Ticket update", "Weekly digest")


def reply(code, text, enh=None):
    if enh:
        return ("%d %s %s\r\n" % (code, enh, text)).encode()
    return ("%d %s\r\n" % (code, text)).encode()


class Stall(Exception):
    """The session goes quiet (no FIN) here: still open at the end of the capture."""


class Reset(Exception):
    """The session was reset here."""


class Smtp:
    """Plays one SMTP session over a Conn and writes down what smtpscope must report."""

    def __init__(self, c, rng, server_name, pools, stop_at=None, stop_pending=False,
                 reset_at=None, reset_in_body=False, pace=1.0, deadline=None):
        self.c = c
        self.rng = rng
        self.name = server_name
        self.pools = pools
        self.truth = []
        self.bodies = []  # (decoded size, subject) of every message whose end was sent
        self.accepted = 0
        self.stop_at = stop_at
        self.stop_pending = stop_pending
        self.reset_at = reset_at
        self.reset_in_body = reset_in_body
        self.pace = pace  # mean server think time, us
        self.deadline = deadline if deadline is not None else c.t + 240 * US
        self.rtt = rng.randint(2000, 150000)

    def think(self, scale=1.0):
        """Server (or client) processing time before a reply, in us."""
        t = int(self.rng.expovariate(1.0) * self.pace * scale)
        if self.c.t + t > self.deadline:  # past its planned duration: the session hurries
            t = min(t, 2000 + int(self.rng.expovariate(1.0) * 50000))
        return min(t, 60 * US)

    def _checkpoint(self, group):
        """Before the client writes `group`: stall or reset here?"""
        c = self.c
        if self.stop_at is not None and len(self.truth) >= self.stop_at:
            if self.stop_pending and group:
                c.t += self.rtt + self.think(0.2)
                yield from c.send(0, b"".join(g[1] for g in group))
                for g in group:
                    self.truth.append((g[0], None))
            raise Stall
        if self.reset_at is not None and len(self.truth) >= self.reset_at:
            c.t += self.rtt + self.think(0.2)
            yield c.pkt(0, RST | ACK)
            raise Reset

    def xchg(self, group):
        """The client writes the lines of `group` at once, the server answers them at once.

        group: [(verb, line bytes, code, reply bytes)].
        """
        yield from self._checkpoint(group)
        c = self.c
        c.t += self.rtt + self.think(0.1)
        yield from c.send(0, b"".join(g[1] for g in group))
        c.t += 200 + self.think()
        yield from c.send(1, b"".join(g[3] for g in group))
        for g in group:
            self.truth.append((g[0], g[2]))

    def cmd(self, verb, line, code, text, enh=None):
        yield from self.xchg([(verb, line, code, reply(code, text, enh))])
        return code

    def greet(self, code=220, text=None):
        c = self.c
        c.t += 100 + self.think(1.0)
        yield from c.send(1, reply(code, text or "%s ESMTP Postfix" % self.name))
        self.truth.append(("CONNECT", code))

    def ehlo(self, helo, chunking=True, auth=True, starttls=True):
        caps = ["PIPELINING", "SIZE 52428800", "VRFY", "ETRN"]
        if starttls:
            caps.append("STARTTLS")
        if auth:
            caps.append("AUTH PLAIN LOGIN")
        caps += ["ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8"]
        if chunking:
            caps.append("CHUNKING")
        lines = [self.name] + caps
        rep = b"".join(("250%s%s\r\n" % ("-" if i < len(lines) - 1 else " ", ln)).encode()
                       for i, ln in enumerate(lines))
        yield from self.xchg([("EHLO", b"EHLO %s\r\n" % helo.encode(), 250, rep)])

    def rcpt_outcome(self, local):
        r = self.rng.random()
        if r < 0.85:
            return 250, "Ok", "2.1.5"
        if r < 0.92:
            return 550, "<%s>: Recipient address rejected: User unknown in local recipient table" \
                % local, "5.1.1"
        if r < 0.95:
            return 554, "<%s>: Relay access denied" % local, "5.7.1"
        return 450, "<%s>: Recipient address rejected: Greylisted, see " \
            "http://postgrey.example/help" % local, "4.7.1"

    def body(self, sender, rcpts, size):
        rng = self.rng
        mid = "<%016x.%s@%s>" % (rng.getrandbits(64), rng.randint(1, 99999),
                                 sender.split("@")[1])
        hdr = ("Received: from %s (unknown [198.51.100.7])\r\n\tby %s (Postfix) with ESMTP\r\n"
               "From: %s\r\nTo: %s\r\nSubject: %s %d\r\n"
               "Date: Mon, 01 Dec 2025 10:%02d:%02d +0000\r\nMessage-ID: %s\r\n"
               "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
               % (sender.split("@")[1], self.name, sender, ", ".join(rcpts),
                  rng.choice(SUBJECTS), rng.randint(1, 99999), rng.randint(0, 59),
                  rng.randint(0, 59), mid)).encode()
        subject = hdr.split(b"\r\nSubject: ", 1)[1].split(b"\r\n", 1)[0].decode()
        parts, dots = self.pools.text_slice(rng, max(0, size - len(hdr)))
        parts.insert(0, hdr)
        wire = sum(len(x) for x in parts)
        return parts, wire - dots, wire, subject

    def data_end(self):
        rng = self.rng
        r = rng.random()
        qid = "%010X" % rng.getrandbits(40)
        if r < 0.93:
            return 250, reply(250, "Ok: queued as %s" % qid, "2.0.0")
        if r < 0.96:
            return 550, reply(550, "Message rejected as spam", "5.7.1")
        if r < 0.98:
            return 451, reply(451, "Error: queue file write error", "4.3.0")
        return 552, reply(552, "Message size exceeds fixed limit", "5.3.4")

    def send_body(self, body):
        """The message body and its lone dot; the '.' reply."""
        c = self.c
        parts, size, _, subject = body
        if self.reset_in_body and self.reset_at is not None and len(self.truth) >= self.reset_at:
            data = b"".join(parts)
            c.t += self.rtt
            yield from c.send(0, data[:max(1, len(data) // 2)])
            c.t += self.think(0.1)
            yield c.pkt(0, RST | ACK)
            raise Reset
        if self.stop_at is not None and len(self.truth) >= self.stop_at:
            if self.stop_pending:
                c.t += self.rtt
                yield from c.send(0, b"".join(parts + [b".\r\n"]))
                self.truth.append((".", None))
                self.bodies.append((size, subject))
            raise Stall
        c.t += self.rtt
        yield from c.send(0, b"".join(parts + [b".\r\n"]))
        self.bodies.append((size, subject))
        code, rep = self.data_end()
        c.t += 500 + self.think(3.0)
        yield from c.send(1, rep)
        self.truth.append((".", code))
        if code == 250:
            self.accepted += 1

    def message(self, pipelining, size, esmtp=True):
        """One mail transaction: MAIL, RCPTs, DATA, body."""
        rng = self.rng
        sender = "%s@%s" % (rng.choice(USERS), rng.choice(REMOTE_DOMAINS))
        rcpts = ["%s@%s" % (rng.choice(USERS), rng.choice(LOCAL_DOMAINS))
                 for _ in range(min(5, 1 + int(rng.expovariate(1.2))))]
        outcomes = [self.rcpt_outcome(r) for r in rcpts]
        mail_line = (b"MAIL FROM:<%s> SIZE=%d\r\n" % (sender.encode(), size) if esmtp else
                     b"MAIL FROM:<%s>\r\n" % sender.encode())
        ok_rcpts = [r for r, o in zip(rcpts, outcomes) if o[0] == 250]
        if pipelining:
            group = [("MAIL", mail_line, 250, reply(250, "Ok", "2.1.0"))]
            for r, (code, text, enh) in zip(rcpts, outcomes):
                group.append(("RCPT", b"RCPT TO:<%s>\r\n" % r.encode(), code,
                              reply(code, text, enh)))
            if ok_rcpts:
                group.append(("DATA", b"DATA\r\n", 354,
                              reply(354, "End data with <CR><LF>.<CR><LF>")))
            else:
                group.append(("DATA", b"DATA\r\n", 554,
                              reply(554, "Error: no valid recipients", "5.5.1")))
            yield from self.xchg(group)
        else:
            if rng.random() < 0.02:
                yield from self.cmd("MAIL", mail_line, 553,
                                    "<%s>: Sender address rejected: Domain not found" % sender,
                                    "5.1.8")
                yield from self.cmd("RSET", b"RSET\r\n", 250, "Ok", "2.0.0")
                return
            yield from self.cmd("MAIL", mail_line, 250, "Ok", "2.1.0")
            for r, (code, text, enh) in zip(rcpts, outcomes):
                yield from self.cmd("RCPT", b"RCPT TO:<%s>\r\n" % r.encode(), code, text, enh)
            if not ok_rcpts:
                yield from self.cmd("RSET", b"RSET\r\n", 250, "Ok", "2.0.0")
                return
            yield from self.cmd("DATA", b"DATA\r\n", 354, "End data with <CR><LF>.<CR><LF>")
        if ok_rcpts:
            yield from self.send_body(self.body(sender, ok_rcpts, size))

    def bdat_message(self, size):
        rng = self.rng
        sender = "%s@%s" % (rng.choice(USERS), rng.choice(REMOTE_DOMAINS))
        rcpt = "%s@%s" % (rng.choice(USERS), rng.choice(LOCAL_DOMAINS))
        yield from self.cmd("MAIL", b"MAIL FROM:<%s> BODY=BINARYMIME\r\n" % sender.encode(),
                            250, "Ok", "2.1.0")
        yield from self.cmd("RCPT", b"RCPT TO:<%s>\r\n" % rcpt.encode(), 250, "Ok", "2.1.5")
        parts, _, _, subject = self.body(sender, [rcpt], size)
        data = b"".join(parts)
        nchunks = rng.randint(1, 3)
        cut = sorted(rng.randrange(1, len(data)) for _ in range(nchunks - 1))
        bounds = [0] + cut + [len(data)]
        for k in range(nchunks):
            chunk = data[bounds[k]:bounds[k + 1]]
            last = k == nchunks - 1
            line = b"BDAT %d%s\r\n" % (len(chunk), b" LAST" if last else b"")
            if last:
                code, rep = self.data_end()
            else:
                code, rep = 250, reply(250, "%d bytes received" % len(chunk), "2.0.0")
            yield from self.xchg([("BDAT", line + chunk, code, rep)])
            if last:
                self.bodies.append((len(data), subject))
            if last and code == 250:
                self.accepted += 1

    def quit(self):
        yield from self.cmd("QUIT", b"QUIT\r\n", 221, "Bye", "2.0.0")

    def close(self):
        """Postfix closes first after 221; the client closes its side."""
        c = self.c
        c.t += 50
        yield c.fin(1)
        c.t += self.rtt
        yield c.fin(0)
        c.t += 40
        yield c.pkt(1, ACK)


def smtp_session(p, pools, out):
    """Generator of one SMTP session's packets; its truth record goes to out(...)."""
    rng = random.Random(p["seed"])
    kind = p["kind"]
    pace = p["pace"]
    bw_gap = int(1460 * 8 / p["mbps"])  # us between back-to-back segments
    c = Conn(rng, p["v6"], p["cip"], p["cport"], p["sip"], p["sport"], p["t"], bw_gap)
    rec = {"kind": kind, "truth": [], "accepted": 0, "bodies": []}

    def finish(state, s=None):
        if s is not None:
            rec["truth"] = s.truth
            rec["accepted"] = s.accepted
            rec["bodies"] = s.bodies
        rec["state"] = state
        rec["last"] = c.t
        out(p, rec, c)

    if kind == "refused":
        yield c.syn()
        c.t += rng.randint(50, 400)
        c.acked[0] = c.seq[0]
        yield c.pkt(1, RST | ACK, seq=0)
        rec["truth"] = [("CONNECT", None)]
        finish("refused")
        return
    if kind == "no_answer":
        for k in range(3):
            yield c.pkt(0, SYN, c.opt, off=0x6000)
            c.t += US * (1 << k)
        rec["truth"] = [("CONNECT", None)]
        finish("no_answer")
        return

    s = Smtp(c, rng, p["sname"], pools, pace=pace, deadline=p["t"] + int(p["dur"]))
    if kind == "unfinished":
        s.stop_at = rng.randint(1, 6)
        s.stop_pending = rng.random() < 0.4
    elif kind == "reset":
        s.reset_at = rng.randint(2, 8)
        s.reset_in_body = rng.random() < 0.4
    yield c.syn()
    c.t += 60
    yield c.synack()
    c.t += s.rtt
    yield c.pkt(0, ACK)
    helo = "%s.%s" % (rng.choice(("mail", "mx", "smtp", "out", "relay")),
                      rng.choice(REMOTE_DOMAINS))
    sizes = list(p["sizes"])
    try:
        if kind == "greet_reject":
            if rng.random() < 0.5:
                yield from s.greet(554, "%s ESMTP not accepting mail from blocklisted hosts"
                                   % s.name)
                yield from s.quit()
                yield from s.close()
            else:
                yield from s.greet(421, "%s Service not available, closing transmission channel"
                                   % s.name, )
                c.t += 100
                yield c.fin(1)
                c.t += s.rtt
                yield c.fin(0)
                c.t += 40
                yield c.pkt(1, ACK)
            finish("closed", s)
            return
        yield from s.greet()
        if kind == "helo":
            yield from s.cmd("HELO", b"HELO %s\r\n" % helo.encode(), 250, s.name)
            for size in sizes:
                yield from s.message(False, size, esmtp=False)
            yield from s.quit()
        elif kind == "starttls":
            yield from s.ehlo(helo)
            yield from s.cmd("STARTTLS", b"STARTTLS\r\n", 220, "Ready to start TLS", "2.0.0")
            reset = rng.random() < 0.05  # the client drops the connection at the end
            yield from tls(c, rng, pools, s.rtt, sizes[0] if sizes else 3000, reset)
            finish("reset" if reset else "closed", s)
            return
        elif kind == "auth":
            yield from s.ehlo(helo)
            ok = yield from auth(s, rng)
            if not ok and rng.random() < 0.5:
                ok = yield from auth(s, rng)
            if ok:
                for size in sizes:
                    yield from s.message(rng.random() < 0.5, size)
            yield from s.quit()
        elif kind == "bdat":
            yield from s.ehlo(helo)
            for size in sizes:
                yield from s.bdat_message(size)
            yield from s.quit()
        else:  # deliver, reset, unfinished
            yield from s.ehlo(helo, chunking=rng.random() < 0.5)
            pipelining = rng.random() < 0.5
            r = rng.random()
            if r < 0.05:
                yield from s.cmd("NOOP", b"NOOP\r\n", 250, "Ok", "2.0.0")
            elif r < 0.08:
                yield from s.cmd("VRFY", b"VRFY postmaster\r\n", 252, "Send some mail, I'll "
                                 "try my best", "2.0.0")
            elif r < 0.10:
                yield from s.cmd("XYZZY", b"XYZZY\r\n", 502, "Error: command not recognized",
                                 "5.5.2")
            for k, size in enumerate(sizes):
                if k and rng.random() < 0.1:
                    yield from s.cmd("RSET", b"RSET\r\n", 250, "Ok", "2.0.0")
                yield from s.message(pipelining, size)
            if s.reset_at is not None:  # the reset point was past the last message
                s.reset_in_body = False
                yield from s._checkpoint([])
            if s.stop_at is not None:
                yield from s._checkpoint([])
            if rng.random() < 0.03:  # the client drops the connection instead of QUIT
                c.t += s.rtt + s.think(0.1)
                yield c.pkt(0, RST | ACK)
                finish("reset", s)
                return
            yield from s.quit()
        yield from s.close()
        finish("closed", s)
    except Stall:
        finish("unfinished", s)
    except Reset:
        finish("reset", s)


def auth(s, rng):
    """AUTH LOGIN or PLAIN; returns True when the server said 235."""
    user = "%s@%s" % (rng.choice(USERS), rng.choice(LOCAL_DOMAINS))
    ok = rng.random() < 0.85
    end = ((235, reply(235, "Authentication successful", "2.7.0")) if ok else
           (535, reply(535, "Error: authentication failed: authentication failure", "5.7.8")))
    pw = "".join(rng.choices("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789",
                             k=rng.randint(8, 16))).encode()
    if rng.random() < 0.5:
        yield from s.cmd("AUTH", b"AUTH LOGIN\r\n", 334, "VXNlcm5hbWU6")
        yield from s.cmd("AUTH-DATA", base64.b64encode(user.encode()) + b"\r\n", 334,
                         "UGFzc3dvcmQ6")
        yield from s.xchg([("AUTH-DATA", base64.b64encode(pw) + b"\r\n", end[0], end[1])])
    else:
        cred = base64.b64encode(b"\0" + user.encode() + b"\0" + pw)
        yield from s.xchg([("AUTH", b"AUTH PLAIN " + cred + b"\r\n", end[0], end[1])])
    return ok


def tls(c, rng, pools, rtt, size, reset=False):
    """A TLS 1.2/1.3 handshake and application data records, random bytes after headers."""
    def records(ctype, total, maxrec=16384):
        out = []
        while total > 0:
            n = min(total, maxrec)
            out.append(bytes([ctype, 3, 3]) + struct.pack("!H", n))
            out += pools.rand_slice(rng, n)
            total -= n
        return b"".join(out)

    c.t += rtt
    yield from c.send(0, b"\x16\x03\x01" + struct.pack("!H", 512) + b"".join(
        pools.rand_slice(rng, 512)))
    c.t += 300
    yield from c.send(1, records(0x16, rng.randint(2500, 5200)) + records(0x14, 1))
    c.t += rtt
    yield from c.send(0, records(0x14, 1) + records(0x16, 40))
    for _ in range(rng.randint(4, 10)):  # EHLO, MAIL, RCPT, ... encrypted
        c.t += rtt
        yield from c.send(0, records(0x17, rng.randint(30, 90)))
        c.t += 200 + rng.randint(0, 300000)
        yield from c.send(1, records(0x17, rng.randint(30, 300)))
    c.t += rtt
    yield from c.send(0, records(0x17, size))
    c.t += rng.randint(200000, 3000000)
    yield from c.send(1, records(0x17, 60))
    if reset:
        c.t += rtt
        yield c.pkt(0, RST | ACK)
        return
    c.t += 50
    yield c.fin(1)
    c.t += rtt
    yield c.fin(0)
    c.t += 40
    yield c.pkt(1, ACK)


# ---------------------------------------------------------------------------------------
# Background


def http_flow(p, pools):
    rng = random.Random(p["seed"])
    c = Conn(rng, p["v6"], p["cip"], p["cport"], p["sip"], 80, p["t"],
             int(1460 * 8 / p["mbps"]))
    rtt = rng.randint(2000, 120000)
    yield c.syn()
    c.t += 60
    yield c.synack()
    c.t += rtt
    yield c.pkt(0, ACK)
    for size in p["sizes"]:
        c.t += rng.randint(100, 20000)
        path = "/%s/%x.%s" % (rng.choice(("static", "img", "api", "download")),
                              rng.getrandbits(48), rng.choice(("jpg", "js", "json", "bin")))
        req = ("GET %s HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0\r\n"
               "Accept: */*\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n"
               % path).encode()
        yield from c.send(0, req)
        c.t += rng.randint(200, 50000)
        head = ("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/octet-stream"
                "\r\nContent-Length: %d\r\n\r\n" % size).encode()
        yield from c.send(1, b"".join([head] + pools.rand_slice(rng, size)))
    c.t += rtt
    yield c.fin(0)
    c.t += 100
    yield c.fin(1)
    c.t += rtt
    yield c.pkt(0, ACK)


# ---------------------------------------------------------------------------------------
# The plan: every flow's kind, start, endpoints and sizes, drawn before any packet


KINDS = (("deliver", 55.0), ("starttls", 15.0), ("auth", 8.0), ("bdat", 4.0), ("helo", 4.0),
         ("greet_reject", 2.0), ("refused", 3.0), ("no_answer", 2.0), ("reset", 3.0))
HAS_BODY = {"deliver", "starttls", "auth", "bdat", "helo", "reset", "unfinished"}
MAX_MSG = 25_000_000


def msg_size(rng, cap):
    if rng.random() < 0.025:  # the heavy tail: attachments, up to tens of MB
        return int(min(cap, 100_000 * rng.paretovariate(1.1)))
    return int(min(cap, max(800, rng.lognormvariate(math.log(9000), 1.2))))


def v4addr(rng):
    while True:
        a = rng.randint(11, 223)
        if a not in (127, 169, 172, 192):
            return bytes([a, rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254)])


def make_plan(size_mb, seed, concurrency):
    rng = random.Random(seed)
    target = size_mb * 1_000_000
    n_smtp = max(10, round(21 * size_mb))
    kinds, weights = zip(*KINDS)
    # The same traffic whatever the size (70 sessions/s, the same session durations): a
    # bigger file is a longer capture. Little's law (L = lambda * W) gives the mean session
    # duration for `concurrency` flows open at once once the start window is longer than a
    # session, with a calibration (refused sessions, and those that hurry past their
    # planned duration, end early).
    window = max(1.0, S_PER_MB * size_mb)
    mean_dur = 1.35 * concurrency * window / n_smtp * US
    servers4 = [bytes([192, 0, 2, 25]), bytes([192, 0, 2, 26]), bytes([198, 51, 100, 25]),
                bytes([203, 0, 113, 25])]
    servers6 = [socket.inet_pton(socket.AF_INET6, a) for a in ("2001:db8:25::25",
                                                                "2001:db8:25::26")]
    snames = {}
    for i, a in enumerate(servers4 + servers6):
        snames[a] = "mx%d.example.net" % (i + 1)
    clients4 = [v4addr(rng) for _ in range(6000)]
    clients6 = [socket.inet_pton(socket.AF_INET6, "2001:db8:%x:%x::%x" % (
        rng.randint(0x100, 0xffff), rng.randint(0, 0xffff), rng.randint(1, 0xffff)))
        for _ in range(1500)]
    used = {}

    def endpoint(v6):
        pool = clients6 if v6 else clients4
        i = rng.randrange(len(pool))
        k = used.get((v6, i), 0)
        used[(v6, i)] = k + 1
        return pool[i], 1024 + (i * 7919) % 40000 + k * 3 + rng.randint(0, 2)

    max_msg = min(MAX_MSG, int(0.01 * target))  # no single message dominates a small file
    max_http = min(30_000_000, int(0.01 * target))
    smtp = []
    n_unfinished = max(1, n_smtp // 400)
    for i in range(n_smtp):
        kind = "unfinished" if i >= n_smtp - n_unfinished else rng.choices(kinds, weights)[0]
        v6 = rng.random() < 0.15
        cip, cport = endpoint(v6)
        sip = rng.choice(servers6 if v6 else servers4)
        if kind == "unfinished":  # the last seconds: still open when the capture ends
            start = int(rng.uniform(window - min(5.0, window / 10), window) * US)
        else:
            start = int(rng.uniform(0, window) * US)
        nmsg = 1 if rng.random() < 0.8 else rng.randint(2, 5)
        sizes = [msg_size(rng, max_msg) for _ in range(nmsg)] if kind in HAS_BODY else []
        if kind == "starttls":
            sizes = sizes[:1]
        # Server think time: the session's duration spread over ~12 turns, capped.
        dur = min(200 * US, rng.lognormvariate(math.log(mean_dur) - 0.32, 0.8))
        smtp.append({"kind": kind, "v6": v6, "cip": cip, "cport": cport, "sip": sip,
                     "sport": 2525 if rng.random() < 0.05 else 25, "sname": snames[sip],
                     "t": BASE_TS * US + start, "sizes": sizes, "pace": dur / 6, "dur": dur,
                     "mbps": rng.lognormvariate(math.log(20), 0.8),
                     "seed": rng.getrandbits(64)})

    # Scale message sizes so SMTP is ~70% of the file: wire bytes ~ payload * 1.085 + ~4 KB.
    overhead = sum(4200 if p["kind"] not in ("refused", "no_answer") else 300 for p in smtp)
    body = sum(sum(p["sizes"]) for p in smtp) * 1.085
    # ~13% of the planned bodies are never sent (every recipient refused, resets, failed
    # logins, sessions that stall): plan that much more.
    scale = max(0.05, (0.70 * target - overhead) / (0.87 * body)) if body else 1.0
    for p in smtp:
        p["sizes"] = [max(300, min(max_msg, int(s * scale))) for s in p["sizes"]]

    bg = []
    budget = 0.28 * target
    while budget > 0:
        v6 = rng.random() < 0.15
        cip, cport = endpoint(v6)
        sizes = [int(min(max_http, rng.lognormvariate(math.log(30000), 1.6)))
                 for _ in range(1 if rng.random() < 0.7 else rng.randint(2, 6))]
        budget -= sum(sizes) * 1.085 + 1500
        bg.append({"kind": "http", "v6": v6, "cip": cip, "cport": cport,
                   "sip": servers6[0] if v6 else bytes([203, 0, 113, 80]),
                   "t": BASE_TS * US + int(rng.uniform(0, window * 1.1) * US),
                   "sizes": sizes, "mbps": rng.lognormvariate(math.log(30), 0.8),
                   "seed": rng.getrandbits(64)})
    for _ in range(int(0.02 * target / 420)):
        v6 = rng.random() < 0.15
        cip, cport = endpoint(v6)
        bg.append({"kind": "dns", "v6": v6, "cip": cip, "cport": cport,
                   "sip": servers6[1] if v6 else bytes([192, 0, 2, 53]),
                   "t": BASE_TS * US + int(rng.uniform(0, window * 1.1) * US),
                   "seed": rng.getrandbits(64)})
    return smtp, bg, scale, window


# ---------------------------------------------------------------------------------------
# Writing


def ip_str(a):
    return socket.inet_ntop(socket.AF_INET6 if len(a) == 16 else socket.AF_INET, a)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, required=True, help="about this many MB (1e6 B)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", required=True, help="the pcap to write")
    ap.add_argument("--concurrency", type=int, default=None,
                    help="SMTP flows open at once in the steady state (default 3000; "
                    "reached once the start window, 0.3 s per MB, outlasts a session)")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()
    t0 = time.monotonic()
    conc = args.concurrency or 3000
    smtp, bg, scale, window = make_plan(args.size_mb, args.seed, conc)
    pools = Pools(random.Random(args.seed ^ 0x5EED))
    out_path = args.output
    base = out_path[:-5] if out_path.endswith(".pcap") else out_path
    truth_path = base + ".truth.jsonl"
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)

    starts = []
    for i, p in enumerate(smtp):
        starts.append((p["t"], i, p))
    for j, p in enumerate(bg):
        starts.append((p["t"], len(smtp) + j, p))
    starts.sort(key=lambda x: (x[0], x[1]))

    totals = {"sessions": 0, "states": {}, "kinds": {}, "messages_accepted": 0, "codes": {},
              "commands": 0, "replies": 0, "smtp_packets": 0, "smtp_bytes": 0}
    spans = []
    deferred = []
    tmp_truth = truth_path + ".tmp"
    tf = open(tmp_truth, "w")

    def out(p, rec, c):
        totals["smtp_packets"] += c.pkts
        totals["smtp_bytes"] += c.bytes
        spans.append((p["t"], rec["last"]))
        if rec["state"] == "unfinished":
            deferred.append((p, rec))
        else:
            emit(p, rec)

    def emit(p, rec):
        totals["sessions"] += 1
        totals["states"][rec["state"]] = totals["states"].get(rec["state"], 0) + 1
        totals["kinds"][rec["kind"]] = totals["kinds"].get(rec["kind"], 0) + 1
        totals["messages_accepted"] += rec["accepted"]
        parts = []
        for verb, code in rec["truth"]:
            parts.append("%s %s" % (verb, "-" if code is None else code))
            totals["commands"] += verb != "CONNECT"
            if code is not None:
                totals["replies"] += 1
                totals["codes"][str(code)] = totals["codes"].get(str(code), 0) + 1
        tf.write(json.dumps({"client": ip_str(p["cip"]), "cport": p["cport"],
                             "server": ip_str(p["sip"]), "sport": p["sport"],
                             "state": rec["state"], "kind": rec["kind"],
                             "cmds": "|".join(parts), "accepted": rec["accepted"],
                             "bodies": rec["bodies"]},
                            separators=(",", ":")) + "\n")

    heap = []
    nstart = len(starts)
    si = 0
    packets = 0
    written = 24
    last_ts = 0
    buf = []
    heappush, heapreplace, heappop = heapq.heappush, heapq.heapreplace, heapq.heappop
    with open(out_path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        while True:
            while si < nstart and (not heap or starts[si][0] <= heap[0][0]):
                _, idx, p = starts[si]
                si += 1
                k = p["kind"]
                g = (http_flow(p, pools) if k == "http" else dns_flow(p, pools) if k == "dns"
                     else smtp_session(p, pools, out))
                first = next(g, None)
                if first is not None:
                    heappush(heap, (first[0], idx, first[1], g))
            if not heap:
                break
            ts, idx, rec, g = heap[0]
            buf.append(rec)
            last_ts = ts
            nxt = next(g, None)
            if nxt is None:
                heappop(heap)
            else:
                heapreplace(heap, (nxt[0], idx, nxt[1], g))
            if len(buf) >= 8192:
                data = b"".join(buf)
                f.write(data)
                written += len(data)
                packets += len(buf)
                buf.clear()
        data = b"".join(buf)
        f.write(data)
        written += len(data)
        packets += len(buf)

    # Still open at the end: unfinished, unless smtpscope's idle timer (which runs on the
    # SMTP packets' clock) ended them first.
    smtp_last = max((b for _, b in spans), default=0)
    for p, rec in deferred:
        if smtp_last - rec["last"] > IDLE_S * US:
            rec["state"] = "timeout"
        emit(p, rec)

    # Concurrency: SMTP flows open at once, at peak, and on average over the steady part
    # of the capture (the second half of the start window: no tail).
    ev = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    lo, hi = BASE_TS * US + int(window * US) // 2, BASE_TS * US + int(window * US)
    cur = peak = 0
    area = 0
    prev = ev[0][0] if ev else 0
    for t, d in ev:
        a, b = max(prev, lo), min(t, hi)
        if b > a:
            area += cur * (b - a)
        prev = t
        cur += d
        peak = max(peak, cur)
    first_ts = starts[0][0] if starts else 0
    span_us = max(1, last_ts - first_ts)
    totals.update({"type": "totals", "packets": packets, "bytes": written,
                   "smtp_share": round(totals["smtp_bytes"] / max(1, written), 3),
                   "duration_s": round(span_us / US, 1),
                   "concurrency_steady": round(area / (hi - lo)), "concurrency_peak": peak,
                   "size_scale": round(scale, 3), "seed": args.seed, "size_mb": args.size_mb})
    tf.write(json.dumps(totals, separators=(",", ":")) + "\n")
    tf.close()
    os.replace(tmp_truth, truth_path)
    dt = time.monotonic() - t0
    if not args.quiet:
        print("gen.py: %s: %.1f MB, %d packets, %d SMTP sessions (%d open at once in the "
              "steady part, %d at peak), SMTP %.0f%% of bytes, %.1f s capture; %.1f s to write "
              "(%.1f MB/s)"
              % (out_path, written / 1e6, packets, totals["sessions"],
                 totals["concurrency_steady"], peak, 100 * totals["smtp_share"], span_us / US, dt,
                 written / 1e6 / dt), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
