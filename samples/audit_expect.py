#!/usr/bin/python3
"""The expected judging findings of one samples/audit capture (issue 18 point 5).

  audit_expect.py judge --expected NAME.expected.json --pcap NAME.pcap
                        --local-nets CIDR[,CIDR...] --local-domains DOMAIN[,DOMAIN...]
                        --postfix-log LOG --log-offset BYTES --services NAME=IP:PORT[,...]
                        [--want "ROLE IP ID COUNT"]... [--notls SYSLOG_NAME]...

NAME.expected.json is what expect.py made from the clients' transcripts (and checked against
Postfix's log and the wire).  This step:

  1. applies the rules of --audit's judging findings (the contract below) to those sessions,
     i.e. to what the clients sent and the replies they got;
  2. compares the result with --want, what the script set out to do (every host and finding
     not named there must have none);
  3. counts the same things in Postfix's own log, per client and per server (each smtpd
     service has its own syslog_name, --services maps it to its address):
       "SASL ... authentication failed" lines, "reject: RCPT ... Relay access denied",
       "reject: RCPT ... User unknown", the recipients (to=) and senders (from=) of the queued
       messages with their client= line (sasl_username when AUTH succeeded), the HELO
       arguments (an INFO access rule logs each one), and the "connect from" lines;
  4. checks the capture lasts less than 10 minutes (tshark), so every "10 within 10 minutes"
     is the total;
  5. adds "audit" to NAME.expected.json: the options, and every host (ip, role, zone) with
     its expected findings [{"id", "count"}].
Any disagreement: a message on stderr, exit status 1.  smtpscope is never run.

THE RULES (the contract of --audit's judging findings):
  open_relay      local server: RCPTs answered 2xx for a domain that is not local (a bare
                  postmaster and a literal of the server's address are local), from a client
                  outside the local nets, in a session without successful AUTH (both options)
  relay_attempts  client: RCPTs refused "Relay access denied"; fires at 3
  password_guessing  client: failed AUTH exchanges (final reply 535), all sessions;
                  fires at 10 within 10 minutes
  login_failures  server: the same, refused by it, from any client; fires at 10 in 10 minutes
  harvesting      client: RCPTs refused 550 5.1.1 / user unknown; fires at 10 in 10 minutes
                  when they are half its answered RCPTs or more, and it is not a local
                  client also seen as a server (a relay passing on what it was sent)
  direct_to_mx    local client never seen as a server: distinct outside servers it opened a
                  session with on port 25 without logging in (needs --local-nets)
  spoofed_sender  outside client: MAIL FROM in a local domain to a local server, session
                  without successful AUTH
                  (both options)
  no_starttls     local server: sessions where it answered EHLO 250 and never listed STARTTLS
                  (nor was STARTTLS used) (needs --local-nets)
  ehlo_mismatch   client: sessions with a HELO/EHLO address literal that is not its address
A local domain matches itself and its subdomains, case-insensitively.
"""
import argparse
import ipaddress
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict

IDS = ("open_relay", "relay_attempts", "password_guessing", "login_failures", "harvesting",
       "direct_to_mx", "spoofed_sender", "no_starttls", "ehlo_mismatch")
# which options a finding needs: "both", "nets", or nothing
NEEDS = {"open_relay": "both", "spoofed_sender": "both", "direct_to_mx": "nets",
         "no_starttls": "nets"}
THRESHOLD = {"relay_attempts": 3, "password_guessing": 10, "login_failures": 10,
             "harvesting": 10}
WINDOW = 600  # seconds


def die(msg):
    sys.stderr.write("audit_expect.py: ERROR: %s\n" % msg)
    sys.exit(1)


def in_nets(ip, nets):
    a = ipaddress.ip_address(ip)
    return any(a in n for n in nets)


def local_domain(addr, domains):
    if not addr or "@" not in addr:
        return False
    d = addr.rsplit("@", 1)[1].lower().rstrip(".")
    return any(d == x or d.endswith("." + x) for x in domains)


def literal_of(arg):
    """The address of an address literal "[1.2.3.4]" / "[IPv6:...]", else None."""
    m = re.match(r"^\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]$", (arg or "").strip())
    if not m:
        return None
    try:
        return ipaddress.ip_address(m.group(1))
    except ValueError:
        return None


def auth_exchanges(cmds):
    """[(index of the AUTH command, final code)] of one session's AUTH exchanges."""
    out, cur = [], None
    for i, c in enumerate(cmds):
        if c["cmd"] == "AUTH":
            if cur is not None:
                out.append(cur)
            cur = [i, c["code"]]
        elif c["cmd"] == "AUTH-DATA" and cur is not None:
            cur[1] = c["code"]
        elif cur is not None:
            out.append(cur)
            cur = None
    if cur is not None:
        out.append(cur)
    return [tuple(x) for x in out]


