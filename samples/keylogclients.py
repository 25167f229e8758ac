#!/usr/bin/python3
"""TLS clients for make-keylog-samples.sh: each writes its own NSS key log and a transcript.

  keylogclients.py smtplib CASE OUT.json KEYLOG   Python smtplib (ssl keylog_filename)
  keylogclients.py sclient CASE OUT.json KEYLOG   openssl s_client -starttls smtp -keylogfile
  keylogclients.py variant KIND SRC NEW OUTDIR WORK [FOREIGN]
        KIND wrong: NEW is SRC's capture with every secret of its key log altered;
        KIND missing: NEW is SRC's capture with the key log of the case FOREIGN only
  keylogclients.py check NAME OUTDIR TRANSCRIPT.json POSTFIX_LOG LOG_OFFSET
        cross-check with tshark (its own TLS dissector and decryption, not smtpscope):
        the ClientHello random is in the key log, tshark's decryption gives exactly the bytes
        of the transcript inside TLS (or nothing when the key log must not work), version,
        cipher, encrypt_then_mac and the alert in the capture equal the client's; and
        Postfix's log line on the handshake agrees (copied into the expected file).
  keylogclients.py check-exim NAME OUTDIR TRANSCRIPT.json EXIM_MAINLOG LOG_OFFSET
        the same checks with tshark, then Exim's main log (make-exim-keylog-samples.sh):
        the X=TLS... field of its lines on this connection (GnuTLS's names) must give the
        client's version and cipher (copied into the expected file as "exim_log").

The cases exim-* (make-exim-keylog-samples.sh, against Exim with GnuTLS) run the smtplib
client of the Postfix case EXIM_CASES names, with the same options.

The transcript is smtpclients.py's (events "C"/"S"; inside TLS marked "tls": true), plus
"tls" (the client's own view, from the TLS messages its msg callback saw: OpenSSL's
msg_callback in Python (SSLContext._msg_callback) or s_client -msg), "inside_visible" (the
key log lets a reader see inside TLS) and "implicit_tls" (port 465).  s_client's clear-text
part (greeting, EHLO, STARTTLS) comes from its -debug dump of the socket; what it received
inside TLS from its output, where only the server's data ends lines with CR.
All waits are bounded.
"""
import base64
import json
import os
import queue
import re
import shutil
import smtplib
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtpclients import HELO, TIMEOUT, Recorder, RecSMTP, message, save  # noqa: E402

SERVER = "127.0.0.1"
SNI = "mx.sample.test"                  # the certificate's CN
PASSWORD = "not-a-real-password"        # the fake SASL user of make-keylog-samples.sh

# Cipher suite number -> (IANA name, OpenSSL name).  Numbers and IANA names: RFC 8446
# appendix B.4 (TLS 1.3), RFC 5289 section 3.2 (ECDHE with AES-GCM; the _SHA384 suite uses
# SHA-384 for the TLS 1.2 PRF of RFC 5246 section 5), RFC 7905 section 2 (ChaCha20-Poly1305),
# RFC 8422 section 6 (ECDHE_RSA with AES_128_CBC_SHA, first in RFC 4492; CBC with HMAC-SHA1:
# RFC 5246 section 6.2.3.2, encrypt-then-MAC: RFC 7366), RFC 6209 (ARIA, offered only).
SUITES = {
    0x1301: ("TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"),
    0x1302: ("TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384"),
    0x1303: ("TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256"),
    0xC013: ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"),
    0xC02F: ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"),
    0xC030: ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"),
    0xCCA8: ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"),
    0xC060: ("TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256", "ECDHE-ARIA128-GCM-SHA256"),
}
VERSIONS = {0x0304: "TLSv1.3", 0x0303: "TLSv1.2", 0x0302: "TLSv1.1", 0x0301: "TLSv1"}
# RFC 8446 section 6 (names of the AlertDescription enum)
ALERTS = {0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
          22: "record_overflow", 40: "handshake_failure", 42: "bad_certificate",
          43: "unsupported_certificate", 44: "certificate_revoked", 45: "certificate_expired",
          46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
          49: "access_denied", 50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
          71: "insufficient_security", 80: "internal_error", 86: "inappropriate_fallback",
          90: "user_canceled", 109: "missing_extension", 110: "unsupported_extension",
          112: "unrecognized_name", 116: "certificate_required", 120: "no_application_protocol"}
HS_FINISHED, HS_SERVER_HELLO, HS_KEY_UPDATE = 20, 2, 24
EXT_ETM, EXT_SUPPORTED_VERSIONS = 22, 43


def die(msg):
    sys.stderr.write("keylogclients.py: ERROR: %s\n" % msg)
    sys.exit(1)


# Exim case -> the smtplib case whose client it runs (same TLS options, same SMTP dialog)
EXIM_CASES = {
    "exim-tls13": "tls13-aes256",           # Python's defaults; RCPT to an unknown user too
    "exim-tls12": "tls12-default",          # maximum_version TLSv1_2, Python's cipher list
    "exim-tls12-cbc": "tls12-cbc-etm",      # TLS 1.2, ECDHE-RSA-AES128-SHA only
    "exim-implicit-465": "implicit-465",    # port 465, AUTH PLAIN
}


