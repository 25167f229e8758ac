#!/usr/bin/env python3
"""--audit's greetings and cut values (issue 16 item 7), over every sample capture.

For each samples/*.pcap(ng), samples/edge/, samples/trust/ and samples/keylog/ capture, one run
of `BIN -r CAPTURE -o json --audit` gives the sessions and the host records; then:

  - a server's `banners` hold only the first line of a 220 greeting that server sent (never
    a 554 or 421 that refused the session), and `reject_greeting` the code and first line of
    a greeting of 400 or more, or null when it sent none;
  - a value longer than the audit keeps (63 bytes) is cut before a whole character and ends
    in "…"; a shorter one is whole;
  - the text table (`BIN -r CAPTURE --audit -q`) shows each banner and reject greeting as the
    JSON has it (the ellipsis included), on the "banner:" and "greeting refused:" lines.

samples/trust/greeting-554 (made by samples/make-trust.sh) must be among them: its server
refuses one session with a 554 and greets another with an 88-character 220; what it sent is
read from that sample's expected file (the client's transcript), not from smtpscope.
Then issue 18 point 2 (the audit-only output), on every capture above and on one made here
(audit-mix.pcap: four hosts, a server on 587, refusals with their knock-on replies, a failed
AUTH; what each session carries is written below, never read from smtpscope):

  - `--audit` writes the host report alone: its first line is the headline, whose counts of
    servers, clients, flagged hosts and sessions are those of the JSON host records and the
    summary; no transcript ("Session N") unless `--transcripts` is given;
  - the host records come flags first, then failures, then sessions (the default order);
  - top_failures are by count, knock-on replies (a 503 after a refusal, RCPT or DATA after MAIL
    was refused, DATA with no accepted RCPT) counted in knock_on, not as failures;
  - each host has its server ports; the text table shows them with first/last seen, the
    no-greet and auth-fail columns and what its counts count;
  - `-o csv --audit` writes a header and one row per host on stdout, and no session rows.
Exit status 1 on any failure.
usage: python3 tests/audit_check.py [--bin build/smtpscope]
"""
import argparse
import csv
import glob
import io
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEEP = 64  # report/audit.c NAME_LEN: 63 bytes and the NUL


def kept(text):
    """What the audit keeps of text: whole, or cut to 63 bytes before a whole character
    plus the ellipsis."""
    b = text.encode("utf-8", "surrogateescape")
    if len(b) < KEEP:
        return text
    k = KEEP - 1
    while k and (b[k] & 0xC0) == 0x80:
        k -= 1
    return b[:k].decode("utf-8", "surrogateescape") + "…"


