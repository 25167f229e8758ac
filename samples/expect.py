#!/usr/bin/python3
"""Expected results for the bundled captures, from the client's own transcript.

  expect.py swaks2json SWAKS_OUTPUT SERVER_IP SERVER_PORT CLIENT_IP OUT.json
      turn what swaks printed (-> sent, <- / <** received, ~> <~ inside TLS)
      into a transcript file (format: see smtpclients.py)

  expect.py build --name N --description D --made-with M --pcap P --out O
                  [--postfix-log LOG --log-offset BYTES | --seed-log SEEDLOG |
                   --exim-log MAINLOG --log-offset BYTES]
                  TRANSCRIPT.json...
      1. derive the expected sessions from the transcripts (client side),
      2. cross-check them against the server's own record: the Postfix log
         (connect/disconnect lines and their per-command counters, every
         reject, every queued message), the scripted seed server's log, or
         Exim's main log (connection and close lines, every RCPT rejection,
         every accepted message's arrival line, delivery and completion),
      3. check the capture with tshark (not with smtpscope): one TCP stream per
         session in the same order, handshake / FIN / RST as the state says,
         and the bytes on the wire equal to the transcript,
      4. write O.  Any disagreement: message on stderr, exit status 1.

Nothing here reads smtpscope's output.
"""
import base64
import email
import email.errors
import email.header
import email.policy
import json
import re
import subprocess
import sys
import time

ENH = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)")
KNOWN_VERBS = {"HELO", "EHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT",
               "STARTTLS", "AUTH", "VRFY", "EXPN", "HELP", "ETRN"}
# the names Postfix uses in its "disconnect from ..." counters
POSTFIX_COUNTED = {"HELO", "EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "BDAT",
                   "RSET", "NOOP", "VRFY", "ETRN", "QUIT", "XCLIENT", "XFORWARD"}


def die(msg):
    sys.stderr.write("expect.py: ERROR: %s\n" % msg)
    sys.exit(1)


# ------------------------------------------------------------------ swaks output
def swaks2json(path, server_ip, server_port, client_ip, out):
    cport = None
    if ":" in client_ip:                     # -li IP:PORT: the client chose its port
        client_ip, cport = client_ip.split(":")[0], int(client_ip.split(":")[1])
    t = {"tool": "swaks", "client": {"ip": client_ip, "port": cport},
         "server": {"ip": server_ip, "port": int(server_port)},
         "connect": None, "end": None, "events": []}
    reply = []
    for raw in open(path, encoding="latin-1").read().split("\n"):
        if raw.startswith("=== Connected to"):
            t["connect"] = "ok"
            continue
        if raw.startswith("*** Error connecting") or "Connection refused" in raw and raw.startswith("***"):
            t["connect"] = "refused"
            continue
        if raw.startswith("=== Connection closed with remote host"):
            t["end"] = "closed"
            continue
        pfx, text = raw[:4], raw[4:]
        if pfx[:1] == "<" and re.match(r"^\d{3}[ -]", text):           # <-  <** <~  <~*
            reply.append(text)
            if text[3] == " ":
                t["events"].append({"dir": "S", "data": "".join(l + "\r\n" for l in reply),
                                    "tls": "~" in pfx})
                reply = []
        elif pfx in (" -> ", " ~> ") or raw in (" ->", " ~>"):
            t["events"].append({"dir": "C", "data": text + "\r\n", "tls": "~" in pfx})
        elif pfx[:1] == "<":
            die("%s: unexpected reply line %r" % (path, raw))
    if reply:
        die("%s: unfinished multi-line reply %r" % (path, reply))
    if t["connect"] is None:
        die("%s: swaks never connected nor reported a refusal" % path)
    json.dump(t, open(out, "w"), indent=1)


# ------------------------------------------------------------ transcript -> session
def split_reply(data):
    lines = data.split("\r\n")
    if lines[-1] != "":
        die("reply without final CRLF: %r" % data)
    return lines[:-1]


def addr_of(arg, keyword):
    """'FROM:<a@b> SIZE=1' / 'FROM: <a@b>' / 'FROM:a@b' -> 'a@b' (no brackets)."""
    m = re.match(r"^\s*%s:\s*(.*)$" % keyword, arg, re.I)
    if not m:
        return None
    rest = m.group(1).strip()
    if rest.startswith("<"):
        end = rest.find(">")
        return rest[1:end] if end >= 0 else rest[1:]
    return rest.split(" ")[0]


def headers_of(body_lines):
    hdrs, cur = {}, None
    for line in body_lines:
        if line == "":
            break
        if line[:1] in (" ", "\t") and cur:
            hdrs[cur] += " " + line.strip()
            continue
        if ":" in line:
            cur = line.split(":", 1)[0].strip().lower()
            hdrs.setdefault(cur, line.split(":", 1)[1].strip())
    return hdrs


def decoded_header(raw, name):
    """A header's RFC 2047 encoded words decoded the way Python's email library does
    (decode_header, then make_header); for Subject also its modern parser (policy.default),
    which must agree.  None stays None."""
    if raw is None:
        return None
    try:
        text = str(email.header.make_header(email.header.decode_header(raw)))
    except (LookupError, ValueError, email.errors.HeaderParseError) as e:
        die("%s %r: Python's email library cannot decode it (%s)" % (name, raw, e))
    if name == "subject":
        parsed = email.message_from_string("Subject: %s\n\n" % raw, policy=email.policy.default)
        if str(parsed["Subject"]) != text:
            die("subject %r: decode_header gives %r, policy.default %r" % (
                raw, text, str(parsed["Subject"])))
    return text


def set_headers(m, h):
    """subject, subject_raw, from, from_raw, message_id of message m from its headers h:
    subject and from decoded (decoded_header), the *_raw keys the wire text when that
    differs, else None (report/schema.c)."""
    for name in ("subject", "from"):
        raw = h.get(name)
        m[name] = decoded_header(raw, name)
        m[name + "_raw"] = raw if m[name] != raw else None
    mid = h.get("message-id")
    m["message_id"] = mid.strip().strip("<>") if mid else None


class Slot:
    def __init__(self, cmd, line, encrypted, msg=None, verb=None):
        self.cmd, self.line, self.encrypted, self.msg = cmd, line, encrypted, msg
        self.verb = verb or cmd
        self.reply = None            # list of lines
        self.gave_up = False         # the client stopped waiting for the reply
        self.chunk = ""              # BDAT: the octets sent after the line


RESULT_BY_DIGIT = {2: "success", 3: "intermediate", 4: "temporary_failure", 5: "permanent_failure"}


def result_of(reply):
    """DESIGN.md `result` of a reply (list of lines) by its first digit; no reply: no_reply."""
    return "no_reply" if reply is None else RESULT_BY_DIGIT[int(reply[-1][0])]


def reply_text(reply):
    """DESIGN.md `reply.text`: the reply lines as sent, without the code and its separator,
    joined by "\\n"; null for no reply."""
    return None if reply is None else "\n".join(l[4:] for l in reply)