def body(name, to):
    return message("alice@sample.test", to, "%s over TLS" % name, "%s@client.sample.test" % name,
                   "One message inside TLS, for smtpscope --tls-keylog.")


# ------------------------------------------------------------ the client's TLS messages
def server_hello(data):
    """(version, cipher suite, extensions) of a ServerHello handshake message."""
    b = data[4:]
    version, sid = int.from_bytes(b[0:2], "big"), b[34]
    p = 35 + sid
    suite = int.from_bytes(b[p:p + 2], "big")
    p += 3
    exts = {}
    if p + 2 <= len(b):
        end = p + 2 + int.from_bytes(b[p:p + 2], "big")
        p += 2
        while p + 4 <= end:
            t, n = int.from_bytes(b[p:p + 2], "big"), int.from_bytes(b[p + 2:p + 4], "big")
            exts[t] = b[p + 4:p + 4 + n]
            p += 4 + n
    if EXT_SUPPORTED_VERSIONS in exts:
        version = int.from_bytes(exts[EXT_SUPPORTED_VERSIONS], "big")
    return version, suite, exts


def tls_facts(msgs, keylog):
    """The session's "tls" object from the messages the client sent and received:
    [(\"sent\"|\"received\", content type, bytes)]."""
    f = {"handshake": "abandoned", "version": None, "cipher": None, "alert": None,
         "decrypted": keylog, "failed_records": 0}
    fin, kupd = set(), {"sent": 0, "received": 0}
    for d, ct, data in msgs:
        if ct == 22 and data[0] == HS_SERVER_HELLO:
            v, suite, exts = server_hello(data)
            f["version"], f["cipher"] = VERSIONS[v], SUITES[suite][0]
            if v == 0x0303 and suite == 0xC013:
                f["encrypt_then_mac"] = EXT_ETM in exts
        elif ct == 22 and data[0] == HS_FINISHED:
            fin.add(d)
        elif ct == 22 and data[0] == HS_KEY_UPDATE:
            kupd[d] += 1
        elif ct == 21 and data[0] == 2 and f["alert"] is None:
            f["alert"] = {"description": ALERTS[data[1]], "level": "fatal",
                          "sent_by": "client" if d == "sent" else "server"}
    if fin == {"sent", "received"}:
        f["handshake"] = "completed"
    elif f["alert"] is not None:
        f["handshake"] = "failed"
    if kupd["sent"] or kupd["received"]:
        f["key_updates"] = {"client": kupd["sent"], "server": kupd["received"]}
    if not f["decrypted"]:
        f["decrypted"] = False
    return f


# ------------------------------------------------------------------------ smtplib
class TLSRecorder(Recorder):
    in_tls = False

    def sent(self, data):
        super().sent(data)
        self.t["events"][-1]["tls"] = self.in_tls

    def reply(self, raw):
        super().reply(raw)
        self.t["events"][-1]["tls"] = self.in_tls


class KeylogSMTP(smtplib.SMTP):
    """smtplib.SMTP recording every byte (smtpclients.RecSMTP's way), STARTTLS or port 465."""

    def __init__(self, rec, port, ctx, implicit):
        self.rec, self.ctx, self.implicit = rec, ctx, implicit
        rec.in_tls = implicit
        super().__init__(timeout=TIMEOUT, source_address=(SERVER, 0))
        self.connect(SERVER, port)
        self._host = SNI                        # what starttls() sends as server_hostname
        cip, cport = self.sock.getsockname()
        rec.t["client"], rec.t["connect"] = {"ip": cip, "port": cport}, "ok"

    def _get_socket(self, host, port, timeout):
        sock = super()._get_socket(host, port, timeout)
        return self.ctx.wrap_socket(sock, server_hostname=SNI) if self.implicit else sock

    def send(self, s):
        self.rec.sent(s)
        super().send(s)

    getreply = RecSMTP.getreply          # records every reply it reads

    def starttls_rec(self):
        self.starttls(context=self.ctx)
        self.rec.in_tls = True

    def finish(self):
        """QUIT, then read until the server's close_notify and FIN, then close: no RST."""
        self.docmd("QUIT")
        self.sock.settimeout(5)
        while self.sock.recv(4096):
            pass
        self.close()
        self.rec.t["end"] = "closed"


def py_context(case):
    if case == "handshake-untrusted-cert":
        ctx = ssl.create_default_context()         # the system CA store, hostname checked
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    if case.startswith("tls12-"):
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ciphers = {"tls12-aes128gcm": "ECDHE-RSA-AES128-GCM-SHA256",
               "tls12-aes256gcm": "ECDHE-RSA-AES256-GCM-SHA384",
               "tls12-chacha": "ECDHE-RSA-CHACHA20-POLY1305",
               "tls12-cbc-etm": "ECDHE-RSA-AES128-SHA", "tls12-cbc-mte": "ECDHE-RSA-AES128-SHA"}
    if case in ciphers:
        ctx.set_ciphers(ciphers[case])
    if case == "tls12-cbc-mte":
        ctx.options |= 0x80000      # SSL_OP_NO_ENCRYPT_THEN_MAC (openssl/ssl.h)
    return ctx