def run(binary, pcap, args):
    p = subprocess.run([binary, "-r", pcap] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    if p.returncode not in (0, 1):
        raise RuntimeError("%s: exit status %d: %s" % (pcap, p.returncode, p.stderr[:300]))
    return p.stdout.decode("utf-8", "surrogateescape")


def greetings(sessions):
    """{server ip: ([220 first lines], [code + first line of 4xx/5xx])} from the sessions."""
    out = {}
    for s in sessions:
        c = (s.get("commands") or [{}])[0]
        r = c.get("reply") if c.get("cmd") == "CONNECT" else None
        if not r:
            continue
        good, bad = out.setdefault(s["server"]["ip"], ([], []))
        line = r["text"].split("\n")[0]
        if r["code"] == 220:
            good.append(line)
        elif r["code"] >= 400:
            bad.append("%d %s" % (r["code"], line))
    return out


def check_hosts(records):
    errs = []
    sessions = [r for r in records if r["type"] == "session"]
    seen = greetings(sessions)
    for h in (r for r in records if r["type"] == "host" and r["role"] == "server"):
        good, bad = seen.get(h["ip"], ([], []))
        for b in h.get("banners", []):
            if b not in [kept(g) for g in good]:
                errs.append("server %s: banner %r is not a 220 greeting it sent (220: %r, "
                            "refusals: %r)" % (h["ip"], b, good, bad))
        if good and not h.get("banners"):
            errs.append("server %s: no banner, but it greeted with %r" % (h["ip"], good[0]))
        rg = h.get("reject_greeting")
        if rg is None and bad:
            errs.append("server %s: reject_greeting null, but it sent %r" % (h["ip"], bad[0]))
        elif rg is not None and rg not in [kept(g) for g in bad]:
            errs.append("server %s: reject_greeting %r is not a refusal it sent (%r)" % (
                h["ip"], rg, bad))
    return errs


def check_text(text, records):
    """The text table's banner and reject lines are the JSON values, as shown there."""
    errs = []
    want = []
    for h in records:
        if h["type"] == "host" and h["role"] == "server":
            if h.get("banners"):
                want.append("         banner: " + ", ".join(h["banners"]))
            if h.get("reject_greeting"):
                want.append("         greeting refused: " + h["reject_greeting"])
    lines = text.split("\n")
    for w in want:
        printable = all(ch.isprintable() for ch in w)
        if printable and w not in lines:
            errs.append("text: no line %r" % w)
    return errs


def check_greeting_554(binary):
    """The sample made for item 7: what its server sent, from the client's transcript."""
    base = os.path.join(REPO, "samples", "trust", "greeting-554")
    with open(base + ".expected.json") as f:
        exp = json.load(f)
    sent = [s["commands"][0]["reply_lines"][0] for s in exp["sessions"]]
    refused = [l for l in sent if l.startswith("554 ")]
    greeted = [l[4:] for l in sent if l.startswith("220 ")]
    if not refused or not greeted or len(greeted[0].encode()) < KEEP:
        return ["greeting-554: the sample lost its 554 or its long 220 greeting"]
    records = [json.loads(l) for l in run(binary, base + ".pcap", ["-o", "json", "--audit"]).splitlines()]
    server = [r for r in records if r["type"] == "host" and r["role"] == "server"]
    errs = []
    if len(server) != 1:
        return ["greeting-554: %d server hosts, expected 1" % len(server)]
    if server[0].get("banners") != [kept(greeted[0])]:
        errs.append("greeting-554: banners %r, expected [%r]" % (server[0].get("banners"),
                                                                  kept(greeted[0])))
    if server[0].get("reject_greeting") != kept(refused[0]):
        errs.append("greeting-554: reject_greeting %r, expected %r" % (
            server[0].get("reject_greeting"), kept(refused[0])))
    text = run(binary, base + ".pcap", ["--audit", "-q"])
    for line in ("         banner: " + kept(greeted[0]),
                 "         greeting refused: " + kept(refused[0])):
        if line not in text.split("\n"):
            errs.append("greeting-554: the table lacks %r" % line)
    return errs


# --- audit-mix.pcap: Ethernet/IPv4/TCP, written here -------------------------------------

def ip_checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, sport, dst, dport, seq, ack, flags, data=b""):
    sa, da = bytes(map(int, src.split("."))), bytes(map(int, dst.split(".")))
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
    pseudo = sa + da + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", ip_checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, sa, da)
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + tcp


def tcp_session(out, t, client, cport, server, sport, talk):
    """talk: (True for the server, bytes), in order; a handshake first, FINs last."""
    SYN, FIN, PSH, ACK = 0x02, 0x01, 0x08, 0x10
    seq = {True: 5000, False: 1000}
    ends = {False: (client, cport, server, sport), True: (server, sport, client, cport)}

    def send(srv, flags, data=b""):
        nonlocal t
        t += 0.01
        out.append((t, frame(*ends[srv], seq[srv], seq[not srv] if flags != SYN else 0, flags, data)))
        seq[srv] += len(data) + (1 if flags & (SYN | FIN) else 0)

    send(False, SYN)
    send(True, SYN | ACK)
    send(False, ACK)
    for srv, data in talk:
        send(srv, PSH | ACK, data)
        send(not srv, ACK)
    send(False, FIN | ACK)
    send(True, FIN | ACK)
    send(False, ACK)
    return t


# One session: (client, server, server port, EHLO name, steps); a step is (command, reply,
# knock-on?); DATA's 354 is followed by a message and its reply, as (".", reply, False).
A, B, C1, C2 = "10.0.0.1", "10.0.0.3", "10.0.0.2", "10.0.0.4"
MESSAGE = b"Subject: t\r\n\r\nhello\r\n.\r\n"
DELIVER = [("MAIL FROM:<a@c.test>", "250 2.1.0 Ok", False), ("RCPT TO:<b@s.test>", "250 2.1.5 Ok", False),
           ("DATA", "354 End data with <CR><LF>.<CR><LF>", False), (".", "250 2.0.0 Ok: queued as 1A2B", False)]
