#!/usr/bin/python3
"""Python SMTP clients (and one scripted server) used by make-samples.sh.

Every client records exactly what it sent and what it received, in the order it
happened, into a transcript file (JSON, see TRANSCRIPT FORMAT below).  The
expected results (*.expected.json) are derived from these transcripts by
expect.py, never from smtpscope.

Subcommands:
  smtplib SCENARIO OUT.json [--ready FILE --go FILE]
        run one of the smtplib-based client scenarios against the local Postfix
        (clean-dsn, unrecognized-command, multi-message, client-reset, unfinished)
  no-answer IP PORT OUT.json
        one TCP connect attempt that nobody answers (bounded by a 4 s timeout)
  seed-server SPEC LOG.json READY_FILE
        scripted server on 127.0.0.10:25 that plays the server side of SPEC
  seed-client SPEC OUT.json
        client that plays the client side of SPEC against the seed server

TRANSCRIPT FORMAT (one file per TCP connection):
  {"tool": "...", "client": {"ip", "port"}, "server": {"ip", "port"},
   "connect": "ok" | "refused" | "no_answer",
   "end": "closed" | "reset" | "unfinished" | null,
   "events": [{"dir": "C", "data": "<bytes sent, latin-1>"},
              {"dir": "S", "data": "<one complete reply, all lines, CRLFs kept>"},
              {"dir": "X", "note": "capture_stopped"}, ...]}
All waits are bounded by socket timeouts.
"""
import json
import os
import smtplib
import socket
import struct
import sys
import time

SERVER_IP = "127.0.0.1"
CLIENT_IP = "127.0.0.1"
HELO = "client.sample.test"
TIMEOUT = 15


