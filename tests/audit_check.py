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
Exit status 1 on any failure.
usage: python3 tests/audit_check.py [--bin build/smtpscope]
"""
import argparse
import glob
import json
import os
import subprocess
import sys

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
            errs = check_hosts(records)
            errs += check_text(run(args.bin, pcap, ["--audit", "-q"]), records)
        except (RuntimeError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
            errs = [str(e)]
        if errs:
            failed += 1
            print("FAIL %s: %s" % (name, "; ".join(errs[:4])))
    errs = check_greeting_554(args.bin)
    for e in errs:
        print("FAIL " + e)
    failed += bool(errs)
    n = len(samples())
    print("audit: %d captures, banners and reject greetings checked; %d failed" % (n + 1, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
