#!/usr/bin/env python3
"""Conformance of smtpscope's JSON output with Zeek's and Suricata's test results.

For every capture of the shared corpus (../shared/corpus, see its README.md)
this runs `BIN -r FILE -o json` once and checks the facts that the two
analyzers' own test suites assert about that capture -- facts, not formats.
Every expected value is read from the corpus files at run time:

  Zeek (zeek/<btest>.*, <btest>.btest-header.txt names the capture):
    smtp.log       per session: helo, tls (= our starttls); per transaction:
                   mailfrom, rcptto (Zeek counts refused recipients too, so it
                   is compared with our rcpt_to + rcpt_rejected), subject,
                   msg_id; last_reply must be a reply we saw (code + text);
                   the number of MAIL transactions. Rows that are no MAIL
                   transaction (RCPT without MAIL) or that Zeek split off at a
                   refused nested MAIL are not compared (noted with -v).
    out / smtp-events.compact.tsv
                   every smtp_request / smtp_reply with the command Zeek paired
                   each reply to, compared command by command with our
                   commands[] (cmd and reply code). Zeek's names are mapped to
                   ours: ">" (greeting) = CONNECT, "**" (AUTH data line) =
                   AUTH-DATA, "AUTH_ANSWER" (reply to it) = AUTH-DATA, "." = ".".
                   The outs that list requests only give the command order.
    address-limits.output  a transaction has at least N recipients.
    files.cut      message/rfc822 seen_bytes = our message size, for BDAT
                   transfers only (the byte count is exact there).
    extract_files.mail  the Subject header of the extracted message.
    intel.log      SMTP::IN_RCPT_TO / IN_MAIL_FROM addresses are ours.
    weird.log, conn.log*  the session exists; weird names are reported only.
  Suricata (suricata-verify/<test>/test.yaml; `pcap:` may name another dir):
    filters on event_type smtp: smtp.helo, smtp.mail_from, smtp.rcpt_to[N],
    email.subject, email.message_id, tx_id, src/dest ip and port, not-has-key,
    and the number of matching events. One Suricata smtp event = one of our
    messages (or, for a session without MAIL, the session itself). Keys we have
    no counterpart for (pcap_cnt, email.status, email.from/to unless our
    output carries header fields ...) are dropped; the count is then checked as
    a lower bound, and count-0 filters with such keys are skipped. Branches
    guarded by `requires: lt-version` are older Suricata behaviour: skipped.
    Tests whose IPS rules drop traffic (stats firewall.blocked > 0) say what
    the firewall let through, not what was on the wire: their smtp filters
    are n/a. Anomaly events are reported only. Alerts, files, flows, stats,
    suricata.log checks: n/a.
  The capture itself: AUTH passwords (read from the client's TCP stream, see
    e2e_samples.py) must not appear in our output, raw, base64 or decoded.
  The output contract of DESIGN.md (types, result vs code, summary last).

SMTP on a port outside the default filter (25, 2525) is run with -p.
One line per capture: PASS / FAIL (first difference, then "also:" lines) /
SKIP (no reference fact applies; the run was still clean). Exit status 1 if
any capture fails, 2 if the binary is missing, 0 otherwise (also when the
corpus is absent).

Usage: python3 tests/conformance.py [--bin PATH] [--corpus DIR] [-v] [-k NAME]
                                    [--dump-expected]
"""

import argparse
import glob
import ipaddress
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the repo
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_samples as E  # noqa: E402  (shared pcap reader, runner, contract)

REPO = E.REPO
DEFAULT_PORTS = {25, 2525}

# Per-capture notes (printed with -v): why checks are shaped the way they are.
# Keys are capture names relative to the corpus. No expected values here.
KNOWN = {
    "zeek/smtp-mail-transactions-invalid.pcap": {
        "note": "Zeek opens a new transaction at every MAIL, even one the server "
                "refused (503 nested MAIL), and logs RCPT-without-MAIL as a "
                "transaction; such rows are not compared and neither is the "
                "transaction count (Zeek's count is not the RFC's)"},
    "zeek/smtp-attachment-msg.pcap": {
        "note": "one-direction capture: only the client's packets are present, "
                "so Zeek saw no reply (last_reply '-')"},
    "zeek/smtp.pcap": {
        "note": "two SMTP sessions plus DNS, HTTPS, NetBIOS and ICMP "
                "fragmentation-needed packets quoting the SMTP flow"},
    "zeek/rfc3030-bdat-nonascii.pcap": {
        "note": "dummy server: two separate '250' lines answer EHLO and two "
                "'250 OK' answer 'BDAT 0 LAST'; only files.cut and the "
                "extracted mail are Zeek baselines for it"},
    "suricata-verify/smtp-long-command/input.pcap": {
        "note": "Suricata caps the 4 kB EHLO line; helo is compared as a prefix"},
    "suricata-verify/mime/mime-quoted-printable/input.pcap": {
        "note": "SMTP on port 587: run with -p so the default filter does not hide it"},
}


# ----------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------

def strip_brackets(addr):
    addr = (addr or "").strip()
    return addr[1:-1] if addr.startswith("<") and addr.endswith(">") else addr


def norm_ws(text):
    return " ".join((text or "").split())


def ip_eq(a, b):
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def session_key(orig_h, orig_p, resp_h, resp_p):
    return (orig_h, int(orig_p), resp_h, int(resp_p))


def key_str(key):
    return "%s:%d->%s:%d" % key if key else "the session"


