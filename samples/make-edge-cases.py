#!/usr/bin/env python3
"""Hand-crafted edge-case captures, made from the clean samples.

    python3 samples/make-edge-cases.py [--out samples/edge]

Reads clean captures of samples/ (real Postfix/swaks/smtplib/seed-server
conversations on loopback) and writes transformed variants to
samples/edge/NAME.pcap, each with samples/edge/NAME.expected.json, plus
samples/edge/README.md.  Deterministic: no clock, no network, fixed seeds;
a re-run writes the same bytes.

The expected file of a variant is the clean twin's expected file (whose truth
came from the client transcript and the server's log, see samples/README.md)
adjusted by what the transformation does to the wire -- never smtpscope's
output.  Keys beyond the twin's (gaps, gaps_min, midstream, anomalies_include,
compare_commands, commands_prefix, compare_size, exit_status, stderr_contains)
are read by tests/e2e_samples.py; its docstring says what each one means.

Packets are rebuilt byte by byte (struct): Ethernet (+802.1Q / QinQ),
IPv4 or IPv6 (+fragments), TCP or ICMP, every length and checksum
recomputed.  The clean samples are all Ethernet/IPv4/TCP from `tcpdump -i lo`.
"""

import argparse
import copy
import ipaddress
import json
import os
import random
import struct
import sys
from dataclasses import dataclass, replace

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 25            # every shuffle uses random.Random(SEED + k): fixed output
SNAPLEN = 128
ETH_IPV4, ETH_IPV6, ETH_8021Q, ETH_8021AD = 0x0800, 0x86DD, 0x8100, 0x88A8
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
ROUTER = "192.0.2.1"  # TEST-NET-1: the router that answers with ICMP

# ----------------------------------------------------------------------------
# pcap files
# ----------------------------------------------------------------------------


@dataclass
class Record:
    ts: int          # microseconds since the epoch
    data: bytes      # captured bytes
    orig_len: int    # length on the wire


def read_pcap(path):
    """Records of a little-endian microsecond pcap (what tcpdump writes)."""
    with open(path, "rb") as f:
        raw = f.read()
    magic, _, _, _, _, _, linktype = struct.unpack("<IHHiIII", raw[:24])
    if magic != 0xA1B2C3D4 or linktype != 1:
        sys.exit("make-edge-cases: %s: not a little-endian Ethernet pcap" % path)
    recs, off = [], 24
    while off + 16 <= len(raw):
        sec, usec, incl, orig = struct.unpack("<IIII", raw[off:off + 16])
        recs.append(Record(sec * 1000000 + usec, raw[off + 16:off + 16 + incl], orig))
        off += 16 + incl
    return recs


def pcap_bytes(records, snaplen=262144):
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1)]
    for r in records:
        out.append(struct.pack("<IIII", r.ts // 1000000, r.ts % 1000000, len(r.data),
                               r.orig_len))
        out.append(r.data)
    return b"".join(out)


def record_offsets(records):
    """Byte offset of every record header in pcap_bytes(records)."""
    offs, off = [], 24
    for r in records:
        offs.append(off)
        off += 16 + len(r.data)
    return offs


# ----------------------------------------------------------------------------
# packets: parse the clean Ethernet/IPv4/TCP frames, rebuild any variant
# ----------------------------------------------------------------------------


@dataclass
class Pkt:
    ts: int
    macs: bytes      # destination + source MAC, 12 bytes
    src: str
    dst: str
    ip_id: int
    ttl: int
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    win: int
    opts: bytes
    payload: bytes
    icmp: bytes = b""   # a whole ICMP message instead of TCP when set