def save(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(path + ".tmp", path)


class Recorder:
    def __init__(self, tool, server_ip, server_port):
        self.t = {"tool": tool, "client": {"ip": None, "port": None},
                  "server": {"ip": server_ip, "port": server_port},
                  "connect": None, "end": None, "events": []}

    def sent(self, data):
        if isinstance(data, str):
            data = data.encode("ascii")
        self.t["events"].append({"dir": "C", "data": data.decode("latin-1")})

    def reply(self, raw):
        self.t["events"].append({"dir": "S", "data": raw.decode("latin-1")})

    def note(self, what):
        self.t["events"].append({"dir": "X", "note": what})


class RecSMTP(smtplib.SMTP):
    """smtplib.SMTP that records every byte it sends and every reply it reads."""

    def __init__(self, rec, host, port, source_ip):
        self.rec = rec
        super().__init__(timeout=TIMEOUT, source_address=(source_ip, 0))
        # connect() reads the greeting through getreply(), so it is recorded
        code, msg = self.connect(host, port)
        self.greeting = code
        cip, cport = self.sock.getsockname()
        rec.t["client"] = {"ip": cip, "port": cport}
        rec.t["connect"] = "ok"

    def send(self, s):
        self.rec.sent(s)
        super().send(s)

    def getreply(self):
        if self.file is None:
            self.file = self.sock.makefile("rb")
        raw = b""
        while True:
            line = self.file.readline(smtplib._MAXLINE + 1)
            if not line:
                if raw:
                    self.rec.reply(raw)
                self.close()
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            raw += line
            if not (len(line) >= 4 and line[3:4] == b"-"):
                break
        self.rec.reply(raw)
        lines = raw.split(b"\r\n")[:-1] if raw.endswith(b"\r\n") else raw.split(b"\n")
        code = int(lines[-1][:3])
        msg = b"\n".join(l[4:] for l in lines)
        return code, msg

    def finish(self):
        """QUIT, then wait (bounded) for the server to close its side."""
        try:
            self.quit()
        finally:
            self.rec.t["end"] = "closed"


def message(frm, to, subject, msgid, body):
    return ("From: <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\n"
            "Date: Fri, 27 Nov 2026 12:00:00 +0000\r\n\r\n%s\r\n"
            % (frm, ", ".join("<%s>" % t for t in to), subject, msgid, body))


def scen_clean_dsn(s):
    s.ehlo(HELO)
    msg = message("alice@sample.test", ["kate@sample.test"], "DSN test from smtpscope samples",
                  "clean-dsn.1@client.sample.test", "This message asks for a DSN on success and on failure.")
    s.sendmail("alice@sample.test", ["kate@sample.test"], msg,
               mail_options=["RET=HDRS", "ENVID=smtpscope-clean-dsn"],
               rcpt_options=["NOTIFY=SUCCESS,FAILURE"])
    s.finish()


def scen_unrecognized(s):
    s.ehlo(HELO)
    s.docmd("XYZZY")                      # unknown verb
    s.docmd("EHLLO", HELO)                # typo of EHLO
    s.noop()                              # the session goes on
    s.finish()


def scen_multi(s):
    s.ehlo(HELO)
    # 1: accepted
    s.sendmail("alice@sample.test", ["kate@sample.test"],
               message("alice@sample.test", ["kate@sample.test"], "multi 1 of 4",
                       "multi.1@client.sample.test", "First message."))
    # 2: one recipient refused, message still accepted for the other one
    refused = s.sendmail("alice@sample.test", ["bob@sample.test", "nobody@sample.test"],
                         message("alice@sample.test", ["bob@sample.test", "nobody@sample.test"],
                                 "multi 2 of 4", "multi.2@client.sample.test", "Second message."))
    assert list(refused) == ["nobody@sample.test"], refused
    # 3: the only recipient is refused: smtplib sends RSET itself, no DATA
    try:
        s.sendmail("alice@sample.test", ["ghost@sample.test"],
                   message("alice@sample.test", ["ghost@sample.test"], "multi 3 of 4",
                           "multi.3@client.sample.test", "Third message, never sent."))
        raise SystemExit("multi-message: expected all recipients refused")
    except smtplib.SMTPRecipientsRefused:
        pass
    # 4: accepted again, after an explicit RSET
    s.rset()
    s.sendmail("bob@sample.test", ["alice@sample.test", "kate@sample.test"],
               message("bob@sample.test", ["alice@sample.test", "kate@sample.test"], "multi 4 of 4",
                       "multi.4@client.sample.test", "Fourth message.\r\n.A line starting with a dot."))
    s.finish()


def scen_client_reset(s):
    s.ehlo(HELO)
    s.mail("alice@sample.test")
    s.rcpt("kate@sample.test")
    # abort: SO_LINGER 0 makes close() send RST instead of FIN
    s.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.file.close()                        # drop the makefile() reference first,
    s.sock.close()                        # so that close() really closes (RST)
    s.sock = None
    s.file = None
    s.rec.t["end"] = "reset"


def wait_file(path, limit):
    t0 = time.time()
    while not os.path.exists(path):
        if time.time() - t0 > limit:
            raise SystemExit("timeout waiting for " + path)
        time.sleep(0.1)


def scen_unfinished(s, ready, go):
    s.ehlo(HELO)
    s.mail("alice@sample.test")
    # tell make-samples.sh to stop the capture now, wait until it did
    s.rec.note("capture_stopped")
    open(ready, "w").close()
    wait_file(go, 30)
    s.rcpt("kate@sample.test")
    s.finish()
    s.rec.t["end"] = "unfinished"


SCENARIOS = {
    "clean-dsn": (25, scen_clean_dsn),
    "unrecognized-command": (25, scen_unrecognized),
    "multi-message": (25, scen_multi),
    "client-reset": (25, scen_client_reset),
    "unfinished": (25, scen_unfinished),
}


def cmd_smtplib(args):
    name, out = args[0], args[1]
    port, fn = SCENARIOS[name]
    rec = Recorder("python3 smtplib", SERVER_IP, port)
    s = RecSMTP(rec, SERVER_IP, port, CLIENT_IP)
    try:
        if name == "unfinished":
            fn(s, args[args.index("--ready") + 1], args[args.index("--go") + 1])
        else:
            fn(s)
    finally:
        save(out, rec.t)


def cmd_no_answer(args):
    ip, port, out = args[0], int(args[1]), args[2]
    rec = Recorder("python3 socket", ip, port)
    sk = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sk.bind((CLIENT_IP, 0))
    rec.t["client"] = {"ip": CLIENT_IP, "port": sk.getsockname()[1]}
    sk.settimeout(4.0)
    try:
        sk.connect((ip, port))
        rec.t["connect"] = "ok"
        sk.close()
        save(out, rec.t)
        raise SystemExit("no-answer: the connection was answered")
    except socket.timeout:
        rec.t["connect"] = "no_answer"
    except ConnectionRefusedError:
        rec.t["connect"] = "refused"
    sk.close()
    save(out, rec.t)
    if rec.t["connect"] != "no_answer":
        raise SystemExit("no-answer: got " + rec.t["connect"])


# ---------------------------------------------------------------- seed exchanges
# Texts from shared/seeds: 001 (Exchange 2016, "successful session" transcript and
# the per-command failure replies) and 000/002/003 (Exchange 5.x Internet Mail
# Connector).  Steps: ("S", [reply lines]) sent by the server, ("C", line) sent by
# the client.  Both sides play the same script and check each other.
EX_GREETING = ["220 mail1.fabrikam.com Microsoft ESMTP MAIL Service ready at Fri, 5 Aug 2016 16:24:41 -0700"]
EX_EHLO = ["250-mail1.fabrikam.com Hello [172.16.0.5]", "250-SIZE 37748736", "250-PIPELINING",
           "250-DSN", "250-ENHANCEDSTATUSCODES", "250-STARTTLS", "250-X-ANONYMOUSTLS",
           "250-AUTH NTLM", "250-X-EXPS GSSAPI NTLM", "250-8BITMIME", "250-BINARYMIME",
           "250-CHUNKING", "250 XRDST"]
EX_QUIT = [("C", "QUIT"), ("S", ["221 2.0.0 Service closing transmission channel"])]

SEED_SPECS = {
    # seed 001, lines ~127-156, byte for byte
    "seed-exchange": [[
        ("S", EX_GREETING),
        ("C", "EHLO contoso.com"), ("S", EX_EHLO),
        ("C", "MAIL FROM: <chris@contoso.com>"), ("S", ["250 2.1.0 Sender OK"]),
        ("C", "RCPT TO: <kate@fabrikam.com> NOTIFY=success,failure"), ("S", ["250 2.1.5 Recipient OK"]),
        ("C", "DATA"), ("S", ["354 Start mail input; end with <CRLF>.<CRLF>"]),
        ("C", "Subject: test"), ("C", ""), ("C", "This is a test message."), ("C", "."),
        ("S", ["250 2.6.0 <c89b4fcc-3ad1-4758-a1ab-1e820065d622@mail1.fabrikam.com> "
               "[InternalId=5111011082268, Hostname=mail1.fabrikam.com] Queued mail for delivery"]),
    ] + EX_QUIT],
    # seed 001, "Step 4": the failure reply of each command
    "seed-exchange-errors": [[
        ("S", EX_GREETING),
        ("C", "EHLO contoso..com"), ("S", ["501 5.5.4 Invalid domain name"]),
        ("C", "EHLO contoso.com"), ("S", EX_EHLO),
        ("C", "MIAL FROM: <chris@contoso.com>"), ("S", ["500 5.3.3 Unrecognized command"]),
        ("C", "MAIL FROM: <chris.contoso.com>"), ("S", ["550 5.1.7 Invalid address"]),
        ("C", "MAIL FROM: <chris@contoso.com>"), ("S", ["530 5.7.1 Client was not authenticated"]),
    ] + EX_QUIT, [
        ("S", EX_GREETING),
        ("C", "EHLO contoso.com"), ("S", EX_EHLO),
        ("C", "MAIL FROM: <chris@contoso.com>"), ("S", ["250 2.1.0 Sender OK"]),
        ("C", "RCPT TO: <kat@fabrikam.com> NOTIFY=success,failure"), ("S", ["550 5.1.1 User unknown"]),
        ("C", "RCPT TO: <kate@fabrikam.com> NOTIFY=success,failure"), ("S", ["250 2.1.5 Recipient OK"]),
        ("C", "DATA"), ("S", ["354 Start mail input; end with <CRLF>.<CRLF>"]),
        ("C", "Subject: test"), ("C", ""), ("C", "This is a test message."), ("C", "."),
        # same form as the seed's reply; the GUID and InternalId are made up
        ("S", ["250 2.6.0 <3f2a9c1e-5b7d-4e08-9a61-d0c4b2e7f815@mail1.fabrikam.com> "
               "[InternalId=5111011082301, Hostname=mail1.fabrikam.com] Queued mail for delivery"]),
    ] + EX_QUIT],
    # seeds 000/002/003: Exchange 5.x Internet Mail Connector, no enhanced codes
    "seed-imc": [[
        ("S", ["220 site.contoso.com Microsoft Exchange Internet Mail Connector"]),
        ("C", "EHOL test.com"), ("S", ["500 Command not recognized"]),
        ("C", "EHLO test.com"), ("S", ["250 OK"]),
        ("C", "MAIL FROM:Admin@test.com"), ("S", ["250 OK - MAIL FROM Admin@test.com"]),
        ("C", "RCPT TO: User@Domain.Com"), ("S", ["250 OK - Recipient User@Domain.Com"]),
        ("C", "DATA"), ("S", ["354 Send data. End with CRLF.CRLF"]),
        ("C", "Subject:test message"), ("C", ""),
        ("C", "This is a test message you will not see a response from this command."), ("C", "."),
        ("S", ["250 OK"]),
        ("C", "QUIT"), ("S", ["221 closing connection"]),
    ]],
}
SEED_IP, SEED_PORT = "127.0.0.10", 25


def read_line(f):
    line = f.readline(4096)
    if not line:
        raise EOFError("peer closed")
    return line


def cmd_seed_server(args):
    spec, logpath, ready = SEED_SPECS[args[0]], args[1], args[2]
    log = {"server": {"ip": SEED_IP, "port": SEED_PORT}, "sessions": [], "errors": []}
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((SEED_IP, SEED_PORT))
    ls.listen(5)
    ls.settimeout(30)
    open(ready, "w").close()
    try:
        for steps in spec:
            conn, peer = ls.accept()
            conn.settimeout(10)
            f = conn.makefile("rb")
            sess = {"client": {"ip": peer[0], "port": peer[1]}, "events": []}
            log["sessions"].append(sess)
            for kind, val in steps:
                if kind == "S":
                    data = "".join(l + "\r\n" for l in val).encode("latin-1")
                    conn.sendall(data)
                    sess["events"].append({"dir": "S", "data": data.decode("latin-1")})
                else:
                    line = read_line(f)
                    sess["events"].append({"dir": "C", "data": line.decode("latin-1")})
                    if line != (val + "\r\n").encode("latin-1"):
                        log["errors"].append("expected %r got %r" % (val, line))
                        raise SystemExit("seed-server: unexpected line %r" % line)
            # after 221 the server closes first, as Exchange does; wait for the client's FIN
            conn.shutdown(socket.SHUT_WR)
            rest = f.read()
            if rest:
                log["errors"].append("data after QUIT: %r" % rest)
            conn.close()
    finally:
        ls.close()
        save(logpath, log)
    if log["errors"]:
        raise SystemExit("seed-server: " + "; ".join(log["errors"]))


def cmd_seed_client(args):
    name, out = args[0], args[1]
    spec = SEED_SPECS[name]
    outs = []
    for steps in spec:
        rec = Recorder("python3 socket (scripted seed client)", SEED_IP, SEED_PORT)
        sk = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sk.settimeout(10)
        sk.bind((CLIENT_IP, 0))
        sk.connect((SEED_IP, SEED_PORT))
        rec.t["client"] = {"ip": CLIENT_IP, "port": sk.getsockname()[1]}
        rec.t["connect"] = "ok"
        f = sk.makefile("rb")
        for kind, val in steps:
            if kind == "C":
                data = (val + "\r\n").encode("latin-1")
                sk.sendall(data)
                rec.sent(data)
            else:
                raw = b""
                while True:
                    line = read_line(f)
                    raw += line
                    if line[3:4] != b"-":
                        break
                rec.reply(raw)
                want = "".join(l + "\r\n" for l in val).encode("latin-1")
                if raw != want:
                    raise SystemExit("seed-client: expected %r got %r" % (want, raw))
        if f.read() != b"":                      # server closes after 221
            raise SystemExit("seed-client: data after 221")
        sk.close()
        rec.t["end"] = "closed"
        outs.append(rec.t)
    for i, t in enumerate(outs, 1):
        save("%s.%d.json" % (out, i), t)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"smtplib": cmd_smtplib, "no-answer": cmd_no_answer,
     "seed-server": cmd_seed_server, "seed-client": cmd_seed_client}[cmd](args)


if __name__ == "__main__":
    main()
