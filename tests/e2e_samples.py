#!/usr/bin/env python3
"""End-to-end test of smtpscope's JSON output over the repo's own samples.

For every <dir>/<name>.pcap (or .pcapng) that has <dir>/<name>.expected.json
beside it, in samples/ (real captures) and samples/edge/ (the same captures
transformed by samples/make-edge-cases.py) and samples/trust/
(samples/make-trust.sh: one capture per behaviour of issue 11) and samples/keylog/
(samples/make-keylog-samples.sh: TLS sessions with the client's key log), run
`BIN -r <pcap> -o json` (plus `--tls-keylog <dir>/<keylog>` when the expected
file names a "keylog") and judge the output against:

  * the expected file (truth: what the sample's author knew when making the
    capture with a real MTA, e.g. Postfix + swaks): number of sessions; per
    session state, client/server ip and port, helo, esmtp, extensions,
    starttls, auth (mechanism, user, success), every command (cmd, reply
    code, enhanced code when the expected gives one -- an expected null is
    not checked: whether "501 5.5.4 ..." before ENHANCEDSTATUSCODES was
    advertised carries an enhanced code is not pinned by DESIGN.md --, null
    code = no reply; a command entry without "code" checks the cmd only;
    `result` and `reply_text` when given: the command's result class and its
    reply.text, exactly: the reply lines as sent, without the code, joined by
    "\n"; null = no reply),
    messages (mail_from, rcpt_to, rcpt_rejected, accepted, subject,
    subject_raw, from, from_raw (the RFC 2047 decoding of the Subject and From
    headers and their wire text; samples/expect.py takes both from Python's
    email library), message_id, and a size that is null: no complete body) and the queue id
    in the reply to "." (or BDAT).
    Keys absent from an expected session are not checked; neither are the
    sample's extra keys with no pinned meaning in DESIGN.md (a numeric message
    size unless compare_size: declared SIZE vs counted bytes; raw lines,
    reply_lines, mail_accepted).
  * the output contract in DESIGN.md ("Output contract (JSON Lines, -o
    json)"): required fields and JSON types, result consistent with the reply
    code's first digit, matched_on from the allowed set, a non-empty
    explanation on every command, ISO 8601 UTC timestamps with microseconds,
    ids 1..N, addresses without angle brackets, the summary record last.
  * the capture itself: AUTH credentials are read from the client's TCP
    stream with the small pure-python pcap/pcapng reader below, and no
    password may appear in our output, raw (base64), or decoded.

Keys of the trust captures (samples/trust; names from DESIGN.md, "Additions
for trust, TLS and probing"; each checked only when present):

  per message
    recipients         [{"address", "status", "code", "reply"}]: our
                       messages[].recipients in the same order with the same
                       address, status (accepted | deferred | rejected |
                       unknown), code and reply (text without the code).
  per session
    outcome            the session's "outcome", exactly.
    queue_ids          every queue id of the session, in order: our non-null
                       messages[].queue_id must be exactly these, and each must
                       be quoted in the verdict ([] = we name none).
    tls                null: our "tls" is null or absent; else our "tls" has
                       the same "handshake" and an "alert" that is null when
                       the expected is, else has the same "description",
                       "sent_by" (and "level" when given). Other keys of the
                       expected ("ssl_error") are not compared.
    verdict_contains   a string or list: each must be in our "verdict".
    verdict_excludes   a string or list: none may be in our "verdict".
    anomalies_exclude  names that must not be in "anomalies".
    unsolicited_replies informational (a reply with no command pending); not
                       compared.

Keys of the key log captures (samples/keylog; see samples/keylog/README.md):

  top level
    keylog             a file beside the capture: run with --tls-keylog FILE;
                       null or absent: without.  The commands inside TLS are
                       then in "commands" and compared like the others.
  per session
    tls                as above (handshake, alert), and also "version",
                       "cipher" (IANA name) and "decrypted", each exactly when
                       present (null included), and "failed_records": 0 exactly,
                       or the string ">0": an integer above 0.  Other keys
                       (encrypt_then_mac, key_updates, ssl_error, postfix_log)
                       are informational.
    secrets_not_in_output  strings (the AUTH password inside TLS, its base64,
                       the PLAIN blob) that must not be in our output.

Optional keys of an expected file (the edge cases use them):

  top level
    exit_status        expected exit status (default 0). When not 0, stderr
                       must be exactly one non-empty line (README: "one line
                       on stderr naming the file"); the JSON output is still
                       judged (a truncated capture is reported up to the cut).
    stderr_contains    a string or a list of strings that stderr must contain.
  per session
    midstream          true/false: the session's "midstream" flag.
    gaps               {"client": N, "server": N}: exact bytes never seen, per
                       side named (a side left out is not checked).
    gaps_min           {"client": N, ...}: at least N bytes never seen.
    anomalies_include  names that must be in "anomalies" (others may be too).
    compare_commands   default true; false: commands, messages and queue id
                       are not compared (state, anomalies, gaps and the other
                       keys present still are).
    commands_prefix    N: only the first N expected commands are compared
                       with our first N (we may list more after them).
    compare_size       true: every message's size is compared exactly (used
                       where the byte count is the point: reordering,
                       duplicates, fragments).

The run itself must be clean: the expected exit status (0 unless said
otherwise) within 60 s, no sanitizer report on stderr.

tests/conformance.py imports the helpers of this file (pcap reader, secret
extraction, contract checks, runner), so keep their names stable.

At the end: passed/failed samples and the number of failed checks (one per
error line).

Usage: python3 tests/e2e_samples.py [--bin PATH] [--samples DIR]... [--dump-expected]
                                    [--skip-keylog]
"""