MIX = [
    (C1, A, 587, "PC01", [("MAIL FROM:<x@a.test>", "550 5.7.1 Sender rejected", False),
                          ("RCPT TO:<y@b.test>", "503 5.5.1 Error: need MAIL command", True),
                          ("DATA", "503 5.5.1 Error: need RCPT command", True)]),
    (C1, A, 587, "PC01", [("MAIL FROM:<x@a.test>", "250 2.1.0 Ok", False),
                          ("RCPT TO:<u1@b.test>", "550 5.1.1 User unknown", False),
                          ("RCPT TO:<u2@b.test>", "550 5.1.1 User unknown", False),
                          ("RCPT TO:<u3@b.test>", "550 5.1.1 User unknown", False),
                          ("DATA", "554 5.5.1 Error: no valid recipients", True)]),
    (C1, A, 587, "PC01", [("AUTH PLAIN AGFAYg==", "535 5.7.8 Authentication failed", False)]),
    (C1, B, 25, "PC01", DELIVER),
] + [(C2, B, 25, "c2.client.test", DELIVER)] * 3
# Hosts in the default order: C1 (EHLO not a host name, AUTH in cleartext), A (cleartext),
# then B and C2 (no flags, no failures) by sessions.
MIX_ORDER = [(C1, "client"), (A, "server"), (B, "server"), (C2, "client")]


def write_mix(path):
    pkts, t = [], 1767225600.0
    for n, (client, server, port, ehlo, steps) in enumerate(MIX):
        talk = [(True, b"220 mx ESMTP\r\n"), (False, b"EHLO %s\r\n" % ehlo.encode()),
                (True, b"250-mx\r\n250 PIPELINING\r\n")]
        for cmd, reply, _ in steps:
            talk.append((False, MESSAGE if cmd == "." else cmd.encode() + b"\r\n"))
            talk.append((True, reply.encode() + b"\r\n"))
        talk += [(False, b"QUIT\r\n"), (True, b"221 2.0.0 Bye\r\n")]
        t = tcp_session(pkts, t + 1, client, 40000 + n, server, port, talk)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, fr in pkts:
            f.write(struct.pack("<IIII", int(ts), int(round(ts % 1 * 1e6)), len(fr), len(fr)))
            f.write(fr)


def mix_truth():
    """{(ip, role): (ports, {reply: count}, knock_on)} from MIX."""
    out = {}
    for client, server, port, _, steps in MIX:
        for key in ((client, "client"), (server, "server")):
            ports, fails, knock = out.setdefault(key, ([], {}, [0]))
            if port not in ports:
                ports.append(port)
            for cmd, reply, knock_on in steps:
                if int(reply[:3]) < 400:
                    continue
                if knock_on:
                    knock[0] += 1
                    continue
                r = "%s %s after %s" % (reply[:3], reply.split()[1], cmd.split()[0].split(":")[0])
                fails[r] = fails.get(r, 0) + 1
    return out


def fail_key(h):
    """report/audit.c key_failures: what --audit-sort failures and the default sort count."""
    m, a = h["messages"], h["attempts"]
    return m["deferred"] + m["rejected"] + a["refused"] + a["no_answer"] + a["no_greeting"] + \
        h["auth"]["failed"]


def check_order(records):
    """The host records come flags first, then failures, then sessions (largest first)."""
    hosts = [r for r in records if r["type"] == "host"]
    keys = [(len(h["flags"]), fail_key(h), h["sessions"]) for h in hosts]
    for i in range(1, len(keys)):
        if keys[i] > keys[i - 1]:
            return ["order: host %s %s (flags, failures, sessions %r) after %s %s (%r)" % (
                hosts[i]["role"], hosts[i]["ip"], keys[i], hosts[i - 1]["role"],
                hosts[i - 1]["ip"], keys[i - 1])]
    return []


HEADLINE = re.compile(r"^Audit: ([\d,]+) servers?, ([\d,]+) clients?; ([\d,]+) hosts? flagged; "
                      r"([\d,]+) sessions?; messages: ")