def rcpt_domain_of(line):
    m = re.match(r"^\s*RCPT\s+TO:\s*<?([^>\s]*)>?", line, re.I)
    return m.group(1) if m else None


def mail_from_of(line):
    m = re.match(r"^\s*MAIL\s+FROM:\s*<?([^>\s]*)>?", line, re.I)
    return m.group(1) if m else None


def judge(sessions, nets, domains):
    """{(role, ip): {id: count}} by the rules, from the expected sessions; nets None or
    domains None: the findings that need them are left out."""
    counts = defaultdict(Counter)
    servers = {s["server_ip"] for s in sessions if s.get("state") not in ("refused", "no_answer")}
    mx = defaultdict(set)
    local = (lambda ip: in_nets(ip, nets)) if nets is not None else (lambda ip: None)
    for s in sessions:
        cip, sip, cmds = s["client_ip"], s["server_ip"], s.get("commands", [])
        ex = auth_exchanges(cmds)
        auth_ok = any(code is not None and 200 <= code < 300 for _, code in ex)
        fails = sum(1 for _, code in ex if code is not None and code >= 400)
        counts[("client", cip)]["password_guessing"] += fails
        counts[("server", sip)]["login_failures"] += fails
        lit = ehlo = offered = False
        for c in cmds:
            code, text = c.get("code"), (c.get("reply_text") or "")
            if c["cmd"] in ("EHLO", "HELO"):
                a = literal_of(c["line"].split(" ", 1)[1] if " " in c["line"] else "")
                if a is not None and a != ipaddress.ip_address(cip):
                    lit = True
            if c["cmd"] == "EHLO" and code == 250:
                ehlo = True
                if "STARTTLS" in [l[4:].split(" ")[0].upper() for l in c["reply_lines"][1:]]:
                    offered = True
            if c["cmd"] == "RCPT" and code is not None:
                rcpt = rcpt_domain_of(c["line"])
                if code >= 400 and re.search(r"relay access denied", text, re.I):
                    counts[("client", cip)]["relay_attempts"] += 1
                if code == 550 and (c.get("enhanced") == "5.1.1" or
                                    re.search(r"user unknown", text, re.I)):
                    counts[("client", cip)]["harvesting"] += 1
                if 200 <= code < 300 and nets is not None and domains is not None and \
                        local(sip) and not local(cip) and not auth_ok and \
                        not local_domain(rcpt, domains):
                    counts[("server", sip)]["open_relay"] += 1
            if c["cmd"] == "MAIL" and nets is not None and domains is not None and \
                    local(sip) and not local(cip) and not auth_ok and \
                    local_domain(mail_from_of(c["line"]), domains):
                counts[("client", cip)]["spoofed_sender"] += 1
        if lit:
            counts[("client", cip)]["ehlo_mismatch"] += 1
        if ehlo and not offered and not s.get("starttls") and not s.get("tls") and nets is not None and local(sip):
            counts[("server", sip)]["no_starttls"] += 1
        if nets is not None and local(cip) and not local(sip) and s["server_port"] == 25:
            mx[cip].add(sip)
    for cip, ss in mx.items():
        if cip not in servers:
            counts[("client", cip)]["direct_to_mx"] = len(ss)
    out = {}
    for key, c in counts.items():
        f = {k: v for k, v in c.items() if v and v >= THRESHOLD.get(k, 1)}
        if f:
            out[key] = f
    return out


def hosts_of(sessions):
    seen = []
    for s in sessions:
        for key in (("client", s["client_ip"]), ("server", s["server_ip"])):
            if key not in seen:
                seen.append(key)
    return seen


# ------------------------------------------------------------------ Postfix's own account
LINE = re.compile(r"^\w{3} +\d+ [\d:]+ \S+ (?P<syslog>\S+)/(?P<daemon>[a-z]+)\[\d+\]: (?P<rest>.*)$")
CLIENT = re.compile(r"\[([0-9a-fA-F:.]+)\]:(\d+)")


