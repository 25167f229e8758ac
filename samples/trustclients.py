#!/usr/bin/python3
"""Scripted SMTP server and clients for the captures in samples/trust (issue 11: transaction
semantics, TLS and not-SMTP, verdicts), run by samples/make-trust.sh.

  trustclients.py server SCENARIO LOG.json READY_FILE CERT KEY
        scripted server on 127.0.0.11:25 playing the server side of SCENARIO; its own log
        (what it received and sent, byte for byte, and its TLS library's report) goes to
        LOG.json, in the format of smtpclients.py's seed server (expect.py --seed-log)
  trustclients.py client SCENARIO OUT
        plays the client side, one connection per session; transcripts OUT.1.json, ... in
        the format of smtpclients.py (same Recorder)
  trustclients.py list
        the scenario names
  trustclients.py meta SCENARIO what|holds
        what the capture shows / what its expected file pins (for the README)

Both sides play the same script (SCENARIOS below) and check each other: a line or reply
that differs from the script stops the run.  Replies are texts real MTAs send (Postfix,
postgrey, Exchange, Sendmail); each scenario says which.  TLS is Python's ssl module
(OpenSSL) on both sides through memory BIOs, so both record the exact TLS bytes they sent
and received; the TLS facts of the expected file (handshake, alert) come from the client's
ssl error and the alert record it sent or received, cross-checked with each other and with
the server's own ssl error.

Steps of a session, played in order by both sides unless "only" says one side:
  ("S", [lines])            server sends a reply; the client reads it and checks it
  ("C", line)               client sends a line; the server reads it and checks it
  ("BODY", [lines])         the message after 354: the lines and "." in one write
  ("BDAT", data, last)      "BDAT n[ LAST]" and the n octets in one write (RFC 3030)
  ("CRAW", text, pre)       client sends bytes that are not an SMTP line (HTTP); pre=True:
                            the HTTP CONNECT preamble (not part of the SMTP pairing)
  ("SRAW", text, pre)       the same from the server
  ("NOREPLY", secs)         the client waits secs for a reply that never comes, then gives up
                            (transcript note "no_reply"); the server says nothing
  ("SIDLE", secs)           the server waits (the client idles too)
  ("TLS", opts)             a TLS handshake; opts: "client": "hello" (python ssl client) or
                            "leave" (the client closes instead), "max_client" / "min_server"
                            (protocol versions), "implicit" (no STARTTLS before)
Session options: "end": "server" (the server closes first: after 221, after a 421, after an
alert), "client" (the client closes first) or "rst" (the client closes with SO_LINGER 0);
"greet_delay" (s before the greeting; the greeting is not sent if the client is gone);
"unanswered_ok", "checks", "assert_queue_ids" (see expect.py derive()).
"""
import json
import os
import select
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtpclients import Recorder, save, read_line  # noqa: E402  (the same recorder)

SERVER_IP, SERVER_PORT = "127.0.0.11", 25
CLIENT_IP = "127.0.0.1"
TIMEOUT = 10

# --------------------------------------------------------------------- reply texts
PF_GREET = ["220 mx.example ESMTP Postfix"]
PF_EHLO = ["250-mx.example", "250-PIPELINING", "250-SIZE 10240000", "250-ENHANCEDSTATUSCODES",
           "250-8BITMIME", "250 SMTPUTF8"]
PF_EHLO_TLS = PF_EHLO[:-1] + ["250-STARTTLS", "250 SMTPUTF8"]
PF_EHLO_AUTH = PF_EHLO[:-1] + ["250-AUTH PLAIN LOGIN", "250 SMTPUTF8"]
PF_EHLO_CHUNKING = PF_EHLO[:-1] + ["250-CHUNKING", "250 SMTPUTF8"]
MAIL_OK, RCPT_OK = ["250 2.1.0 Ok"], ["250 2.1.5 Ok"]
DATA_GO = ["354 End data with <CR><LF>.<CR><LF>"]
BYE = ["221 2.0.0 Bye"]
EX_GREET = ["220 EX01.example.com Microsoft ESMTP MAIL Service ready at Tue, 1 Dec 2026 10:00:00 +0000"]
EX_EHLO = ["250-EX01.example.com Hello [127.0.0.1]", "250-SIZE 37748736", "250-PIPELINING",
           "250-DSN", "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250 CHUNKING"]


def body(n, subject, to="bob@example.net", frm="alice@client.example", from_hdr=None):
    return ["From: %s" % (from_hdr or "<%s>" % frm), "To: <%s>" % to, "Subject: %s" % subject,
            "Message-ID: <%s@client.example>" % n, "Date: Tue, 1 Dec 2026 10:00:00 +0000", "",
            "Sample message %s for smtpscope's trust captures." % n]