def check_headline(text, records):
    """--audit alone: the headline first, its counts those of the records; no transcript."""
    lines = text.split("\n")
    m = HEADLINE.match(lines[0])
    if not m:
        return ["text: the first line is not the headline: %r" % lines[0][:100]]
    hosts = [r for r in records if r["type"] == "host"]
    summary = [r for r in records if r["type"] == "summary"][0]
    want = (sum(h["role"] == "server" for h in hosts), sum(h["role"] == "client" for h in hosts),
            sum(bool(h["flags"]) for h in hosts),
            summary["sessions"] - summary.get("unaudited_sessions", 0))
    got = tuple(int(g.replace(",", "")) for g in m.groups())
    errs = [] if got == want else ["headline %r: expected servers, clients, flagged, sessions %r"
                                    % (lines[0], want)]
    if any(re.match(r"Session \d+ ", l) for l in lines):
        errs.append("text: --audit still writes transcripts")
    return errs


def row_of(lines, role, ip):
    for i, l in enumerate(lines):
        f = l.split()
        if len(f) > 11 and f[0] == role and f[1] == ip:
            return i, f
    return None, None


def check_mix_json(records):
    errs = []
    truth = mix_truth()
    hosts = [r for r in records if r["type"] == "host"]
    order = [(h["ip"], h["role"]) for h in hosts]
    if order != MIX_ORDER:
        errs.append("mix: host order %r, expected %r" % (order, MIX_ORDER))
    for h in hosts:
        ports, fails, knock = truth[(h["ip"], h["role"])]
        want = sorted(fails.items(), key=lambda kv: -kv[1])  # stable: first seen first
        got = [(f["reply"], f["count"]) for f in h.get("top_failures", [])]
        if got != want:
            errs.append("mix %s %s: top_failures %r, expected %r" % (h["role"], h["ip"], got, want))
        if h.get("knock_on") != knock[0]:
            errs.append("mix %s %s: knock_on %r, expected %d" % (h["role"], h["ip"],
                                                                   h.get("knock_on"), knock[0]))
        if h.get("ports") != ports:
            errs.append("mix %s %s: ports %r, expected %r" % (h["role"], h["ip"], h.get("ports"), ports))
    return errs


def check_mix_text(binary, pcap, records, extra):
    errs = []
    text = run(binary, pcap, ["--audit", "-q"] + extra)
    lines = text.split("\n")
    if not any("no-greet" in l and "auth-fail" in l and "unanswered" in l for l in lines):
        errs.append("mix text: no header with no-greet and auth-fail columns")
    if not any("its messages" in l for l in lines) or not any("the host's sessions" in l for l in lines):
        errs.append("mix text: the table does not say what delivered and sessions count")
    truth = mix_truth()
    for h in (r for r in records if r["type"] == "host"):
        i, f = row_of(lines, h["role"], h["ip"])
        if i is None:
            errs.append("mix text: no row for %s %s" % (h["role"], h["ip"]))
            continue
        if f[9:11] != [str(h["attempts"]["no_greeting"]), str(h["auth"]["failed"])]:
            errs.append("mix text: %s %s no-greet, auth-fail %r" % (h["role"], h["ip"], f[9:11]))
        ports = truth[(h["ip"], h["role"])][0]
        seen = "         %s %s; seen %s to %s" % ("ports" if len(ports) > 1 else "port",
                                                   ", ".join(map(str, ports)), h["first_seen"],
                                                   h["last_seen"])
        if lines[i + 1] != seen:
            errs.append("mix text: %s %s: %r, expected %r" % (h["role"], h["ip"], lines[i + 1], seen))
    want = ("         failures: 550 5.1.1 after RCPT (3), 550 5.7.1 after MAIL (1), 535 5.7.8 after "
            "AUTH (1); 3 knock-on (after an earlier refusal)")
    if want not in lines:
        errs.append("mix text: no line %r" % want)
    return errs


CSV_COLUMNS = ["role", "ip", "ports", "sessions", "peers", "delivered", "deferred", "rejected",
               "refused", "no_answer", "no_greeting", "tls_used", "tls_offered_unused",
               "tls_failed", "auth_used", "auth_cleartext", "auth_failed", "failures",
               "knock_on", "first_seen", "last_seen", "names", "top_failures", "flags", "zone",
               "bytes_sent", "bytes_received", "auth_failed_attempts", "top_peers", "flag_ids"]


