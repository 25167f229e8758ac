#!/usr/bin/env python3
"""--audit's judging findings (issue 18 point 5), on samples/audit and on the clean captures.

1. Each samples/audit/NAME.pcap (made by samples/make-audit-samples.sh with Postfix, swaks and
   smtplib) is run as
       BIN -r CAPTURE -o json --audit --local-nets NETS --local-domains DOMAINS
   with the NETS and DOMAINS its NAME.expected.json gives ("audit": "local_nets",
   "local_domains"); the expected file lists every host of the capture (ip, role, zone) and
   the judging findings it must carry, derived from the clients' transcripts and checked
   against Postfix's own log by the script, never from smtpscope.  For every host record
   ("type": "host"): its zone is the expected one, each expected finding is there with its
   count and a non-empty "says" and "next", and no other judging id (IDS below) is there; every
   expected host has a record.  The same capture is then run with --local-nets alone, and with
   neither option: a finding that needs an option it was not given must be absent
   (open_relay and spoofed_sender need both, direct_to_mx and no_starttls --local-nets), the
   others must stay as they were, and without --local-nets every zone is null.  The audit
   captures together must expect every judging id at least once.

2. Every clean capture (samples/*.pcap, samples/trust/, samples/keylog/ without its key logs,
   samples/edge/) is run with
       --local-nets 127.0.0.0/24,2001:db8::/120 --local-domains sample.test
   Why these: every one of those captures was made on one machine's loopback, by its own
   servers (Postfix on 127.0.0.1, the seed server on 127.0.0.10, the trust server on 127.0.0.11,
   the refused and unanswered addresses 127.0.0.3/4) and its own clients (127.0.0.1, and
   127.0.0.2 for relay-denied): all of it is "ours", and the edge IPv6 copies map 127.0.0.N to
   2001:db8::N, inside 2001:db8::/120.  sample.test is the domain that Postfix instance
   serves (mydestination sample.test, mx.sample.test).  Make-samples.sh's own mynetworks
   (127.0.0.1/32) would not do: relay-denied's client 127.0.0.2 would be an outside client
   sending MAIL FROM alice@sample.test without AUTH (spoofed_sender, rightly), and 127.0.0.1's
   sessions with the seed and trust servers on port 25 would be direct_to_mx; those captures
   show no such thing by intent, only because the net would be drawn wrong.
   No judging id may fire, but for one that the capture's own expected file (the client's
   transcript) calls for: no_starttls on a server of ours that answered EHLO 250 without
   STARTTLS in its list in a session that never used TLS (STARTTLS or implicit; the seed and trust
   servers offer none), with the count of such sessions.  Where the expected file cannot say
   what the wire shows of the EHLO reply (edge: a gap on the server side, a capture that starts
   midstream or lacks one side), no_starttls on that server is not checked either way.

One line per capture with its figures; exit status 1 on any failure, also when the binary does
not know --local-nets or --local-domains.
usage: python3 tests/audit_flags_check.py [--bin build/smtpscope]
"""
import argparse
import glob
import ipaddress
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(REPO, "samples")
IDS = ("open_relay", "relay_attempts", "password_guessing", "login_failures", "harvesting",
       "direct_to_mx", "spoofed_sender", "no_starttls", "ehlo_mismatch")
NEEDS = {"open_relay": ("nets", "domains"), "spoofed_sender": ("nets", "domains"),
         "direct_to_mx": ("nets",), "no_starttls": ("nets",)}
CLEAN_NETS = "127.0.0.0/24,2001:db8::/120"
CLEAN_DOMAINS = "sample.test"


def run(binary, pcap, args):
    cmd = [binary, "-r", pcap, "-o", "json", "--audit"] + args
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if p.returncode not in (0, 1):
        raise RuntimeError("`%s` exits %d: %s" % (" ".join(cmd[1:]), p.returncode,
                                                   p.stderr.decode(errors="replace")[:300].strip()))
    recs = [json.loads(l) for l in p.stdout.decode("utf-8", "surrogateescape").splitlines()
            if l.strip()]
    return [r for r in recs if r.get("type") == "host"]


def judged(host):
    """{id: count} of the judging findings of one host record."""
    out = {}
    for f in host.get("findings") or []:
        if f.get("id") in IDS:
            out[f["id"]] = f.get("count")
    return out


def check_findings(where, hosts, want, zones):
    """want: {(role, ip): {id: count}}; zones: {(role, ip): zone} or None (every zone null)."""
    errs = []
    seen = set()
    for h in hosts:
        key = (h.get("role"), h.get("ip"))
        seen.add(key)
        if "findings" not in h or "zone" not in h:
            errs.append("%s: %s %s: no \"findings\" or \"zone\" in the host record" % (where, *key))
            continue
        z = None if zones is None else zones.get(key, "?")
        if z != "?" and h["zone"] != z:
            errs.append("%s: %s %s: zone %r, expected %r" % (where, *key, h["zone"], z))
        got, exp = judged(h), want.get(key, {})
        if got != exp:
            errs.append("%s: %s %s: judging findings %s, expected %s" % (
                where, *key, json.dumps(got, sort_keys=True), json.dumps(exp, sort_keys=True)))
        for f in h["findings"]:
            if f.get("id") in IDS and not (isinstance(f.get("says"), str) and f["says"].strip()
                                           and isinstance(f.get("next"), str) and f["next"].strip()):
                errs.append("%s: %s %s: finding %s without a \"says\" or \"next\" text" % (
                    where, *key, f.get("id")))
    for key in want:
        if key not in seen:
            errs.append("%s: no host record for %s %s" % (where, *key))
    return errs


def fmt(want):
    return ", ".join("%s %s %s" % (k[0], k[1], " ".join("%s %d" % kv for kv in sorted(v.items())))
                     for k, v in sorted(want.items())) or "no judging finding"