def run_smtplib(name, out, keylog):
    case = EXIM_CASES.get(name, name)       # what the client does; name: the capture
    ctx = py_context(case)
    use_keylog = not case.startswith("handshake-")
    if use_keylog:
        ctx.keylog_filename = keylog            # appends: the caller removed the file
    msgs = []
    ctx._msg_callback = lambda conn, d, v, ct, mt, data: msgs.append(
        ("sent" if d == "write" else "received", int(ct), bytes(data))) \
        if int(ct) in (21, 22) else None
    implicit = case == "implicit-465"
    rec = TLSRecorder("smtplib", SERVER, 465 if implicit else 25)
    s = KeylogSMTP(rec, 465 if implicit else 25, ctx, implicit)
    s.ehlo(HELO)
    if not implicit:
        try:
            s.starttls_rec()
        except ssl.SSLError as e:
            rec.t["tls"] = tls_facts(msgs, False)
            rec.t["tls"]["ssl_error"] = e.reason
            s.sock, s.file = None, None         # the failed wrap closed the socket (FIN)
            rec.t.update(end="closed", inside_visible=False, implicit_tls=False)
            save(out, rec.t)
            return
        s.ehlo(HELO)
    to = ["kate@sample.test"]
    if implicit:
        s.login("alice", PASSWORD)          # AUTH PLAIN with the initial response
        blob = base64.b64encode(b"\0alice\0" + PASSWORD.encode()).decode()
        rec.t["secrets"] = [PASSWORD, base64.b64encode(PASSWORD.encode()).decode(), blob]
    if case == "tls13-aes256":
        to = ["kate@sample.test", "nobody@sample.test"]     # the second: 550 5.1.1
    refused = s.sendmail("alice@sample.test", to, body(name, to))
    if case == "tls13-aes256" and list(refused) != ["nobody@sample.test"]:
        die("%s: expected nobody@ refused, got %r" % (case, refused))
    pyv, pyc = s.sock.version(), s.sock.cipher()[0]
    s.finish()
    rec.t["tls"] = tls_facts(msgs, use_keylog)
    same_client(name, rec.t["tls"], pyv, pyc)
    rec.t["inside_visible"], rec.t["implicit_tls"] = use_keylog, implicit
    save(out, rec.t)


def same_client(case, facts, version, openssl_name):
    """The client library's own words (version, OpenSSL cipher name) must give the facts
    read from the ServerHello it received."""
    iana = next((v[0] for v in SUITES.values() if v[1] == openssl_name), None)
    if (version, iana) != (facts["version"], facts["cipher"]) or facts["handshake"] != "completed":
        die("%s: client says %s %s (%s), its ServerHello %s" % (case, version, openssl_name,
                                                                  iana, facts))


# ----------------------------------------------------------------------- s_client
# case -> (s_client options, -nocommands, writes a key log)
SCLIENT = {
    "tls13-aes128": (["-ciphersuites", "TLS_AES_128_GCM_SHA256"], True, True),
    "tls13-chacha": (["-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"], True, True),
    # command letters on, on purpose: the line "K" is a KeyUpdate with update_requested;
    # so the SMTP lines that start with R or Q are sent in lower case
    "tls13-keyupdate": (["-ciphersuites", "TLS_AES_128_GCM_SHA256"], False, True),
    "handshake-old-version": (["-no_tls1_2", "-no_tls1_3", "-cipher", "DEFAULT@SECLEVEL=0"],
                              True, False),
    "handshake-no-shared-cipher": (["-tls1_2", "-cipher", "ECDHE-ARIA128-GCM-SHA256"],
                                   True, False),
}
KEY = object()      # the "K" line of tls13-keyupdate
DEBUG_HEAD = re.compile(rb"^(read from|write to) 0x[0-9a-f]+ \[0x[0-9a-f]+\] "
                        rb"\(\d+ bytes => (-?\d+) \(0x[0-9A-F]+\)\)")
DEBUG_HEX = re.compile(rb"^[0-9a-f]{4} - ((?:[0-9a-f]{2}[ -]){0,15}[0-9a-f]{2})")


class SClient:
    """openssl s_client with its output read line by line as it comes (stdbuf -o0 keeps the
    -debug dumps and the received data in the order they happened)."""

    def __init__(self, cmd, errfile):
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=errfile)
        self.lines, self.eof, self.cv = [], False, threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            with self.cv:
                self.lines.append(line)
                self.cv.notify_all()
        with self.cv:
            self.eof = True
            self.cv.notify_all()

    def wait(self, pred, limit=15):
        deadline = time.time() + limit
        with self.cv:
            while True:
                r = pred(self.lines)
                if r is not None or self.eof or time.time() > deadline:
                    return r
                self.cv.wait(0.2)

    def write(self, text):
        self.p.stdin.write(text.encode("latin-1"))
        self.p.stdin.flush()


def app_lines(lines, start):
    """The server's data inside TLS: the only output lines that end with CR LF."""
    return [l for l in lines[start:] if l.endswith(b"\r\n")]


def next_reply(sc, start, have):
    """Wait for the reply after the `have` application lines already taken."""
    def done(lines):
        got = app_lines(lines, start)[have:]
        for i, l in enumerate(got):
            if len(l) >= 4 and l[3:4] == b" ":
                return got[:i + 1]
        return None
    rep = sc.wait(done)
    if rep is None:
        die("s_client: no complete reply (have %d lines)" % have)
    return b"".join(rep)


