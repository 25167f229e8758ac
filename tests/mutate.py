#!/usr/bin/env python3
"""Mutation harness (issue 11, item 5): damaged copies of every capture, checked against
the clean run.

    python3 tests/mutate.py [--bin build/smtpscope] [--all] [--sample N] [--seed S] [-j N]
                            [--corpus DIR] [-k NAME] [--report-only] [--json-out FILE]
                            [--max-print N]

Captures: samples/*.pcap, samples/edge/*.pcap, samples/trust/*.pcap, samples/keylog/*.pcap (with their
key log) and, when it exists, the shared corpus
(../shared/corpus beside the repo; skipped with a message when absent). Each one is
re-written as a plain little-endian microsecond pcap (the "clean" file: pcapng and nanosecond
captures become comparable), run once, and then damaged in memory, one mutant at a time:

  drop:K      TCP payload segment K removed
  snap:N      every packet cut to N bytes (68, 96, 128), on-wire length kept, header snaplen N
  cut:K       the file ends after packet K
  nogreet     the server's first payload segment of each session removed, its later bytes
              moved up (a server that never greeted, not a gap)
  join        the server's first two payload segments of each session sent as one, where
              the second was
  client_only / server_only   one direction of each session removed
  connect     an HTTP CONNECT preamble before the greeting, sequence numbers shifted

drop and cut take a seeded sample of positions in long captures (--sample, default 10);
--all takes every position. Every mutant runs as `BIN -r mutant -o json [-p PORTS]`: exit
status 0 or 1, never a crash, sanitizer report or timeout. Invariants checked:

  inv1  no reply paired with a command that may not get its code (table POSITIVE / ONLY_FOR)
  inv2  every pair whose command and reply both precede the first damaged packet is identical
  inv3  each message's outcome (accepted, recipients[].status) is the clean one or unknown
  inv4  delivery or rejection claimed only on a reply the output shows
  crash the run crashed, timed out, printed a sanitizer report or exited 2

A self-test first plants one fault per invariant in a clean output and fails unless each
is caught. inv1 and inv4 are also applied to the clean runs; those are printed apart (the
sample itself is odd). The last line is "mutate: N mutants, P pairs checked, V violations"
(P: command/reply pairs looked at by inv1 and inv2); the exit status is 1 when V > 0,
unless --report-only.
"""

import argparse
import calendar
import collections
import concurrent.futures
import datetime
import functools
import glob
import json
import os
import random
import re
import struct
import sys
import tempfile
import threading
import zlib
from dataclasses import dataclass, replace

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conformance as C  # noqa: E402  (which ports speak SMTP in a capture)
import e2e_samples as E  # noqa: E402  (pcap link layers, the runner and its crash check)

REPO = E.REPO
SNAPLENS = (68, 96, 128)
ACK, PSH, SYN = 0x10, 0x08, 0x02
HTTP_ASK = b"CONNECT mx.example:25 HTTP/1.0\r\n\r\n"
HTTP_OK = b"HTTP/1.0 200 Connection established\r\n\r\n"
TIMEOUT = 20

# ----------------------------------------------------------------------------
# invariant 1: which codes may answer which command
# ----------------------------------------------------------------------------

# Positive (2xx/3xx) replies each command may get; 4xx and 5xx may answer anything.
# RFC 5321 §4.3.2 (greeting 220, EHLO/HELO 250, MAIL 250, RCPT 250/251/252, DATA 354 then
# 250, RSET/NOOP 250, VRFY 250/251/252, EXPN 250/252, HELP 211/214, QUIT 221); RFC 4954 §4
# and §6 (AUTH and its continuation lines: 334 or 235); RFC 3207 §4 (STARTTLS 220);
# RFC 3030 §2 and §4 (every BDAT chunk 250); RFC 1985 §5 (ETRN 250/251/252/253).
# RFC 2920 adds no codes: it only lets the replies of a pipelined group come together.
POSITIVE = {
    "CONNECT": {220}, "EHLO": {250}, "HELO": {250}, "MAIL": {250}, "RCPT": {250, 251, 252},
    "DATA": {354}, ".": {250}, "BDAT": {250}, "RSET": {250}, "NOOP": {250}, "QUIT": {221},
    "VRFY": {250, 251, 252}, "EXPN": {250, 252}, "HELP": {211, 214},
    "ETRN": {250, 251, 252, 253}, "STARTTLS": {220}, "AUTH": {235, 334}, "AUTH-DATA": {235, 334},
}
# Codes tied to one exchange: wrong on an unknown verb too. 220 is not here: an unknown
# verb may be an extension that answers 220 (e.g. XCLIENT).
ONLY_FOR = {354: {"DATA"}, 334: {"AUTH", "AUTH-DATA"}, 235: {"AUTH", "AUTH-DATA"},
            221: {"QUIT"}}