def read_zeek_log(path):
    """Rows (dicts) of a Zeek ASCII log or a zeek-cut output."""
    fields, rows = None, []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#fields"):
                fields = line.split("\t")[1:]
            elif line.startswith("#") or not line.strip():
                continue
            elif fields is None:
                fields = line.split("\t")
            else:
                rows.append(dict(zip(fields, line.split("\t"))))
    return rows


def zeek_unset(value):
    return value in (None, "-", "(empty)", "")


def reply_code_text(last_reply):
    m = re.match(r"^(\d{3})[ -]?(.*)$", last_reply or "")
    return (int(m.group(1)), m.group(2)) if m else (None, None)


def strip_enhanced(text):
    return re.sub(r"^\s*[245]\.\d{1,3}\.\d{1,3}\s*", "", text or "").strip()


class Capture:
    """Everything expected of one capture, gathered from all references."""

    def __init__(self, name, path):
        self.name, self.path = name, path
        self.checks, self.na, self.notes = [], [], []

    def add(self, kind, src, session=None, **fields):
        check = dict(kind=kind, src=src, session=session, **fields)
        ident = json.dumps({k: v for k, v in check.items() if k != "src"},
                           sort_keys=True, default=str)
        for c in self.checks:
            if c["_id"] == ident:
                if src not in c["src"]:
                    c["src"] += ", " + src
                return
        check["_id"] = ident
        self.checks.append(check)

    def not_applicable(self, src, what):
        self.na.append("%s: %s" % (src, what))


# ----------------------------------------------------------------------------
# Zeek
# ----------------------------------------------------------------------------

def zeek_btests(zdir):
    """{btest name: capture file name} from the btest headers."""
    tests = {}
    for hdr in sorted(glob.glob(os.path.join(zdir, "*.btest-header.txt"))):
        with open(hdr) as f:
            m = re.search(r"^# pcap: (\S+)", f.read(), re.M)
        if m:
            tests[os.path.basename(hdr)[:-len(".btest-header.txt")]] = m.group(1)
    return tests