def check_csv(binary, pcap, records, extra=()):
    """-o csv --audit: the header, then a row per host as the JSON records have it."""
    out = run(binary, pcap, ["-o", "csv", "--audit", "-q"] + list(extra))
    rows = list(csv.reader(io.StringIO(out, newline="")))
    if not rows or rows[0] != CSV_COLUMNS:
        return ["csv: header %r" % (rows[:1],)]
    hosts = [r for r in records if r["type"] == "host"]
    errs = []
    if len(rows) - 1 != len(hosts):
        errs.append("csv: %d rows, %d hosts" % (len(rows) - 1, len(hosts)))
    for row, h in zip(rows[1:], hosts):
        d = dict(zip(CSV_COLUMNS, row))
        want = {"role": h["role"], "ip": h["ip"], "sessions": str(h["sessions"]),
                "ports": " ".join(map(str, h["ports"])), "knock_on": str(h["knock_on"]),
                "delivered": str(h["messages"]["delivered"]),
                "auth_failed": str(h["auth"]["failed"]),
                "first_seen": h["first_seen"], "last_seen": h["last_seen"],
                "flags": " / ".join(h["flags"]), "zone": h["zone"] or "",
                "bytes_sent": str(h["bytes"]["sent"]),
                "auth_failed_attempts": str(h["auth"]["failed_attempts"]),
                "flag_ids": " ".join(f["id"] for f in h["findings"])}
        diff = {k: (d.get(k), v) for k, v in want.items() if d.get(k) != v}
        if diff:
            errs.append("csv %s %s: %r" % (h["role"], h["ip"], diff))
    if "session_id" in out:
        errs.append("csv: session rows written with --audit")
    return errs


def guarded(check, *args):
    """One check's failures, or what stopped it (an old binary refuses an option)."""
    try:
        return check(*args)
    except (RuntimeError, ValueError, KeyError, IndexError, subprocess.TimeoutExpired) as e:
        return ["%s: %s" % (check.__name__, str(e)[:200])]


def check_transcripts(binary, pcap, extra):
    errs = []
    full = run(binary, pcap, ["--audit", "--transcripts", "-q"] + extra)
    if not re.search(r"^Session 1 ", full, re.M) or not re.search(r"^Audit: ", full, re.M):
        errs.append("text: --audit --transcripts lacks the transcripts or the headline")
    both = run(binary, pcap, ["-o", "csv", "--audit", "--transcripts", "-q"] + extra)
    if not both.startswith("session_id,"):
        errs.append("csv --audit --transcripts: no session rows")
    return errs


def check_mix(binary):
    with tempfile.TemporaryDirectory() as tmp:
        pcap = os.path.join(tmp, "audit-mix.pcap")
        write_mix(pcap)
        ports = ["-p", "25,587"]
        records = [json.loads(l) for l in
                   run(binary, pcap, ["-o", "json", "--audit"] + ports).splitlines()]
        errs = guarded(check_mix_json, records)
        errs += guarded(check_mix_text, binary, pcap, records, ports)
        errs += guarded(check_csv, binary, pcap, records, ports)
        errs += guarded(lambda: check_headline(run(binary, pcap, ["--audit", "-q"] + ports), records))
        errs += guarded(check_transcripts, binary, pcap, ports)
    return errs

def samples():
    found = []
    for d in ("", "edge", "trust", "keylog"):
        for ext in ("pcap", "pcapng"):
            found += sorted(glob.glob(os.path.join(REPO, "samples", d, "*." + ext)))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "smtpscope"))
    args = ap.parse_args()
    failed = 0
    for pcap in samples():
        name = os.path.relpath(pcap, os.path.join(REPO, "samples"))
        try:
            out = run(args.bin, pcap, ["-o", "json", "--audit"])
            records = [json.loads(l) for l in out.splitlines() if l.strip()]
            text = run(args.bin, pcap, ["--audit", "-q"])
            errs = check_hosts(records)
            errs += check_text(text, records)
            errs += check_headline(text, records)
            errs += check_order(records)
            errs += check_csv(args.bin, pcap, records)
        except (RuntimeError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
            errs = [str(e)]
        if errs:
            failed += 1
            print("FAIL %s: %s" % (name, "; ".join(errs[:4])))
    errs = check_greeting_554(args.bin)
    for e in errs:
        print("FAIL " + e)
    failed += bool(errs)
    errs = check_mix(args.bin)
    for e in errs:
        print("FAIL audit-mix: " + e)
    failed += bool(errs)
    n = len(samples())
    print("audit: %d captures, banners, reject greetings, headline, order and host CSV checked; "
          "%d failed" % (n + 2, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