import argparse
import base64
import binascii
import ipaddress
import json
import os
import re
import struct
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 60

# ----------------------------------------------------------------------------
# running the binary
# ----------------------------------------------------------------------------

SANITIZER_RE = re.compile(
    r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|MemorySanitizer|"
    r"ThreadSanitizer|runtime error:|Segmentation fault|core dumped|double free|"
    r"stack smashing")


def first_lines(text, n=3):
    lines = [l for l in text.splitlines() if l.strip()]
    return " | ".join(lines[:n]) if lines else "(empty)"


def run_capture(binary, pcap, extra_args=()):
    """Run BIN -r pcap -o json. Return (exit status, records, stderr text, error);
    error is None unless the run timed out, crashed, printed a sanitizer report
    or wrote a line that is not JSON. A non-zero exit status is not an error
    here: the caller compares it with what it expects."""
    cmd = [binary, "-r", pcap, "-o", "json"] + list(extra_args)
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, None, "", "timeout: no exit after %d s (%s)" % (TIMEOUT, " ".join(cmd))
    except OSError as e:
        return None, None, "", "cannot run %s: %s" % (binary, e)
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode < 0:
        return proc.returncode, None, err, "killed by signal %d; stderr: %s" % (
            -proc.returncode, first_lines(err))
    if SANITIZER_RE.search(err):
        m = SANITIZER_RE.search(err)
        start = err.rfind("\n", 0, m.start()) + 1
        return proc.returncode, None, err, "sanitizer/crash report on stderr: %s" % \
            first_lines(err[start:])
    records = []
    for n, line in enumerate(proc.stdout.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError as e:
            return proc.returncode, None, err, "stdout line %d is not JSON (%s): %.80s" % (
                n, e, line)
    return proc.returncode, records, err, None


def run_smtpscope(binary, pcap, extra_args=()):
    """Run BIN -r pcap -o json. Return (records, error); error is None if clean
    (exit status 0 included)."""
    status, records, err, error = run_capture(binary, pcap, extra_args)
    if error:
        return None, error
    if status != 0:
        return None, "exit status %d; stderr: %s" % (status, first_lines(err))
    return records, None


def sessions_of(records):
    """Session records sorted by id (the order they are written is end order)."""
    sess = [r for r in records if isinstance(r, dict) and r.get("type") == "session"]
    return sorted(sess, key=lambda s: s.get("id") if isinstance(s.get("id"), int) else 1 << 30)


# ----------------------------------------------------------------------------
# a small pcap / pcapng reader: Ethernet (+802.1Q), NULL/LOOP, SLL, SLL2, RAW
# ----------------------------------------------------------------------------

def read_frames(path):
    """Yield (linktype, frame bytes) for every packet of a pcap or pcapng file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic == b"\x0a\x0d\x0d\x0a":
        yield from _read_pcapng(data)
        return
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0xFFFF
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        off += 16
        yield linktype, data[off:off + incl]
        off += incl


def _read_pcapng(data):
    e, off, links = "<", 0, []
    while off + 12 <= len(data):
        btype = struct.unpack(e + "I", data[off:off + 4])[0]
        if btype == 0x0A0D0D0A:
            e = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        blen = struct.unpack(e + "I", data[off + 4:off + 8])[0]
        if blen < 12:
            return
        body = data[off + 8:off + blen - 4]
        if btype == 1:
            links.append(struct.unpack(e + "H", body[:2])[0])
        elif btype == 6 and len(body) >= 20:
            iface, _, _, caplen = struct.unpack(e + "IIII", body[:16])
            if iface < len(links):
                yield links[iface], body[20:20 + caplen]
        elif btype == 3 and links:
            yield links[0], body[4:]
        off += blen


def _l3(linktype, frame):
    """Return (ethertype-ish 4|6, payload) for the frame's IP packet or None."""
    if linktype == 1:  # EN10MB
        off, etype = 14, struct.unpack(">H", frame[12:14])[0] if len(frame) >= 14 else 0
        while etype in (0x8100, 0x88A8, 0x9100) and len(frame) >= off + 4:
            etype = struct.unpack(">H", frame[off + 2:off + 4])[0]
            off += 4
        payload = frame[off:]
    elif linktype in (0, 108):  # NULL (host order) / LOOP (network order)
        if len(frame) < 4:
            return None
        af = struct.unpack("<I" if linktype == 0 else ">I", frame[:4])[0]
        if linktype == 0 and af > 0xFFFF:
            af = struct.unpack(">I", frame[:4])[0]
        etype = 0x0800 if af == 2 else 0x86DD if af in (10, 24, 28, 30) else 0
        payload = frame[4:]
    elif linktype == 113:  # LINUX_SLL
        etype, payload = struct.unpack(">H", frame[14:16])[0], frame[16:]
    elif linktype == 276:  # LINUX_SLL2
        etype, payload = struct.unpack(">H", frame[0:2])[0], frame[20:]
    elif linktype in (12, 14, 101, 228, 229):  # RAW, IPV4, IPV6
        payload = frame
        etype = 0x0800 if frame[:1] and frame[0] >> 4 == 4 else 0x86DD
    else:
        return None
    if etype == 0x0800:
        return 4, payload
    if etype == 0x86DD:
        return 6, payload
    return None


def _tcp(version, pkt):
    """Return (src, dst, tcp segment) for an unfragmented TCP packet, else None."""
    if version == 4:
        if len(pkt) < 20:
            return None
        ihl = (pkt[0] & 15) * 4
        total = struct.unpack(">H", pkt[2:4])[0]
        frag = struct.unpack(">H", pkt[6:8])[0]
        if pkt[9] != 6 or frag & 0x3FFF:
            return None
        end = total if ihl <= total <= len(pkt) else len(pkt)
        return (str(ipaddress.IPv4Address(pkt[12:16])), str(ipaddress.IPv4Address(pkt[16:20])),
                pkt[ihl:end])
    if len(pkt) < 40:
        return None
    nxt, off = pkt[6], 40
    plen = struct.unpack(">H", pkt[4:6])[0]
    while nxt in (0, 43, 60, 51) and len(pkt) >= off + 8:
        hlen = (pkt[off + 1] + 2) * 4 if nxt == 51 else (pkt[off + 1] + 1) * 8
        nxt, off = pkt[off], off + hlen
    if nxt != 6:
        return None
    end = min(len(pkt), 40 + plen) if plen else len(pkt)
    return (str(ipaddress.IPv6Address(pkt[8:24])), str(ipaddress.IPv6Address(pkt[24:40])),
            pkt[off:end])


def tcp_segments(path):
    """Yield (src, sport, dst, dport, seq, flags, payload) for every TCP segment."""
    for linktype, frame in read_frames(path):
        l3 = _l3(linktype, frame)
        if not l3:
            continue
        t = _tcp(*l3)
        if not t or len(t[2]) < 20:
            continue
        src, dst, seg = t
        sport, dport, seq = struct.unpack(">HHI", seg[:8])
        doff = (seg[12] >> 4) * 4
        yield src, sport, dst, dport, seq, seg[13], seg[doff:]


def tcp_streams(path):
    """Reassemble each TCP direction: {(src, sport, dst, dport): bytes}.

    First data wins on overlap; holes are replaced by a newline so that line
    parsing resynchronises."""
    segs, isn = {}, {}
    for src, sport, dst, dport, seq, flags, payload in tcp_segments(path):
        key = (src, sport, dst, dport)
        if flags & 0x02:  # SYN
            isn[key] = (seq + 1) & 0xFFFFFFFF
        if payload:
            segs.setdefault(key, []).append((seq, payload))
    streams = {}
    for key, lst in segs.items():
        base = isn.get(key, lst[0][0])
        rel = sorted((((s - base) & 0xFFFFFFFF), p) for s, p in lst)
        out, cur = bytearray(), rel[0][0]
        for s, p in rel:
            if s + len(p) <= cur:
                continue
            if s > cur:
                out += b"\n"
                cur = s
            out += p[cur - s:]
            cur = s + len(p)
        streams[key] = bytes(out)
    return streams


# ----------------------------------------------------------------------------
# AUTH secrets found in a capture
# ----------------------------------------------------------------------------

B64_LINE = re.compile(r"^[A-Za-z0-9+/]+=*$")
SMTP_VERB = re.compile(r"^(HELO|EHLO|MAIL|RCPT|DATA|RSET|NOOP|QUIT|VRFY|EXPN|HELP|STARTTLS|"
                       r"AUTH|BDAT|TURN|ETRN|ATRN)\b", re.I)


def _b64(text):
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _text(raw):
    return raw.decode("utf-8", "replace") if raw is not None else None


def _auth_exchange_secrets(mech, data):
    """Secrets of one AUTH exchange: mech and the client's base64 lines."""
    found = []
    if mech == "PLAIN" and data:
        parts = (_b64(data[0]) or b"").split(b"\0")
        found.append(("AUTH PLAIN blob", data[0]))
        if len(parts) >= 3:
            found.append(("AUTH PLAIN password", _text(parts[2])))
    elif mech == "LOGIN" and len(data) >= 2:
        found.append(("AUTH LOGIN password (base64)", data[1]))
        found.append(("AUTH LOGIN password", _text(_b64(data[1]))))
    elif mech == "CRAM-MD5" and data:
        found.append(("AUTH CRAM-MD5 response", data[0]))
        resp = _text(_b64(data[0])) or ""
        if " " in resp:
            found.append(("AUTH CRAM-MD5 digest", resp.rsplit(" ", 1)[1]))
    else:
        for line in data:
            found.append(("AUTH %s data" % mech, line))
            decoded = _text(_b64(line)) or ""
            m = re.search(r"auth=Bearer ([^\x01]+)", decoded)
            if m:
                found.append(("AUTH %s token" % mech, m.group(1)))
    for what, secret in list(found):
        if secret and "password" in what and "base64" not in what:
            found.append((what + " re-encoded", base64.b64encode(secret.encode()).decode()))
    return [(w, s) for w, s in found if s and len(s) >= 4]


def auth_secrets_in_stream(data):
    """All AUTH secrets sent in one client->server byte stream."""
    lines = [l.rstrip("\r") for l in data.decode("latin-1").split("\n")]
    secrets, i = [], 0
    while i < len(lines):
        m = re.match(r"^AUTH\s+(\S+)(?:\s+(\S+))?\s*$", lines[i], re.I)
        i += 1
        if not m:
            continue
        mech, initial = m.group(1).upper(), m.group(2)
        exchange = [initial] if initial and initial != "=" else []
        while i < len(lines) and len(exchange) < 4 and B64_LINE.match(lines[i]) \
                and not SMTP_VERB.match(lines[i]):
            exchange.append(lines[i])
            i += 1
        secrets += _auth_exchange_secrets(mech, exchange)
    return secrets


def capture_secrets(path):
    """[(description, secret)] for every AUTH exchange in the capture."""
    found = []
    for _key, data in sorted(tcp_streams(path).items()):
        if re.search(rb"(^|\n)AUTH\s", data, re.I):
            found += auth_secrets_in_stream(data)
    seen, unique = set(), []
    for what, s in found:
        if s not in seen:
            seen.add(s)
            unique.append((what, s))
    return unique


def mask(secret):
    return "%s%s (%d chars)" % (secret[:2], "*" * 6, len(secret))


def _strings(obj, path="$"):
    if isinstance(obj, str):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(v, "%s.%s" % (path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _strings(v, "%s[%d]" % (path, i))


def secret_leaks(records, secrets):
    """Error strings for every secret found in any string of the output."""
    errors = []
    for what, secret in secrets:
        for n, rec in enumerate(records, 1):
            hit = next((p for p, s in _strings(rec) if secret in s), None)
            if hit:
                errors.append("%s %s printed in record %d at %s" % (what, mask(secret), n, hit))
                break
    return errors


# ----------------------------------------------------------------------------
# output contract (DESIGN.md, "Output contract (JSON Lines, -o json)")
# ----------------------------------------------------------------------------

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
STATES = {"refused", "no_answer", "closed", "reset", "timeout", "unfinished"}
RESULTS = {"success", "intermediate", "temporary_failure", "permanent_failure", "no_reply"}
MATCHED_ON = {"text", "enhanced", "enhanced_class", "code_in_context", "first_digit"}
RESULT_BY_DIGIT = {2: "success", 3: "intermediate", 4: "temporary_failure",
                   5: "permanent_failure"}
NUM = (int, float)
STR_OR_NULL = (str, type(None))


def _tname(types):
    types = types if isinstance(types, tuple) else (types,)
    return "|".join("null" if t is type(None) else t.__name__ for t in types)


def _type_errors(obj, spec, where):
    errs = []
    for key, types in spec.items():
        allowed = types if isinstance(types, tuple) else (types,)
        if key not in obj:
            errs.append("%s: missing %r" % (where, key))
        elif not isinstance(obj[key], allowed) or \
                (isinstance(obj[key], bool) and bool not in allowed):
            errs.append("%s.%s: %s where %s expected" % (
                where, key, _tname(type(obj[key])), _tname(types)))
    return errs


SESSION_SPEC = {"id": int, "ts": str, "duration": NUM, "client": dict, "server": dict,
                "state": str, "midstream": bool, "helo": STR_OR_NULL, "esmtp": bool,
                "extensions": list, "starttls": bool, "auth": (dict, type(None)),
                "commands": list, "messages": list, "gaps": dict, "anomalies": list,
                "verdict": str}
COMMAND_SPEC = {"cmd": str, "arg": STR_OR_NULL, "ts": str, "reply": (dict, type(None)),
                "result": str, "explanation": str, "matched_on": str}
MESSAGE_SPEC = {"mail_from": STR_OR_NULL, "rcpt_to": list, "rcpt_rejected": list,
                "accepted": bool, "size": (int, type(None)), "subject": STR_OR_NULL,
                "message_id": STR_OR_NULL}


def command_errors(c, where):
    errs = _type_errors(c, COMMAND_SPEC, where)
    if errs:
        return errs
    if not TS_RE.match(c["ts"]):
        errs.append("%s.ts %r is not ISO 8601 UTC with microseconds" % (where, c["ts"]))
    if c["result"] not in RESULTS:
        errs.append("%s.result %r not allowed" % (where, c["result"]))
    if c["matched_on"] not in MATCHED_ON:
        errs.append("%s.matched_on %r not allowed" % (where, c["matched_on"]))
    if not c["explanation"].strip():
        errs.append("%s (%s): empty explanation" % (where, c["cmd"]))
    reply = c["reply"]
    if reply is None:
        if c["result"] != "no_reply":
            errs.append("%s (%s): no reply but result %r" % (where, c["cmd"], c["result"]))
        return errs
    errs += _type_errors(reply, {"code": int, "enhanced": STR_OR_NULL, "text": str},
                         where + ".reply")
    code = reply.get("code")
    if isinstance(code, int) and code // 100 in RESULT_BY_DIGIT \
            and c["result"] != RESULT_BY_DIGIT[code // 100]:
        errs.append("%s (%s): reply %d but result %r" % (where, c["cmd"], code, c["result"]))
    return errs


def message_errors(m, where):
    errs = _type_errors(m, MESSAGE_SPEC, where)
    addrs = ([m.get("mail_from")] + list(m.get("rcpt_to") or []) +
             list(m.get("rcpt_rejected") or []))
    for a in addrs:
        if isinstance(a, str) and (a.startswith("<") or a.endswith(">")):
            errs.append("%s: address %r keeps its angle brackets" % (where, a))
        elif a is not None and not isinstance(a, str):
            errs.append("%s: address %r is not a string" % (where, a))
    return errs


def session_errors(s):
    where = "session %s" % s.get("id")
    errs = _type_errors(s, SESSION_SPEC, where)
    if errs:
        return errs
    if not TS_RE.match(s["ts"]):
        errs.append("%s.ts %r is not ISO 8601 UTC with microseconds" % (where, s["ts"]))
    if s["state"] not in STATES:
        errs.append("%s.state %r not allowed" % (where, s["state"]))
    for side in ("client", "server"):
        errs += _type_errors(s[side], {"ip": str, "port": int}, "%s.%s" % (where, side))
    errs += _type_errors(s["gaps"], {"client": int, "server": int}, where + ".gaps")
    if s["auth"] is not None:
        errs += _type_errors(s["auth"], {"mechanism": str, "user": STR_OR_NULL,
                                         "success": (bool, type(None))}, where + ".auth")
    if not all(isinstance(x, str) for x in s["extensions"]):
        errs.append("%s.extensions: not all strings" % where)
    for a in s["anomalies"]:
        if not isinstance(a, str) or not re.match(r"^[a-z0-9_]+$", a):
            errs.append("%s.anomalies: %r is not a snake_case name" % (where, a))
    if not s["verdict"].strip():
        errs.append("%s: empty verdict" % where)
    for i, c in enumerate(s["commands"]):
        errs += command_errors(c, "%s.commands[%d]" % (where, i)) if isinstance(c, dict) \
            else ["%s.commands[%d] is not an object" % (where, i)]
    for i, m in enumerate(s["messages"]):
        errs += message_errors(m, "%s.messages[%d]" % (where, i)) if isinstance(m, dict) \
            else ["%s.messages[%d] is not an object" % (where, i)]
    return errs


def contract_errors(records):
    """Every violation of the JSON Lines contract in one run's output."""
    if not records:
        return ["no output at all (expected at least the summary record)"]
    errs = []
    if not isinstance(records[-1], dict) or records[-1].get("type") != "summary":
        errs.append("last record is not the summary")
    summaries = [r for r in records if isinstance(r, dict) and r.get("type") == "summary"]
    if len(summaries) != 1:
        errs.append("%d summary records, expected 1" % len(summaries))
    for r in records:
        if not isinstance(r, dict) or r.get("type") not in ("session", "summary"):
            errs.append("record of unknown type: %.60s" % json.dumps(r))
    sessions = sessions_of(records)
    ids = [s.get("id") for s in sessions]
    if ids != list(range(1, len(sessions) + 1)):
        errs.append("session ids are %s, expected 1..%d" % (ids[:10], len(sessions)))
    for s in sessions:
        errs += session_errors(s)
    if summaries:
        summ = summaries[-1]
        for key in ("packets", "bytes", "sessions"):
            if not isinstance(summ.get(key), int) or isinstance(summ.get(key), bool):
                errs.append("summary.%s missing or not an integer" % key)
        if isinstance(summ.get("sessions"), int) and summ["sessions"] != len(sessions):
            errs.append("summary.sessions=%s but %d session records"
                        % (summ["sessions"], len(sessions)))
    return errs


# ----------------------------------------------------------------------------
# comparison with samples/<name>.expected.json
# ----------------------------------------------------------------------------

def _reply_code(c):
    return c["reply"]["code"] if isinstance(c.get("reply"), dict) else None


def _command_list(cmds, code):
    return " ".join("%s/%s" % (c.get("cmd"), code(c)) for c in cmds)


def compare_commands(exp, ours, where, prefix=None):
    """Commands in order; with prefix=N only the first N (ours may have more)."""
    errs = []
    if prefix is not None:
        exp = exp[:prefix]
        if len(ours) < len(exp):
            errs.append("%s: %d commands, expected at least %d (ours: %s; expected first: %s)"
                        % (where, len(ours), len(exp), _command_list(ours, _reply_code),
                           _command_list(exp, lambda c: c.get("code", "*"))))
        ours = ours[:len(exp)]
    elif len(exp) != len(ours):
        errs.append("%s: %d commands, expected %d (ours: %s; expected: %s)" % (
            where, len(ours), len(exp), _command_list(ours, _reply_code),
            _command_list(exp, lambda c: c.get("code", "*"))))
    for i, (e, o) in enumerate(zip(exp, ours)):
        w = "%s command %d" % (where, i + 1)
        if "cmd" in e and o.get("cmd") != e["cmd"]:
            errs.append("%s: cmd expected %s, got %s" % (w, e["cmd"], o.get("cmd")))
            break  # everything after is shifted; one message is enough
        if "code" in e and _reply_code(o) != e["code"]:
            errs.append("%s (%s): reply code expected %s, got %s" % (
                w, e.get("cmd"), e["code"], _reply_code(o)))
        if e.get("enhanced") and (o.get("reply") or {}).get("enhanced") != e["enhanced"]:
            errs.append("%s (%s): enhanced code expected %s, got %s" % (
                w, e.get("cmd"), e["enhanced"], (o.get("reply") or {}).get("enhanced")))
        if "result" in e and o.get("result") != e["result"]:
            errs.append("%s (%s): result expected %s, got %s" % (
                w, e.get("cmd"), e["result"], o.get("result")))
        if "reply_text" in e and (o.get("reply") or {}).get("text") != e["reply_text"]:
            errs.append("%s (%s): reply text expected %r, got %r" % (
                w, e.get("cmd"), e["reply_text"], (o.get("reply") or {}).get("text")))
    return errs


def _unbracket(text):
    return text[1:-1] if isinstance(text, str) and text.startswith("<") and text.endswith(">") \
        else text


def _ip_eq(a, b):
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except (ValueError, TypeError):
        return a == b


def compare_messages(exp, ours, where, sizes=False):
    """Messages in order. A null size in the expected is always checked (no
    complete body); a number only when sizes is true (compare_size)."""
    errs = []
    if len(exp) != len(ours):
        errs.append("%s: %d messages, expected %d" % (where, len(ours), len(exp)))
    for i, (e, o) in enumerate(zip(exp, ours)):
        keys = ["mail_from", "rcpt_to", "rcpt_rejected", "accepted", "subject", "subject_raw",
                "from", "from_raw"]
        if "size" in e and (sizes or e["size"] is None):
            keys.append("size")
        for key in keys:
            if key in e and o.get(key) != e[key]:
                errs.append("%s message %d: %s expected %r, got %r" % (
                    where, i + 1, key, e[key], o.get(key)))
        if "message_id" in e and _unbracket(o.get("message_id")) != _unbracket(e["message_id"]):
            errs.append("%s message %d: message_id expected %r, got %r" % (
                where, i + 1, e["message_id"], o.get("message_id")))
        if "recipients" in e:
            errs += compare_recipients(e["recipients"], o.get("recipients"),
                                       "%s message %d" % (where, i + 1))
    return errs


def compare_recipients(exp, ours, where):
    """messages[].recipients: same order, address, status, code, reply text."""
    if not isinstance(ours, list):
        return ["%s: recipients expected %s, got %r" % (
            where, [(r["address"], r["status"]) for r in exp], ours)]
    errs = []
    if len(ours) != len(exp):
        errs.append("%s: %d recipients, expected %d (%s)" % (
            where, len(ours), len(exp), ", ".join("%s %s" % (r["address"], r["status"])
                                                  for r in exp)))
    for j, (e, o) in enumerate(zip(exp, ours), 1):
        o = o if isinstance(o, dict) else {}
        for key in ("address", "status", "code", "reply"):
            if key in e and o.get(key) != e[key]:
                errs.append("%s recipient %d (%s): %s expected %r, got %r" % (
                    where, j, e.get("address"), key, e[key], o.get(key)))
    return errs


def compare_auth(exp, ours, where):
    if exp is None or ours is None:
        return [] if exp is ours else ["%s: auth expected %r, got %r" % (where, exp, ours)]
    return ["%s: auth.%s expected %r, got %r" % (where, k, exp[k], ours.get(k))
            for k in ("mechanism", "user", "success") if k in exp and ours.get(k) != exp[k]]


def check_queue_id(qid, ours, where):
    for c in ours.get("commands", []):
        if c.get("cmd") in (".", "BDAT") and qid in ((c.get("reply") or {}).get("text") or ""):
            return []
    return ["%s: queue id %s not in the text of any reply to \".\"" % (where, qid)]


def compare_session(exp, ours, where):
    errs = []
    client, server = ours.get("client") or {}, ours.get("server") or {}
    simple = {"state": ours.get("state"), "server_port": server.get("port"),
              "client_port": client.get("port"), "helo": ours.get("helo"),
              "starttls": ours.get("starttls"), "esmtp": ours.get("esmtp"),
              "extensions": ours.get("extensions")}
    for key, got in simple.items():
        if key in exp and exp[key] != got:
            errs.append("%s: %s expected %r, got %r" % (where, key, exp[key], got))
    for key, got in (("client_ip", client.get("ip")), ("server_ip", server.get("ip"))):
        if key in exp and not _ip_eq(exp[key], got):
            errs.append("%s: %s expected %r, got %r" % (where, key, exp[key], got))
    if "auth" in exp:
        errs += compare_auth(exp["auth"], ours.get("auth"), where)
    errs += compare_edge_keys(exp, ours, where)
    errs += compare_trust_keys(exp, ours, where)
    if not exp.get("compare_commands", True):
        return errs
    if "commands" in exp:
        errs += compare_commands(exp["commands"], ours.get("commands", []), where,
                                 exp.get("commands_prefix"))
    if "messages" in exp:
        errs += compare_messages(exp["messages"], ours.get("messages", []), where,
                                 exp.get("compare_size", False))
    if exp.get("queue_id"):
        errs += check_queue_id(exp["queue_id"], ours, where)
    return errs


def compare_gaps(exp, ours, where, at_least):
    """gaps (exact) or gaps_min (at least), per side named in the expected."""
    got = ours.get("gaps") if isinstance(ours.get("gaps"), dict) else {}
    errs = []
    for side, want in sorted(exp.items()):
        have = got.get(side)
        bad = not isinstance(have, int) or (have < want if at_least else have != want)
        if bad:
            errs.append("%s: gaps.%s expected %s%s, got %r" % (
                where, side, ">= " if at_least else "", want, have))
    return errs


def compare_edge_keys(exp, ours, where):
    """midstream, gaps, gaps_min, anomalies_include (see the docstring)."""
    errs = []
    if "midstream" in exp and ours.get("midstream") != exp["midstream"]:
        errs.append("%s: midstream expected %r, got %r" % (
            where, exp["midstream"], ours.get("midstream")))
    if "gaps" in exp:
        errs += compare_gaps(exp["gaps"], ours, where, at_least=False)
    if "gaps_min" in exp:
        errs += compare_gaps(exp["gaps_min"], ours, where, at_least=True)
    have = ours.get("anomalies") or []
    missing = [a for a in exp.get("anomalies_include", []) if a not in have]
    if missing:
        errs.append("%s: anomalies %s missing (got %s)" % (where, missing, have))
    return errs


def _strings_of(value):
    return [value] if isinstance(value, str) else list(value or [])


def compare_tls(exp, ours, where):
    got = ours.get("tls")
    if exp is None:
        return [] if got is None else ["%s: tls expected null, got %r" % (where, got)]
    if not isinstance(got, dict):
        return ["%s: tls expected %r, got %r" % (
            where, {k: v for k, v in exp.items() if k != "ssl_error"}, got)]
    errs = []
    if "handshake" in exp and got.get("handshake") != exp["handshake"]:
        errs.append("%s: tls.handshake expected %r, got %r" % (
            where, exp["handshake"], got.get("handshake")))
    if "alert" in exp:
        ea, ga = exp["alert"], got.get("alert")
        if ea is None and ga is not None:
            errs.append("%s: tls.alert expected null, got %r" % (where, ga))
        elif ea is not None and not isinstance(ga, dict):
            errs.append("%s: tls.alert expected %r, got %r" % (where, ea, ga))
        elif ea is not None:
            for key in ("description", "sent_by", "level"):
                if key in ea and ga.get(key) != ea[key]:
                    errs.append("%s: tls.alert.%s expected %r, got %r" % (
                        where, key, ea[key], ga.get(key)))
    for key in ("version", "cipher", "decrypted"):      # samples/keylog
        if key in exp and got.get(key) != exp[key]:
            errs.append("%s: tls.%s expected %r, got %r" % (where, key, exp[key], got.get(key)))
    if "failed_records" in exp:
        want, have = exp["failed_records"], got.get("failed_records")
        ok = isinstance(have, int) and not isinstance(have, bool) and \
            (have > 0 if want == ">0" else have == want)
        if not ok:
            errs.append("%s: tls.failed_records expected %s, got %r" % (where, want, have))
    return errs


def compare_trust_keys(exp, ours, where):
    """outcome, queue_ids, tls, verdict_contains, verdict_excludes, anomalies_exclude."""
    errs = []
    verdict = ours.get("verdict") if isinstance(ours.get("verdict"), str) else ""
    if "outcome" in exp and ours.get("outcome") != exp["outcome"]:
        errs.append("%s: outcome expected %r, got %r (verdict: %s)" % (
            where, exp["outcome"], ours.get("outcome"), verdict))
    if "queue_ids" in exp:
        got = [m.get("queue_id") for m in ours.get("messages") or []
               if isinstance(m, dict) and m.get("queue_id") is not None]
        if got != exp["queue_ids"]:
            errs.append("%s: queue ids expected %r, got %r" % (where, exp["queue_ids"], got))
        missing = [q for q in exp["queue_ids"] if q not in verdict]
        if missing:
            errs.append("%s: queue id%s %s not quoted in the verdict: %s" % (
                where, "s" if len(missing) > 1 else "", ", ".join(missing), verdict))
    if "tls" in exp:
        errs += compare_tls(exp["tls"], ours, where)
    for needle in _strings_of(exp.get("verdict_contains")):
        if needle not in verdict:
            errs.append("%s: verdict lacks %r: %s" % (where, needle, verdict))
    for needle in _strings_of(exp.get("verdict_excludes")):
        if needle in verdict:
            errs.append("%s: verdict must not say %r: %s" % (where, needle, verdict))
    have = ours.get("anomalies") or []
    bad = [a for a in _strings_of(exp.get("anomalies_exclude")) if a in have]
    if bad:
        errs.append("%s: anomalies %s must not be there (got %s)" % (where, bad, have))
    return errs


def pair_sessions(expected, ours):
    """Pair expected sessions with ours: by client_port when given, else in order."""
    pairs, used = [], set()
    for e in expected:
        if "client_port" in e:
            match = next((j for j, o in enumerate(ours) if j not in used and
                          (o.get("client") or {}).get("port") == e["client_port"]), None)
        else:
            match = next((j for j in range(len(ours)) if j not in used), None)
        if match is not None:
            used.add(match)
        pairs.append((e, ours[match] if match is not None else None))
    return pairs


def compare_expected(expected, records):
    ours = sessions_of(records)
    exp_sessions = expected.get("sessions", [])
    errs = []
    if len(exp_sessions) != len(ours):
        errs.append("%d sessions, expected %d" % (len(ours), len(exp_sessions)))
    for i, (e, o) in enumerate(pair_sessions(exp_sessions, ours), 1):
        where = "session %d%s" % (i, " (client port %s)" % e["client_port"]
                                  if "client_port" in e else "")
        if o is None:
            errs.append("%s: no matching session in our output" % where)
        else:
            errs += compare_session(e, o, where)
    return errs


# ----------------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------------

def _label(samples_dir):
    """"edge/" for samples/edge, "" for samples/ itself (names stay short)."""
    rel = os.path.relpath(os.path.abspath(samples_dir), os.path.join(REPO, "samples"))
    return "" if rel == "." or rel.startswith("..") else rel + "/"


def find_samples(samples_dir):
    """[(name, pcap path, expected path)] for every pcap with an expected file."""
    found, label = [], _label(samples_dir)
    for fn in sorted(os.listdir(samples_dir)):
        for ext in (".pcapng", ".pcap"):
            if fn.endswith(ext):
                name = fn[:-len(ext)]
                exp = os.path.join(samples_dir, name + ".expected.json")
                if os.path.exists(exp):
                    found.append((label + name, os.path.join(samples_dir, fn), exp))
    return found


def exit_errors(expected, status, stderr):
    """exit_status (default 0) and stderr_contains; a failing run must say
    why in one line on stderr (README: exit status 1, one line naming the file)."""
    want = expected.get("exit_status", 0)
    if status != want:
        return ["exit status %s, expected %d; stderr: %s" % (status, want, first_lines(stderr))]
    errs = []
    lines = [l for l in stderr.splitlines() if l.strip()]
    if want != 0 and len(lines) != 1:
        errs.append("%d lines on stderr, expected 1: %s" % (len(lines), first_lines(stderr)))
    needles = expected.get("stderr_contains", [])
    for needle in [needles] if isinstance(needles, str) else needles:
        if needle not in stderr:
            errs.append("stderr lacks %r: %s" % (needle, first_lines(stderr)))
    return errs


def keylog_args(pcap, expected):
    """--tls-keylog <the expected file's keylog, beside the capture>, or nothing; and -p with
    the sessions' server ports when one is not a default SMTP port (465: implicit TLS)."""
    args = []
    ports = sorted({s["server_port"] for s in expected.get("sessions", [])
                    if s.get("server_port") not in (None, 25, 2525)})
    if ports:
        args += ["-p", ",".join(str(p) for p in [25, 2525] + ports)]
    if expected.get("keylog"):
        args += ["--tls-keylog", os.path.join(os.path.dirname(pcap), expected["keylog"])]
    return args


def expected_secrets(expected):
    """Secrets the capture cannot show (inside TLS), listed by the expected file."""
    return [("secret inside TLS", s) for sess in expected.get("sessions", [])
            for s in sess.get("secrets_not_in_output", [])]


def judge_sample(binary, pcap, expected, secrets):
    """Return (number of checks, list of failures) for one sample."""
    status, records, stderr, err = run_capture(binary, pcap, keylog_args(pcap, expected))
    if err:
        return 1, [err]
    errs = exit_errors(expected, status, stderr)
    if errs:
        return 1, errs
    errs += compare_expected(expected, records)
    errs += ["contract: " + e for e in contract_errors(records)]
    errs += ["secret: " + e for e in secret_leaks(records, secrets)]
    n_checks = 1 + len(expected.get("sessions", [])) + 1 + len(secrets)
    n_checks += ("exit_status" in expected) + len(expected.get("stderr_contains", []))
    for s in expected.get("sessions", []):
        n_checks += len(s) + len(s.get("commands", [])) + len(s.get("messages", []))
    return n_checks, errs


def dump_expected(name, expected, secrets):
    print("== %s: %s" % (name, expected.get("description", "")))
    for i, s in enumerate(expected.get("sessions", []), 1):
        print("  session %d: %s" % (i, json.dumps({k: v for k, v in s.items()
                                                   if k not in ("commands", "messages")})))
        print("    commands: %s" % " ".join("%s/%s" % (c.get("cmd"), c.get("code"))
                                            for c in s.get("commands", [])))
        for m in s.get("messages", []):
            print("    message: %s" % json.dumps(m))
    for what, s in secrets:
        print("  secret: %s %s" % (what, mask(s)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "smtpscope"))
    ap.add_argument("--samples", action="append", metavar="DIR",
                    help="a folder of NAME.pcap + NAME.expected.json; repeatable "
                         "(default: samples, samples/edge and samples/trust, those present)")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="list every failed check, not the first 8 per sample")
    ap.add_argument("--dump-expected", action="store_true",
                    help="print what each sample expects; do not run the binary")
    ap.add_argument("--skip-keylog", action="store_true",
                    help="leave out the samples run with --tls-keylog "
                         "(for a binary without --tls-keylog)")
    args = ap.parse_args()

    dirs = args.samples or [os.path.join(REPO, "samples", d)
                            for d in ("", "edge", "trust", "keylog")]
    samples = [s for d in dirs if os.path.isdir(d) for s in find_samples(d)]
    if not samples:
        print("e2e: no samples yet")
        return 0
    if not args.dump_expected and not os.access(args.bin, os.X_OK):
        print("e2e: ERROR: binary %s not found or not executable (build it first)" % args.bin)
        return 2
    passed = failed = failed_checks = skipped = 0
    for name, pcap, exp_path in samples:
        try:
            with open(exp_path) as f:
                expected = json.load(f)
        except ValueError as e:
            print("FAIL %s: %s is not valid JSON (%s)" % (name, exp_path, e))
            failed += 1
            continue
        if args.skip_keylog and expected.get("keylog"):
            skipped += 1
            continue
        secrets = capture_secrets(pcap) + expected_secrets(expected)
        if args.dump_expected:
            dump_expected(name, expected, secrets)
            continue
        n, errs = judge_sample(args.bin, pcap, expected, secrets)
        if errs:
            failed += 1
            failed_checks += len(errs)
            if args.verbose:
                print("FAIL %s: %d failed checks\n  %s" % (name, len(errs), "\n  ".join(errs)))
            else:
                print("FAIL %s: %s" % (name, "; ".join(errs[:8]) +
                                       ("; ... %d more" % (len(errs) - 8) if len(errs) > 8 else "")))
        else:
            passed += 1
            print("PASS %s (%d checks)" % (name, n))
    if args.dump_expected:
        return 0
    print("e2e: %d passed, %d failed, %d samples%s; %d failed checks"
          % (passed, failed, len(samples),
             " (%d key log samples skipped)" % skipped if skipped else "", failed_checks))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