def parse_frame(rec):
    f = rec.data
    etype = struct.unpack("!H", f[12:14])[0]
    ip = f[14:]
    if etype != ETH_IPV4 or ip[0] != 0x45 or ip[9] != 6:
        sys.exit("make-edge-cases: unexpected frame in a clean sample")
    total = struct.unpack("!H", ip[2:4])[0]
    tcp = ip[20:total]
    sport, dport, seq, ack, doff, flags, win = struct.unpack("!HHIIBBH", tcp[:16])
    hl = (doff >> 4) * 4
    return Pkt(rec.ts, f[:12], str(ipaddress.ip_address(ip[12:16])),
               str(ipaddress.ip_address(ip[16:20])), struct.unpack("!H", ip[4:6])[0],
               ip[8], sport, dport, seq, ack, flags, win, tcp[20:hl], tcp[hl:])


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def addr(text):
    return ipaddress.ip_address(text).packed


def l4_bytes(p):
    """(protocol, bytes) of the TCP segment or ICMP message, checksum included."""
    if p.icmp:  # IPv4 only
        return 1, p.icmp[:2] + struct.pack("!H", checksum(p.icmp)) + p.icmp[4:]
    hl = 20 + len(p.opts)
    assert hl % 4 == 0
    seg = struct.pack("!HHIIBBHHH", p.sport, p.dport, p.seq & 0xFFFFFFFF,
                      p.ack & 0xFFFFFFFF, (hl // 4) << 4, p.flags, p.win, 0, 0)
    seg += p.opts + p.payload
    src, dst = addr(p.src), addr(p.dst)
    if len(src) == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(seg))
    else:
        pseudo = src + dst + struct.pack("!IxxxB", len(seg), 6)
    c = checksum(pseudo + seg)
    return 6, seg[:16] + struct.pack("!H", c) + seg[18:]


def ipv4_header(p, proto, length, ip_id, frag_field):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + length, ip_id, frag_field, p.ttl, proto,
                    0, addr(p.src), addr(p.dst))
    return h[:10] + struct.pack("!H", checksum(h)) + h[12:]


def ipv6_header(p, next_header, length):
    return struct.pack("!IHBB16s16s", 6 << 28, length, next_header, p.ttl,
                       addr(p.src), addr(p.dst))


def ethernet(p, etype, tags):
    """Ethernet header; tags = [(tpid, vlan id)] outermost first."""
    out = p.macs
    for tpid, vid in tags:
        out += struct.pack("!HH", tpid, vid)
    return out + struct.pack("!H", etype)