def zeek_uid_map(rows):
    return {r["uid"]: session_key(r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"])
            for r in rows if "id.orig_h" in r and not zeek_unset(r.get("id.orig_h"))}


def zeek_txn_rows(rows):
    """Split smtp.log rows: (transactions, session-only rows, skipped rows+why)."""
    txns, session_rows, skipped = [], [], []
    for i, r in enumerate(rows):
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        code, _ = reply_code_text(r.get("last_reply"))
        if zeek_unset(r["mailfrom"]) and zeek_unset(r["rcptto"]):
            session_rows.append(r)
        elif zeek_unset(r["mailfrom"]):
            skipped.append((r, "RCPT without MAIL is no MAIL transaction"))
        elif zeek_unset(r["rcptto"]) and code and code >= 400 and nxt is not None \
                and nxt["uid"] == r["uid"] and nxt["mailfrom"] == r["mailfrom"]:
            skipped.append((r, "Zeek split the transaction at a refused MAIL"))
        else:
            txns.append(r)
    return txns, session_rows, skipped


def add_zeek_smtp_log(cap, src, rows):
    uids = zeek_uid_map(rows)
    txns, session_rows, skipped = zeek_txn_rows(rows)
    for r, why in skipped:
        cap.notes.append("%s row %d skipped: %s" % (src, rows.index(r) + 1, why))
    for r in rows:
        key = uids[r["uid"]]
        cap.add("session_exists", src, key)
        if not zeek_unset(r["helo"]):
            cap.add("helo", src, key, value=r["helo"])
        cap.add("starttls", src, key, value=(r["tls"] == "T"))
        code, text = reply_code_text(r.get("last_reply"))
        if code:
            cap.add("reply_seen", src, key, code=code, text=strip_enhanced(text))
    for uid, key in uids.items():
        n = sum(1 for r in txns if r["uid"] == uid)
        if any(r["uid"] == uid for r, _ in skipped):
            cap.not_applicable(src, "transaction count of %s (Zeek-specific split)" % key_str(key))
        else:
            cap.add("txn_count", src, key, value=n)
    for r in txns:
        nth = sum(1 for t in txns[:txns.index(r) + 1] if t["uid"] == r["uid"])
        cap.add("txn", "%s row %d" % (src, rows.index(r) + 1), uids[r["uid"]], nth=nth, log=src,
                mail_from=r["mailfrom"],
                rcpts=sorted(r["rcptto"].split(",")) if not zeek_unset(r["rcptto"]) else [],
                subject=None if zeek_unset(r["subject"]) else r["subject"],
                message_id=None if zeek_unset(r["msg_id"]) else strip_brackets(r["msg_id"]))


def parse_zeek_out(path):
    """Events of a Zeek btest `out`: [(uid, 'req'|'rep', cmd, code, arg, cont)]."""
    events = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            p = line.split(", ", 5)
            if p[0] == "smtp_reply" and len(p) >= 5:
                events.append((p[1], "rep", p[4], int(p[3]), p[5] if len(p) > 5 else "", None))
            elif p[0] == "smtp_request" and len(p) >= 4:
                arg = line.split(", ", 4)[4] if len(p) > 4 else ""
                events.append((p[1], "req", p[3], None, arg, None))
            elif len(p) >= 3 and re.match(r"^C\w{8,}$", p[0]) and p[1] == "T":
                arg = line.split(", ", 3)[3] if len(p) > 3 else ""
                events.append((p[0], "req", p[2], None, arg, None))
    return events


def parse_zeek_compact(path):
    """Events of dump-events.smtp-events.compact.tsv (same tuple as above)."""
    events, header = [], None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if line.startswith("#"):
                continue
            if header is None:
                header = cols
                continue
            r = dict(zip(header, cols))
            if r["event"] == "smtp_request":
                events.append((r["uid"], "req", r["code_or_command"], None, r["cmd_or_arg"], None))
            elif r["event"] == "smtp_reply":
                events.append((r["uid"], "rep", r["cmd_or_arg"], int(r["code_or_command"]),
                               r["msg"], r["cont_resp"] == "T"))
    return events


def uid_map_from_event_log(path):
    """uid -> session key from a dump-events .log (connection records)."""
    pat = re.compile(r"id=\[orig_h=([^,]+), orig_p=(\d+)/tcp, resp_h=([^,]+), "
                     r"resp_p=(\d+)/tcp.*?\buid=(\w+)")
    found = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = pat.search(line)
            if m:
                found[m.group(5)] = session_key(*m.group(1, 2, 3, 4))
    return found


ZEEK_CMD = {">": "CONNECT", "**": "AUTH-DATA", "AUTH_ANSWER": "AUTH-DATA"}


def group_replies(events):
    """Merge the lines of multi-line replies; keep requests as they are."""
    out, pending = [], []
    for ev in events:
        uid, kind, cmd, code, arg, cont = ev
        cmd = ZEEK_CMD.get(cmd, cmd.upper())
        if kind == "req":
            out.append([uid, "req", cmd, None])
            pending.append(cmd)
            continue
        last = out[-1] if out else None
        if cont is None:  # no continuation flag: same cmd+code right after = same reply,
            open_same = pending.count(cmd)  # unless several such commands await replies
            if last and last[1] == "rep" and last[2] == cmd and last[3] == code \
                    and last[0] == uid and open_same == 0:
                continue
        elif last and last[1] == "rep" and last[0] == uid and last[4]:
            last[3], last[4] = code, cont
            continue
        out.append([uid, "rep", cmd, code, bool(cont)])
        if cmd in pending:
            pending.remove(cmd)
    return out


def zeek_command_sequences(events):
    """{uid: [[cmd, code]]} pairing each reply with the command Zeek named."""
    seqs, unpaired = {}, []
    for item in group_replies(events):
        uid, kind, cmd, code = item[:4]
        seq = seqs.setdefault(uid, [])
        if kind == "req":
            seq.append([cmd, None])
            continue
        target = next((e for e in seq if e[0] == cmd and e[1] is None), None)
        if target is None and cmd == "CONNECT":
            target = [cmd, None]
            seq.insert(0, target)
        if target is None:
            unpaired.append((uid, cmd, code))
        else:
            target[1] = code
    return seqs, unpaired


def add_zeek_commands(cap, src, events, uids):
    seqs, unpaired = zeek_command_sequences(events)
    replies_known = any(kind == "rep" for _, kind, *_ in events)
    for uid, cmd, code in unpaired:
        cap.notes.append("%s: reply %s paired by Zeek with %s has no open command" % (src, code, cmd))
    for uid, seq in seqs.items():
        key = uids.get(uid)
        if key is None and len(seqs) > 1:
            cap.not_applicable(src, "commands of uid %s (no connection tuple)" % uid)
            continue
        cap.add("commands", src, key, replies_known=replies_known,
                expected=[(c, code) for c, code in seq])


def add_zeek_address_limits(cap, src, path, session):
    with open(path) as f:
        for line in f:
            m = re.match(r"^rcptto, (\d+)$", line.strip())
            if m:
                cap.add("min_rcpts", src, session, value=int(m.group(1)))
            elif re.match(r"^(to|cc|path), \d+$", line.strip()):
                cap.not_applicable(src, "header/path address count: %s" % line.strip())


def add_zeek_files(cap, src, rows, uses_bdat):
    sizes = [int(r["seen_bytes"]) for r in rows if r.get("mime_type") == "message/rfc822"
             and r.get("seen_bytes", "").isdigit()]
    uids = {r["uid"] for r in rows}
    if not sizes:
        cap.not_applicable(src, "file analysis (no message/rfc822 entity)")
    elif len(uids) != 1 or not uses_bdat:
        cap.not_applicable(src, "message sizes %s (DATA transfer: Zeek's entity size "
                                "convention differs from a wire byte count)" % sizes)
    else:
        cap.add("message_sizes", src, None, value=sizes)


def add_zeek_extracted_mail(cap, src, path):
    with open(path, "rb") as f:
        head = f.read().split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    m = re.search(rb"^Subject:[ \t]*(.*(?:\r?\n[ \t].*)*)", head, re.M | re.I)
    if m:
        cap.add("subject_exists", src, None,
                value=norm_ws(m.group(1).decode("utf-8", "replace")))


def add_zeek_session_rows(cap, src, rows, kind):
    for r in rows:
        if "id.orig_h" in r and not zeek_unset(r["id.orig_h"]):
            key = session_key(r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"])
            cap.add("session_exists", src, key)
            if kind == "weird":
                addl = "" if zeek_unset(r.get("addl")) else " (%s)" % r["addl"]
                cap.add("anomaly_note", src, key, value="Zeek weird %s%s" % (r["name"], addl))
        elif kind == "weird":
            cap.not_applicable(src, "weird %s (not about a connection)" % r.get("name"))


def collect_zeek(corpus, caps, info):
    zdir = os.path.join(corpus, "zeek")
    if not os.path.isdir(zdir):
        return
    for btest, pcap in zeek_btests(zdir).items():
        cap = caps.get("zeek/" + pcap)
        if cap is None:
            print("conformance: note: zeek btest %s reads %s, which is not in the corpus"
                  % (btest, pcap))
            continue
        outputs = sorted(f for f in os.listdir(zdir) if f.startswith(btest + ".")
                         and not f.endswith((".btest-header.txt", ".pcap", ".pcapng",
                                             ".tshark.tsv")))
        rows = read_zeek_log(os.path.join(zdir, btest + ".smtp.log")) \
            if btest + ".smtp.log" in outputs else []
        for out in outputs:
            add_zeek_output(cap, btest, out, os.path.join(zdir, out), zeek_uid_map(rows),
                            info[cap.name])


def add_zeek_output(cap, btest, fname, path, uids, pcap_info):
    src = "zeek " + fname
    suffix = fname[len(btest) + 1:]
    if suffix == "smtp.log":
        cap.zeek_smtp_logs.append((src, read_zeek_log(path)))
    elif suffix == "out":
        events = parse_zeek_out(path)
        if events:
            add_zeek_commands(cap, src, events, uids)
        else:
            cap.not_applicable(src, "no smtp_request/smtp_reply events (MIME/file output)")
    elif suffix == "smtp-events.compact.tsv":
        log = path.replace(".compact.tsv", ".log")
        add_zeek_commands(cap, src, parse_zeek_compact(path),
                          uid_map_from_event_log(log) if os.path.exists(log) else {})
    elif suffix == "output":
        add_zeek_address_limits(cap, src, path, pcap_info["only_session"])
    elif suffix in ("files.cut", "files.log.cut"):
        add_zeek_files(cap, src, read_zeek_log(path), pcap_info["uses_bdat"])
    elif suffix == "extract_files.mail":
        add_zeek_extracted_mail(cap, src, path)
    elif suffix == "intel.log":
        add_zeek_intel(cap, src, read_zeek_log(path))
    elif suffix in ("weird.log", "conn.log", "conn.log.cut"):
        add_zeek_session_rows(cap, src, read_zeek_log(path), suffix.split(".")[0])
    else:
        cap.not_applicable(src, "no counterpart in our output")


def add_zeek_intel(cap, src, rows):
    for r in rows:
        key = session_key(r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"])
        where = r.get("seen.where")
        if where == "SMTP::IN_RCPT_TO":
            cap.add("rcpt_exists", src, key, value=r["seen.indicator"])
        elif where == "SMTP::IN_MAIL_FROM":
            cap.add("mail_from_exists", src, key, value=r["seen.indicator"])
        else:
            cap.not_applicable(src, "intel %s %s (header field)" % (where, r["seen.indicator"]))


def finish_zeek_smtp_logs(cap):
    """Use the fullest smtp.log of a capture; others must be equal or a prefix."""
    logs = sorted(cap.zeek_smtp_logs, key=lambda x: -len(x[1]))
    if not logs:
        return
    src, rows = logs[0]
    add_zeek_smtp_log(cap, src, rows)
    for other_src, other in logs[1:]:
        strip = [{k: v for k, v in r.items() if k != "ts"} for r in other]
        full = [{k: v for k, v in r.items() if k != "ts"} for r in rows[:len(other)]]
        why = "same rows as " + src if strip == full else "differs from " + src
        cap.not_applicable(other_src, why)


# ----------------------------------------------------------------------------
# Suricata
# ----------------------------------------------------------------------------

# keys whose value we can compute for an event (session, message, index)
SURI_TRIVIAL = {"event_type", "proto", "app_proto", "pkt_src"}
SURI_MAPPED = {"src_ip", "src_port", "dest_ip", "dest_port", "tx_id", "smtp.helo",
               "smtp.mail_from", "email.subject", "email.message_id",
               "email.from", "email.to"}  # email.from/to only if our output has them


def suri_key_base(key):
    return re.sub(r"\[\d+\]$", "", key)


def suricata_test_dirs(corpus):
    return sorted(os.path.dirname(p) for p in
                  glob.glob(os.path.join(corpus, "suricata-verify", "**", "test.yaml"),
                            recursive=True))


def suricata_pcap(tdir, conf):
    if conf.get("pcap"):
        return os.path.normpath(os.path.join(tdir, conf["pcap"]))
    found = sorted(glob.glob(os.path.join(tdir, "*.pcap")) + glob.glob(os.path.join(tdir, "*.pcapng")))
    return found[0] if len(found) == 1 else None


def ips_blocked(conf):
    return any(isinstance(c, dict) and isinstance(c.get("stats"), dict)
               and (c["stats"].get("firewall.blocked") or 0) > 0
               for c in conf.get("checks") or [])


def collect_suricata(corpus, caps, yaml):
    for tdir in suricata_test_dirs(corpus):
        with open(os.path.join(tdir, "test.yaml")) as f:
            conf = yaml.safe_load(f) or {}
        tname = os.path.relpath(tdir, os.path.join(corpus, "suricata-verify"))
        pcap = suricata_pcap(tdir, conf)
        cap = caps.get(os.path.relpath(pcap, corpus)) if pcap else None
        if cap is None:
            print("conformance: note: suricata test %s names no capture we have" % tname)
            continue
        src = "suricata " + tname
        if "lt-version" in (conf.get("requires") or {}):
            cap.not_applicable(src, "whole test is for older Suricata (lt-version)")
            continue
        has_rules = bool(glob.glob(os.path.join(tdir, "*.rules")))
        for i, check in enumerate(conf.get("checks") or []):
            add_suricata_check(cap, "%s check %d" % (src, i + 1), check, ips_blocked(conf),
                               has_rules)


def add_suricata_check(cap, src, check, blocked, has_rules):
    if "shell" in check:
        args = str((check["shell"] or {}).get("args", ""))
        m = re.search(r"FROM <([^>]*)> TO \{([^}]*)\}", args)
        if m:
            rcpts = sorted(strip_brackets(a) for a in m.group(2).split(",") if a.strip())
            cap.add("txn_exists", src, None, mail_from=m.group(1), rcpts=rcpts)
        else:
            cap.not_applicable(src, "shell check")
        return
    flt = check.get("filter")
    if not isinstance(flt, dict):
        cap.not_applicable(src, "%s check" % "/".join(check))
        return
    if "lt-version" in (flt.get("requires") or {}):
        cap.not_applicable(src, "older-Suricata branch (lt-version)")
        return
    if flt.get("filename"):
        cap.not_applicable(src, "check on %s" % flt["filename"])
        return
    add_suricata_filter(cap, src, flt.get("match") or {}, flt.get("count"), blocked, has_rules)


def add_suricata_filter(cap, src, match, count, blocked, has_rules):
    etype = match.get("event_type")
    if etype is None and not has_rules and any(k.startswith(("smtp.", "email."))
                                               for k in list(match) + [str(v) for v in match.values()]):
        etype = "smtp"  # no rules: only smtp events carry smtp.* fields
    if etype == "anomaly":
        name = match.get("anomaly.event", "(any)")
        cap.add("anomaly_note", src, None,
                value="Suricata expects %s anomaly event(s) %s" % (count, name))
        return
    if etype != "smtp":
        cap.not_applicable(src, "event_type %s" % etype)
        return
    if blocked:
        cap.not_applicable(src, "smtp events of an IPS test that drops traffic "
                                "(counts reflect the firewall, not the wire)")
        return
    mapped, unmapped = {}, []
    for k, v in match.items():
        if k in ("has-key", "not-has-key"):
            if k == "not-has-key" and suri_key_base(str(v)) in ("smtp.rcpt_to", "email"):
                mapped["not-has-key " + str(v)] = True
            else:
                unmapped.append("%s %s" % (k, v))
        elif k in SURI_TRIVIAL:
            continue
        elif suri_key_base(k) in SURI_MAPPED or suri_key_base(k) == "smtp.rcpt_to":
            mapped[k] = v
        else:
            unmapped.append(k)
    if count == 0 and unmapped:
        cap.not_applicable(src, "count-0 filter on fields we lack: %s" % ", ".join(unmapped))
        return
    cap.add("suricata_events", src, None, match=mapped, count=count, unmapped=sorted(unmapped))


# ----------------------------------------------------------------------------
# gathering per capture
# ----------------------------------------------------------------------------

def smtp_server_ports(streams):
    ports = set()
    for (src, sport, dst, dport), data in streams.items():
        if re.match(rb"^(220|554)[ -]", data):
            ports.add(sport)
        elif re.match(rb"^(EHLO|HELO)\s", data, re.I):
            ports.add(dport)
    return ports


def pcap_facts(path):
    streams = E.tcp_streams(path)
    clients = {k: v for k, v in streams.items() if re.match(rb"^(EHLO|HELO)\s", v, re.I)}
    only = None
    if len(clients) == 1:
        src, sport, dst, dport = next(iter(clients))
        only = (src, sport, dst, dport)
    return {"ports": smtp_server_ports(streams), "only_session": only,
            "uses_bdat": any(re.search(rb"(^|\n)BDAT \d", v, re.I) for v in clients.values()),
            "secrets": E.capture_secrets(path)}


def list_captures(corpus):
    paths = sorted(glob.glob(os.path.join(corpus, "**", "*.pcap"), recursive=True) +
                   glob.glob(os.path.join(corpus, "**", "*.pcapng"), recursive=True))
    return {os.path.relpath(p, corpus): Capture(os.path.relpath(p, corpus), p) for p in paths}


def resolve_conflicts(cap):
    """Drop scalar facts (helo, starttls) on which the references disagree."""
    for kind in ("helo", "starttls"):
        by_session = {}
        for c in cap.checks:
            if c["kind"] == kind:
                by_session.setdefault(c["session"], []).append(c)
        for key, lst in by_session.items():
            if len({json.dumps(c["value"]) for c in lst}) > 1:
                cap.notes.append("%s of %s: references disagree (%s); not checked" % (
                    kind, key_str(key), "; ".join("%s says %r" % (c["src"], c["value"])
                                                  for c in lst)))
                for c in lst:
                    cap.checks.remove(c)


def collect(corpus, yaml):
    caps = list_captures(corpus)
    info = {}
    for name, cap in caps.items():
        cap.zeek_smtp_logs = []
        info[name] = pcap_facts(cap.path)
        cap.secrets = info[name]["secrets"]
        cap.ports = info[name]["ports"]
        if name in KNOWN:
            cap.notes.append("known: " + KNOWN[name]["note"])
    collect_zeek(corpus, caps, info)
    if yaml is not None:
        collect_suricata(corpus, caps, yaml)
    for name, cap in caps.items():
        finish_zeek_smtp_logs(cap)
        resolve_conflicts(cap)
        if cap.secrets:
            cap.add("no_secrets", "capture AUTH exchange", None, count=len(cap.secrets))
    return caps


# ----------------------------------------------------------------------------
# evaluating checks against our output
# ----------------------------------------------------------------------------

def find_session(sessions, key):
    """Our session for a reference's connection key (None key: the only one)."""
    if key is None:
        smtp = [s for s in sessions if s.get("commands")]
        return smtp[0] if len(smtp) == 1 else None
    cip, cport, sip, sport = key
    for s in sessions:
        c, v = s.get("client") or {}, s.get("server") or {}
        if c.get("port") == cport and v.get("port") == sport and ip_eq(c.get("ip"), cip) \
                and ip_eq(v.get("ip"), sip):
            return s
    return None


def all_rcpts(msg):
    return list(msg.get("rcpt_to") or []) + list(msg.get("rcpt_rejected") or [])


def replies(session):
    for c in session.get("commands") or []:
        if isinstance(c.get("reply"), dict):
            yield c


def reply_matches(c, code, text):
    r = c["reply"]
    if r.get("code") != code:
        return False
    lines = [strip_enhanced(l) for l in (r.get("text") or "").split("\n")]
    return not text or any(norm_ws(text) in norm_ws(l) for l in lines) \
        or norm_ws(text) in norm_ws(strip_enhanced(r.get("text") or ""))


def fmt_cmds(cmds):
    return " ".join("%s/%s" % (c[0], c[1]) for c in cmds)


def eval_commands(check, s):
    ours = [(c.get("cmd"), (c.get("reply") or {}).get("code") if isinstance(c.get("reply"), dict)
             else None) for c in s.get("commands") or []]
    exp = [tuple(e) for e in check["expected"]]
    if not check["replies_known"]:
        ours = [o for o in ours if o[0] != "CONNECT"]
    for i, (e, o) in enumerate(zip(exp, ours)):
        if e[0] != o[0]:
            return "command %d: expected %s, got %s (expected %s; got %s)" % (
                i + 1, e[0], o[0], fmt_cmds(exp[max(0, i - 2):i + 3]), fmt_cmds(ours[max(0, i - 2):i + 3]))
        if check["replies_known"] and e[1] != o[1]:
            return "command %d (%s): reply expected %s, got %s" % (i + 1, e[0], e[1], o[1])
    if len(exp) != len(ours):
        return "%d commands, expected %d (expected ...%s; got ...%s)" % (
            len(ours), len(exp), fmt_cmds(exp[-3:]), fmt_cmds(ours[-3:]))
    return None


def eval_txn(check, s, used):
    msgs = s.get("messages") or []
    cand = [i for i, m in enumerate(msgs) if i not in used and m.get("mail_from") == check["mail_from"]]
    if not cand:
        return "no message from %r (ours: %s)" % (
            check["mail_from"], [m.get("mail_from") for m in msgs])
    i = cand[0]
    used.add(i)
    m = msgs[i]
    i_desc = "%d, the next one from %s," % (i + 1, check["mail_from"])
    if "rcpts" in check and sorted(set(all_rcpts(m))) != sorted(set(check["rcpts"])):
        return "message %s recipients: expected %s, got %s" % (i_desc, check["rcpts"], sorted(all_rcpts(m)))
    if check.get("subject") is not None and norm_ws(m.get("subject")) != norm_ws(check["subject"]):
        return "message %s subject: expected %r, got %r" % (i_desc, check["subject"], m.get("subject"))
    if check.get("message_id") is not None and \
            strip_brackets(m.get("message_id")) != check["message_id"]:
        return "message %s message_id: expected %r, got %r" % (
            i_desc, check["message_id"], m.get("message_id"))
    return None


def helo_equal(expected, got):
    if got == expected:
        return True
    e, g = (expected or "").rstrip("\r"), (got or "").rstrip("\r")
    return len(e) >= 500 and bool(g) and (e.startswith(g) or g.startswith(e))


def eval_session_check(check, s, state):
    kind, v = check["kind"], check.get("value")
    if kind == "session_exists":
        return None
    if kind == "helo":
        return None if helo_equal(v, s.get("helo")) else \
            "helo: expected %r, got %r" % (v if len(v) < 80 else v[:60] + "...", s.get("helo"))
    if kind == "starttls":
        return None if s.get("starttls") == v else "starttls: expected %s, got %s" % (v, s.get("starttls"))
    if kind == "txn_count":
        n = len(s.get("messages") or [])
        return None if n == v else "%d messages, expected %d MAIL transactions" % (n, v)
    if kind in ("txn", "txn_exists"):
        return eval_txn(check, s, state.setdefault((check.get("log"), id(s)), set()))
    if kind == "reply_seen":
        if any(reply_matches(c, check["code"], check["text"]) for c in replies(s)):
            return None
        return "no reply '%s %s' in our commands (codes seen: %s)" % (
            check["code"], check["text"], sorted({c["reply"].get("code") for c in replies(s)}))
    if kind == "commands":
        return eval_commands(check, s)
    if kind == "min_rcpts":
        best = max([len(all_rcpts(m)) for m in s.get("messages") or []] or [0])
        return None if best >= v else "at most %d recipients in a message, expected >= %d" % (best, v)
    if kind == "rcpt_exists":
        return None if any(v in all_rcpts(m) for m in s.get("messages") or []) else \
            "recipient %s not in any message" % v
    if kind == "mail_from_exists":
        return None if any(m.get("mail_from") == v for m in s.get("messages") or []) else \
            "no message from %s" % v
    if kind == "subject_exists":
        return None if any(norm_ws(m.get("subject")) == v for m in s.get("messages") or []) else \
            "subject %r not in any message (ours: %s)" % (v, [m.get("subject") for m in s.get("messages") or []])
    if kind == "message_sizes":
        got = [m.get("size") for m in s.get("messages") or []]
        return None if got == v else "message sizes expected %s, got %s" % (v, got)
    return "unknown check kind %s" % kind


def suricata_events(sessions):
    """Our output as Suricata smtp events: (session, message or None, tx index)."""
    events = []
    for s in sessions:
        msgs = s.get("messages") or []
        if msgs:
            events += [(s, m, i) for i, m in enumerate(msgs)]
        elif any(c.get("cmd") != "CONNECT" for c in s.get("commands") or []):
            events.append((s, None, 0))
    return events


def suri_value_ok(key, want, s, m, idx, dropped):
    """Does our event (s, m, idx) satisfy one Suricata match key?"""
    cl, sv = s.get("client") or {}, s.get("server") or {}
    rc = all_rcpts(m) if m else []
    simple = {"src_ip": lambda: ip_eq(cl.get("ip"), want), "dest_ip": lambda: ip_eq(sv.get("ip"), want),
              "src_port": lambda: cl.get("port") == want, "dest_port": lambda: sv.get("port") == want,
              "tx_id": lambda: idx == want, "smtp.helo": lambda: helo_equal(want, s.get("helo"))}
    if key in simple:
        return simple[key]()
    if key.startswith("not-has-key "):
        what = key.split(" ", 1)[1]
        if what == "email":
            return m is None or not (m.get("size") or m.get("subject") or m.get("message_id"))
        n = re.search(r"\[(\d+)\]$", what)
        return len(rc) <= int(n.group(1)) if n else not rc
    if m is None:
        return False
    if key == "smtp.mail_from":
        return m.get("mail_from") == strip_brackets(want)
    if key.startswith("smtp.rcpt_to["):
        n = int(re.search(r"\[(\d+)\]", key).group(1))
        addr = strip_brackets(want)
        return (rc[n] == addr if n < len(rc) else False) if not m.get("rcpt_rejected") else addr in rc
    if key == "email.subject":
        return norm_ws(m.get("subject")) == norm_ws(want)
    if key == "email.message_id":
        return strip_brackets(m.get("message_id")) == strip_brackets(want)
    field = {"email.from": ("from", "header_from"), "email.to": ("to", "header_to")}[suri_key_base(key)]
    have = next((f for f in field if f in m), None)
    if have is None:
        dropped.add(key)
        return True
    val = m[have]
    if key.startswith("email.to["):
        val = val if isinstance(val, list) else [val]
        n = int(re.search(r"\[(\d+)\]", key).group(1))
        return n < len(val) and norm_ws(strip_brackets(val[n])) == norm_ws(strip_brackets(want))
    return norm_ws(val) == norm_ws(want)


def suri_actual(key, s, m, idx):
    """Our value for a Suricata key, for failure messages."""
    if key.startswith("not-has-key"):
        return "recipients %s" % (all_rcpts(m) if m else "none")
    if key == "tx_id":
        return idx
    if key in ("src_ip", "src_port", "dest_ip", "dest_port"):
        side = s.get("client" if key.startswith("src") else "server") or {}
        return side.get("ip" if key.endswith("ip") else "port")
    if key == "smtp.helo":
        return s.get("helo")
    if m is None:
        return "(no message)"
    if key.startswith("smtp.rcpt_to"):
        return all_rcpts(m)
    return m.get({"smtp.mail_from": "mail_from", "email.subject": "subject",
                  "email.message_id": "message_id"}.get(key, key))


def short(value, n=60):
    text = repr(value)
    return text if len(text) <= n else text[:n - 5] + "...'"


def eval_suricata(check, sessions):
    dropped, matched, misses = set(), [], []
    for s, m, i in suricata_events(sessions):
        bad = [k for k, v in check["match"].items() if not suri_value_ok(k, v, s, m, i, dropped)]
        (misses if bad else matched).append((len(bad), bad, s, m, i))
    n = len(matched)
    lower_bound = bool(check["unmapped"] or dropped)
    if check["count"] == 0 and dropped:
        return None  # cannot judge: the keys that would narrow it are missing
    if (n >= check["count"]) if lower_bound else (n == check["count"]):
        return None
    head = "Suricata expects %s%d smtp event(s) matching %d fields, we have %d" % (
        ">=" if lower_bound else "", check["count"], len(check["match"]), n)
    if n > check["count"]:
        return head + ": " + ", ".join("session %s message %d" % (s.get("id"), i + 1)
                                       for _, _, s, m, i in matched)
    if not misses:
        return head + " (no smtp events in our output)"
    _, bad, s, m, i = min(misses, key=lambda x: x[0])
    return head + "; closest, session %s message %d, differs in %s" % (s.get("id"), i + 1, "; ".join(
        "%s: expected %s, got %s" % (k, short(check["match"][k]), short(suri_actual(k, s, m, i)))
        for k in bad))


def eval_check(check, sessions, records, cap, state):
    kind = check["kind"]
    if kind == "anomaly_note":
        return None
    if kind == "suricata_events":
        return eval_suricata(check, sessions)
    if kind == "no_secrets":
        leaks = E.secret_leaks(records, cap.secrets)
        return "; ".join(leaks) if leaks else None
    s = find_session(sessions, check["session"])
    if s is None and check["session"] is None:
        return "the reference names no connection and we have %d SMTP sessions, not 1" % len(
            [x for x in sessions if x.get("commands")])
    if s is None:
        return "no session %s in our output (ours: %s)" % (key_str(check["session"]), [
            "%s:%s->%s:%s" % ((x.get("client") or {}).get("ip"), (x.get("client") or {}).get("port"),
                              (x.get("server") or {}).get("ip"), (x.get("server") or {}).get("port"))
            for x in sessions][:4])
    return eval_session_check(check, s, state)


def anomaly_report(cap, sessions):
    ours = sorted({a for s in sessions for a in s.get("anomalies") or []})
    return ["%s; our anomalies: %s" % (c["value"], ", ".join(ours) or "none")
            for c in cap.checks if c["kind"] == "anomaly_note"]


def capture_args(cap):
    """-p when SMTP runs on a port outside the default filter (25, 2525)."""
    if cap.ports - DEFAULT_PORTS:
        return ["-p", ",".join(str(p) for p in sorted(cap.ports | DEFAULT_PORTS))]
    return []


def real_checks(cap):
    return [c for c in cap.checks if c["kind"] != "anomaly_note"]


def run_capture(cap, binary, verbose):
    """Run the binary on one capture; return (verdict word, output lines)."""
    records, err = E.run_smtpscope(binary, cap.path, capture_args(cap))
    if err:
        return "FAIL", ["FAIL %s: %s" % (cap.name, err)]
    sessions = E.sessions_of(records)
    fails, state = [], {}
    contract = E.contract_errors(records)
    if contract:
        fails.append("contract: " + "; ".join(contract[:3]) +
                     (" (+%d more)" % (len(contract) - 3) if len(contract) > 3 else ""))
    for check in real_checks(cap):
        why = eval_check(check, sessions, records, cap, state)
        if why:
            fails.append("%s [%s%s]" % (why, check["src"], ", " + key_str(check["session"])
                                        if check["session"] else ""))
    extra = []
    if verbose:
        extra += ["  note: " + x for x in cap.notes + anomaly_report(cap, sessions)]
        extra += ["  n/a: " + x for x in cap.na]
    if fails:
        return "FAIL", ["FAIL %s: %s" % (cap.name, fails[0])] + \
            ["  also: " + f for f in fails[1:]] + extra
    if not real_checks(cap):
        return "SKIP", ["SKIP %s: no reference fact applies (%d n/a: alerts, files, stats ...); "
                        "ran clean, contract ok" % (cap.name, len(cap.na))] + extra
    return "PASS", ["PASS %s (%d checks, %d n/a)" % (cap.name, len(real_checks(cap)) + 1,
                                                     len(cap.na))] + extra


def dump(cap):
    print("== %s  (%d checks + contract, %d n/a)" % (cap.name, len(real_checks(cap)), len(cap.na)))
    if capture_args(cap):
        print("   run with %s" % " ".join(capture_args(cap)))
    for c in cap.checks:
        body = {k: v for k, v in c.items() if k not in ("kind", "src", "session", "_id", "log")}
        if c["kind"] == "commands":
            body = {"replies_known": c["replies_known"], "expected": fmt_cmds(c["expected"])}
        text = json.dumps(body, default=str)
        print("  %-16s %-28s %s  <- %s" % (c["kind"], key_str(c["session"]) if c["session"] else "-",
                                           text if len(text) < 400 else text[:380] + "...", c["src"]))
    for what, s in cap.secrets:
        print("  secret           %s %s" % (what, E.mask(s)))
    for x in cap.notes:
        print("  note: " + x)
    for x in cap.na:
        print("  n/a: " + x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "smtpscope"))
    ap.add_argument("--corpus", default=os.path.join(REPO, "..", "shared", "corpus"))
    ap.add_argument("-v", "--verbose", action="store_true", help="print notes and n/a items")
    ap.add_argument("-k", dest="only", help="only captures whose name contains this")
    ap.add_argument("--dump-expected", action="store_true",
                    help="print the derived expectations; do not run the binary")
    args = ap.parse_args()

    if not os.path.isdir(args.corpus):
        shown = args.corpus if args.corpus != ap.get_default("corpus") else "../shared/corpus"
        print("conformance: SKIP: %s not found" % shown)
        return 0
    try:
        import yaml
    except ImportError:
        yaml = None
        print("conformance: note: PyYAML missing (apt-get install python3-yaml): "
              "Suricata checks skipped")
    if not args.dump_expected and not os.access(args.bin, os.X_OK):
        print("conformance: ERROR: binary %s not found or not executable (build it first)" % args.bin)
        return 2
    caps = collect(args.corpus, yaml)
    counts, total = {"PASS": 0, "FAIL": 0, "SKIP": 0}, 0
    for name, cap in sorted(caps.items()):
        if args.only and args.only not in name:
            continue
        if args.dump_expected:
            dump(cap)
            continue
        word, lines = run_capture(cap, args.bin, args.verbose)
        counts[word] += 1
        print("\n".join(lines))
        total += len(real_checks(cap)) + 1
    if args.dump_expected:
        return 0
    print("conformance: %d passed, %d failed, %d skipped of %d captures (%d checks derived)" % (
        counts["PASS"], counts["FAIL"], counts["SKIP"], sum(counts.values()), total))
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