def log_account(lines, services, domains):
    """What Postfix's log says, in the shape of judge()'s counts (before thresholds and
    without the zones): {(role, ip): Counter} plus the facts that need the zones:
    queued recipients, senders, connections, HELO arguments."""
    acc = defaultdict(Counter)
    qclient = {}        # queue id -> (client ip, server ip, authenticated)
    rcpts, senders = defaultdict(list), {}
    conns = []          # (client ip, server ip, server port)
    helos = defaultdict(set)     # (client ip, client port) -> HELO arguments
    for l in lines:
        m = LINE.match(l)
        if not m:
            continue
        syslog, daemon, rest = m.group("syslog"), m.group("daemon"), m.group("rest")
        srv = services.get(syslog)
        c = CLIENT.search(rest)
        if daemon == "smtpd" and srv is None:
            die("log line of an smtpd service not in --services: %s" % l)
        if daemon == "smtpd" and rest.startswith("connect from ") and c:
            conns.append((c.group(1), srv[0], srv[1]))
        if daemon == "smtpd" and "authentication failed" in rest and rest.startswith("warning:"):
            acc[("client", c.group(1))]["password_guessing"] += 1
            acc[("server", srv[0])]["login_failures"] += 1
        if daemon == "smtpd" and "reject: RCPT from" in rest:
            if "Relay access denied" in rest:
                acc[("client", c.group(1))]["relay_attempts"] += 1
            if ": 550 5.1.1 " in rest and "User unknown" in rest:
                acc[("client", c.group(1))]["harvesting"] += 1
        if daemon == "smtpd" and " info: " in " " + rest and "helo=<" in rest:
            helos[(c.group(1), c.group(2))].add(re.search(r"helo=<([^>]*)>", rest).group(1))
        q = re.match(r"^([0-9A-F]+): (.*)$", rest)
        if q and daemon == "smtpd" and q.group(2).startswith("client="):
            qclient[q.group(1)] = (c.group(1), srv[0], "sasl_username=" in q.group(2))
        elif q and daemon == "qmgr" and q.group(2).startswith("from=<"):
            senders[q.group(1)] = re.match(r"from=<([^>]*)>", q.group(2)).group(1)
        elif q and q.group(2).startswith("to=<"):
            rcpts[q.group(1)].append(re.match(r"to=<([^>]*)>", q.group(2)).group(1))
    return acc, qclient, rcpts, senders, conns, helos


def log_judge(lines, services, nets, domains):
    acc, qclient, rcpts, senders, conns, helos = log_account(lines, services, domains)
    local = lambda ip: in_nets(ip, nets)
    for qid, (cip, sip, authed) in qclient.items():
        if qid not in senders:
            die("queued message %s has no from= line in the log" % qid)
        if local(sip) and not local(cip) and not authed:
            acc[("server", sip)]["open_relay"] += sum(
                1 for r in rcpts[qid] if not local_domain(r, domains))
        if local(sip) and not local(cip) and not authed and local_domain(senders[qid], domains):
            acc[("client", cip)]["spoofed_sender"] += 1
    for (cip, cport), args in helos.items():
        if any(literal_of(a) is not None and literal_of(a) != ipaddress.ip_address(cip)
               for a in args):
            acc[("client", cip)]["ehlo_mismatch"] += 1
    servers = {sip for _, sip, _ in conns}
    mx = defaultdict(set)
    for cip, sip, sport in conns:
        if local(cip) and not local(sip) and sport == 25:
            mx[cip].add(sip)
    for cip, ss in mx.items():
        if cip not in servers:
            acc[("client", cip)]["direct_to_mx"] = len(ss)
    out = {}
    for key, c in acc.items():
        f = {k: v for k, v in c.items() if v and v >= THRESHOLD.get(k, 1)}
        if f:
            out[key] = f
    return out


def duration(pcap):
    p = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "frame.time_epoch"],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        die("tshark failed on %s: %s" % (pcap, p.stderr))
    t = [float(x) for x in p.stdout.split()]
    return max(t) - min(t)


def fmt(d):
    return "; ".join("%s %s: %s" % (k[0], k[1], ", ".join("%s %d" % kv for kv in sorted(v.items())))
                     for k, v in sorted(d.items())) or "none"