def audit_captures(binary):
    failed, covered = 0, set()
    exps = sorted(glob.glob(os.path.join(SAMPLES, "audit", "*.expected.json")))
    if not exps:
        print("FAIL samples/audit: no expected files")
        return 1
    for exp in exps:
        e = json.load(open(exp))
        name = e["sample"]
        pcap = exp[:-len(".expected.json")] + ".pcap"
        a = e["audit"]
        want = {(h["role"], h["ip"]): {f["id"]: f["count"] for f in h["findings"]}
                for h in a["hosts"]}
        want = {k: v for k, v in want.items() if v}
        zones = {(h["role"], h["ip"]): h["zone"] for h in a["hosts"]}
        for v in want.values():
            covered.update(v)
        runs = [("all", ["--local-nets", a["local_nets"], "--local-domains", a["local_domains"]],
                 {"nets", "domains"}),
                ("nets only", ["--local-nets", a["local_nets"]], {"nets"}),
                ("no options", [], set())]
        errs = []
        for label, args, given in runs:
            w = {}
            for key, f in want.items():
                kept = {i: n for i, n in f.items() if set(NEEDS.get(i, ())) <= given}
                if kept:
                    w[key] = kept
            try:
                hosts = run(binary, pcap, args)
                errs += check_findings("%s (%s)" % (name, label), hosts, w,
                                       zones if "nets" in given else None)
            except (RuntimeError, ValueError, subprocess.TimeoutExpired) as ex:
                errs.append(str(ex))
        if errs:
            failed += 1
            print("FAIL %s: %s" % (name, "; ".join(errs[:4])))
        else:
            print("ok   %s: %d hosts; %s; 3 runs (all options, --local-nets only, none)" % (
                name, len(a["hosts"]), fmt(want)))
    missing = [i for i in IDS if i not in covered]
    if missing:
        failed += 1
        print("FAIL samples/audit: no capture expects %s" % ", ".join(missing))
    return failed


def clean_captures():
    found = []
    for d in ("", "trust", "keylog", "edge"):
        for ext in ("pcap", "pcapng"):
            found += sorted(glob.glob(os.path.join(SAMPLES, d, "*." + ext)))
    return found


def server_side_unknown(s):
    """The expected file does not say what the capture shows of the server's EHLO reply."""
    gaps = s.get("gaps") or {}
    anomalies = s.get("anomalies_include") or []
    if gaps.get("server") or s.get("midstream") or "only_client_side" in anomalies or \
            "only_server_side" in anomalies:
        return True
    return any(c["cmd"] == "EHLO" and c.get("code") == 250 and not c.get("reply_lines")
               for c in s.get("commands", []))


def clean_expectation(exp_path, nets):
    """({("server", ip): {"no_starttls": n}}, {servers not checked}) from an expected file."""
    want, unknown = {}, set()
    if not os.path.exists(exp_path):
        return None, None
    e = json.load(open(exp_path))
    local = lambda ip: any(ipaddress.ip_address(ip) in n for n in nets)
    for s in e.get("sessions", []):
        key = ("server", s["server_ip"])
        if not local(s["server_ip"]):
            continue
        if server_side_unknown(s):
            unknown.add(key)
            continue
        ehlo = [c for c in s.get("commands", []) if c["cmd"] == "EHLO" and c.get("code") == 250]
        offered = any(l[4:].split(" ")[0].upper() == "STARTTLS"
                      for c in ehlo for l in c["reply_lines"][1:])
        if ehlo and not offered and not s.get("starttls") and not s.get("tls"):
            want.setdefault(key, {"no_starttls": 0})["no_starttls"] += 1
    return want, unknown


def clean_run(binary):
    nets = [ipaddress.ip_network(n) for n in CLEAN_NETS.split(",")]
    failed = 0
    for pcap in clean_captures():
        name = os.path.relpath(pcap, SAMPLES)
        exp = pcap.rsplit(".", 1)[0] + ".expected.json"
        want, unknown = clean_expectation(exp, nets)
        if want is None:
            want, unknown = {}, set()
        try:
            hosts = run(binary, pcap, ["--local-nets", CLEAN_NETS, "--local-domains", CLEAN_DOMAINS])
            for h in hosts:       # no_starttls on a server the expected file cannot speak for
                if (h.get("role"), h.get("ip")) in unknown and isinstance(h.get("findings"), list):
                    h["findings"] = [f for f in h["findings"] if f.get("id") != "no_starttls"]
                    want.pop((h["role"], h["ip"]), None)
            zones = {(h.get("role"), h.get("ip")): "local" if any(
                ipaddress.ip_address(h.get("ip")) in n for n in nets) else "outside" for h in hosts}
            errs = check_findings(name, hosts, want, zones)
        except (RuntimeError, ValueError, KeyError, subprocess.TimeoutExpired) as ex:
            errs = [str(ex)]
        if errs:
            failed += 1
            print("FAIL clean %s: %s" % (name, "; ".join(errs[:4])))
        else:
            print("ok   clean %s: %d hosts; %s%s" % (
                name, len(hosts), fmt(want) if want else "no judging finding",
                " (no_starttls not checked on %s)" % ", ".join(ip for _, ip in sorted(unknown))
                if unknown else ""))
    return failed, len(clean_captures())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "smtpscope"))
    args = ap.parse_args()
    n_audit = len(glob.glob(os.path.join(SAMPLES, "audit", "*.expected.json")))
    failed = audit_captures(args.bin)
    f2, n_clean = clean_run(args.bin)
    failed += f2
    print("audit flags: %d audit captures (3 runs each), %d clean captures; %d failed"
          % (n_audit, n_clean, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