def delivery(n, qid_reply, to="bob@example.net"):
    """MAIL, RCPT, DATA, the body, the final reply."""
    return [("C", "MAIL FROM:<alice@client.example>"), ("S", MAIL_OK),
            ("C", "RCPT TO:<%s>" % to), ("S", RCPT_OK), ("C", "DATA"), ("S", DATA_GO),
            ("BODY", body(n, "trust sample %s" % n, to)), ("S", qid_reply)]


def encoded_delivery(n, qid, subject, from_hdr):
    """delivery() of a message whose Subject and From are RFC 2047 encoded words (ASCII on the
    wire, as a mailer writes them); a subject with "\r\n " is folded there."""
    return [("C", "MAIL FROM:<alice@client.example>"), ("S", MAIL_OK),
            ("C", "RCPT TO:<bob@example.net>"), ("S", RCPT_OK), ("C", "DATA"), ("S", DATA_GO),
            ("BODY", body(n, subject, from_hdr=from_hdr)), ("S", queued(qid))]


def queued(qid):
    return ["250 2.0.0 Ok: queued as %s" % qid]


def bdat_message():
    """A message of exactly 150 octets, sent as BDAT 100 + BDAT 50 LAST."""
    text = "\r\n".join(["Subject: sent with BDAT", "Message-ID: <bdat@client.example>", "",
                        "Chunked."]) + "\r\n"
    pad = 150 - len(text) - 2
    assert pad > 0, len(text)
    text += "x" * pad + "\r\n"
    assert len(text) == 150
    return text


BDAT_TEXT = bdat_message()
# OpenVPN's first packet over TCP: a 2-byte length, opcode 7 (P_CONTROL_HARD_RESET_CLIENT_V2)
# with key id 0 (0x38), an 8-byte session id, an empty ack array, packet id 0.
OPENVPN_RESET = "\x00\x0e\x38" + "\x5a\xc3\x11\x9e\x04\x7b\xd2\x60" + "\x00" + "\x00\x00\x00\x00"
PLAIN = "AGFsaWNlAG5vdC1hLXJlYWwtcGFzc3dvcmQ="   # base64 "\0alice\0not-a-real-password"
EHLO = ("C", "EHLO client.example")