def debug_blocks(lines):
    """[(\"C\"|\"S\", bytes)] of s_client's -debug dump of its socket, in order."""
    blocks, cur, want = [], None, 0
    for line in lines:
        m = DEBUG_HEAD.match(line)
        if m:
            if cur is not None and len(cur[1]) != want:
                die("s_client -debug: dump of %d bytes, %d announced" % (len(cur[1]), want))
            want = max(int(m.group(2)), 0)
            cur = ["C" if m.group(1) == b"write to" else "S", bytearray()]
            blocks.append(cur)
            continue
        h = DEBUG_HEX.match(line)
        if h and cur is not None:
            cur[1] += bytes.fromhex(h.group(1).replace(b"-", b" ").decode())
    return [(d, bytes(b)) for d, b in blocks if b]


def clear_events(blocks):
    """The clear-text SMTP before the ClientHello, one "S" event per complete reply."""
    events, pending = [], b""
    for d, data in blocks:
        if d == "C" and data[:1] == b"\x16":
            break
        if d == "C":
            events.append({"dir": "C", "data": data.decode("latin-1"), "tls": False})
            continue
        pending += data
        while True:
            m = re.search(rb"(?m)^\d{3} [^\r\n]*\r\n", pending)
            if not m:
                break
            events.append({"dir": "S", "data": pending[:m.end()].decode("latin-1"),
                           "tls": False})
            pending = pending[m.end():]
    return events


def msgfile_messages(path):
    """[(\"sent\"|\"received\", content type, bytes)] from s_client's -msg output."""
    msgs, cur = [], None
    for line in open(path, encoding="latin-1"):
        m = re.match(r"^(<<<|>>>) .*?, (\w+) \[length [0-9a-f]+\]", line)
        if m:
            ct = {"Handshake": 22, "Alert": 21}.get(m.group(2))
            cur = None
            if ct:
                cur = ["sent" if m.group(1) == ">>>" else "received", ct, bytearray()]
                msgs.append(cur)
        elif cur is not None and re.match(r"^    [0-9a-f]{2}( |$)", line):
            cur[2] += bytes.fromhex(line.strip())
    return [(d, ct, bytes(b)) for d, ct, b in msgs]


def sclient_steps(case):
    b = body(case, ["kate@sample.test"]).replace("\r\n", "\n")
    if case.startswith("handshake-"):
        return []
    if case == "tls13-keyupdate":
        return ["EHLO " + HELO, "MAIL FROM:<alice@sample.test>", "rcpt TO:<kate@sample.test>",
                KEY, "DATA", b + ".", "quit"]
    return ["EHLO " + HELO, "MAIL FROM:<alice@sample.test>", "RCPT TO:<kate@sample.test>",
            "DATA", b + ".", "QUIT"]


def run_sclient(case, out, keylog):
    opts, nocommands, use_keylog = SCLIENT[case]
    cmd = ["stdbuf", "-o0", "openssl", "s_client", "-connect", "%s:25" % SERVER,
           "-starttls", "smtp", "-name", HELO, "-crlf", "-debug", "-msg",
           "-msgfile", out + ".msg"] + opts
    cmd += ["-nocommands"] if nocommands else []
    cmd += ["-keylogfile", keylog] if use_keylog else []
    with open(out + ".stderr", "wb") as err:
        sc = SClient(cmd, err)
        hs = sc.wait(lambda ls: next((i for i, l in enumerate(ls) if l.startswith(b"New, TLSv")),
                                     None))
        events, steps = [], sclient_steps(case)
        if (hs is None) != (not steps):
            die("%s: handshake %s" % (case, "failed" if hs is None else "completed"))
        have = 0
        for step in steps:
            if step is KEY:
                sc.write("K\n")
                time.sleep(0.5)         # alone in its read(): s_client drops the rest of it
                continue
            sc.write(step + "\n")
            events.append({"dir": "C", "data": (step + "\n").replace("\n", "\r\n"), "tls": True})
            rep = next_reply(sc, hs, have)
            have += rep.count(b"\n")
            events.append({"dir": "S", "data": rep.decode("latin-1"), "tls": True})
        sc.wait(lambda ls: None, limit=10)      # until s_client ends (server closed)
        sc.p.stdin.close()
        sc.p.wait(timeout=10)
    lines = sc.lines
    t = {"tool": "openssl s_client", "client": {"ip": SERVER, "port": None},
         "server": {"ip": SERVER, "port": 25}, "connect": "ok", "end": "closed",
         "events": clear_events(debug_blocks(lines)) + events}
    t["tls"] = tls_facts(msgfile_messages(out + ".msg"), use_keylog)
    if hs is not None:
        m = re.match(rb"New, (\S+), Cipher is (\S+)", lines[hs])
        same_client(case, t["tls"], m.group(1).decode(), m.group(2).decode())
    else:
        e = re.search(r"SSL routines:[^:]*:([^:\n]+)", open(out + ".stderr").read())
        t["tls"]["ssl_error"] = e.group(1) if e else None
    if case == "tls13-keyupdate" and t["tls"].get("key_updates") != {"client": 1, "server": 1}:
        die("%s: KeyUpdate not seen both ways: %s" % (case, t["tls"]))
    t["inside_visible"], t["implicit_tls"] = use_keylog, False
    save(out, t)