NO_COMMAND = "?"  # the decoder's entry for a reply nothing asked for (e.g. a closing 221/421)


def verb(c):
    """The command as invariant 1 sees it: the greeting is CONNECT without an argument; a
    client line "CONNECT host:port HTTP/1.0" is HTTP, an unknown verb."""
    if c.get("cmd") == "CONNECT" and c.get("arg") is not None:
        return "CONNECT host"
    return c.get("cmd")


def code_allowed(c):
    """None, or why the reply may not answer this command."""
    v, code = verb(c), c["reply"]["code"]
    if v == NO_COMMAND or code >= 400:
        return None
    if code in ONLY_FOR and v not in ONLY_FOR[code]:
        return "%d answers only %s" % (code, "/".join(sorted(ONLY_FOR[code])))
    if v in POSITIVE and code not in POSITIVE[v]:
        return "%s may get only %s or 4xx/5xx" % (v, "/".join(map(str, sorted(POSITIVE[v]))))
    return None


# ----------------------------------------------------------------------------
# pcap in and out (timestamps in microseconds)
# ----------------------------------------------------------------------------

@dataclass
class Rec:
    ts: int
    data: bytes
    orig: int


def read_capture(path):
    """(linktype, snaplen, records) of a pcap (either byte order, us or ns) or pcapng."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:4] == b"\x0a\x0d\x0d\x0a":
        return read_pcapng(raw)
    e = "<" if raw[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    magic, _, _, _, _, snaplen, linktype = struct.unpack(e + "IHHiIII", raw[:24])
    div = 1000 if magic == 0xA1B23C4D else 1
    recs, off = [], 24
    while off + 16 <= len(raw):
        sec, frac, incl, orig = struct.unpack(e + "IIII", raw[off:off + 16])
        recs.append(Rec(sec * 1000000 + frac // div, raw[off + 16:off + 16 + incl], orig))
        off += 16 + incl
    return linktype & 0xFFFF, snaplen, recs


def read_pcapng(raw):
    """Enhanced packet blocks of a little-endian pcapng with one link type."""
    links, recs, off = [], [], 0
    while off + 12 <= len(raw):
        btype, blen = struct.unpack("<II", raw[off:off + 8])
        body = raw[off + 8:off + blen - 4]
        if btype == 1:
            links.append([struct.unpack("<H", body[:2])[0], 1])  # [linktype, ticks per us]
            opt = 8
            while opt + 4 <= len(body):
                code, olen = struct.unpack("<HH", body[opt:opt + 4])
                if code == 9 and olen == 1 and body[opt + 4] < 128:  # if_tsresol, 10^-n
                    links[-1][1] = 10 ** max(body[opt + 4] - 6, 0)
                if code == 0:
                    break
                opt += 4 + (olen + 3) // 4 * 4
        elif btype == 6:
            iface, hi, lo, caplen, orig = struct.unpack("<IIIII", body[:20])
            recs.append(Rec(((hi << 32) | lo) // links[iface][1], body[20:20 + caplen], orig))
        off += blen
    if len({lt for lt, _ in links}) != 1:
        raise ValueError("pcapng with %d link types" % len(links))
    return links[0][0], 262144, recs


def pcap_bytes(linktype, snaplen, recs):
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)]
    for r in recs:
        out.append(struct.pack("<IIII", r.ts // 1000000, r.ts % 1000000, len(r.data), r.orig))
        out.append(r.data)
    return b"".join(out)


# ----------------------------------------------------------------------------
# the TCP view of a record, and rebuilding one
# ----------------------------------------------------------------------------

@dataclass
class Seg:
    src: tuple       # (ip, port)
    dst: tuple
    seq: int
    ack: int
    flags: int
    ip: int          # offset of the IP header in the frame
    tcp: int         # offset of the TCP header
    hl: int          # TCP header length
    plen: int        # payload length on the wire (from the IP length)
    whole: bool      # the whole segment was captured

    @property
    def flow(self):
        return frozenset((self.src, self.dst))


def parse(linktype, data):
    """Seg of an unfragmented TCP packet (IPv6: no extension headers), else None."""
    l3 = E._l3(linktype, data)
    if not l3:
        return None
    ver, pkt = l3
    ip = len(data) - len(pkt)
    fragment = len(pkt) >= 8 and struct.unpack("!H", pkt[6:8])[0] & 0x3FFF
    if ver == 4 and len(pkt) >= 20 and pkt[9] == 6 and not fragment:
        ihl, end = (pkt[0] & 15) * 4, struct.unpack("!H", pkt[2:4])[0]
        a, b = E.ipaddress.IPv4Address(pkt[12:16]), E.ipaddress.IPv4Address(pkt[16:20])
    elif ver == 6 and len(pkt) >= 40 and pkt[6] == 6:
        ihl, end = 40, 40 + struct.unpack("!H", pkt[4:6])[0]
        a, b = E.ipaddress.IPv6Address(pkt[8:24]), E.ipaddress.IPv6Address(pkt[24:40])
    else:
        return None
    t = pkt[ihl:]
    if len(t) < 20:
        return None
    sport, dport, seq, ack, doff, flags = struct.unpack("!HHIIBB", t[:14])
    hl = (doff >> 4) * 4
    plen = max(end - ihl - hl, 0)
    return Seg((str(a), sport), (str(b), dport), seq, ack, flags, ip, ip + ihl, hl, plen,
               len(t) >= hl + plen)


def payload(rec, s):
    return rec.data[s.tcp + s.hl:s.tcp + s.hl + s.plen]


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    v = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while v >> 16:
        v = (v & 0xFFFF) + (v >> 16)
    return ~v & 0xFFFF


def rebuild(rec, s, ts=None, seq=None, ack=None, flags=None, data=None):
    """rec with new TCP fields and/or payload; lengths and checksums follow when the whole
    segment was captured (a snapped one keeps its stale checksum: smtpscope checks none)."""
    d = bytearray(rec.data)
    seq, ack, flags = (s.seq if seq is None else seq), (s.ack if ack is None else ack), \
        (s.flags if flags is None else flags)
    struct.pack_into("!II", d, s.tcp + 4, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF)
    d[s.tcp + 13] = flags
    if data is None and not s.whole:
        return Rec(rec.ts if ts is None else ts, bytes(d), rec.orig)
    data = payload(rec, s) if data is None else data
    d = d[:s.tcp + s.hl] + data
    v6 = s.tcp - s.ip == 40 and d[s.ip] >> 4 == 6
    if v6:
        struct.pack_into("!H", d, s.ip + 4, len(d) - s.tcp)
        pseudo = bytes(d[s.ip + 8:s.ip + 40]) + struct.pack("!IxxxB", len(d) - s.tcp, 6)
    else:
        struct.pack_into("!H", d, s.ip + 2, len(d) - s.ip)
        struct.pack_into("!H", d, s.ip + 10, 0)
        struct.pack_into("!H", d, s.ip + 10, checksum(bytes(d[s.ip:s.tcp])))
        pseudo = bytes(d[s.ip + 12:s.ip + 20]) + struct.pack("!BBH", 0, 6, len(d) - s.tcp)
    struct.pack_into("!H", d, s.tcp + 16, 0)
    struct.pack_into("!H", d, s.tcp + 16, checksum(pseudo + bytes(d[s.tcp:])))
    return Rec(rec.ts if ts is None else ts, bytes(d), len(d))


# ----------------------------------------------------------------------------
# mutations: each yields (name, records, snaplen, first damaged timestamp)
# ----------------------------------------------------------------------------

@dataclass
class Capture:
    name: str
    linktype: int
    snaplen: int
    recs: list
    segs: list       # Seg or None per record
    servers: dict    # flow -> server (ip, port), from the clean run
    args: list


def sample(cap, positions, n, seed):
    if n is None or len(positions) <= n:
        return positions
    rng = random.Random(seed ^ zlib.crc32(cap.name.encode()))
    return sorted(rng.sample(positions, n))


def without(cap, drop, snaplen=None):
    """Mutant without the records whose indexes are in drop."""
    kept = [r for i, r in enumerate(cap.recs) if i not in drop]
    return kept, snaplen or cap.snaplen, min(cap.recs[i].ts for i in drop)


def flow_side(cap, i):
    """(flow, True when record i comes from the server) for a record of an SMTP session."""
    s = cap.segs[i]
    if s is None or s.flow not in cap.servers:
        return None, None
    return s.flow, s.src == cap.servers[s.flow]


def server_payload(cap, n):
    """{flow: indexes of the server's first n payload segments}."""
    out = collections.defaultdict(list)
    for i, s in enumerate(cap.segs):
        flow, server = flow_side(cap, i)
        if server and s.plen and len(out[flow]) < n:
            out[flow].append(i)
    return out


def m_drop(cap, n, seed):
    pos = [i for i, s in enumerate(cap.segs) if s and s.plen]
    for i in sample(cap, pos, n, seed):
        yield ("drop:%d" % i,) + without(cap, {i})


def m_snap(cap, n, seed):
    for snap in SNAPLENS:
        cut = {i for i, r in enumerate(cap.recs) if len(r.data) > snap}
        if cut:
            recs = [replace(r, data=r.data[:snap]) for r in cap.recs]
            yield "snap:%d" % snap, recs, snap, min(cap.recs[i].ts for i in cut)


def m_cut(cap, n, seed):
    for k in sample(cap, list(range(len(cap.recs) - 1)), n, seed):
        yield ("cut:%d" % k,) + without(cap, set(range(k + 1, len(cap.recs))))


def shift(cap, recs, ix, client, server):
    """Move seq (and the peer's ack) of records ix of one flow: client/server are the
    byte counts added to (or, negative, taken from) each side's stream before them."""
    for i in ix:
        g, srv = cap.segs[i], flow_side(cap, i)[1]
        ds, da = (server, client) if srv else (client, server)
        if not g.flags & SYN:
            recs[i] = rebuild(recs[i], g, seq=g.seq + ds,
                              ack=g.ack + da if g.flags & ACK else g.ack)


def m_nogreet(cap, n, seed):
    """The server's first payload segment is gone and its later bytes move up to take its
    place: a server that never greeted (or a client that spoke first), not a gap."""
    recs, drop = list(cap.recs), set()
    for flow, (i,) in server_payload(cap, 1).items():
        drop.add(i)
        shift(cap, recs, [j for j in range(i + 1, len(recs)) if flow_side(cap, j)[0] == flow],
              0, -cap.segs[i].plen)
    if drop:
        yield "nogreet", [r for i, r in enumerate(recs) if i not in drop], cap.snaplen, \
            min(cap.recs[i].ts for i in drop)


def m_join(cap, n, seed):
    recs, first = list(cap.recs), set()
    for i, j in (ix for ix in server_payload(cap, 2).values() if len(ix) == 2):
        a, b = cap.segs[i], cap.segs[j]
        if a.whole and b.whole and (a.seq + a.plen) & 0xFFFFFFFF == b.seq:
            # one segment where the second was: a server cannot send bytes it has not written
            recs[j] = rebuild(cap.recs[i], a, ts=cap.recs[j].ts, ack=b.ack, flags=b.flags,
                              data=payload(cap.recs[i], a) + payload(cap.recs[j], b))
            first.add(i)
    if first:
        yield "join", [r for i, r in enumerate(recs) if i not in first], cap.snaplen, \
            min(cap.recs[i].ts for i in first)


def m_one_side(cap, n, seed):
    for name, drop_server in (("client_only", True), ("server_only", False)):
        drop = {i for i in range(len(cap.recs)) if flow_side(cap, i)[1] is drop_server}
        if drop:
            yield (name,) + without(cap, drop)


def m_connect(cap, n, seed):
    """Per session, before its first payload byte: the client's CONNECT and the proxy's 200;
    every later seq (and the peer's ack) moves by the preamble's length."""
    recs, insert, first_ts = list(cap.recs), {}, None
    by_flow = collections.defaultdict(list)
    for i in range(len(recs)):
        flow, _ = flow_side(cap, i)
        if flow:
            by_flow[flow].append(i)
    for flow, ix in by_flow.items():
        start = next((k for k, i in enumerate(ix) if cap.segs[i].plen), None)
        if start is None:
            continue
        side = {srv: next((i for i in ix[start:] if flow_side(cap, i)[1] is srv and
                           not cap.segs[i].flags & SYN), None)
                for srv in (False, True)}
        if None in side.values():
            continue
        c, s = cap.segs[side[False]], cap.segs[side[True]]
        shift(cap, recs, ix[start:], len(HTTP_ASK), len(HTTP_OK))
        at = ix[start]
        t1 = cap.recs[at].ts
        step = max(t1 - cap.recs[max(at - 1, 0)].ts, 0) // 3  # both fit before the greeting
        insert[at] = [rebuild(cap.recs[side[False]], c, ts=t1 - 2 * step, seq=c.seq, ack=s.seq,
                              flags=ACK | PSH, data=HTTP_ASK),
                      rebuild(cap.recs[side[True]], s, ts=t1 - step, seq=s.seq,
                              ack=c.seq + len(HTTP_ASK), flags=ACK | PSH, data=HTTP_OK)]
        ts = insert[at][0].ts
        first_ts = ts if first_ts is None else min(first_ts, ts)
    if insert:
        out = []
        for i, r in enumerate(recs):
            out += insert.get(i, []) + [r]
        yield "connect", out, cap.snaplen, first_ts


MUTATIONS = (m_drop, m_snap, m_cut, m_nogreet, m_join, m_one_side, m_connect)


# ----------------------------------------------------------------------------
# comparing a mutant's sessions with the clean ones
# ----------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def usec(iso):
    dt = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ")
    return calendar.timegm(dt.timetuple()) * 1000000 + dt.microsecond


def endpoints(s):
    return frozenset(((s["client"]["ip"], s["client"]["port"]),
                      (s["server"]["ip"], s["server"]["port"])))


def keyed(sessions):
    """{(endpoints, n-th session on them): session}."""
    seen, out = collections.Counter(), {}
    for s in sessions:
        k = endpoints(s)
        out[(k, seen[k])] = s
        seen[k] += 1
    return out


def pair(c):
    r = c.get("reply")
    return (c.get("cmd"), c.get("arg"), r and r.get("code"), r and r.get("text"))


def show(c):
    r = c.get("reply")
    reply = "%s %s" % (r["code"], (r.get("text") or "").split("\n")[0][:60]) if r else "no reply"
    arg = " " + c["arg"][:40] if c.get("arg") else ""
    inferred = " (inferred)" if c.get("paired") == "inferred" else ""
    return "%s%s <- %s%s" % (c.get("cmd") or '""', arg, reply, inferred)


class Report:
    def __init__(self):
        self.violations, self.clean_odd = [], []
        self.mutants, self.pairs = 0, collections.Counter()
        self.by_kind = collections.Counter()     # (invariant, mutation kind) -> violations
        self.mutants_by_kind = collections.Counter()

    def add(self, where, capture, mutation, inv, session, index, what):
        v = {"capture": capture, "mutation": mutation, "invariant": inv,
             "session": session, "command": index, "what": what}
        if where == "clean":
            self.clean_odd.append(v)
        else:
            self.violations.append(v)
            self.by_kind[(inv, mutation.split(":")[0])] += 1


def check_pairs(rep, where, cap, mut, s):
    """inv1 on every paired command of session s."""
    for i, c in enumerate(s.get("commands") or []):
        if c.get("reply"):
            rep.pairs["inv1"] += 1
            why = code_allowed(c)
            if why:
                rep.add(where, cap, mut, "inv1", s.get("id"), i, "%s: %s" % (show(c), why))


LAST_BDAT = re.compile(r"\bLAST\b", re.I)


def transactions(s):
    """The commands of s from each MAIL to the next MAIL not refused: a refused MAIL (503
    nested MAIL, RFC 5321 §4.1.4) leaves the open transaction running."""
    out, open_tx = [], []
    for c in s.get("commands") or []:
        if c.get("cmd") == "MAIL":
            if code_class(c) not in (4, 5):
                open_tx = []
            out.append([])
            open_tx.append(out[-1])
        for t in open_tx:
            t.append(c)
    return out


def ends(tx):
    """The commands that end a message: "." and BDAT ... LAST."""
    return [c for c in tx or [] if c.get("cmd") == "." or
            (c.get("cmd") == "BDAT" and LAST_BDAT.search(c.get("arg") or ""))]


def code_class(c):
    r = c and c.get("reply")
    return r["code"] // 100 if r else None


def check_verdicts(rep, where, cap, mut, s):
    """inv4: accepted messages and the session outcome rest on replies in the output."""
    txs, used = transactions(s), collections.Counter()
    for k, m in enumerate(s.get("messages") or []):
        frm = m.get("mail_from")
        mine = [t for t in txs if frm and "<%s>" % frm.lower() in (t[0].get("arg") or "").lower()]
        tx = mine[used[frm]] if used[frm] < len(mine) else None
        used[frm] += 1
        if m.get("accepted") is True:
            rep.pairs["inv4"] += 1
            # a message the output cannot tie to its MAIL: any 2xx end in the session will do
            cands = ends(tx if tx else s.get("commands"))
            if not any(code_class(c) == 2 for c in cands):
                rep.add(where, cap, mut, "inv4", s.get("id"), None,
                        "message %d from <%s> accepted, but %s" % (
                            k + 1, frm, "its end is " + "; ".join(map(show, cands)) if cands
                            else "no '.'/BDAT LAST reply in its transaction"))
        if m.get("outcome") == "rejected":
            rep.pairs["inv4"] += 1
            if not any(code_class(c) == 5 for c in tx or s.get("commands") or []):
                rep.add(where, cap, mut, "inv4", s.get("id"), None,
                        "message %d from <%s> rejected without a 5xx reply in its transaction"
                        % (k + 1, frm))
    codes = {code_class(c) for c in s.get("commands") or []}
    delivered = any(code_class(c) == 2 for c in ends(s.get("commands")))
    need = {"delivered": (delivered, "a 2xx reply to '.'/BDAT LAST"),
            "partial": (delivered, "a 2xx reply to '.'/BDAT LAST"),
            "rejected": (5 in codes, "a 5xx reply")}.get(s.get("outcome"))
    if need:
        rep.pairs["inv4"] += 1
        if not need[0]:
            rep.add(where, cap, mut, "inv4", s.get("id"), None,
                    "outcome %s without %s in the output" % (s["outcome"], need[1]))


UNKNOWN = (None, "unknown", "no_reply")
CLAIMS = {"delivered", "partial", "rejected", "deferred"}


def identity(m):
    return (m.get("mail_from"), m.get("size"),
            tuple(sorted((m.get("rcpt_to") or []) + (m.get("rcpt_rejected") or []))))


def settled(m):
    """The identity and the outcome: tried first, so that two messages with the same
    envelope (a refused MAIL beside an open transaction) pair with their own kind."""
    return identity(m) + (m.get("outcome"),)


def sender(m):
    return m.get("mail_from")


def queued(m):
    """The server's own id for a delivered message: it names the message when its MAIL was
    lost (sender null); messages without one never match on it."""
    return m.get("queue_id") or ("none", id(m))


def numbered(msgs, key):
    """[((key, n-th with that key), message)]."""
    seen = collections.Counter()
    out = []
    for m in msgs:
        seen[key(m)] += 1
        out.append(((key(m), seen[key(m)]), m))
    return out


def match(want, got, keys):
    """[(clean item or None, mutant item, how)]: by each key and order in turn (the first
    keys the strictest, so one lost item does not shift the rest); what is left pairs by
    position when as many are left on both sides (a snapped line reads "u [...]": still
    the same message or recipient), else with None."""
    pairs = []
    for key in keys:
        index = dict(numbered(want, key))
        for k, m in numbered(got, key):
            if k in index:
                pairs.append((index.pop(k), m, ""))
        taken = {id(p[1]) for p in pairs}
        want, got = list(index.values()), [m for m in got if id(m) not in taken]
    by_pos = len(want) == len(got)
    return pairs + [(want[n] if by_pos else None, m, " (by position)" if by_pos else "")
                    for n, m in enumerate(got)]


def address(r):
    return r.get("address")


def check_messages(rep, cap, mut, clean, ms):
    """inv3: the mutant's messages agree with the clean ones or say unknown."""
    want, got = clean.get("messages") or [], ms.get("messages") or []
    # the same senders in the same order: the same transactions, whatever their contents say
    same = [sender(m) for m in want] == [sender(m) for m in got]
    for c, m, how in match(want, got, (sender,) if same else (settled, identity, queued, sender)):
        rep.pairs["inv3"] += 1
        label = "<%s>%s" % (m.get("mail_from"), how)
        if c is None:
            claim = m.get("outcome") in CLAIMS if "outcome" in m else m.get("accepted")
            if claim:
                rep.add("mutant", cap, mut, "inv3", ms.get("id"), None,
                        "message %s not in the clean run, yet %s" % (
                            label, m.get("outcome", "accepted")))
            continue
        what = []
        for f in ("accepted", "outcome"):  # a bool cannot say unknown: the outcome does
            if m.get(f) not in UNKNOWN and m.get("outcome") != "unknown" and f in c and \
                    m.get(f) != c.get(f):
                what.append("%s %s (clean %s)" % (f, m.get(f), c.get(f)))
        for cr, r, rhow in match(c.get("recipients") or [], m.get("recipients") or [],
                                 (address,)):
            st = cr.get("status") if cr else "absent"
            if r.get("status") not in UNKNOWN and r.get("status") != st:
                what.append("recipient %s%s %s (clean %s)" % (
                    r.get("address"), rhow, r.get("status"), st))
        if what:
            rep.add("mutant", cap, mut, "inv3", ms.get("id"), None,
                    "message %s: %s" % (label, "; ".join(what)))


def check_prefix(rep, cap, mut, clean, ms, damage):
    """inv2: pairs wholly before the first damaged packet are unchanged."""
    mc = (ms or {}).get("commands") or []
    for i, c in enumerate(clean.get("commands") or []):
        if not c.get("reply") or "reply_time" not in c:
            continue
        t = usec(c["ts"])
        if t >= damage or t + round(c["reply_time"] * 1e6) >= damage:
            continue
        rep.pairs["inv2"] += 1
        got = mc[i] if i < len(mc) else None
        if got is None or pair(got) != pair(c):
            rep.add("mutant", cap, mut, "inv2", clean.get("id"), i, "clean %s, mutant %s" % (
                show(c), show(got) if got else "no session" if ms is None else "no command"))


def check_mutant(rep, cap, mut, clean, records, damage):
    mine = keyed(E.sessions_of(records))
    for s in mine.values():
        check_pairs(rep, "mutant", cap, mut, s)
        check_verdicts(rep, "mutant", cap, mut, s)
    for k, c in keyed(clean).items():
        check_prefix(rep, cap, mut, c, mine.get(k), damage)
        if k in mine:
            check_messages(rep, cap, mut, c, mine[k])


# ----------------------------------------------------------------------------
# running
# ----------------------------------------------------------------------------

def run(binary, tmp, name, data, args):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    try:
        status, records, err, error = E.run_capture(binary, path, args)
    finally:
        os.unlink(path)
    if not error and status not in (0, 1):
        error = "exit status %d: %s" % (status, E.first_lines(err))
    return records, error


def captures(corpus):
    paths = sorted(p for d in ("", "edge", "trust", "keylog")
                   for p in glob.glob(os.path.join(REPO, "samples", d, "*.pcap")))
    if corpus:
        paths += sorted(glob.glob(os.path.join(corpus, "**", "*.pcap"), recursive=True) +
                        glob.glob(os.path.join(corpus, "**", "*.pcapng"), recursive=True))
    return paths


def load(path, corpus, binary, tmp, rep):
    """The Capture and its clean sessions, or None (printed why)."""
    name = os.path.relpath(path, REPO) if path.startswith(REPO + os.sep) else \
        "corpus/" + os.path.relpath(path, corpus)
    try:
        linktype, snaplen, recs = read_capture(path)
    except (ValueError, struct.error, KeyError, IndexError) as e:
        print("mutate: skip %s: %s" % (name, e))
        return None, None
    ports = C.smtp_server_ports(E.tcp_streams(path)) - C.DEFAULT_PORTS
    args = ["-p", ",".join(map(str, sorted(ports | C.DEFAULT_PORTS)))] if ports else []
    keylog = path[:-5] + ".keylog"
    if os.path.exists(keylog):  # samples/keylog: decrypted, so damage cuts the dialog inside TLS
        args = ["-p", "25,465,2525", "--tls-keylog", keylog]
    records, error = run(binary, tmp, "clean.pcap", pcap_bytes(linktype, snaplen, recs), args)
    if error:
        rep.add("mutant", name, "clean", "crash", None, None, error)
        return None, None
    clean = E.sessions_of(records)
    servers = {endpoints(s): (s["server"]["ip"], s["server"]["port"]) for s in clean}
    cap = Capture(name, linktype, snaplen, recs, [parse(linktype, r.data) for r in recs],
                  servers, args)
    for s in clean:
        check_pairs(rep, "clean", name, "clean", s)
        check_verdicts(rep, "clean", name, "clean", s)
    return cap, clean


def mutate_one(binary, tmp, cap, clean, mut, rep, lock):
    name, recs, snaplen, damage = mut
    fname = "%x-%s.pcap" % (zlib.crc32(cap.name.encode()), name.replace(":", "-"))
    records, error = run(binary, tmp, fname, pcap_bytes(cap.linktype, snaplen, recs), cap.args)
    with lock:
        rep.mutants += 1
        rep.mutants_by_kind[name.split(":")[0]] += 1
        if error:
            rep.add("mutant", cap.name, name, "crash", None, None, error)
        else:
            check_mutant(rep, cap.name, name, clean, records, damage)


def order(v):
    kind, _, pos = v["mutation"].partition(":")
    return (v["capture"], kind, int(pos or 0), v["session"] or 0, v["command"] or -1,
            v["invariant"], v["what"])


def summary(rep, report_only, json_out, max_print, strict=None, not_yet=()):
    fmt = "mutate: %s %s %s session %s command %s: %s"
    rep.violations.sort(key=order)
    for title, vs in (("clean-run oddity (the sample itself)", rep.clean_odd),
                      ("VIOLATION", rep.violations)):
        for v in vs[:max_print]:
            print(fmt % (title, v["capture"], v["mutation"], v["session"], v["command"],
                         "[%s] %s" % (v["invariant"], v["what"])))
    if max_print is not None and len(rep.violations) > max_print:
        print("mutate: ... %d more violations not printed (--max-print %d)%s" % (
            len(rep.violations) - max_print, max_print, ", all in " + json_out if json_out else ""))
    kinds = sorted(rep.mutants_by_kind)
    print("mutate: mutants by kind: " + ", ".join("%s %d" % (k, rep.mutants_by_kind[k])
                                                  for k in kinds))
    for inv in ("inv1", "inv2", "inv3", "inv4", "crash"):
        n = sum(v for (i, _), v in rep.by_kind.items() if i == inv)
        per = ", ".join("%s %d" % (k, rep.by_kind[(inv, k)]) for k in kinds + ["clean"]
                        if rep.by_kind[(inv, k)])
        print("mutate: %s: %d checked, %d violations%s" % (
            inv, rep.mutants if inv == "crash" else rep.pairs[inv], n,
            " (" + per + ")" if per else ""))
    print("mutate: %d clean-run oddities (inv1/inv4 on the unmodified captures)"
          % len(rep.clean_odd))
    if json_out:
        with open(json_out, "w") as f:
            json.dump({"violations": rep.violations, "clean_run": rep.clean_odd}, f, indent=1)
    print("mutate: %d mutants, %d pairs checked, %d violations%s" % (
        rep.mutants, rep.pairs["inv1"] + rep.pairs["inv2"], len(rep.violations),
        " (report only)" if report_only and rep.violations else ""))
    if strict is not None:  # only these invariants fail the run, outside the kinds not done yet
        failing = [v for v in rep.violations if v["invariant"] in strict and
                   v["mutation"].partition(":")[0] not in not_yet]
        print("mutate: %d violations of the strict invariants (%s; not yet: %s)" % (
            len(failing), ",".join(sorted(strict)), ",".join(not_yet) or "none"))
        return 1 if failing else 0
    return 1 if rep.violations and not report_only else 0


def self_test(binary, tmp):
    """Plant one fault per invariant in a clean run's output: each must be caught, or the
    harness itself has rotted (a check that cannot fail is no check)."""
    path = os.path.join(REPO, "samples", "pipelining.pcap")
    records, error = run(binary, tmp, "self.pcap", open(path, "rb").read(), [])
    if error:
        return error
    bad = json.loads(json.dumps(records))
    s = E.sessions_of(bad)[0]
    rcpt = next(c for c in s["commands"] if c["cmd"] == "RCPT")
    rcpt["reply"]["code"] = 354                                   # inv1, and inv2 before damage
    s["messages"][0].update(accepted=False, outcome="rejected")   # inv3; inv4: no 5xx for it
    s["messages"][0]["recipients"] = []
    next(c for c in s["commands"] if c["cmd"] == "MAIL")["reply"]["code"] = 250
    for c in s["commands"]:
        if c["reply"] and c["reply"]["code"] >= 500:
            c["reply"]["code"] = 452
    rep = Report()
    check_mutant(rep, "self-test", "planted", E.sessions_of(records), bad, 1 << 62)
    missed = {"inv1", "inv2", "inv3", "inv4"} - {v["invariant"] for v in rep.violations}
    return "planted faults not caught: %s" % ", ".join(sorted(missed)) if missed else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "smtpscope"))
    ap.add_argument("--corpus", help="default: ../shared/corpus beside the repo")
    ap.add_argument("--all", action="store_true", help="every drop and cut position")
    ap.add_argument("--sample", type=int, default=10, help="drop/cut positions per capture")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("-k", dest="only", help="only captures whose path contains this")
    ap.add_argument("--report-only", action="store_true", help="exit 0 despite violations")
    ap.add_argument("--json-out", help="write every violation to this file as JSON")
    ap.add_argument("--max-print", type=int, help="print only the first N violations")
    ap.add_argument("--strict", help="INV,...: only these invariants fail the run (with "
                    "--report-only for the others)")
    ap.add_argument("--not-yet", default="", help="KIND,...: mutation kinds the --strict "
                    "invariants do not fail on yet (work still open, said in the Makefile)")
    args = ap.parse_args()
    E.TIMEOUT = TIMEOUT
    corpus = args.corpus or os.path.join(REPO, "..", "shared", "corpus")
    if not corpus or not os.path.isdir(corpus):
        print("mutate: no shared corpus (../shared/corpus): samples only")
        corpus = None
    else:
        corpus = os.path.realpath(corpus)
    n = None if args.all else args.sample
    rep, lock = Report(), threading.Lock()
    with tempfile.TemporaryDirectory(prefix="smtpscope-mutate-") as tmp, \
            concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        error = self_test(args.bin, tmp)
        if error:
            print("mutate: FAIL self-test: %s" % error)
            return 1
        print("mutate: self-test: a fault planted for each of inv1-inv4 is caught")
        for path in captures(corpus):
            if args.only and args.only not in path:
                continue
            cap, clean = load(path, corpus, args.bin, tmp, rep)
            if cap is None:
                continue
            muts = (m for f in MUTATIONS for m in f(cap, n, args.seed))
            list(pool.map(lambda m: mutate_one(args.bin, tmp, cap, clean, m, rep, lock), muts))
    strict = set(args.strict.split(",")) if args.strict else None
    not_yet = tuple(k for k in args.not_yet.split(",") if k)
    return summary(rep, args.report_only, args.json_out, args.max_print, strict, not_yet)


if __name__ == "__main__":
    sys.exit(main())