def fragment_sizes(length):
    """3 or more pieces (multiples of 8 but the last) covering length bytes."""
    n = 3 if length <= 240 else 4
    size = -(-length // n)
    size = -(-size // 8) * 8
    sizes = []
    while length > 0:
        sizes.append(min(size, length))
        length -= size
    assert len(sizes) >= 3, sizes
    return sizes


class Encoder:
    """Turns Pkt into frames: IPv4 or IPv6, optional VLAN tags, fragments."""

    def __init__(self, ipv6=False, tags=(), fragment_over=None):
        self.ipv6, self.tags, self.fragment_over = ipv6, list(tags), fragment_over
        self.frag_sets = 0

    def frames(self, p):
        proto, l4 = l4_bytes(p)
        etype = ETH_IPV6 if self.ipv6 else ETH_IPV4
        eth = ethernet(p, etype, self.tags)
        if self.fragment_over is None or len(l4) <= self.fragment_over or not p.payload:
            if self.ipv6:
                return [eth + ipv6_header(p, proto, len(l4)) + l4]
            df = 0 if p.icmp else 0x4000
            return [eth + ipv4_header(p, proto, len(l4), p.ip_id, df) + l4]
        return self.fragments(p, eth, proto, l4)

    def fragments(self, p, eth, proto, l4):
        self.frag_sets += 1
        frag_id = 0x5000 + self.frag_sets
        frames, off = [], 0
        sizes = fragment_sizes(len(l4))
        for i, size in enumerate(sizes):
            more = i < len(sizes) - 1
            piece = l4[off:off + size]
            if self.ipv6:
                fh = struct.pack("!BBHI", proto, 0, off | more, frag_id)
                frames.append(eth + ipv6_header(p, 44, 8 + size) + fh + piece)
            else:
                field = (off // 8) | (0x2000 if more else 0)
                frames.append(eth + ipv4_header(p, proto, size, frag_id, field) + piece)
            off += size
        # every second fragment set arrives out of order (a fixed shuffle)
        if self.frag_sets % 2 == 0:
            order = list(range(len(frames)))
            rng = random.Random(SEED + self.frag_sets)
            while order == sorted(order):
                rng.shuffle(order)
            frames = [frames[i] for i in order]
        return frames


def records(pkts, enc=None):
    """Records for pkts, timestamps made strictly increasing (1 us apart at least)."""
    enc, recs, last = enc or Encoder(), [], 0
    for p in pkts:
        for f in enc.frames(p):
            last = max(p.ts, last + 1)
            recs.append(Record(last, f, len(f)))
    return recs


def encode(pkts, enc=None):
    """The pcap file of pkts."""
    return pcap_bytes(records(pkts, enc))


# ----------------------------------------------------------------------------
# TCP-level transformations (lists of Pkt in, lists of Pkt out)
# ----------------------------------------------------------------------------


def is_client(p, server_port):
    return p.dport == server_port


def split(p, cuts):
    """Pieces of p's payload at the given offsets, seq numbers consistent.
    Only the last piece keeps PSH/FIN."""
    bounds = [0] + sorted(cuts) + [len(p.payload)]
    pieces = []
    for a, b in zip(bounds, bounds[1:]):
        last = b == len(p.payload)
        flags = p.flags if last else p.flags & ~(PSH | FIN)
        pieces.append(replace(p, seq=p.seq + a, payload=p.payload[a:b], flags=flags))
    return pieces


def reorder_pieces(pkts, min_len=20):
    """Every payload segment of min_len bytes or more is cut into three pieces
    that are delivered in a shuffled order: the bytes of one flight arrive
    out of order; the peer's packets stay where they were."""
    out, k = [], 0
    for p in pkts:
        if len(p.payload) < min_len:
            out.append(p)
            continue
        n = len(p.payload)
        pieces = split(p, [n // 3, 2 * n // 3])
        order, rng = [0, 1, 2], random.Random(SEED + k)
        while order == [0, 1, 2]:
            rng.shuffle(order)
        out += [pieces[i] for i in order]
        k += 1
    return out


def duplicate_payload(pkts):
    out = []
    for p in pkts:
        out.append(p)
        if p.payload:
            out.append(replace(p, ts=p.ts + 1))
    return out


def split_every_byte(pkts):
    out = []
    for p in pkts:
        out += split(p, range(1, len(p.payload))) if len(p.payload) > 1 else [p]
    return out


def find_payload(pkts, needle, client=None, server_port=25):
    """Index of the first packet whose payload holds needle (one direction)."""
    for i, p in enumerate(pkts):
        if needle in p.payload and (client is None or is_client(p, server_port) == client):
            return i
    sys.exit("make-edge-cases: %r not found in the twin" % needle)


def insert_conflicting_retransmission(pkts, old, new):
    """After the client segment holding `old`, a retransmission of exactly
    those bytes (already delivered) carrying `new` (same length) instead."""
    assert len(old) == len(new)
    i = find_payload(pkts, old, client=True)
    p = pkts[i]
    at = p.payload.index(old)
    retrans = replace(p, ts=p.ts + 1, seq=p.seq + at, payload=new,
                      ip_id=(p.ip_id + 1000) & 0xFFFF)
    return pkts[:i + 1] + [retrans] + pkts[i + 1:]


def drop_middle(pkts, i, a, b):
    """Split packet i's payload at offsets a and b and drop the middle piece.
    Return (new list, dropped bytes)."""
    first, middle, last = split(pkts[i], [a, b])
    return pkts[:i] + [first, last] + pkts[i + 1:], len(middle.payload)


def one_side(pkts, server_port, keep_client):
    return [p for p in pkts if is_client(p, server_port) == keep_client]


def drop_through(pkts, needle):
    """Drop every packet up to and including the client's one holding needle."""
    i = find_payload(pkts, needle, client=True)
    return pkts[i + 1:]


def icmp_unreachable_for(syn, code=13):
    """ICMP destination unreachable from ROUTER to the SYN's sender, quoting
    the SYN's IP header and whole TCP header (RFC 792 asks for 8 bytes; RFC 1812
    routers quote more)."""
    _, l4 = l4_bytes(syn)
    quoted = ipv4_header(syn, 6, len(l4), syn.ip_id, 0x4000) + l4
    msg = struct.pack("!BBHI", 3, code, 0, 0) + quoted
    return replace(syn, ts=syn.ts + 10, src=ROUTER, dst=syn.src, ip_id=0, ttl=255,
                   sport=0, dport=0, seq=0, ack=0, flags=0, win=0, opts=b"",
                   payload=b"", icmp=msg)


def to_ipv6_addr(text):
    """127.0.0.N -> 2001:db8::N (documentation prefix)."""
    v4 = ipaddress.IPv4Address(text)
    return str(ipaddress.IPv6Address(int(ipaddress.IPv6Address("2001:db8::")) + (int(v4) & 0xFF)))


def to_ipv6(pkts):
    return [replace(p, src=to_ipv6_addr(p.src), dst=to_ipv6_addr(p.dst)) for p in pkts]


# ----------------------------------------------------------------------------
# expected files
# ----------------------------------------------------------------------------

def load_twin(name):
    with open(os.path.join(HERE, name + ".expected.json")) as f:
        exp = json.load(f)
    pkts = [parse_frame(r) for r in read_pcap(os.path.join(HERE, name + ".pcap"))]
    return exp, pkts


def derive(twin_name, twin, name, transformation, clean=True):
    """The twin's expected file, renamed; clean=True adds what a lossless
    transformation keeps: no gap, handshake seen, message sizes unchanged."""
    exp = copy.deepcopy(twin)
    exp["sample"] = "edge/" + name
    exp["description"] = "%s (twin: %s.pcap: %s)" % (transformation, twin_name,
                                                    twin["description"])
    exp["made_with"] = "samples/make-edge-cases.py from samples/%s.pcap (%s)" % (
        twin_name, twin["made_with"])
    exp["twin"] = twin_name
    exp["transformation"] = transformation
    if not clean:
        # a lossy transformation may cut reply bytes: the reply text stays asserted only
        # where it is kept whole (codes and result classes as before)
        for s in exp["sessions"]:
            for c in s.get("commands", []):
                c.pop("reply_text", None)
    if clean:
        for s in exp["sessions"]:
            s["gaps"] = {"client": 0, "server": 0}
            s["midstream"] = False
            s["compare_size"] = True
    return exp


def drop_keys(session, *keys):
    for k in keys:
        session.pop(k, None)


# ----------------------------------------------------------------------------
# the variants: each returns (pcap file bytes, expected, what must hold)
# ----------------------------------------------------------------------------

VARIANTS = []


def variant(fn):
    VARIANTS.append(fn)
    return fn


@variant
def reordered():
    exp, pkts = load_twin("multi-message")
    what = ("every payload segment of 20 bytes or more cut in three pieces delivered "
            "in a shuffled order (seeded); the peer's packets stay in place")
    return encode(reorder_pieces(pkts)), derive("multi-message", exp, "reordered", what), \
        "same sessions, commands, replies and message sizes as the twin; gaps 0"


@variant
def duplicated():
    exp, pkts = load_twin("seed-exchange")
    what = "every TCP segment with payload captured twice (identical frame 1 us later)"
    return encode(duplicate_payload(pkts)), derive("seed-exchange", exp, "duplicated", what), \
        "same as the twin (no doubled command, size unchanged); gaps 0"


@variant
def overlap_conflict():
    exp, pkts = load_twin("pipelining")
    old, new = b"RCPT TO:<kate@sample.test>\r\n", b"RCPT TO:<evil@sample.test>\r\n"
    what = ("after the client's pipelined MAIL/RCPT/RCPT/DATA segment, a retransmission "
            "of the bytes of its second RCPT line carrying another recipient "
            "(RCPT TO:<evil@sample.test>): same sequence range, different bytes")
    e = derive("pipelining", exp, "overlap-conflict", what)
    e["sessions"][0]["anomalies_include"] = ["overlap_conflict"]
    return encode(insert_conflicting_retransmission(pkts, old, new)), e, \
        "first data wins: commands, replies and recipients as the twin (kate, not evil); " \
        "anomaly `overlap_conflict`"


@variant
def one_byte_segments():
    exp, pkts = load_twin("pipelining")
    what = ("every payload re-segmented into 1-byte TCP segments (consecutive seq numbers; "
            "the peer's original cumulative ACKs kept)")
    return encode(split_every_byte(pkts)), derive("pipelining", exp, "one-byte-segments", what), \
        "same as the twin (pipelined commands, multi-line EHLO reply, body size); gaps 0"


@variant
def gap():
    exp, pkts = load_twin("pipelining")
    body = find_payload(pkts, b"This is a test mailing", client=True)
    text = pkts[body].payload
    a, b = text.index(b"is a test"), text.index(b"mailing")
    pkts, lost_client = drop_middle(pkts, body, a, b)
    ehlo = find_payload(pkts, b"250-PIPELINING", client=False)
    pkts, lost_server = drop_middle(pkts, ehlo, 45, 90)
    what = ("the client's DATA segment split in three and the middle piece (%d bytes, "
            "inside the body text, after the headers) dropped; the server's multi-line "
            "EHLO reply split in three and the middle piece (%d bytes, mid-line to "
            "mid-line) dropped; later segments and the peer's ACKs covering the dropped "
            "bytes kept" % (lost_client, lost_server))
    e = derive("pipelining", exp, "gap", what, clean=False)
    s = e["sessions"][0]
    drop_keys(s, "extensions")          # two advertised lines are partly lost
    s["gaps"] = {"client": lost_client, "server": lost_server}
    s["midstream"] = False
    s["anomalies_include"] = ["gap", "message_incomplete"]
    s["messages"][0]["size"] = None
    return encode(pkts), e, \
        "commands and reply codes as the twin; gaps exactly {client: %d, server: %d}; " \
        "anomalies `gap`, `message_incomplete`; message size null" % (lost_client, lost_server)


@variant
def vlan():
    exp, pkts = load_twin("seed-exchange-errors")
    what = "an 802.1Q tag (VLAN 100) on every frame"
    return encode(pkts, Encoder(tags=[(ETH_8021Q, 100)])), \
        derive("seed-exchange-errors", exp, "vlan", what), "same as the twin (2 sessions)"


@variant
def qinq():
    exp, pkts = load_twin("auth-login-ok")
    what = "QinQ on every frame: 802.1ad outer tag 0x88a8 (VLAN 200), 802.1Q inner (VLAN 100)"
    enc = Encoder(tags=[(ETH_8021AD, 200), (ETH_8021Q, 100)])
    return encode(pkts, enc), derive("auth-login-ok", exp, "qinq", what), \
        "same as the twin (AUTH LOGIN, user, no password printed)"


@variant
def ipv6():
    exp, pkts = load_twin("seed-exchange")
    what = ("every IPv4 packet rewritten as IPv6: 127.0.0.N -> 2001:db8::N with N in hex "
            "(127.0.0.1 -> 2001:db8::1, 127.0.0.10 -> 2001:db8::a)")
    e = derive("seed-exchange", exp, "ipv6", what)
    for s in e["sessions"]:
        s["client_ip"], s["server_ip"] = to_ipv6_addr(s["client_ip"]), to_ipv6_addr(s["server_ip"])
    return encode(to_ipv6(pkts), Encoder(ipv6=True)), e, \
        "same as the twin; client/server ip are the IPv6 addresses"


@variant
def ipv4_fragments():
    exp, pkts = load_twin("pipelining")
    what = ("every IPv4 packet with more than 60 bytes of IP payload sent as 3+ IP "
            "fragments (DF cleared, unique IDs); every second fragment set in a shuffled order")
    return encode(pkts, Encoder(fragment_over=60)), \
        derive("pipelining", exp, "ipv4-fragments", what), "same as the twin; gaps 0"


@variant
def ipv6_fragments():
    exp, pkts = load_twin("pipelining")
    what = ("the IPv6 form of the twin (127.0.0.N -> 2001:db8::N), every packet with more "
            "than 60 bytes after the IPv6 header sent as 3+ fragments (Fragment extension "
            "header); every second fragment set in a shuffled order")
    e = derive("pipelining", exp, "ipv6-fragments", what)
    for s in e["sessions"]:
        s["client_ip"], s["server_ip"] = to_ipv6_addr(s["client_ip"]), to_ipv6_addr(s["server_ip"])
    return encode(to_ipv6(pkts), Encoder(ipv6=True, fragment_over=60)), e, \
        "same as the twin; IPv6 addresses; gaps 0"


def lost_to_snaplen(recs, pkts, server_port):
    """Payload bytes cut off per side when every frame is cut to SNAPLEN."""
    lost = {"client": 0, "server": 0}
    for r, p in zip(recs, pkts):
        cut = min(len(p.payload), max(0, r.orig_len - SNAPLEN))
        lost["client" if is_client(p, server_port) else "server"] += cut
    return lost


@variant
def snaplen():
    exp, pkts = load_twin("seed-imc")
    recs = records(pkts)
    lost = lost_to_snaplen(recs, pkts, exp["sessions"][0]["server_port"])
    cut = [Record(r.ts, r.data[:SNAPLEN], r.orig_len) for r in recs]
    what = ("the twin as if captured with snaplen %d (caplen cut, original length kept): "
            "the greeting loses its last %d bytes (CRLF included), the DATA body segment "
            "its last %d (the final \".\" line included)" % (SNAPLEN, lost["server"],
                                                             lost["client"]))
    e = derive("seed-imc", exp, "snaplen", what, clean=False)
    s = e["sessions"][0]
    drop_keys(s, "messages")
    s["gaps"] = lost
    s["anomalies_include"] = ["gap"]
    # Asserted: the commands whose own packet and reply packet were captured
    # whole, up to DATA; the greeting's code is not (its line lost its end).
    s["commands"] = s["commands"][:6]
    del s["commands"][0]["code"]
    del s["commands"][0]["result"]
    s["commands_prefix"] = 6
    return pcap_bytes(cut, SNAPLEN), e, \
        "no crash, state closed; gaps exactly {client: %d, server: %d}; anomaly `gap`; the " \
        "first 6 commands (CONNECT, EHOL 500, EHLO 250, MAIL 250, RCPT 250, DATA 354; " \
        "the cut greeting's code not asserted)" % (lost["client"], lost["server"])


@variant
def cut_mid_record():
    exp, pkts = load_twin("seed-exchange-errors")
    recs = records(pkts)
    s2 = exp["sessions"][1]
    i = next(k for k, p in enumerate(pkts) if p.sport == s2["client_port"]
             and p.payload.startswith(b"RCPT TO: <kate@"))
    cut_at = record_offsets(recs)[i] + 16 + len(recs[i].data) // 2
    what = ("the pcap file cut in the middle of record %d (session 2's second RCPT, "
            "byte %d of the file)" % (i + 1, cut_at))
    e = derive("seed-exchange-errors", exp, "cut-mid-record", what, clean=False)
    e["exit_status"] = 1
    e["stderr_contains"] = ["truncated", "cut-mid-record.pcap"]
    s = e["sessions"][1]
    s["state"] = "unfinished"
    s["commands"] = [c for c in s["commands"]][:4]   # CONNECT EHLO MAIL RCPT(550)
    assert [c["cmd"] for c in s["commands"]] == ["CONNECT", "EHLO", "MAIL", "RCPT"]
    s["messages"] = [{k: s["messages"][0][k] for k in ("mail_from", "rcpt_rejected")}]
    s["messages"][0]["rcpt_to"] = []
    drop_keys(s, "queue_id")
    return pcap_bytes(recs)[:cut_at], e, \
        "exit status 1, one stderr line naming the file and saying \"truncated\"; session 1 " \
        "as the twin; session 2 `unfinished` with CONNECT, EHLO, MAIL, RCPT 550 only"


def one_sided(keep_client):
    exp, pkts = load_twin("pipelining")
    port = exp["sessions"][0]["server_port"]
    name = "client-only" if keep_client else "server-only"
    what = "every %s packet removed" % ("server->client" if keep_client else "client->server")
    e = derive("pipelining", exp, name, what, clean=False)
    s = e["sessions"][0]
    drop_keys(s, "state", "esmtp", "extensions", "queue_id", "messages")
    s["anomalies_include"] = ["only_client_side" if keep_client else "only_server_side"]
    if keep_client:
        for c in s["commands"]:
            c["code"], c["enhanced"], c["result"] = None, None, "no_reply"
    else:
        drop_keys(s, "helo", "commands")
        s["compare_commands"] = False
    return encode(one_side(pkts, port, keep_client)), e


@variant
def client_only():
    data, e = one_sided(True)
    return data, e, "every command of the twin (CONNECT included) with reply null; " \
        "anomaly `only_client_side`"


@variant
def server_only():
    data, e = one_sided(False)
    return data, e, "anomaly `only_server_side`; no claim about commands"


@variant
def midstream():
    exp, pkts = load_twin("clean-dsn")
    pkts = drop_through(pkts, b"ehlo client.sample.test")
    what = ("the first packets dropped up to and including the client's EHLO: handshake, "
            "greeting and EHLO are not in the capture; the first server data is the EHLO reply")
    e = derive("clean-dsn", exp, "midstream", what, clean=False)
    s = e["sessions"][0]
    drop_keys(s, "helo", "esmtp", "extensions")
    s["midstream"] = True
    s["compare_size"] = True            # the whole body is after the cut
    cmds = s["commands"]
    assert [c["cmd"] for c in cmds[:2]] == ["CONNECT", "EHLO"]
    orphan = dict(cmds[1], cmd="?")     # the EHLO reply, its command unseen
    orphan.pop("line", None)
    s["commands"] = [orphan] + cmds[2:]
    return encode(pkts), e, "`midstream: true`; the EHLO reply as cmd \"?\" 250, then " \
        "MAIL, RCPT, DATA, \".\", QUIT as the twin; the message as the twin"


def server_payloads(pkts, server_port):
    """Indexes of the server's packets that carry payload, in order."""
    return [i for i, p in enumerate(pkts) if not is_client(p, server_port) and p.payload]


@variant
def no_greeting():
    exp, pkts = load_twin("pipelining")
    port = exp["sessions"][0]["server_port"]
    g = server_payloads(pkts, port)[0]
    n = len(pkts[g].payload)
    # the greeting never sent: the server's later bytes (and the client's ACKs of them) move up
    out = [p if i < g else
           replace(p, seq=(p.seq - n) % 2**32) if not is_client(p, port) else
           replace(p, ack=(p.ack - n) % 2**32) if p.flags & ACK else p
           for i, p in enumerate(pkts) if i != g]
    what = ("the server's greeting removed and its later sequence numbers (and the client's "
            "ACKs) moved up by its length: a server that never greeted")
    e = derive("pipelining", exp, "no-greeting", what, clean=False)
    s = e["sessions"][0]
    c0 = s["commands"][0]
    assert c0["cmd"] == "CONNECT"
    c0.update(code=None, enhanced=None, result="no_reply", reply_text=None)
    c0.pop("reply_lines", None)
    s["gaps"] = {"client": 0, "server": 0}
    s["compare_size"] = True
    return encode(out), e, "CONNECT with no reply; EHLO gets its 250 (a 250 cannot be a " \
        "greeting) and every later pair as the twin; gaps 0"


@variant
def joined_replies():
    exp, pkts = load_twin("pipelining")
    port = exp["sessions"][0]["server_port"]
    g, h = server_payloads(pkts, port)[:2]
    a, b = pkts[g], pkts[h]
    assert (a.seq + len(a.payload)) % 2**32 == b.seq
    # one segment with the greeting and the EHLO reply, sent when the greeting was: ahead of
    # the client's EHLO in the capture, as generated traffic or two capture points show it
    joined = replace(a, payload=a.payload + b.payload, flags=b.flags)
    out = [joined if i == g else p for i, p in enumerate(pkts) if i != h]
    what = ("the server's greeting and EHLO reply joined in one segment at the greeting's "
            "time, ahead of the client's EHLO")
    e = derive("pipelining", exp, "joined-replies", what, clean=True)
    return encode(out), e, "every pair as the twin (the EHLO reply waits for the EHLO); gaps 0"


@variant
def icmp_unreachable():
    exp, pkts = load_twin("refused")
    syn = pkts[0]
    assert syn.flags == SYN and pkts[1].flags & RST
    what = ("the twin's SYN answered by ICMP destination unreachable, type 3 code 13 "
            "(communication administratively prohibited) from router %s quoting the SYN, "
            "instead of the RST" % ROUTER)
    e = derive("refused", exp, "icmp-unreachable", what, clean=False)
    e["sessions"][0]["anomalies_include"] = ["icmp_unreachable"]
    return encode([syn, icmp_unreachable_for(syn)]), e, \
        "one session, state `refused`, CONNECT with code null; anomaly `icmp_unreachable`"


@variant
def forged_resets():
    exp, pkts = load_twin("multi-message")
    first = find_payload(pkts, b"mail FROM", client=True)
    c, v = pkts[first], pkts[first - 1]  # the client's MAIL, the server's reply before it
    forged = [replace(c, ts=c.ts - 3, flags=RST, seq=(c.seq + 0x80000000) & 0xFFFFFFFF, ack=0,
                      win=0, opts=b"", payload=b""),
              replace(v, ts=c.ts - 2, flags=RST | ACK, seq=(v.seq - 0x100000) & 0xFFFFFFFF,
                      win=0, opts=b"", payload=b""),
              replace(c, ts=c.ts - 1, flags=FIN | ACK, seq=(c.seq - 0x100000) & 0xFFFFFFFF,
                      opts=b"", payload=b"")]
    what = ("before the client's first MAIL, a RST from each side and a FIN from the client, "
            "their sequence numbers far outside the receive window (a blind forgery)")
    return encode(pkts[:first] + forged + pkts[first:]), \
        derive("multi-message", exp, "forged-resets", what), \
        "same as the twin: both messages, the session closed by its own FINs " \
        "(RFC 5961 3: out-of-window RST and FIN ignored, counted in ignored_resets/ignored_fins)"


# ----------------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------------

README_HEAD = """# Edge-case captures

Made by `python3 samples/make-edge-cases.py` (deterministic; no network) from the clean
samples one folder up: each `NAME.pcap` is a clean twin transformed on the wire, each
`NAME.expected.json` is the twin's expected file (truth from the client transcript and the
server's log) adjusted by what the transformation does, never smtpscope's output. The extra
keys (`gaps`, `gaps_min`, `midstream`, `anomalies_include`, `compare_commands`,
`commands_prefix`, `compare_size`, `exit_status`, `stderr_contains`) are explained in the
docstring of `tests/e2e_samples.py`, which checks them: `python3 tests/e2e_samples.py
--samples samples/edge`.

| file | twin | transformation | what must hold |
|---|---|---|---|
"""


def write(out_dir, name, data, exp):
    with open(os.path.join(out_dir, name + ".pcap"), "wb") as f:
        f.write(data)
    with open(os.path.join(out_dir, name + ".expected.json"), "w") as f:
        json.dump(exp, f, indent=2)
        f.write("\n")
    return len(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "edge"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for fn in VARIANTS:
        name = fn.__name__.replace("_", "-")
        data, exp, holds = fn()
        size = write(args.out, name, data, exp)
        rows.append("| `%s.pcap` (%d B) | %s | %s | %s |" % (
            name, size, exp["twin"], exp["transformation"], holds))
        print("make-edge-cases: %-22s %6d bytes" % (name + ".pcap", size))
    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write(README_HEAD + "\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