# ------------------------------------------------------------------ variants and checks
def variant(kind, src, new, outdir, work, foreign=None):
    """wrong: every secret of src's key log altered (each byte XOR 0xFF), client randoms kept,
    so a reader finds the session's keys but every record fails authentication.  missing: the
    key log of another capture only, so no key belongs to this session."""
    shutil.copyfile(os.path.join(outdir, src + ".pcap"), os.path.join(outdir, new + ".pcap"))
    lines = open(os.path.join(outdir, (foreign if kind == "missing" else src) + ".keylog")).read()
    with open(os.path.join(outdir, new + ".keylog"), "w") as f:
        for line in lines.splitlines():
            parts = line.split(" ")
            if kind == "wrong" and len(parts) == 3 and not line.startswith("#"):
                parts[2] = bytes(b ^ 0xFF for b in bytes.fromhex(parts[2])).hex()
            f.write(" ".join(parts) + "\n")
    t = json.load(open(os.path.join(work, src + ".json")))
    t["inside_visible"] = False
    t["tls"].update(decrypted=False, failed_records=">0" if kind == "wrong" else 0)
    save(os.path.join(work, new + ".json"), t)


def tshark(pcap, *args):
    r = subprocess.run(["tshark", "-r", pcap, "-n", "-d", "tcp.port==465,tls"] + list(args),
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        die("tshark %s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


def tshark_decrypted(pcap, keylog, server_port):
    """{"C": bytes, "S": bytes} that tshark decrypts with the key log (follow,tls,raw: lines
    of node 0 flush left, of node 1 after a tab)."""
    out = tshark(pcap, "-o", "tls.keylog_file:" + keylog, "-q", "-z", "follow,tls,raw,0")
    got = {"C": b"", "S": b""}
    m = re.search(r"^Node 0: \S+:(\d+)\nNode 1: .*\n", out, re.M)
    if not m:
        return got
    first, second = ("S", "C") if m.group(1) == str(server_port) else ("C", "S")
    for line in out[m.end():].splitlines():
        if line.startswith("====="):
            break
        if line.strip():
            got[second if line.startswith("\t") else first] += bytes.fromhex(line.strip())
    return got


def postfix_tls(name, outdir, logpath, offset):
    """Postfix's own record of the TLS handshake of this session (smtpd_tls_loglevel 1):
    version and OpenSSL cipher name, or the reason of the failure.  Written into the
    expected file's tls object as "postfix_log"."""
    path = os.path.join(outdir, name + ".expected.json")
    e = json.load(open(path))
    sess = e["sessions"][0]
    f = open(logpath, encoding="latin-1")
    f.seek(int(offset))
    log, key = f.read().splitlines(), "[%s]:%s" % (SERVER, sess["client_port"])
    # the session's smtpd process, from its connect line to its disconnect line (the
    # "TLS library problem" line does not name the client)
    start = next(i for i, l in enumerate(log) if l.endswith("connect from unknown" + key))
    pid = re.search(r"smtpd\[\d+\]:", log[start]).group(0)
    mine = []
    for l in log[start:]:
        if pid in l:
            mine.append(l)
            if "disconnect from unknown" + key in l:
                break
    est = [re.search(r"TLS connection established from \S+: (\S+) with cipher (\S+)", l)
           for l in mine]
    est = [m for m in est if m]
    prob = [l.split("TLS library problem: ", 1)[1] for l in mine if "TLS library problem" in l]
    tls = sess["tls"]
    if tls["handshake"] == "completed":
        iana = next((v[0] for v in SUITES.values() if v[1] == est[0].group(2)), None) \
            if est else None
        if not est or (est[0].group(1), iana) != (tls["version"], tls["cipher"]):
            die("%s: Postfix logged %s, client says %s %s" % (
                name, est[0].group(0) if est else "no TLS connection", tls["version"],
                tls["cipher"]))
        tls["postfix_log"] = est[0].group(0)
    else:
        if est or not prob:
            die("%s: Postfix logged no TLS failure: %s" % (name, mine))
        tls["postfix_log"] = "TLS library problem: " + prob[0].split(":")[4 if
                                                                     prob[0].startswith("error:") else 0]
    with open(path, "w") as out:
        json.dump(e, out, indent=2)
        out.write("\n")


def gnutls_iana(version, desc):
    """IANA name of the cipher suite in Exim's X= field with GnuTLS: Exim's tls-gnu.c writes
    version:description:bits, the description from gnutls_session_get_desc() with its
    parentheses gone and dashes turned into underscores: key exchange (with the group),
    signature, cipher and, for a non-AEAD cipher, the MAC, e.g. TLS 1.3 and 1.2 alike
    "ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM", "..__AES_128_CBC__SHA1".  TLS 1.3:
    the suite is the cipher with its hash (RFC 8446 B.4); TLS 1.2: ECDHE_RSA or ECDHE_ECDSA
    from the key exchange and the signature, the PRF hash of the AEAD suites (RFC 5289, RFC
    7905), SHA for HMAC-SHA1 (RFC 8422)."""
    parts = desc.split("__")
    aead = {"AES_128_GCM": "SHA256", "AES_256_GCM": "SHA384", "CHACHA20_POLY1305": "SHA256"}
    if parts[-1] in ("SHA1", "SHA256", "SHA384", "AEAD"):
        cipher, mac = parts[-2], parts[-1]
    else:
        cipher, mac = parts[-1], "AEAD"
    if version == "TLS1.3":
        return "TLS_%s_%s" % (cipher, aead[cipher]) if cipher in aead else None
    kx = parts[0].split("_")[0]                          # ECDHE_X25519 -> ECDHE
    sig = parts[1].split("_")[0]                         # RSA_PSS_RSAE_SHA256 -> RSA
    mac = aead.get(cipher) if mac == "AEAD" else {"SHA1": "SHA"}.get(mac, mac)
    return "TLS_%s_%s_WITH_%s_%s" % (kx, sig, cipher, mac)


def exim_tls(name, outdir, logpath, offset):
    """Exim's own record of the TLS session (log_selector +tls_cipher): the X= field of its
    lines on this connection (the arrival "<=" line, the rejections), from GnuTLS, must give
    the client's version and cipher.  Written into the expected file's tls object as
    "exim_log" (the "<=" line, or the first line with X=, without its date)."""
    path = os.path.join(outdir, name + ".expected.json")
    e = json.load(open(path))
    sess = e["sessions"][0]
    key = "[%s]:%s " % (SERVER, sess["client_port"])
    deadline = time.time() + 20
    while True:
        f = open(logpath, encoding="latin-1")
        f.seek(int(offset))
        mine = [l for l in f.read().splitlines() if key in l]
        if any("closed by QUIT" in l or "lost" in l for l in mine) or time.time() > deadline:
            break
        time.sleep(0.5)
    xs = [(l, re.search(r" X=(TLS1\.\d):(\S+):(\d+) ", l)) for l in mine]
    xs = [(l, m) for l, m in xs if m]
    tls = sess["tls"]
    if tls["handshake"] != "completed" or not xs:
        die("%s: Exim logged %r, client says %s" % (name, mine, tls))
    for l, m in xs:
        version = {"TLS1.3": "TLSv1.3", "TLS1.2": "TLSv1.2"}.get(m.group(1))
        if (version, gnutls_iana(m.group(1), m.group(2))) != (tls["version"], tls["cipher"]):
            die("%s: Exim logged %s (%s), client says %s %s" % (
                name, m.group(0).strip(), gnutls_iana(m.group(1), m.group(2)),
                tls["version"], tls["cipher"]))
    arrival = [l for l, m in xs if " <= " in l]
    tls["exim_log"] = re.sub(r"^\S+ \S+ ", "", (arrival or [xs[0][0]])[0])
    with open(path, "w") as out:
        json.dump(e, out, indent=2)
        out.write("\n")


def check(name, outdir, tpath):
    t = json.load(open(tpath))
    facts, pcap = t["tls"], os.path.join(outdir, name + ".pcap")
    keylog = os.path.join(outdir, name + ".keylog")
    randoms = tshark(pcap, "-Y", "tls.handshake.type == 1", "-T", "fields",
                     "-e", "tls.handshake.random").split()
    if len(randoms) != 1:
        die("%s: %d ClientHellos in the capture" % (name, len(randoms)))
    hello = tshark(pcap, "-Y", "tls.handshake.type == 2", "-T", "fields", "-E", "separator=|",
                   "-e", "tls.handshake.version", "-e", "tls.handshake.extensions.supported_version",
                   "-e", "tls.handshake.ciphersuite", "-e", "tls.handshake.extension.type").strip()
    wire = {"version": None, "cipher": None}
    if hello:
        legacy, sv, cs, exts = hello.split("|")
        wire = {"version": VERSIONS[int(sv or legacy, 16)], "cipher": SUITES[int(cs, 16)][0]}
        if "encrypt_then_mac" in facts:
            wire["encrypt_then_mac"] = "22" in exts.split(",")
    for k, v in wire.items():
        if facts.get(k) != v:
            die("%s: %s: client %r, capture %r" % (name, k, facts.get(k), v))
    alerts = tshark(pcap, "-Y", "tls.alert_message.desc", "-T", "fields", "-E", "separator=|",
                    "-e", "tcp.srcport", "-e", "tls.alert_message.level",
                    "-e", "tls.alert_message.desc").split()
    if facts["handshake"] == "failed":
        port, level, desc = alerts[0].split("|") if alerts else (None, None, None)
        sender = "server" if port == str(t["server"]["port"]) else "client"
        a = facts["alert"]
        if (level, ALERTS.get(int(desc or -1)), sender) != ("2", a["description"], a["sent_by"]):
            die("%s: alert in the capture %r, client says %r" % (name, alerts, a))
        print("keylogclients.py: %s: failed handshake, alert %s from the %s (in clear)"
              % (name, a["description"], sender))
        return
    if not os.path.exists(keylog):
        die("%s: no key log" % name)
    logged = {l.split(" ")[1] for l in open(keylog) if l.strip() and not l.startswith("#")}
    if (randoms[0] in logged) != (name != "missing-key"):
        die("%s: ClientHello random %s %sin the key log" % (name, randoms[0],
                                                         "" if randoms[0] in logged else "not "))
    got = tshark_decrypted(pcap, keylog, t["server"]["port"])
    want = {d: "".join(e["data"] for e in t["events"] if e["dir"] == d and e.get("tls"))
            .encode("latin-1") if t["inside_visible"] else b"" for d in "CS"}
    if got != want:
        die("%s: tshark decrypts %r, the client's transcript inside TLS is %r"
            % (name, {k: v[:200] for k, v in got.items()}, {k: v[:200] for k, v in want.items()}))
    print("keylogclients.py: %s: %s %s%s; tshark %s" % (
        name, facts["version"], facts["cipher"],
        "" if "encrypt_then_mac" not in facts else
        ", encrypt_then_mac %s" % facts["encrypt_then_mac"],
        "decrypts exactly the transcript's %d+%d bytes" % (len(got["C"]), len(got["S"]))
        if t["inside_visible"] else "decrypts nothing with this key log"))


README_HEAD = """# Key log captures (`--tls-keylog`)

Real SMTP sessions with TLS on the loopback interface, each with the client's own NSS key log
(`NAME.keylog`, the NSS key log format, draft-ietf-tls-keylogfile:
`CLIENT_RANDOM` for TLS 1.2, `*_HANDSHAKE_TRAFFIC_SECRET`, `*_TRAFFIC_SECRET_0` and
`EXPORTER_SECRET` for TLS 1.3), for `smtpscope -r NAME.pcap --tls-keylog NAME.keylog`.
Regenerated from scratch by `sudo bash samples/make-keylog-samples.sh` (see the top of the
script): a Postfix instance of its own in a mktemp directory (`mx.sample.test`, STARTTLS on
127.0.0.1:25 with `smtpd_tls_security_level = may`, TLS 1.2 at least, ARIA excluded;
implicit TLS on :465 with Cyrus SASL user `alice`, fake password `not-a-real-password`,
`smtpd_tls_auth_only = yes`; self-signed certificate; mail discarded), real clients (Python's
smtplib with `SSLContext.keylog_filename`, `openssl s_client -keylogfile`), one key log file per
capture.  Captured with `tcpdump -i lo -U -s 0 -w NAME.pcap 'tcp port 25 or tcp port 465'`.

The `exim-*` captures are the same against Exim, whose TLS is GnuTLS (another TLS server:
its own record layout, extensions and choices), regenerated by
`sudo bash samples/make-exim-keylog-samples.sh` (which leaves the other captures alone, as
make-keylog-samples.sh leaves these): Exim 4.96 out of Debian's `exim4-daemon-light` package,
unpacked with `dpkg -x` and not installed (installing it would remove Postfix), run as root
with a configuration of its own in a mktemp directory (`mx.sample.test`, STARTTLS on
127.0.0.1:25 offered to every host, implicit TLS on :465 by `tls_on_connect_ports`, GnuTLS's
default priorities, a self-signed certificate; mail for alice, bob, kate and postmaster
discarded by a `:blackhole:` router, anyone else `550 Unrouteable address`; AUTH PLAIN, only
inside TLS, for `alice` with the same fake password), and the same smtplib clients
(keylogclients.py's `EXIM_CASES`).

`NAME.expected.json` has the format of `samples/*.expected.json` (../README.md), derived by
`expect.py` from the client's transcript (keylogclients.py), checked against Postfix's log (or
Exim's) and the capture, with these differences:

- `keylog`: the key log file to give to `--tls-keylog` (beside the capture), or null (the
  handshake failures: run without `--tls-keylog`).
- `commands` go on after STARTTLS with the commands inside TLS, in order, as the client saw
  them, when the key log opens the session; `after_starttls_not_visible` is then absent (it
  stays in wrong-keylog and missing-key, whose inside is not visible).  `helo`, `extensions`
  and `auth` are those of the last EHLO / the AUTH, inside TLS.
- per session `tls`: `handshake` (`completed` | `failed`), `version` and `cipher` (IANA name)
  from the ServerHello the client received (null when none came), `alert` (the fatal alert
  that ended the handshake, with `sent_by`; null otherwise: a close_notify is not listed),
  `decrypted` (smtpscope must decrypt the records inside TLS with this key log),
  `failed_records` (0, or ">0": records that fail authentication).  Informational, not
  compared: `encrypt_then_mac` (TLS 1.2 CBC: the ServerHello has the RFC 7366 extension),
  `key_updates` (KeyUpdate messages each side sent), `ssl_error` (the client's error),
  `postfix_log` (Postfix's own line on the handshake, checked against the client) and
  `exim_log` (Exim's arrival line, whose `X=` field, GnuTLS's description of the session,
  was checked against the client's version and cipher).
- `queue_id`: Postfix's `queued as ID`, Exim's `250 OK id=ID`.
- `secrets_not_in_output` (implicit-465): the password, its base64 and the AUTH PLAIN blob:
  none may appear in smtpscope's output.

Checked with tshark (not smtpscope): the capture's ClientHello random is in the key log (not
in missing-key's), tshark's own decryption with the key log gives exactly the bytes the client
sent and received inside TLS (nothing for wrong-keylog and missing-key), the ServerHello's
version, cipher and encrypt_then_mac and the alerts in clear equal the client's view, and
Postfix's "TLS connection established ... with cipher" line or its "TLS library problem" agrees.
For `exim-*`: Exim's main log has the connection, a `rejected RCPT <addr>: TEXT` line for each
refused recipient, the arrival line (`<=` with the sender, the Message-ID, the accepted
recipients), a `=> :blackhole:` line per recipient, `Completed` and `closed by QUIT`; every
`X=TLS1.x:...` field of the connection's lines names the client's version and cipher.

| capture | what it shows | how it was made | TLS | key log |
|---|---|---|---|---|
"""


README_TAIL = """
## Worth knowing (what the wire shows)

- tls13-keyupdate: the key log holds only the `*_TRAFFIC_SECRET_0` lines; the secrets after the
  KeyUpdate are derived from them (RFC 8446 section 7.2, "traffic upd").  s_client sends the
  KeyUpdate just before the next data (DATA), and Postfix answers with its own before the 354.
- s_client answers Postfix's close_notify and FIN with its own close_notify, to a socket Postfix
  has closed: the server's kernel sends RST, so those sessions end `reset` (with a
  `state_note`).  The smtplib clients read to the end before closing: `closed`.
- handshake-untrusted-cert: OpenSSL sends the client's unknown_ca alert in clear (it has not
  switched to its handshake keys yet), then the client closes with unread data: RST.
- Postfix counts a STARTTLS whose handshake failed as failed (`starttls=0/1`) though it said 220.
- wrong-keylog and missing-key are byte-for-byte copies of tls13-aes256.pcap.
- A re-run gives new client ports, queue IDs, TLS random bytes and secrets; the rest is the same.

Exim with GnuTLS (`exim-*`), beside Postfix with OpenSSL:

- No session tickets: Exim sends a NewSessionTicket only to `tls_resumption_hosts` (unset).
  In TLS 1.3 the server's first record after the handshake is the EHLO reply (Postfix sends
  a NewSessionTicket first); in TLS 1.2 the ServerHello has no session_ticket extension but
  a 32-byte session id, and change_cipher_spec and Finished come with no NewSessionTicket.
- The server flights are laid out as OpenSSL's: one record per handshake message (TLS 1.3:
  ServerHello, change_cipher_spec, then EncryptedExtensions, Certificate, CertificateVerify
  and Finished in four encrypted records; TLS 1.2: ServerHello, Certificate,
  ServerKeyExchange, ServerHelloDone).
- exim-tls12-cbc: GnuTLS accepts encrypt-then-MAC (RFC 7366) as OpenSSL does.
- After `221` Exim sends close_notify and FIN; the smtplib client reads to the end and closes
  without close_notify of its own: `closed`.
- Exim's EHLO lists PIPECONNECT and HELP, no ENHANCEDSTATUSCODES (so its replies have no
  enhanced codes), AUTH PLAIN only inside TLS; its queue ids (`1xYdbF-0001kg-1w`) have dashes.
"""


def readme(outdir):
    import glob
    rows = []
    for path in sorted(glob.glob(os.path.join(outdir, "*.expected.json"))):
        e = json.load(open(path))
        tls = e["sessions"][0]["tls"]
        facts = [tls["version"] or "no version agreed", tls["cipher"] or "no cipher"]
        if "encrypt_then_mac" in tls:
            facts.append("encrypt_then_mac %s" % ("yes" if tls["encrypt_then_mac"] else "no"))
        if tls["alert"]:
            facts.append("%s alert %s from the %s" % (tls["alert"]["level"],
                                                     tls["alert"]["description"],
                                                     tls["alert"]["sent_by"]))
        facts.append("decrypted: %s, failed records: %s" % (
            "yes" if tls["decrypted"] else "no", tls["failed_records"]))
        size = os.path.getsize(os.path.join(outdir, e["sample"] + ".pcap"))
        rows.append("| `%s.pcap` (%d B) | %s | %s; %s | %s | %s |" % (
            e["sample"], size, e["description"], e["how"], e["made_with"], ", ".join(facts),
            "`%s`" % e["keylog"] if e["keylog"] else "none"))
    sys.stdout.write(README_HEAD + "\n".join(rows) + "\n" + README_TAIL)


def main():
    a = sys.argv[1:]
    if a[:1] == ["smtplib"] and len(a) == 4:
        run_smtplib(*a[1:])
    elif a[:1] == ["sclient"] and len(a) == 4:
        run_sclient(*a[1:])
    elif a[:1] == ["variant"] and len(a) in (6, 7):
        variant(*a[1:])
    elif a[:1] == ["readme"] and len(a) == 2:
        readme(a[1])
    elif a[:1] == ["check"] and len(a) == 6:
        check(*a[1:4])
        postfix_tls(a[1], a[2], a[4], a[5])
    elif a[:1] == ["check-exim"] and len(a) == 6:
        check(*a[1:4])
        exim_tls(a[1], a[2], a[4], a[5])
    else:
        die("usage: see the top of this file")


if __name__ == "__main__":
    main()