def client_lines(t):
    """The client's byte stream cut the way a server reads it: yield (event, kind, item)
    with kind "line" (without CRLF) or "chunk" (the octets announced by BDAT)."""
    buf, chunk_left = "", 0
    for ev in t["events"]:
        if ev["dir"] != "C" or ev.get("raw") or ev.get("preamble"):
            yield ev, None, None
            continue
        buf += ev["data"]
        while True:
            if chunk_left:
                take = buf[:chunk_left]
                if not take:
                    break
                buf, chunk_left = buf[len(take):], chunk_left - len(take)
                yield ev, "chunk", take
                continue
            i = buf.find("\r\n")
            if i < 0:
                break
            line, buf = buf[:i], buf[i + 2:]
            m = re.match(r"^BDAT\s+(\d+)", line, re.I)
            if m:
                chunk_left = int(m.group(1))
            yield ev, "line", line
        if buf and not chunk_left:
            die("client data without final CRLF: %r" % ev["data"])


def derive(t):
    """Walk one transcript in time order, pair commands and replies (FIFO, which is
    also how PIPELINING pairs), and return the session dict plus every slot.

    Transcript extras (the trust scenarios of trustclients.py write them):
      * events with "raw": true are bytes on the wire that are not SMTP (TLS records);
        events with "preamble": true are the HTTP CONNECT exchange before the SMTP
        greeting.  Neither takes part in the pairing; both are on the wire.
      * an {"dir": "X", "note": "no_reply"} event: the client stopped waiting for the
        oldest unanswered command (it never got a reply); "capture_stopped": nothing
        after it is on the capture.
      * "unanswered_ok": true: lines left without a reply at the end are not an error
        (a probe or a client that is not SMTP); a reply with nothing pending is kept in
        "unsolicited_replies" (RFC 5321 §3.8: 421 may come at any time).
      * "tls" and "checks" are copied into the session (see trustclients.py)."""
    sess = {"client_ip": t["client"]["ip"], "client_port": t["client"]["port"],
            "server_ip": t["server"]["ip"], "server_port": t["server"]["port"]}
    if t["connect"] in ("refused", "no_answer"):
        sess.update(state=t["connect"], helo=None, esmtp=False, extensions=[], starttls=False,
                    auth=None, commands=[{"cmd": "CONNECT", "code": None, "enhanced": None,
                                          "result": "no_reply", "reply_text": None}],
                    messages=[])
        return sess, []
    slots, pending = [], []
    greet = Slot("CONNECT", None, False)
    slots.append(greet)
    pending.append(greet)
    mode = "cmd"            # cmd | data | auth
    tls = False             # after STARTTLS 220 everything is encrypted
    visible_end = False     # after a "capture_stopped" note nothing is on the capture
    helo, esmtp, exts, starttls, auth = None, False, [], False, None
    messages, cur, body = [], None, []
    unsolicited = []
    for ev, kind, line in client_lines(t):
        if ev["dir"] == "X":
            if ev.get("note") == "no_reply":
                if not pending:
                    die("no_reply note with no command pending")
                pending.pop(0).gave_up = True
            else:
                visible_end = True
            continue
        if ev.get("raw") or ev.get("preamble"):
            continue
        hidden = (tls and not t.get("inside_visible")) or visible_end
        if ev["dir"] == "C":
            if kind == "chunk":
                slots[-1].chunk += line      # the octets follow their BDAT line at once
                continue
            if mode == "data":
                if line == ".":
                    s = Slot(".", ".", hidden, cur)
                    if cur is not None and not hidden:
                        set_headers(cur, headers_of(body))
                        cur["size"] = sum(len(l[1:] if l.startswith(".") else l) + 2 for l in body)
                    slots.append(s)
                    pending.append(s)
                    mode, body = "cmd", []
                else:
                    body.append(line)
                continue
            if mode == "auth":
                s = Slot("AUTH-DATA", line, hidden)
                slots.append(s)
                pending.append(s)
                continue
            verb = line.split(" ", 1)[0].upper()
            arg = line.split(" ", 1)[1] if " " in line else ""
            s = Slot(verb, line, hidden, cur)
            if verb == "MAIL" and not hidden:
                cur = {"mail_from": addr_of(arg, "FROM"), "rcpt_to": [], "rcpt_rejected": [],
                       "accepted": False, "mail_accepted": None, "size": None,
                       "subject": None, "message_id": None, "recipients": []}
                messages.append(cur)
                s.msg = cur
            elif verb == "RCPT":
                s.rcpt = addr_of(arg, "TO")
            elif verb == "AUTH" and not hidden:
                parts = arg.split(" ")
                auth = {"mechanism": parts[0].upper(), "user": None, "success": None}
                if len(parts) > 1 and parts[0].upper() == "PLAIN":
                    auth["user"] = base64.b64decode(parts[1]).split(b"\0")[1].decode()
            elif verb == "RSET":
                cur = None
            s.arg = arg
            slots.append(s)
            pending.append(s)
        else:  # server reply
            lines = split_reply(ev["data"])
            if not pending:
                if t.get("unanswered_ok") or lines[-1][:3] == "421":
                    unsolicited.append({"code": int(lines[-1][:3]), "result": result_of(lines),
                                        "reply_text": reply_text(lines), "reply_lines": lines})
                    continue
                die("reply with no command pending: %r" % lines)
            s = pending.pop(0)
            s.reply = lines
            code = int(lines[-1][:3])
            if s.cmd == "DATA" and code == 354:
                mode = "data"
            elif s.cmd in ("AUTH", "AUTH-DATA"):
                mode = "auth" if code == 334 else "cmd"
                if not s.encrypted and auth is not None:
                    if s.cmd == "AUTH-DATA" and auth["mechanism"] == "LOGIN" and auth["user"] is None:
                        auth["user"] = base64.b64decode(s.line).decode()
                    if s.cmd == "AUTH-DATA" and auth["mechanism"] == "PLAIN" and auth["user"] is None:
                        auth["user"] = base64.b64decode(s.line).split(b"\0")[1].decode()
                    if code != 334:
                        auth["success"] = code // 100 == 2
            if s.encrypted:
                continue
            if s.cmd in ("EHLO", "HELO") and code // 100 == 2:
                helo = s.arg
                esmtp = s.cmd == "EHLO"
                exts = [l[4:] for l in lines[1:]] if esmtp else []
                cur = None      # RFC 5321 §4.1.4: an accepted HELO/EHLO resets, a refused one not
            elif s.cmd in ("EHLO", "HELO") and helo is None:
                pass
            elif s.cmd == "STARTTLS" and code == 220:
                starttls = True
                tls = not t.get("tls_failed")   # a failed handshake leaves the rest in clear
            elif s.cmd == "MAIL" and s.msg is not None:
                s.msg["mail_accepted"] = code // 100 == 2
            elif s.cmd == "RCPT" and s.msg is not None:
                (s.msg["rcpt_to"] if code // 100 in (2, 3) else s.msg["rcpt_rejected"]).append(s.rcpt)
            elif s.cmd in (".", "BDAT") and s.msg is not None:
                last = s.cmd == "." or re.search(r"\sLAST\s*$", s.line, re.I)
                if last:
                    s.msg["accepted"] = code // 100 == 2
                    # Postfix "250 2.0.0 Ok: queued as 4Fxyz", Exim "250 OK id=1xYdbF-0001kg-1w"
                    m = re.search(r"queued as ([0-9A-Za-z]+)|^250 OK id=([0-9A-Za-z-]+)$",
                                  lines[-1])
                    if m:
                        s.msg["queue_id"] = m.group(1) or m.group(2)
    if mode == "data" and not visible_end and not t.get("unanswered_ok"):
        die("transcript ends inside DATA")
    if helo is None:  # none accepted: the last one sent (contract)
        for s in slots:
            if s.cmd in ("EHLO", "HELO") and not s.encrypted:
                helo = s.arg
    # BDAT: the chunks of one transaction make up the message (RFC 3030)
    for m in messages:
        chunks = [s for s in slots if s.cmd == "BDAT" and s.msg is m]
        if chunks:
            data = "".join(s.chunk for s in chunks)
            body_lines = data.split("\r\n")
            set_headers(m, headers_of(body_lines))
            m["size"] = len(data)
    cmds = []
    for s in slots:
        if s.encrypted:
            continue
        if s.reply is None:
            if not (visible_end or s.gave_up or t.get("unanswered_ok")):
                die("command %r got no reply" % s.line)
            e = {"cmd": s.cmd, "code": None, "enhanced": None, "result": "no_reply",
                 "reply_text": None}
            if s.cmd != "CONNECT":
                e["line"] = s.line
            e["reply_lines"] = None
            cmds.append(e)
            continue
        code = int(s.reply[-1][:3])
        enh = None
        if s.cmd not in ("CONNECT", "EHLO", "HELO", "LHLO"):
            m = ENH.match(s.reply[0][4:])
            enh = ".".join(m.groups()) if m else None
        e = {"cmd": s.cmd, "code": code, "enhanced": enh, "result": result_of(s.reply),
             "reply_text": reply_text(s.reply)}
        if s.cmd == "AUTH-DATA":
            e["line"] = "(masked)"
        elif s.cmd == "AUTH" and len(s.line.split(" ")) > 2:
            e["line"] = " ".join(s.line.split(" ")[:2]) + " (masked)"   # initial response
        elif s.cmd != "CONNECT":
            e["line"] = s.line
        e["reply_lines"] = s.reply
        cmds.append(e)
    # per-recipient truth (DESIGN.md "Additions"): accepted 2xx, deferred 4xx, rejected 5xx,
    # unknown when no reply was seen
    for s in slots:
        if s.cmd == "RCPT" and s.msg is not None and not s.encrypted:
            code = int(s.reply[-1][:3]) if s.reply else None
            status = {2: "accepted", 3: "accepted", 4: "deferred", 5: "rejected"}.get(
                code // 100 if code else None, "unknown")
            s.msg["recipients"].append({"address": s.rcpt, "status": status, "code": code,
                                        "reply": reply_text(s.reply)})
    if tls and not t.get("inside_visible"):
        hidden = [s.line if s.cmd != "AUTH-DATA" else "(masked)" for s in slots
                  if s.encrypted and s.cmd != "CONNECT"]
        sess["after_starttls_not_visible"] = hidden
    sess.update(state=t["end"], helo=helo, esmtp=esmtp, extensions=exts, starttls=starttls,
                auth=auth, commands=cmds, messages=messages)
    qids = [m["queue_id"] for m in messages if m.get("queue_id")]
    if len(qids) == 1:
        sess["queue_id"] = qids[0]
    if unsolicited:
        sess["unsolicited_replies"] = unsolicited
    if "inside_visible" in t:
        # samples/keylog (keylogclients.py): the client's TLS facts; with a working key log
        # the commands inside TLS are listed like the others
        sess["tls"] = t["tls"]
        if t.get("secrets"):
            sess["secrets_not_in_output"] = t["secrets"]
    if t.get("trust"):
        # the new per-session truth, written for the trust captures (samples/trust)
        sess["queue_ids"] = qids
        sess["outcome"] = outcome_of(sess, slots, messages, tls)
        if "tls" in t:
            sess["tls"] = t["tls"]
        checks = dict(t.get("checks", {}))
        if unsolicited and "commands_prefix" not in checks:
            # how a reply with no command is listed is not pinned: the client's commands are
            checks["commands_prefix"] = len(cmds)
        if checks.pop("assert_queue_ids", True) is False:
            del sess["queue_ids"]       # a final reply in a form other than "queued as"
        sess.update(checks)
    else:
        for m in messages:
            del m["recipients"]
    return sess, slots


def message_fate(m, slots):
    """One MAIL attempt's fate from its replies: delivered (2xx after the data), rejected /
    deferred (the 5xx / 4xx that ended it: MAIL, every RCPT, DATA or the end of the data),
    aborted (the data was started and no final reply came), abandoned (left before data)."""
    mine = [s for s in slots if s.msg is m and not s.encrypted]
    code = lambda s: int(s.reply[-1][:3]) if s.reply else None
    mail = next(s for s in mine if s.cmd == "MAIL")
    if code(mail) is None:
        return "unknown"
    if code(mail) >= 400:
        return "rejected" if code(mail) >= 500 else "deferred"
    if m["accepted"]:
        return "delivered"
    final = [s for s in mine if s.cmd == "." or (s.cmd == "BDAT" and re.search(r"\sLAST\s*$", s.line, re.I))]
    if final:
        c = code(final[-1])
        return "aborted" if c is None else "rejected" if c >= 500 else "deferred"
    data = [s for s in mine if s.cmd in ("DATA", "BDAT")]
    if data and code(data[-1]) is not None and code(data[-1]) >= 400:
        return "rejected" if code(data[-1]) >= 500 else "deferred"
    if data:
        return "aborted"
    rc = [code(s) for s in mine if s.cmd == "RCPT" and code(s) is not None]
    if rc and all(c >= 400 for c in rc):
        return "rejected" if any(c >= 500 for c in rc) else "deferred"
    return "abandoned"


def outcome_of(sess, slots, messages, tls):
    """The session's `outcome` (DESIGN.md), decided from the transcript by this rule:
      1. no TCP session, or no greeting seen: never_reached; greeting 4xx/5xx: deferred/rejected
      2. one fate per MAIL attempt (message_fate); a MAIL the server refused that the client
         followed with another MAIL opened no transaction and is left out (a retry)
      3. no attempt left: no_mail (unknown if STARTTLS hid the rest of the session)
      4. every attempt delivered: delivered; some: partial; else the first present of
         rejected, deferred, aborted, unknown, abandoned.
    4xx recipients of a delivered message leave it delivered (the verdict must say deferred)."""
    if sess["state"] in ("refused", "no_answer"):
        return "never_reached"
    g = sess["commands"][0]
    if g["code"] is None:
        return "never_reached"
    if g["code"] >= 400:
        return "rejected" if g["code"] >= 500 else "deferred"
    fates = []
    for i, m in enumerate(messages):
        if m["mail_accepted"] is False and i + 1 < len(messages):
            continue
        fates.append(message_fate(m, slots))
    if not fates:
        return "unknown" if tls else "no_mail"
    if all(f == "delivered" for f in fates):
        return "delivered"
    if "delivered" in fates:
        return "partial"
    return next(f for f in ("rejected", "deferred", "aborted", "unknown", "abandoned") if f in fates)


# --------------------------------------------------------------- Postfix cross-check
def postfix_counters(slots):
    """What Postfix's 'disconnect from' line must say, computed from the transcript."""
    c = {}
    final = {}
    last_auth = last_data = None
    for s in slots:
        if s.cmd in ("CONNECT",):
            continue
        if s.cmd == "AUTH-DATA":
            final[id(last_auth)] = s.reply
            continue
        if s.cmd == ".":
            final[id(last_data)] = s.reply
            continue
        if s.cmd == "AUTH":
            last_auth = s
        if s.cmd == "DATA":
            last_data = s
        name = s.cmd.lower() if s.cmd in POSTFIX_COUNTED else "unknown"
        c.setdefault(name, [0, 0, []])
        c[name][2].append(s)
    out = {}
    for name, (_, _, ss) in c.items():
        ok = 0
        for s in ss:
            rep = final.get(id(s), s.reply)
            if rep is not None and rep[-1][0] == "2":
                ok += 1
        out[name] = (ok, len(ss))
    tot = [sum(v[0] for v in out.values()), sum(v[1] for v in out.values())]
    out["commands"] = tuple(tot)
    return out


def parse_counters(line):
    out = {}
    for kv in line.split(" "):
        if "=" not in kv:
            continue
        k, v = kv.split("=", 1)
        ok, _, tot = v.partition("/")
        out[k] = (int(ok), int(tot or ok))
    return out


def postfix_check(sessions_slots, logpath, offset, timeout=20.0):
    t0 = time.time()
    while True:
        with open(logpath, encoding="latin-1") as f:
            f.seek(offset)
            log = f.read().split("\n")
        problems = check_log_once(sessions_slots, log)
        if not problems or time.time() - t0 > timeout:
            break
        time.sleep(0.5)
    if problems:
        die("Postfix log disagrees with the client transcript:\n  " + "\n  ".join(problems))


def check_log_once(sessions_slots, log):
    problems = []
    for sess, slots in sessions_slots:
        if sess["state"] in ("refused", "no_answer"):
            continue
        key = "[%s]:%s" % (sess["client_ip"], sess["client_port"])
        mine = [l for l in log if key + ":" in l or key + " " in l or l.endswith(key) or key + "," in l]
        if not any("connect from " in l and l.endswith(key) for l in mine):
            problems.append("%s: no 'connect from' line" % key)
            continue
        disc = [l for l in mine if " disconnect from " in l]
        if not disc:
            problems.append("%s: no 'disconnect from' line yet" % key)
            continue
        logged = parse_counters(disc[-1].split(key, 1)[1])
        want = postfix_counters(slots)
        if (sess.get("tls") or {}).get("handshake") == "failed" and "starttls" in want:
            # Postfix counts a STARTTLS whose handshake failed as failed, though it said 220
            want["starttls"] = (want["starttls"][0] - 1, want["starttls"][1])
            want["commands"] = (want["commands"][0] - 1, want["commands"][1])
        if logged != want:
            problems.append("%s: counters: log says %s, transcript gives %s"
                            % (key, sorted(logged.items()), sorted(want.items())))
        if sess["state"] == "reset" and not any("lost connection after" in l for l in mine):
            problems.append("%s: reset by the client but no 'lost connection' line" % key)
        for s in slots:
            if s.reply is None or s.cmd == "CONNECT":
                continue
            code = int(s.reply[-1][:3])
            text = s.reply[-1]
            if code < 400:
                continue
            verb = {".": "END-OF-MESSAGE"}.get(s.cmd, s.cmd)
            if any(("reject: %s from " % verb) in l and (": " + text + ";") in l for l in mine):
                continue
            if s.cmd == "MAIL" and text.startswith("501 5.1.7") and \
                    any("Illegal address syntax" in l and "in MAIL command" in l for l in mine):
                continue
            if s.cmd == "RCPT" and text.startswith("501 5.1.3") and \
                    any("Illegal address syntax" in l and "in RCPT command" in l for l in mine):
                continue
            if s.cmd in ("AUTH-DATA", "AUTH") and text.startswith("535 ") and \
                    any("authentication failed" in l for l in mine):
                continue
            if s.cmd not in KNOWN_VERBS | {"AUTH-DATA", "."} and re.match(r"50[02] 5\.5\.2 ", text):
                continue   # Postfix does not log unknown commands; counted as unknown=0/N above
            problems.append("%s: reply %r to %s has no matching line in the Postfix log"
                            % (key, text, s.cmd))
        for m in sess["messages"]:
            qid = m.get("queue_id")
            if m["accepted"]:
                if not qid:
                    problems.append("%s: accepted message without 'queued as'" % key)
                    continue
                if not any(("%s: client=" % qid) in l and key in l for l in log):
                    problems.append("%s: %s has no 'client=' line for this connection" % (key, qid))
                if not any(("%s: from=<%s>," % (qid, m["mail_from"])) in l for l in log):
                    problems.append("%s: %s: no 'from=<%s>' line" % (key, qid, m["mail_from"]))
                if m["message_id"] and not any(("%s: message-id=<%s>" % (qid, m["message_id"])) in l
                                               for l in log):
                    problems.append("%s: %s: message-id differs" % (key, qid))
                for r in m["rcpt_to"]:
                    if not any(("%s: to=<%s>," % (qid, r)) in l for l in log):
                        problems.append("%s: %s: no 'to=<%s>' line yet" % (key, qid, r))
                for r in m["rcpt_rejected"]:
                    if any(("%s: to=<%s>," % (qid, r)) in l for l in log):
                        problems.append("%s: %s: refused recipient %s was delivered" % (key, qid, r))
    return problems


# ------------------------------------------------------------------ Exim cross-check
def exim_check(sessions_slots, logpath, offset, timeout=20.0):
    t0 = time.time()
    while True:
        with open(logpath, encoding="latin-1") as f:
            f.seek(offset)
            log = f.read().split("\n")
        problems = exim_log_once(sessions_slots, log)
        if not problems or time.time() - t0 > timeout:
            break
        time.sleep(0.5)
    if problems:
        die("Exim's log disagrees with the client transcript:\n  " + "\n  ".join(problems))


def exim_log_once(sessions_slots, log):
    """Exim's main log (log_selector +smtp_connection +incoming_port +received_recipients):
    "SMTP connection from [IP]:PORT", a close line ("closed by QUIT" when the client quit),
    "rejected RCPT <addr>: TEXT" for every refused recipient, and per accepted message
    "ID <= FROM H=... [IP]:PORT ... for RCPTS", one "=> RCPT" per accepted recipient and
    "ID Completed"."""
    problems = []
    for sess, slots in sessions_slots:
        if sess["state"] in ("refused", "no_answer"):
            continue
        key = "[%s]:%s " % (sess["client_ip"], sess["client_port"])
        mine = [l + " " for l in log if key in l + " "]
        if not any(("SMTP connection from " + key) in l for l in mine):
            problems.append("%s: no 'SMTP connection from' line" % key)
            continue
        quit_ok = any(s.cmd == "QUIT" and s.reply and s.reply[-1].startswith("221") for s in slots)
        if quit_ok and not any("closed by QUIT" in l for l in mine):
            problems.append("%s: no 'closed by QUIT' line yet" % key)
        for s in slots:
            if s.reply is None or s.cmd == "CONNECT" or int(s.reply[-1][:3]) < 400:
                continue
            text = s.reply[-1][4:]
            if s.cmd == "RCPT":
                want = "rejected RCPT <%s>: %s" % (s.rcpt, text)
            elif s.cmd in ("AUTH", "AUTH-DATA"):
                want = "authenticator failed"
            else:
                want = text
            if not any(want in l for l in mine):
                problems.append("%s: reply %r to %s has no matching line in Exim's log"
                                % (key, s.reply[-1], s.cmd))
        for m in sess["messages"]:
            qid = m.get("queue_id")
            if not m["accepted"]:
                continue
            if not qid:
                problems.append("%s: accepted message without 'OK id='" % key)
                continue
            arr = [l for l in mine if re.match(r"\S+ \S+ %s <= " % re.escape(qid), l)]
            if len(arr) != 1 or (" <= %s " % m["mail_from"]) not in arr[0]:
                problems.append("%s: %s: no arrival line '<= %s'" % (key, qid, m["mail_from"]))
                continue
            if not arr[0].rstrip().endswith(" for " + " ".join(m["rcpt_to"])):
                problems.append("%s: %s: arrival line's recipients differ: %s" % (key, qid, arr[0]))
            if m["message_id"] and (" id=%s " % m["message_id"]) not in arr[0]:
                problems.append("%s: %s: message-id differs: %s" % (key, qid, arr[0]))
            mlog = [l for l in log if (" %s " % qid) in l]
            for r in m["rcpt_to"]:
                if not any((" %s => " % qid) in l and ("<%s>" % r in l or " %s " % r in l)
                           for l in mlog):
                    problems.append("%s: %s: no delivery line for %s yet" % (key, qid, r))
            for r in m["rcpt_rejected"]:
                if any((" %s => " % qid) in l and r in l for l in mlog):
                    problems.append("%s: %s: refused recipient %s was delivered" % (key, qid, r))
            if not any(l.endswith(" %s Completed" % qid) for l in mlog):
                problems.append("%s: %s: no 'Completed' line yet" % (key, qid))
    return problems


def seed_check(transcripts, seedlog):
    log = json.load(open(seedlog))
    if log.get("errors"):
        die("seed server reported: %s" % log["errors"])
    if len(log["sessions"]) != len(transcripts):
        die("seed server saw %d sessions, client made %d" % (len(log["sessions"]), len(transcripts)))
    for t, s in zip(transcripts, log["sessions"]):
        if s["client"] != t["client"]:
            die("seed server saw client %s, client was %s" % (s["client"], t["client"]))
        for d in "CS":
            a = "".join(e["data"] for e in t["events"] if e["dir"] == d)
            b = "".join(e["data"] for e in s["events"] if e["dir"] == d)
            if a != b:
                die("seed: %s bytes differ between client transcript and server log" % d)
        if s.get("tls"):    # trust server: its own ssl report must agree with the client's
            want = {"abandoned": ("eof",), "failed": ("failed", "eof"),
                    "completed": ("completed",)}[t["tls"]["handshake"]]
            if s["tls"]["result"] not in want:
                die("TLS: client says %s, server's ssl says %s" % (t["tls"], s["tls"]))
            alert = t["tls"].get("alert")
            if alert and alert["sent_by"] == "server" and s["tls"]["result"] != "failed":
                die("TLS: client received an alert the server's ssl did not report")


# ------------------------------------------------------------------- wire check
def wire_check(pcap, transcripts, sessions):
    out = subprocess.run(
        ["tshark", "-r", pcap, "-n", "-T", "fields", "-E", "separator=|",
         "-e", "tcp.stream", "-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport",
         "-e", "tcp.flags", "-e", "tcp.seq_raw", "-e", "tcp.payload"],
        capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        die("tshark failed on %s: %s" % (pcap, out.stderr))
    streams, order = {}, []
    for row in out.stdout.splitlines():
        st, src, sport, dst, dport, flags, seq, payload = row.split("|")
        if st not in streams:
            streams[st] = []
            order.append(st)
        streams[st].append((src, int(sport), dst, int(dport), int(flags, 16), int(seq), payload))
    if len(order) != len(sessions):
        die("%s: %d TCP streams on the wire, %d sessions expected" % (pcap, len(order), len(sessions)))
    for st, t, sess in zip(order, transcripts, sessions):
        pk = streams[st]
        cli = (sess["client_ip"], sess.get("client_port", pk[0][1]))
        srv = (sess["server_ip"], sess["server_port"])
        if (pk[0][0], pk[0][1]) != cli or (pk[0][2], pk[0][3]) != srv:
            die("%s stream %s: first packet %s:%s -> %s:%s, expected %s -> %s"
                % (pcap, st, pk[0][0], pk[0][1], pk[0][2], pk[0][3], cli, srv))
        c2s = [p for p in pk if (p[0], p[1]) == cli]
        s2c = [p for p in pk if (p[0], p[1]) == srv]
        SYN, ACK, FIN, RST = 0x02, 0x10, 0x01, 0x04
        has = lambda ps, f, nf=0: any(p[4] & f and not p[4] & nf for p in ps)
        state = sess["state"]
        if not has(c2s, SYN, ACK):
            die("%s stream %s: no SYN from the client" % (pcap, st))
        if state == "refused":
            if not has(s2c, RST) or has(s2c, SYN):
                die("%s stream %s: refused, but no RST / a SYN-ACK from the server" % (pcap, st))
            continue
        if state == "no_answer":
            if s2c:
                die("%s stream %s: no_answer, but the server sent packets" % (pcap, st))
            continue
        if not (has(s2c, SYN | ACK) and [p for p in s2c if p[4] & SYN and p[4] & ACK]):
            die("%s stream %s: no SYN-ACK" % (pcap, st))
        rst_by_server = False
        if state == "closed" and has(pk, RST) and sess["starttls"] and not t.get("exact_wire"):
            # swaks closes right after the encrypted 221 without waiting for the server's TLS
            # close_notify, which then arrives at a closed socket: the kernel answers RST.
            # s_client the other way round: it answers the server's close_notify and FIN with
            # its own close_notify, to a socket Postfix has closed: the server's kernel sends RST.
            # The client cannot see this; the wire decides the TCP-level state.
            sess["state"] = state = "reset"
            rst_by_server = not has(c2s, RST)
            sess["state_note"] = ("SMTP ended normally inside TLS (QUIT/221, known from the client), "
                                  "but the TCP connection ended with an RST from the client: the "
                                  "server's TLS close_notify arrived after the client had closed") \
                if not rst_by_server else (
                "SMTP ended normally inside TLS (QUIT/221, known from the client), but the TCP "
                "connection ended with an RST from the server: the client's TLS close_notify "
                "arrived after the server had sent its own and closed")
            if (sess.get("tls") or {}).get("handshake") == "failed" and not rst_by_server:
                sess["state_note"] = ("the TLS handshake failed (see tls); the client closed its "
                                      "socket after the alert with the server's handshake bytes "
                                      "unread, so its kernel sent RST")
        if state == "closed" and not (has(c2s, FIN) and has(s2c, FIN)):
            die("%s stream %s: closed, but not FIN both ways" % (pcap, st))
        if state == "reset" and not has(c2s, RST) and not (rst_by_server and has(s2c, RST)):
            die("%s stream %s: reset, but no RST from the client" % (pcap, st))
        if state == "unfinished" and (has(pk, FIN) or has(pk, RST)):
            die("%s stream %s: unfinished, but the capture has FIN/RST" % (pcap, st))
        for d, ps in (("C", c2s), ("S", s2c)):
            segs = {}
            isn = [p[5] for p in ps if p[4] & SYN][0]
            for p in ps:
                if p[6]:
                    segs.setdefault(p[5] - isn - 1, bytes.fromhex(p[6]))
            wire, pos = b"", 0
            for off in sorted(segs):
                if off > pos:
                    die("%s stream %s: hole in %s data at %d" % (pcap, st, d, pos))
                wire += segs[off][pos - off:]
                pos = max(pos, off + len(segs[off]))
            sent = b""
            for ev in t["events"]:
                if ev["dir"] == "X" and ev.get("note") == "no_reply":
                    continue
                if ev["dir"] == "X":
                    break
                if ev["dir"] == d and not ev.get("tls"):
                    sent += ev["data"].encode("latin-1")
            if t.get("implicit_tls"):
                if sent or wire[:2] != b"\x16\x03":
                    die("%s stream %s: %s: implicit TLS, but not a TLS record first" % (pcap, st, d))
            elif sess["starttls"] and not t.get("exact_wire"):
                # after 220: a TLS record (handshake, or the alert of a refused ClientHello)
                rec = wire[len(sent):len(sent) + 2]
                if not wire.startswith(sent) or rec[:1] not in (b"\x15", b"\x16") or rec[1:] != b"\x03":
                    die("%s stream %s: %s bytes before TLS differ, or no TLS record after 220"
                        % (pcap, st, d))
                if sess.get("after_starttls_not_visible") and len(wire) <= len(sent) + 5:
                    die("%s stream %s: nothing after STARTTLS" % (pcap, st))
            elif wire != sent:
                die("%s stream %s: %s bytes on the wire differ from the transcript:\nwire=%r\ntranscript=%r"
                    % (pcap, st, d, wire[:3000], sent[:3000]))


# ----------------------------------------------------------------------------- main
def build(argv):
    opts, files = {}, []
    i = 0
    while i < len(argv):
        if argv[i].startswith("--"):
            opts[argv[i][2:]] = argv[i + 1]
            i += 2
        else:
            files.append(argv[i])
            i += 1
    transcripts = [json.load(open(f)) for f in files]
    # swaks does not print its own port: take it from the Postfix 'connect from' lines,
    # in order, for the transcripts that lack it
    if any(t["client"]["port"] is None and t["connect"] == "ok" for t in transcripts):
        if "postfix-log" not in opts:
            die("client port unknown and no server log")
        deadline = time.time() + 15
        while True:
            with open(opts["postfix-log"], encoding="latin-1") as f:
                f.seek(int(opts["log-offset"]))
                conns = re.findall(r"smtpd\[\d+\]: connect from \S*\[([\d.]+)\]:(\d+)", f.read())
            known = {(t["client"]["ip"], t["client"]["port"]) for t in transcripts}
            conns = [(ip, int(p)) for ip, p in conns if (ip, int(p)) not in known]
            need = [t for t in transcripts if t["client"]["port"] is None and t["connect"] == "ok"]
            if len(conns) >= len(need) or time.time() > deadline:
                break
            time.sleep(0.5)
        if len(conns) != len(need):
            die("%d swaks sessions but %d unclaimed 'connect from' lines" % (len(need), len(conns)))
        for t, (ip, port) in zip(need, conns):
            if ip != t["client"]["ip"]:
                die("connect from %s, swaks bound to %s" % (ip, t["client"]["ip"]))
            t["client"]["port"] = port
    derived = [derive(t) for t in transcripts]
    sessions = [d[0] for d in derived]
    for s in sessions:
        if s["client_port"] is None:
            del s["client_port"]
    if "postfix-log" in opts:
        postfix_check(derived, opts["postfix-log"], int(opts["log-offset"]))
    if "seed-log" in opts:
        seed_check(transcripts, opts["seed-log"])
    if "exim-log" in opts:
        exim_check(derived, opts["exim-log"], int(opts["log-offset"]))
    wire_check(opts["pcap"], transcripts, sessions)
    res = {"sample": opts["name"], "description": opts["description"], "made_with": opts["made-with"],
           "how": opts.get("how")}
    if "keylog" in opts:      # samples/keylog: the key log to read with --tls-keylog, or none
        res["keylog"] = None if opts["keylog"] == "-" else opts["keylog"]
    res["sessions"] = sessions
    if "pins" in opts:
        res["pins"] = opts["pins"]
    with open(opts["out"], "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print("expect.py: %s: %d session(s) checked against %s and the wire"
          % (opts["name"], len(sessions),
             "the Postfix log" if "postfix-log" in opts else
             "the scripted server's log" if "seed-log" in opts else
             "Exim's log" if "exim-log" in opts else "no server log"))


def key_replies(sess):
    if sess["state"] in ("refused", "no_answer"):
        return ["no reply: " + ("SYN answered by RST" if sess["state"] == "refused" else "SYN never answered")]
    out = []
    for c in sess["commands"]:
        if c["code"] is None or not c.get("reply_lines"):
            continue
        first = c["reply_lines"][0]
        keep = (c["code"] >= 400 or c["cmd"] in (".", "STARTTLS")
                or (c["cmd"] in ("AUTH", "AUTH-DATA") and c["code"] != 334))
        if keep:
            out.append("%s → `%s`" % (c["cmd"], first))
    if sess["state"] != "closed":
        out.append("ends: " + sess["state"])
    return out


def readme(outdir):
    import glob
    import os
    rows = []
    for f in sorted(glob.glob(os.path.join(outdir, "*.expected.json"))):
        e = json.load(open(f))
        pcap = os.path.join(outdir, e["sample"] + ".pcap")
        keys = []
        for i, s in enumerate(e["sessions"], 1):
            pre = "s%d: " % i if len(e["sessions"]) > 1 else ""
            keys.append(pre + "; ".join(key_replies(s)))
        rows.append("| `%s.pcap` (%d B, %d session%s) | %s | %s; %s | %s |" % (
            e["sample"], os.path.getsize(pcap), len(e["sessions"]),
            "" if len(e["sessions"]) == 1 else "s", e["description"], e["how"], e["made_with"],
            "<br>".join(k.replace("|", "\\|") for k in keys)))
    print(README_HEAD + "\n".join(rows) + "\n" + readme_audit(os.path.join(outdir, "audit")) +
          README_TAIL)


def readme_audit(auditdir):
    """The table of audit/ (made by make-audit-samples.sh): its rows from the expected files."""
    import glob
    import os
    rows = []
    for f in sorted(glob.glob(os.path.join(auditdir, "*.expected.json"))):
        e = json.load(open(f))
        name = e["sample"].split("/")[-1]
        a = e["audit"]
        found = ["%s %s: `%s` %d" % (h["role"], h["ip"], x["id"], x["count"])
                 for h in a["hosts"] for x in h["findings"]]
        rows.append("| `audit/%s.pcap` (%d B, %d sessions) | %s | `--local-nets %s "
                    "--local-domains %s` | %s |" % (
                        name, os.path.getsize(os.path.join(auditdir, name + ".pcap")),
                        len(e["sessions"]), e["description"], a["local_nets"],
                        a["local_domains"], "<br>".join(found)))
    if not rows:
        return ""
    return AUDIT_HEAD + "\n".join(rows) + "\n"


AUDIT_HEAD = """
## Audit captures (`audit/`)

One capture per judging finding of `--audit` (issue 18 point 5), made by `sudo bash
samples/make-audit-samples.sh` with this Postfix instance (`postfix-lib.sh`, shared with
`make-samples.sh`) plus an open relay of ours on 127.0.0.2:25, a server of ours without
STARTTLS on 127.0.0.3:25 and three outside MX on 127.0.2.1-3:25; our clients are 127.0.0.x,
outside clients 127.0.1.x. Each `audit/NAME.expected.json` has the sessions (as below, from the
clients' transcripts) and `audit`: the `--local-nets` / `--local-domains` to run with and every
host with the findings it must carry (`id`, `count`), derived from the transcripts by the rules
in `audit_expect.py` and checked against what Postfix's own log counts; every other host must
carry none. `tests/audit_flags_check.py` checks them, and checks that none of these findings
fires on the other captures here (see its docstring for the exception, `no_starttls` on the
scripted servers). Details: `audit/README.md`.

| capture | what it shows | options | expected findings (host: id count) |
|---|---|---|---|
"""


def readme_trust(outdir):
    import glob
    import os
    rows = []
    for f in sorted(glob.glob(os.path.join(outdir, "*.expected.json"))):
        e = json.load(open(f))
        name = e["sample"].split("/")[-1]
        pcap = os.path.join(outdir, name + ".pcap")
        keys = []
        for i, s in enumerate(e["sessions"], 1):
            pre = "s%d: " % i if len(e["sessions"]) > 1 else ""
            facts = ["no command → `%s`" % u["reply_lines"][0] for u in s.get("unsolicited_replies", [])]
            facts.append("outcome `%s`" % s["outcome"])
            if s.get("queue_ids") is not None:
                facts.append("queue_ids %s" % json.dumps(s["queue_ids"]))
            if s.get("tls"):
                facts.append("tls %s" % json.dumps({k: v for k, v in s["tls"].items()
                                                    if k != "ssl_error"}))
            for k in ("verdict_contains", "verdict_excludes", "anomalies_exclude"):
                if s.get(k):
                    facts.append("%s %s" % (k, json.dumps(s[k])))
            keys.append(pre + "; ".join(key_replies(s) + facts))
        rows.append("| `%s.pcap` (%d B, %d session%s) | %s | %s | %s |" % (
            name, os.path.getsize(pcap), len(e["sessions"]),
            "" if len(e["sessions"]) == 1 else "s", e["description"], e.get("pins", ""),
            "<br>".join(k.replace("|", "\\|") for k in keys)))
    print(TRUST_HEAD + "\n".join(rows) + "\n" + TRUST_TAIL)


TRUST_HEAD = """# Trust captures (issue 11)

One small capture per behaviour of issue 11's "Transaction semantics", "TLS and not-SMTP" and
"Other verdicts", made by `sudo bash samples/make-trust.sh`: a scripted server on
127.0.0.11:25 and scripted clients (`samples/trustclients.py`, Python sockets and Python's ssl
module) talking over the loopback interface, captured with `tcpdump -i lo -U -w NAME.pcap 'host
127.0.0.11 and tcp port 25'`. The server's replies are texts real MTAs send (Postfix, postgrey,
Exchange, Sendmail); each row says whose.

`NAME.expected.json` is made by `samples/expect.py` (the same code as the bundled samples one
folder up) from the client's own transcript, checked against the scripted server's own log (the
same bytes both ways, its own ssl report) and against the capture with tshark (every byte on the
wire, TLS records and the HTTP preamble included). Never from smtpscope's output.

`tests/e2e_samples.py` checks this folder only with `--trust` (or `E2E_TRUST=1`): many of these
checks fail until the decoder handles the behaviours (issue 11), and `make test` stays green
meanwhile.

| capture | what it shows | what must hold | expected (per session) |
|---|---|---|---|
"""

TRUST_TAIL = """
## What the expected files add

The format of `../README.md` ("Format of `NAME.expected.json`"), plus (names from DESIGN.md,
"Additions for trust, TLS and probing"; every key is read by `tests/e2e_samples.py`, whose
docstring says how):

- per command: `result` (`success` | `intermediate` | `temporary_failure` |
  `permanent_failure` | `no_reply`, by the reply's first digit) and `reply_text` (the reply
  lines as sent, without the code and its separator, joined by "\\n"; null without a reply).
  The bundled samples carry both too.
- per message: `recipients`, `[{"address", "status", "code", "reply"}]` in RCPT order, status
  `accepted` (2xx) | `deferred` (4xx) | `rejected` (5xx) | `unknown` (no reply).
- per session: `outcome`, `queue_ids` (every "queued as ID" of the session, in order; each must
  also be quoted in the verdict; left out where the final reply has another form, e.g.
  Sendmail's), `tls` (null without STARTTLS or implicit TLS; else `handshake` and `alert`
  `{"level", "description", "sent_by"}` from the client's ssl error and the alert record on
  the wire; `ssl_error` is the client's own error text, not compared), and, where the issue
  quotes a misleading verdict, `verdict_contains` / `verdict_excludes` / `anomalies_exclude`.
  `commands_prefix: 1` where the client was not speaking SMTP (TLS, HTTP): only the greeting's
  pairing is pinned. `unsolicited_replies`: a reply the server sent with no command pending
  (the 421), informational.

`outcome` is decided from the transcript by `outcome_of()` in `expect.py`: no TCP session or no
greeting seen: `never_reached`; one fate per MAIL attempt (delivered: 2xx after the data;
rejected/deferred: the 5xx/4xx that ended it; aborted: data started, no final reply; abandoned:
left before the data), where a MAIL the server refused and the client followed with another MAIL
opened no transaction and is left out; no attempt: `no_mail`; all delivered: `delivered`; some:
`partial`; else the first present of rejected, deferred, aborted, unknown, abandoned. Deferred
recipients of a delivered message leave it `delivered` (the verdict must say "deferred").

## Worth knowing (what the wire shows)

- The scripted server closes first after 221, 421 and its TLS alert; the client closes first in
  starttls-client-gives-up and tls-to-port25; port-scan ends with the client's RST.
- tls-to-port25: the client's TLS layer reads the server's "220 …" greeting as a TLS record
  header and fails; the expected file records whether the client sent an alert (from the
  bytes it wrote).
- http-to-port25: the client sends its request at once, without waiting for the greeting (as an
  HTTP client does); the server reads one line and answers it.
- port-scan: the server sleeps 1 s before its greeting; by then the client has reset the
  connection, so nothing is sent (the server's log says so).
- A re-run gives new client ports, TLS random bytes and timestamps; everything else is the same.
"""


README_HEAD = """# Sample captures

Real SMTP conversations on the loopback interface, for testing and demonstrating smtpscope.
Every file here is regenerated from scratch by `sudo bash samples/make-samples.sh` on a
throwaway Debian 12 machine (see the top of the script for what it installs and touches):
a separate Postfix instance (`mx.sample.test`, listening on 127.0.0.1:25 and :2525, Cyrus SASL
user `alice` with the fake password `not-a-real-password`, self-signed certificate, all accepted
mail discarded), real clients (swaks, Python's smtplib), and a small scripted server/client pair
(`smtpclients.py`) that replays the Microsoft seed transcripts byte for byte on 127.0.0.10:25.
Captured with `tcpdump -i lo -U -w NAME.pcap 'tcp port 25 or tcp port 2525'`.

Beside each `NAME.pcap` is `NAME.expected.json`: what smtpscope must find, derived by
`expect.py` from the client's own transcript, checked against the server's own log (Postfix's
log: connect/disconnect lines with their per-command counters, every reject, every queued
message; or the seed server's log) and against the capture itself with tshark (one TCP stream
per session, handshake/FIN/RST as the state says, the bytes on the wire equal to the
transcript). Never from smtpscope's output.

`edge/` holds damaged and transformed copies of these (made by `make-edge-cases.py`);
`trust/` one small capture per behaviour of issue 11, from a scripted server and clients
(`sudo bash samples/make-trust.sh`; see `trust/README.md`); `keylog/` TLS sessions (STARTTLS
and port 465, TLS 1.2 and 1.3) with the clients' own key logs, for `--tls-keylog`
(`sudo bash samples/make-keylog-samples.sh`; see `keylog/README.md`); `audit/` one capture per
judging finding of `--audit` (open relay, relay attempts, password guessing, harvesting,
direct-to-MX, spoofed sender, no STARTTLS, EHLO address literal), with the options to run it
with and the findings expected per host (`sudo bash samples/make-audit-samples.sh`; see the
table after this one and `audit/README.md`).

| capture | what it shows | how it was made | key replies |
|---|---|---|---|
"""

README_TAIL = """
## Format of `NAME.expected.json`

`sample`, `description`, `made_with` (versions), `how` (client and server set-up), and
`sessions`, in the order of their first packet, each with the names of smtpscope's JSON output
contract (DESIGN.md): `client_ip`, `client_port`, `server_ip`, `server_port`, `state`
(`closed` | `reset` | `refused` | `no_answer` | `unfinished`), `helo` (argument of the last
accepted HELO/EHLO, else of the last one sent), `esmtp`, `extensions` (as advertised, from the
EHLO reply), `starttls`, `auth` (`{"mechanism", "user", "success"}` or null), `commands` and
`messages`, plus `queue_id` when the session queued exactly one message.

- `commands`: in the order the client sent them (pipelined ones included), each with `cmd`,
  `code` and `enhanced`. The greeting is `CONNECT`; a refused or unanswered attempt has one
  `CONNECT` with `code` null; the reply to the end of the DATA body is `"."`; every client line
  of an AUTH exchange after the AUTH command is `AUTH-DATA` (its `line` masked); after a
  STARTTLS answered 220 nothing is listed (the hidden commands, known from the client, are in
  `after_starttls_not_visible`). `enhanced` is the RFC 3463 code at the start of the reply text,
  null when there is none; always null for the greeting and the HELO/EHLO reply (RFC 2034).
  `result` is the reply's class by its first digit (`success`, `intermediate`,
  `temporary_failure`, `permanent_failure`; `no_reply` without one) and `reply_text` the reply
  lines as sent, without the code and its separator, joined by "\\n" (DESIGN.md's `reply.text`).
  Extra fields: `line` (the command line as sent) and `reply_lines` (the reply lines exactly as
  on the wire, without CRLF).
- `messages`: one per MAIL command the client sent (also when MAIL itself was refused; then
  `mail_accepted` is false), with `mail_from`, `rcpt_to` (recipients not refused), `rcpt_rejected`
  (refused with 4xx/5xx), `accepted` (the reply to "." was 2xx), `subject` and `from` (the
  Subject and From headers, RFC 2047 encoded words decoded by Python's email library:
  decode_header, make_header), `subject_raw` and `from_raw` (the wire text when that differs,
  else null; files made before these keys have `subject` as on the wire), `message_id` (without
  angle brackets), `size` (bytes of the message as sent between the 354 reply and the final
  ".", after dot-unstuffing, each line counted with its CRLF; null when no body was sent), and
  `queue_id` when the server said "queued as".
- In the unfinished capture the commands sent after tcpdump stopped are not listed.
- `state` comes from the client (QUIT/221 and close, RST by SO_LINGER 0, capture stopped) and
  the TCP teardown is checked on the wire. One case is decided by the wire: see starttls below.
- A re-run gives new client ports, queue IDs, Date headers and timestamps; everything else is
  the same.

## Worth knowing (what the wire really shows)

- Python's smtplib sends its verbs in lower case (`ehlo`, `mail FROM:<…> size=236`, `rcpt TO:`,
  `data`, `rset`, `quit`), and adds `size=` to MAIL on its own; swaks sends upper case.
- Postfix answers an unknown verb with `500 5.5.2 Error: command not recognized` and does not
  log it (it only counts it: `unknown=0/2` in the disconnect line).
- Postfix has no built-in "530 Authentication required": with `smtpd_delay_reject = yes` (the
  default) every client/sender restriction is only applied at RCPT time, and the native reply
  for an unauthenticated sender of ours is `553 5.7.1 <…>: Sender address rejected: not logged
  in`. The port-2525 listener here sets `smtpd_delay_reject = no` so both replies come at MAIL,
  and the RFC 4954 text `530 5.7.0 … Authentication required` comes from an access table
  (`check_sender_access static:{530 5.7.0 Authentication required}`); Postfix prefixes it with
  `<sender>: Sender address rejected:`.
- starttls: swaks closes the socket right after the encrypted 221, without waiting for the
  server's TLS close_notify, which then hits a closed socket: the kernel sends RST. So the
  connection ends FIN (client), data (server), RST (client); `state` is `reset`, with a
  `state_note`.
- The seed server closes first after 221 (as Exchange does); Postfix waits for the client.
- The seed client writes each line as it is typed: the DATA body goes out as several segments.
- no-answer: on loopback the SYN is retransmitted about every second (four SYNs in 4 s).
- swaks 20201014 has no DSN options (`--dsn-*` came later), so the DSN sample uses smtplib's
  `rcpt_options`.
"""


def enrich(paths):
    """Add `result` and `reply_text` to every command of existing expected files, from the
    `reply_lines` that expect.py took from the client transcript when it made them (the same
    functions derive() uses now); key order as derive() writes it.  Idempotent."""
    order = ("cmd", "code", "enhanced", "result", "reply_text")
    for path in paths:
        e = json.load(open(path))
        for sess in e["sessions"]:
            for i, c in enumerate(sess.get("commands", [])):
                if c.get("code") is None and not c.get("reply_lines"):
                    rl = None
                elif "reply_lines" in c:
                    rl = c["reply_lines"]
                    if int(rl[-1][:3]) != c["code"]:
                        die("%s: reply_lines disagree with code in %r" % (path, c))
                else:
                    die("%s: command without reply_lines: %r" % (path, c))
                new = {"cmd": c["cmd"], "code": c.get("code"), "enhanced": c.get("enhanced"),
                       "result": result_of(rl), "reply_text": reply_text(rl)}
                new.update({k: v for k, v in c.items() if k not in order})
                sess["commands"][i] = new
        with open(path, "w") as f:
            json.dump(e, f, indent=2)
            f.write("\n")


def main():
    if sys.argv[1] == "enrich":
        enrich(sys.argv[2:])
        return
    if sys.argv[1] == "readme":
        readme(sys.argv[2])
        return
    if sys.argv[1] == "readme-trust":
        readme_trust(sys.argv[2])
        return
    if sys.argv[1] == "swaks2json":
        swaks2json(*sys.argv[2:7])
    elif sys.argv[1] == "build":
        build(sys.argv[2:])
    else:
        die("usage: see the top of this file")


if __name__ == "__main__":
    main()