def cmd_judge(argv):
    ap = argparse.ArgumentParser()
    for o in ("expected", "pcap", "local-nets", "local-domains", "postfix-log", "log-offset",
              "services"):
        ap.add_argument("--" + o, required=True)
    ap.add_argument("--want", action="append", default=[])
    ap.add_argument("--notls", action="append", default=[])
    a = ap.parse_args(argv)
    nets = [ipaddress.ip_network(n) for n in a.local_nets.split(",")]
    domains = [d.lower() for d in a.local_domains.split(",")]
    services = {}
    for kv in a.services.split(","):
        name, addr = kv.split("=")
        services[name] = (addr.rsplit(":", 1)[0], int(addr.rsplit(":", 1)[1]))
    e = json.load(open(a.expected))
    sessions = e["sessions"]

    want = {}
    for w in a.want:
        role, ip, fid, n = w.split()
        if fid not in IDS:
            die("unknown finding %r" % fid)
        want.setdefault((role, ip), {})[fid] = int(n)
    got = judge(sessions, nets, domains)
    if got != want:
        die("%s: the transcripts give %s; the script meant %s" % (e["sample"], fmt(got), fmt(want)))

    with open(a.postfix_log, encoding="latin-1") as f:
        f.seek(int(a.log_offset))
        lines = f.read().split("\n")
    logged = log_judge(lines, services, nets, domains)
    # no_starttls: the services set up without TLS (--notls, checked by the script with
    # postconf -P); the log's disconnect counters say which of their sessions used EHLO
    ehlo = Counter()
    for l in lines:
        m = LINE.match(l)
        if m and m.group("daemon") == "smtpd" and m.group("syslog") in a.notls and \
                m.group("rest").startswith("disconnect from ") and \
                re.search(r" ehlo=1(/1)?( |$)", m.group("rest")):
            ehlo[services[m.group("syslog")][0]] += 1
    for ip, n in ehlo.items():
        if in_nets(ip, nets):
            logged.setdefault(("server", ip), {})["no_starttls"] = n
    if logged != want:
        die("%s: Postfix's log gives %s; the transcripts %s" % (e["sample"], fmt(logged), fmt(want)))

    d = duration(a.pcap)
    if d >= WINDOW:
        die("%s lasts %.0f s: the 10-minute windows would need timestamps" % (a.pcap, d))

    hosts = []
    for role, ip in hosts_of(sessions):
        f = want.get((role, ip), {})
        hosts.append({"ip": ip, "role": role,
                      "zone": "local" if in_nets(ip, nets) else "outside",
                      "findings": [{"id": k, "count": f[k]} for k in IDS if k in f]})
    e["audit"] = {"local_nets": a.local_nets, "local_domains": a.local_domains,
                  "args": ["--local-nets", a.local_nets, "--local-domains", a.local_domains],
                  "duration_s": round(d, 1), "hosts": hosts}
    with open(a.expected, "w") as f:
        json.dump(e, f, indent=2)
        f.write("\n")
    print("audit_expect.py: %s: %s (transcripts, script and Postfix's log agree)"
          % (e["sample"], fmt(want)))


README_HEAD = """# Audit captures (issue 18 point 5)

One capture per judging finding of `--audit` (`open_relay`, `relay_attempts`,
`password_guessing` and `login_failures`, `harvesting`, `direct_to_mx`, `spoofed_sender`,
`no_starttls`, `ehlo_mismatch`), made by `sudo bash samples/make-audit-samples.sh` with the
Postfix instance of `make-samples.sh` (`samples/postfix-lib.sh`: `mx.sample.test`, Cyrus SASL
user `alice` on port 2525, mail discarded) plus more smtpd services: an open relay of ours on
127.0.0.2:25, a server of ours without STARTTLS on 127.0.0.3:25, three outside MX on
127.0.2.1-3:25. Our clients are 127.0.0.x, outside clients 127.0.1.x; `mynetworks` is
127.0.0.0/24. The clients are swaks and, for several AUTH attempts in one session, Python's
smtplib (`auditclients.py`). Captured with `tcpdump -i lo -U -w NAME.pcap 'tcp port 25 or tcp
port 2525'`; each capture lasts a few seconds, so "10 within 10 minutes" is the total.

`NAME.expected.json` has the sessions as in `../README.md` (from the clients' transcripts by
`expect.py`, checked against Postfix's log and the wire) and `audit`: `local_nets` and
`local_domains` (the options to run with; `args` has them as arguments), `duration_s`, and
`hosts`: every host of the capture (`ip`, `role`, `zone`) with the judging `findings` it must
carry (`id`, `count`), none for the others. Those come from the rules (`audit_expect.py`'s
docstring) applied to the transcripts, must equal what the script set out to do, and must
equal what Postfix's own log counts (authentication failures, "Relay access denied" and "User
unknown" rejects, the queued messages' senders and recipients with their client and SASL user,
each HELO argument, the connections per service). Never from smtpscope's output.
`tests/audit_flags_check.py` runs each capture with these options (and with fewer: a finding
that needs an option must then be absent) and compares.

| capture | what it shows | how it was made | options | expected findings |
|---|---|---|---|---|
"""


def readme(outdir):
    import glob
    import os
    rows = []
    for f in sorted(glob.glob(os.path.join(outdir, "*.expected.json"))):
        e = json.load(open(f))
        name = e["sample"].split("/")[-1]
        pcap = os.path.join(outdir, name + ".pcap")
        found = ["%s %s: `%s` %d" % (h["role"], h["ip"], x["id"], x["count"])
                 for h in e["audit"]["hosts"] for x in h["findings"]]
        rows.append("| `%s.pcap` (%d B, %d sessions) | %s | %s; %s | `--local-nets %s "
                    "--local-domains %s` | %s |" % (
                        name, os.path.getsize(pcap), len(e["sessions"]), e["description"],
                        e["how"], e["made_with"], e["audit"]["local_nets"],
                        e["audit"]["local_domains"], "<br>".join(found)))
    print(README_HEAD + "\n".join(rows))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "judge":
        cmd_judge(sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "readme":
        readme(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