SCENARIOS = {
    "helo-refused-then-ok": {
        "what": "a refused EHLO/HELO (501) does not reset the transaction (RFC 5321 §4.1.4: only "
                "an accepted one does). s1: EHLO with a bad name 501 5.5.4 (Exchange's text), "
                "EHLO again 250, then a delivered message; s2: MAIL 250, RCPT 250, HELO with an "
                "invalid name 501 5.5.2 (Postfix reject_invalid_helo_hostname), DATA 354, the "
                "message delivered to that recipient",
        "holds": "both delivered; s2's message keeps its sender and its accepted recipient",
        "sessions": [
            {"steps": [("S", PF_GREET), ("C", "EHLO client..example"),
                       ("S", ["501 5.5.4 Invalid domain name"]), EHLO, ("S", PF_EHLO)]
             + delivery("helo1", queued("4C7A21E0D3")) + [("C", "QUIT"), ("S", BYE)],
             "end": "server"},
            {"steps": [("S", PF_GREET), ("C", "MAIL FROM:<alice@client.example>"), ("S", MAIL_OK),
                       ("C", "RCPT TO:<bob@example.net>"), ("S", RCPT_OK),
                       ("C", "HELO client_host"),
                       ("S", ["501 5.5.2 <client_host>: Helo command rejected: Invalid name"]),
                       ("C", "DATA"), ("S", DATA_GO), ("BODY", body("helo2", "after a refused HELO")),
                       ("S", queued("5D8B32F1E4")), ("C", "QUIT"), ("S", BYE)],
             "end": "server"},
        ]},
    "data-503-no-mail": {
        "what": "DATA before any MAIL: 503 5.5.1 Error: need RCPT command (Postfix's text); QUIT",
        "holds": "no message; outcome no_mail; the verdict counts no message",
        "sessions": [{"steps": [("S", PF_GREET), EHLO, ("S", PF_EHLO), ("C", "DATA"),
                                ("S", ["503 5.5.1 Error: need RCPT command"]), ("C", "QUIT"), ("S", BYE)],
                      "end": "server",
                      "checks": {"verdict_excludes": ["1 message"]}}]},
    "mail-retry": {
        "what": "MAIL FROM a domain that does not exist: 553 5.1.8 Sender address rejected: Domain "
                "not found (Postfix reject_unknown_sender_domain); MAIL again with a good sender "
                "250, RCPT 250, DATA, 250 queued as ABC; QUIT",
        "holds": "outcome delivered (the refused MAIL opened no transaction); not \"partly\"",
        "sessions": [{"steps": [("S", PF_GREET), EHLO, ("S", PF_EHLO),
                                ("C", "MAIL FROM:<alice@no-such-domain.invalid>"),
                                ("S", ["553 5.1.8 <alice@no-such-domain.invalid>: Sender address "
                                       "rejected: Domain not found"])]
                      + delivery("retry", queued("ABC")) + [("C", "QUIT"), ("S", BYE)],
                      "end": "server",
                      "checks": {"verdict_excludes": ["Partly delivered", "1 message rejected"]}}]},
    "rcpt-deferred": {
        "what": "four recipients: a 250; b 450 4.2.0 greylisted (postgrey's text); c 452 4.5.3 "
                "too many recipients; d 451 4.3.0 temporary lookup failure (Postfix); DATA 354, "
                "250 queued as 1A2B3C; QUIT",
        "holds": "delivered; recipients a accepted, b, c, d deferred with their codes; the verdict "
                 "says deferred",
        "sessions": [{"steps": [("S", PF_GREET), EHLO, ("S", PF_EHLO),
                                ("C", "MAIL FROM:<alice@client.example>"), ("S", MAIL_OK),
                                ("C", "RCPT TO:<a@example.net>"), ("S", RCPT_OK),
                                ("C", "RCPT TO:<b@example.net>"),
                                ("S", ["450 4.2.0 <b@example.net>: Recipient address rejected: "
                                       "Greylisted, see https://postgrey.schweikert.ch/help/"
                                       "example.net.html"]),
                                ("C", "RCPT TO:<c@example.net>"),
                                ("S", ["452 4.5.3 Error: too many recipients"]),
                                ("C", "RCPT TO:<d@example.net>"),
                                ("S", ["451 4.3.0 <d@example.net>: Temporary lookup failure"]),
                                ("C", "DATA"), ("S", DATA_GO),
                                ("BODY", body("deferred", "three recipients deferred", "a@example.net")),
                                ("S", ["250 2.0.0 Ok: queued as 1A2B3C"]), ("C", "QUIT"), ("S", BYE)],
                      "end": "server",
                      "checks": {"verdict_contains": ["deferred"]}}]},
    "multi-queued": {
        "what": "two messages in one session, both delivered, queued as 3F1A2B4C5D and 7E8D9C0B1A "
                "(Postfix's text)",
        "holds": "delivered; both queue ids, each quoted in the verdict",
        "sessions": [{"steps": [("S", PF_GREET), EHLO, ("S", PF_EHLO)]
                      + delivery("multi1", queued("3F1A2B4C5D"))
                      + delivery("multi2", queued("7E8D9C0B1A"), "carol@example.net")
                      + [("C", "QUIT"), ("S", BYE)], "end": "server"}]},
    "bdat": {
        "what": "CHUNKING (RFC 3030): EHLO lists CHUNKING; MAIL, RCPT, BDAT 100 -> 250 2.0.0 100 "
                "octets received, BDAT 50 LAST -> 250 2.0.0 Ok: queued as QQ1; QUIT",
        "holds": "delivered; the message (150 octets, subject) from the chunks; queue id QQ1",
        "sessions": [{"steps": [("S", PF_GREET), EHLO, ("S", PF_EHLO_CHUNKING),
                                ("C", "MAIL FROM:<alice@client.example>"), ("S", MAIL_OK),
                                ("C", "RCPT TO:<bob@example.net>"), ("S", RCPT_OK),
                                ("BDAT", BDAT_TEXT[:100], False),
                                ("S", ["250 2.0.0 100 octets received"]),
                                ("BDAT", BDAT_TEXT[100:], True),
                                ("S", ["250 2.0.0 Ok: queued as QQ1"]), ("C", "QUIT"), ("S", BYE)],
                      "end": "server"}]},
    "ehlo-500-helo": {
        "what": "a server that does not know EHLO (Sendmail's texts): EHLO -> 500 5.5.1 Command "
                "unrecognized, the client falls back to HELO (RFC 5321 §4.1.4) -> 250; MAIL, RCPT, "
                "DATA, 250 2.0.0 ... Message accepted for delivery; QUIT",
        "holds": "delivered; helo from the accepted HELO, esmtp false",
        "sessions": [{"steps": [("S", ["220 mx.example ESMTP Sendmail 8.9.3/8.9.3; Tue, 1 Dec 2026 10:00:00 GMT"]),
                                EHLO, ("S", ['500 5.5.1 Command unrecognized: "EHLO client.example"']),
                                ("C", "HELO client.example"),
                                ("S", ["250 mx.example Hello client.example [127.0.0.1], pleased to meet you"]),
                                ("C", "MAIL FROM:<alice@client.example>"),
                                ("S", ["250 2.1.0 <alice@client.example>... Sender ok"]),
                                ("C", "RCPT TO:<bob@example.net>"),
                                ("S", ["250 2.1.5 <bob@example.net>... Recipient ok"]),
                                ("C", "DATA"), ("S", ['354 Enter mail, end with "." on a line by itself']),
                                ("BODY", body("helo", "after the HELO fallback")),
                                ("S", ["250 2.0.0 wB1A0000012345 Message accepted for delivery"]),
                                ("C", "QUIT"), ("S", ["221 2.0.0 mx.example closing connection"])],
                      "end": "server", "assert_queue_ids": False}]},
    "unsolicited-421": {
        "what": "a delivered message, then the client idles without QUIT and the server sends "
                "421 4.4.2 mx.example Error: timeout exceeded (Postfix's idle timeout text) and "
                "closes",
        "holds": "delivered; the 421 is paired with no command and not flagged reply_without_command",
        "sessions": [{"steps": [("S", PF_GREET), EHLO, ("S", PF_EHLO)]
                      + delivery("idle", queued("6A1B2C3D4E"))
                      + [("SIDLE", 1.0), ("S", ["421 4.4.2 mx.example Error: timeout exceeded"])],
                      "end": "server",
                      "checks": {"anomalies_exclude": ["reply_without_command"]}}]},
    "exchange-queued": {
        "what": "final replies that carry no queue id: s1 Exchange's 250 2.6.0 <Message-ID> "
                "[InternalId=123, Hostname=EX01] Queued mail for delivery; s2 Postfix-style "
                "\"250 2.0.0 Ok: queued as \" with an empty id",
        "holds": "both delivered; no queue id (the Message-ID is not one, an empty one is none)",
        "sessions": [
            {"steps": [("S", EX_GREET), EHLO, ("S", EX_EHLO),
                       ("C", "MAIL FROM:<alice@client.example>"), ("S", ["250 2.1.0 Sender OK"]),
                       ("C", "RCPT TO:<bob@example.net>"), ("S", ["250 2.1.5 Recipient OK"]),
                       ("C", "DATA"), ("S", ["354 Start mail input; end with <CRLF>.<CRLF>"]),
                       ("BODY", body("msgid", "Exchange queued")),
                       ("S", ["250 2.6.0 <msgid@client.example> [InternalId=123, Hostname=EX01] "
                              "Queued mail for delivery"]),
                       ("C", "QUIT"), ("S", ["221 2.0.0 Service closing transmission channel"])],
             "end": "server", "checks": {"verdict_excludes": ["queued as"]}},
            {"steps": [("S", PF_GREET), EHLO, ("S", PF_EHLO)]
             + delivery("emptyid", ["250 2.0.0 Ok: queued as "]) + [("C", "QUIT"), ("S", BYE)],
             "end": "server", "checks": {"verdict_excludes": ["queued as"]}},
        ]},
    "auth-unanswered": {
        "what": "AUTH LOGIN that the server never answers (scripted to stay silent, connection "
                "kept); the client gives up after 3 s and goes on: MAIL, RCPT, DATA, 250 queued",
        "holds": "AUTH with no reply; MAIL, RCPT, DATA and the body are not AUTH data; delivered",
        "sessions": [{"steps": [("S", PF_GREET), EHLO, ("S", PF_EHLO_AUTH), ("C", "AUTH LOGIN"),
                                ("NOREPLY", 3.0)]
                      + delivery("noauth", queued("2B3C4D5E6F")) + [("C", "QUIT"), ("S", BYE)],
                      "end": "server"}]},
    "auth-plain-ok": {
        "what": "AUTH PLAIN with an initial response -> 235 2.7.0 Authentication successful "
                "(Postfix/Cyrus text), then a delivered message (the contrast to auth-unanswered)",
        "holds": "auth PLAIN user alice success true; delivered; no password printed",
        "sessions": [{"steps": [("S", PF_GREET), EHLO, ("S", PF_EHLO_AUTH),
                                ("C", "AUTH PLAIN " + PLAIN),
                                ("S", ["235 2.7.0 Authentication successful"])]
                      + delivery("auth", queued("3C4D5E6F70")) + [("C", "QUIT"), ("S", BYE)],
                      "end": "server"}]},
    "starttls-failed": {
        "what": "EHLO lists STARTTLS; STARTTLS -> 220 2.0.0 Ready to start TLS; the client's "
                "ClientHello offers at most TLS 1.2, the server takes only TLS 1.3 and answers "
                "with a fatal protocol_version alert, then closes",
        "holds": "starttls true; tls handshake failed, alert protocol_version sent by the server; "
                 "not \"the rest of the session is encrypted\"",
        "sessions": [{"steps": [("S", PF_GREET), EHLO, ("S", PF_EHLO_TLS), ("C", "STARTTLS"),
                                ("S", ["220 2.0.0 Ready to start TLS"]),
                                ("TLS", {"client": "hello", "max_client": "TLSv1_2",
                                         "min_server": "TLSv1_3"})],
                      "end": "server", "tls": True,
                      "checks": {"verdict_excludes": ["the rest of the session is encrypted"]}}]},
    "starttls-client-gives-up": {
        "what": "STARTTLS -> 220 2.0.0 Ready to start TLS, then the client closes at once "
                "without a ClientHello; the server waits for it, sees the close, closes",
        "holds": "starttls true; tls handshake abandoned, no alert; not \"encrypted\"",
        "sessions": [{"steps": [("S", PF_GREET), EHLO, ("S", PF_EHLO_TLS), ("C", "STARTTLS"),
                                ("S", ["220 2.0.0 Ready to start TLS"]),
                                ("TLS", {"client": "leave"})],
                      "end": "client", "tls": True,
                      "checks": {"verdict_excludes": ["the rest of the session is encrypted"]}}]},
    "tls-to-port25": {
        "what": "a client expecting implicit TLS (python ssl) sends a ClientHello to the plain "
                "SMTP server at once; the server sends its 220 greeting, which the client's TLS "
                "layer refuses as a record; the client closes",
        "holds": "the greeting; tls handshake failed (the client's alert if it sent one); the "
                 "verdict names TLS; the ClientHello is not SMTP commands",
        "sessions": [{"steps": [("S", PF_GREET, "server"),
                                ("TLS", {"client": "hello", "implicit": True}, "client")],
                      "end": "client", "tls": True, "drain_raw": True, "unanswered_ok": True,
                      "checks": {"commands_prefix": 1, "verdict_contains": ["TLS"]}}]},
    "http-to-port25": {
        "what": "an HTTP request (GET / HTTP/1.1, Host: x) to port 25; the server greets, then "
                "answers the GET line like Postfix (smtpd_forbidden_commands): 221 2.7.0 Error: "
                "I can break rules, too. Goodbye. and closes",
        "holds": "the greeting; the verdict names HTTP and does not say the client ended it",
        "sessions": [{"steps": [("S", PF_GREET, "server"),
                                ("CRAW", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", False),
                                ("S", PF_GREET, "client"),
                                ("S", ["221 2.7.0 Error: I can break rules, too. Goodbye."])],
                      "end": "server", "drain_lines": True, "unanswered_ok": True,
                      "checks": {"commands_prefix": 1, "verdict_contains": ["HTTP"],
                                 "verdict_excludes": ["the client ended the session"]}}]},
    "http-connect-proxy": {
        "what": "SMTP through an HTTP proxy in one TCP connection: CONNECT mx.example:25 HTTP/1.0, "
                "HTTP/1.0 200 Connection established, then the SMTP greeting and a delivered "
                "message",
        "holds": "the SMTP session inside, every command paired as without the proxy; delivered",
        "sessions": [{"steps": [("CRAW", "CONNECT mx.example:25 HTTP/1.0\r\n\r\n", True),
                                ("SRAW", "HTTP/1.0 200 Connection established\r\n\r\n", True),
                                ("S", PF_GREET), EHLO, ("S", PF_EHLO)]
                      + delivery("proxy", queued("7F8A9B0C1D")) + [("C", "QUIT"), ("S", BYE)],
                      "end": "server"}]},
    "binary-to-port25": {
        "what": "another protocol's client on port 25: the server greets, the client sends an "
                "OpenVPN-style P_CONTROL_HARD_RESET_CLIENT_V2 packet (binary, 16 bytes, no line "
                "end); the server closes",
        "holds": "the greeting; the binary bytes are not read as commands; the verdict says Not "
                 "SMTP",
        "sessions": [{"steps": [("S", PF_GREET),
                                ("CRAW", OPENVPN_RESET, True)],
                      "end": "server", "unanswered_ok": True,
                      "checks": {"commands_prefix": 1, "verdict_contains": ["Not SMTP"],
                                 "verdict_excludes": ["tarpitting"]}}]},
    "ssh-on-port25": {
        "what": "another service on port 25: it sends an SSH banner, the mail client sends EHLO, "
                "the service answers like OpenSSH (Invalid SSH identification string.) and closes",
        "holds": "no greeting, EHLO without a reply; the verdict says Not SMTP, not tarpitting",
        "sessions": [{"steps": [("SRAW", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", True),
                                EHLO,
                                ("SRAW", "Invalid SSH identification string.\r\n", True)],
                      "end": "server", "unanswered_ok": True,
                      "checks": {"verdict_contains": ["Not SMTP"],
                                 "verdict_excludes": ["tarpitting", "overloaded"]}}]},
    "rfc2047-headers": {
        "what": "three delivered messages with RFC 2047 encoded words in Subject and From: "
                "GB2312 B (issue 16's =?gb2312?B?dGVzdCCy4srU?=) from a UTF-8 B name; ISO-8859-1 "
                "Q with underscores beside a UTF-8 character split across two B words, in plain "
                "text, folded, from a Q name (RFC 2047 8's example); a malformed word (no ?=)",
        "holds": "subject and from decoded as Python's email library decodes them "
                 "(decode_header, make_header); subject_raw and from_raw the wire text when "
                 "that differs, else null; the malformed word as sent",
        "sessions": [{"steps": [("S", PF_GREET), EHLO, ("S", PF_EHLO)]
                      + encoded_delivery("mime1", "6A1B2C3D4E", "=?gb2312?B?dGVzdCCy4srU?=",
                                         "=?UTF-8?B?w4VsaWNlIMOJbWlsZQ==?= <alice@client.example>")
                      + encoded_delivery("mime2", "7B2C3D4E5F",
                                         "Re: =?ISO-8859-1?Q?Caf=E9_cr=E8me?=\r\n =?UTF-8?B?8J8=?= "
                                         "=?UTF-8?B?mIIgc3BsaXQ=?= menu",
                                         "=?iso-8859-1?q?Andr=E9?= Pirard <alice@client.example>")
                      + encoded_delivery("mime3", "8C3D4E5F6A", "=?utf-8?q?missing_end",
                                         "Alice <alice@client.example>")
                      + [("C", "QUIT"), ("S", BYE)], "end": "server"}]},
    "greeting-554": {
        "what": "a server that refuses a client at the greeting: s1 554 5.7.1 Service unavailable; "
                "Client host [127.0.0.1] blocked using zen.spamhaus.org (Postfix postscreen's "
                "text), QUIT 221; s2 the same server greets with 220 (Exchange's 88-character "
                "banner) and takes a message",
        "holds": "s1 rejected, s2 delivered; for --audit the banner is the 220 line only (cut "
                 "with an ellipsis), the 554 line is its reject greeting",
        "sessions": [
            {"steps": [("S", ["554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked "
                              "using zen.spamhaus.org; https://www.spamhaus.org/query/ip/127.0.0.1"]),
                       ("C", "QUIT"), ("S", BYE)], "end": "server"},
            {"steps": [("S", EX_GREET), EHLO, ("S", EX_EHLO)]
             + delivery("greet", ["250 2.6.0 <greet@client.example> [InternalId=1234, "
                                  "Hostname=EX01.example.com] Queued mail for delivery"])
             + [("C", "QUIT"), ("S", ["221 2.0.0 Service closing transmission channel"])],
             "end": "server", "assert_queue_ids": False},
        ]},
    "port-scan": {
        "what": "a port scan: connect() and at once close() with SO_LINGER 0 (SYN, SYN-ACK, ACK, "
                "RST); the server delays its greeting by 1 s and never sends it",
        "holds": "no greeting, state reset; outcome never_reached; not blamed on the server",
        "sessions": [{"steps": [("S", PF_GREET, "server")], "end": "rst", "greet_delay": 1.0,
                      "unanswered_ok": True,
                      "checks": {"verdict_excludes": ["tarpitting", "overloaded",
                                                      "the server sent no greeting"]}}]},
}

ALERTS = {0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 22: "record_overflow",
          40: "handshake_failure", 42: "bad_certificate", 43: "unsupported_certificate",
          44: "certificate_revoked", 45: "certificate_expired", 46: "certificate_unknown",
          47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied", 50: "decode_error",
          51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security",
          80: "internal_error", 86: "inappropriate_fallback", 90: "user_canceled",
          109: "missing_extension", 110: "unsupported_extension", 112: "unrecognized_name",
          113: "bad_certificate_status_response", 115: "unknown_psk_identity",
          116: "certificate_required", 120: "no_application_protocol"}


def alert_in(data):
    """The first TLS alert record (content type 21) at a record boundary of data:
    {"level", "description"} or None."""
    off = 0
    while off + 5 <= len(data):
        ctype, ver, ln = data[off], data[off + 1], struct.unpack(">H", data[off + 3:off + 5])[0]
        if ver != 3:
            return None
        if ctype == 21 and ln == 2 and off + 7 <= len(data):
            return {"level": {1: "warning", 2: "fatal"}.get(data[off + 5], str(data[off + 5])),
                    "description": ALERTS.get(data[off + 6], str(data[off + 6]))}
        off += 5 + ln
    return None


def mine(step, side):
    return len(step) < 3 or not isinstance(step[2], str) or step[2] == side


def wire(lines):
    return "".join(l + "\r\n" for l in lines).encode("latin-1")


def is_reply(data):
    """Bytes that are complete SMTP reply lines."""
    text = data.decode("latin-1")
    return text.endswith("\r\n") and all(
        len(l) >= 3 and l[:3].isdigit() and l[3:4] in ("", " ", "-") for l in text.split("\r\n")[:-1])


# ------------------------------------------------------------------------- TLS
def tls_pump(sock, f, ctx, server_side, log_sent, log_recv):
    """Run a handshake over the socket through memory BIOs; every byte sent and received is
    logged.  Returns {"result": completed|failed|eof, "error": reason, "sent", "received"}."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=server_side,
                       server_hostname=None if server_side else "mx.example")
    sent, received = b"", b""

    def flush():
        nonlocal sent
        data = out.read()
        if data:
            sock.sendall(data)
            log_sent(data)
            sent += data
    while True:
        try:
            obj.do_handshake()
            flush()
            return {"result": "completed", "error": None, "sent": sent, "received": received}
        except ssl.SSLWantReadError:
            flush()
            data = f.read1(65536)
            if not data:
                return {"result": "eof", "error": None, "sent": sent, "received": received}
            log_recv(data)
            received += data
            inc.write(data)
        except ssl.SSLError as e:
            flush()              # the alert our side sends, if any
            return {"result": "failed", "error": e.reason or str(e), "sent": sent,
                    "received": received}


def make_ctx(server_side, opts, cert=None, key=None):
    if server_side:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        if opts.get("min_server"):
            ctx.minimum_version = getattr(ssl.TLSVersion, opts["min_server"])
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if opts.get("max_client"):
            ctx.maximum_version = getattr(ssl.TLSVersion, opts["max_client"])
    return ctx


def tls_facts(res, side_self, side_peer):
    """The expected `tls` object from one side's own ssl report: its error reason and the
    alert record it sent or received (the two must agree)."""
    if res["result"] == "eof" and not res["sent"]:
        return {"handshake": "abandoned", "alert": None}
    if res["result"] == "completed":
        return {"handshake": "completed", "alert": None}
    got, gave = alert_in(res["received"]), alert_in(res["sent"])
    reason = (res["error"] or "").upper()
    alert = None
    if got:
        want = "ALERT_" + got["description"].upper()
        if not reason.endswith(want):
            raise SystemExit("TLS: received alert %s but the ssl error is %s" % (got, reason))
        alert = dict(got, sent_by=side_peer)
    elif gave:
        alert = dict(gave, sent_by=side_self)
    return {"handshake": "failed", "alert": alert, "ssl_error": res["error"]}


# ---------------------------------------------------------------------- server
def cmd_server(args):
    scen, logpath, ready, cert, key = SCENARIOS[args[0]], args[1], args[2], args[3], args[4]
    log = {"server": {"ip": SERVER_IP, "port": SERVER_PORT}, "sessions": [], "errors": []}
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((SERVER_IP, SERVER_PORT))
    ls.listen(5)
    ls.settimeout(30)
    open(ready, "w").close()
    try:
        for spec in scen["sessions"]:
            conn, peer = ls.accept()
            conn.settimeout(TIMEOUT)
            f = conn.makefile("rb")
            sess = {"client": {"ip": peer[0], "port": peer[1]}, "events": [], "notes": []}
            log["sessions"].append(sess)

            def ev(d, data, **kw):
                sess["events"].append(dict({"dir": d, "data": data.decode("latin-1")}, **kw))

            def expect(want):
                got = f.read(len(want))
                ev("C", got)
                if got != want:
                    log["errors"].append("expected %r got %r" % (want, got))
                    raise SystemExit("server: unexpected %r" % got)
            gone = False
            if spec.get("greet_delay"):
                time.sleep(spec["greet_delay"])
                r, _, _ = select.select([conn], [], [], 0)
                if r:
                    try:
                        gone = conn.recv(1, socket.MSG_PEEK) == b""
                    except ConnectionResetError:
                        gone = True
                if gone:
                    sess["notes"].append("the client was gone before the greeting: not sent")
            for step in spec["steps"] if not gone else []:
                kind = step[0]
                if not mine(step, "server"):
                    continue
                if kind in ("S", "SRAW"):
                    data = wire(step[1]) if kind == "S" else step[1].encode("latin-1")
                    conn.sendall(data)
                    ev("S", data, **({"preamble": True} if kind == "SRAW" and step[2] else {}))
                elif kind == "C":
                    expect((step[1] + "\r\n").encode("latin-1"))
                elif kind == "CRAW":
                    if spec.get("drain_lines"):       # an SMTP server reads one line first
                        line = read_line(f)
                        ev("C", line)
                        if not step[1].encode("latin-1").startswith(line):
                            raise SystemExit("server: unexpected %r" % line)
                    else:
                        want = step[1].encode("latin-1")
                        got = f.read(len(want))
                        ev("C", got, **({"preamble": True} if step[2] else {}))
                        if got != want:
                            raise SystemExit("server: unexpected %r" % got)
                elif kind == "BODY":
                    expect(wire(step[1] + ["."]))
                elif kind == "BDAT":
                    data = step[1].encode("latin-1")
                    expect(("BDAT %d%s\r\n" % (len(data), " LAST" if step[2] else "")).encode() + data)
                elif kind == "SIDLE":
                    time.sleep(step[1])
                elif kind == "NOREPLY":
                    pass                                # the server stays silent
                elif kind == "TLS":
                    ctx = make_ctx(True, step[1], cert, key)
                    res = tls_pump(conn, f, ctx, True, lambda d: ev("S", d, raw=True),
                                   lambda d: ev("C", d, raw=True))
                    sess["tls"] = {"result": res["result"], "ssl_error": res["error"]}
            if spec["end"] == "server" and not gone:
                conn.shutdown(socket.SHUT_WR)
            try:
                rest = f.read()
            except ConnectionResetError:
                rest = b""
                sess["notes"].append("connection reset by the client")
            if rest:
                if spec.get("drain_raw"):
                    ev("C", rest, raw=True)
                elif spec.get("drain_lines"):
                    ev("C", rest)
                else:
                    log["errors"].append("unexpected data at the end: %r" % rest)
            conn.close()
    finally:
        ls.close()
        save(logpath, log)
    if log["errors"]:
        raise SystemExit("trust server: " + "; ".join(log["errors"]))


# ---------------------------------------------------------------------- client
def read_reply(f):
    raw = b""
    while True:
        line = read_line(f)
        raw += line
        if line[3:4] != b"-":
            return raw


def cmd_client(args):
    name, out = args[0], args[1]
    scen = SCENARIOS[name]
    outs = []
    for spec in scen["sessions"]:
        rec = Recorder("python3 socket/ssl (samples/trustclients.py)", SERVER_IP, SERVER_PORT)
        t = rec.t
        t.update(trust=True, exact_wire=True)
        for k in ("unanswered_ok",):
            if spec.get(k):
                t[k] = True
        checks = dict(spec.get("checks", {}))
        sk = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sk.settimeout(TIMEOUT)
        sk.bind((CLIENT_IP, 0))
        sk.connect((SERVER_IP, SERVER_PORT))
        t["client"] = {"ip": CLIENT_IP, "port": sk.getsockname()[1]}
        t["connect"] = "ok"
        f = sk.makefile("rb")

        def send(data, **kw):
            sk.sendall(data)
            t["events"].append(dict({"dir": "C", "data": data.decode("latin-1")}, **kw))
        for step in spec["steps"] if spec["end"] != "rst" else []:
            kind = step[0]
            if not mine(step, "client"):
                continue
            if kind == "S":
                raw = read_reply(f)
                rec.reply(raw)
                if raw != wire(step[1]):
                    raise SystemExit("client: expected %r got %r" % (wire(step[1]), raw))
            elif kind == "SRAW":
                want = step[1].encode("latin-1")
                got = f.read(len(want))
                t["events"].append({"dir": "S", "data": got.decode("latin-1"), "preamble": True})
                if got != want:
                    raise SystemExit("client: expected %r got %r" % (want, got))
            elif kind == "C":
                send((step[1] + "\r\n").encode("latin-1"))
            elif kind == "CRAW":
                send(step[1].encode("latin-1"), **({"preamble": True} if step[2] else {}))
            elif kind == "BODY":
                send(wire(step[1] + ["."]))
            elif kind == "BDAT":
                data = step[1].encode("latin-1")
                send(("BDAT %d%s\r\n" % (len(data), " LAST" if step[2] else "")).encode() + data)
            elif kind == "SIDLE":
                pass                              # idle: the next step reads what comes
            elif kind == "NOREPLY":
                r, _, _ = select.select([sk], [], [], step[1])
                if r:
                    raise SystemExit("client: a reply came where none was scripted")
                t["events"].append({"dir": "X", "note": "no_reply"})
            elif kind == "TLS":
                opts = step[1]
                if opts["client"] == "leave":
                    t["tls"] = {"handshake": "abandoned", "alert": None}
                    t["tls_failed"] = True
                    continue
                ctx = make_ctx(False, opts)

                def got(d):
                    if opts.get("implicit") and is_reply(d):
                        rec.reply(d)              # the greeting, read by the TLS layer
                    else:
                        t["events"].append({"dir": "S", "data": d.decode("latin-1"), "raw": True})
                res = tls_pump(sk, f, ctx, False,
                               lambda d: t["events"].append(
                                   {"dir": "C", "data": d.decode("latin-1"), "raw": True}), got)
                t["tls"] = tls_facts(res, "client", "server")
                t["tls_failed"] = t["tls"]["handshake"] != "completed"
        if spec["end"] == "rst":
            sk.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            f.close()
            sk.close()
            t["end"] = "reset"
        else:
            if spec["end"] == "client":
                sk.shutdown(socket.SHUT_WR)
            rest = f.read()
            if rest:
                raise SystemExit("client: unexpected data at the end: %r" % rest)
            f.close()
            sk.close()
            t["end"] = "closed"
        if spec.get("assert_queue_ids") is False:
            checks["assert_queue_ids"] = False
        t.setdefault("tls", None)         # DESIGN.md: null without STARTTLS or implicit TLS
        t["checks"] = checks
        outs.append(t)
    for i, t in enumerate(outs, 1):
        save("%s.%d.json" % (out, i), t)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "list":
        print("\n".join(SCENARIOS))
        return
    if cmd == "meta":                             # meta SCENARIO what|holds
        print(SCENARIOS[args[0]][args[1]])
        return
    {"server": cmd_server, "client": cmd_client}[cmd](args)


if __name__ == "__main__":
    main()
