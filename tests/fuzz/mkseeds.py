#!/usr/bin/env python3
"""Write the seed inputs of fuzz_smtp into tests/fuzz/smtp_seeds/.

The format is the one fuzz_smtp.c reads: an options byte, then chunks led by
a header byte (bit 7 = server to client; 1..125 = that many data bytes;
0 = 16-bit length; 126 = CLOSE + reason + 8 * ICMP; 127 = GAP + length).
Run: python3 tests/fuzz/mkseeds.py   (rewrites the files; they are small)
"""
import os

SECRETS, MIDSTREAM, SMALL, COLOR, AUDIT = 1, 2, 4, 8, 16
CLOSED, RESET, REFUSED, NO_ANSWER, TIMEOUT, UNFINISHED, EVICTED, UNREACHABLE = range(8)


def data(server, b):
    out = b""
    for i in range(0, len(b), 125):
        part = b[i:i + 125]
        out += bytes([(0x80 if server else 0) | len(part)]) + part
    return out


def C(s):
    return data(False, s.encode() if isinstance(s, str) else s)


def S(s):
    return data(True, s.encode() if isinstance(s, str) else s)


def gap(server, n):
    return bytes([(0x80 if server else 0) | 127, n])


def close(reason=CLOSED, next_midstream=False, icmp_code=None, icmp_v6=False):
    icmp = 0 if icmp_code is None else (icmp_code << 1 | icmp_v6)
    return bytes([(0x80 if next_midstream else 0) | 126, reason + 8 * icmp])


GREET = S("220 mx.example.test ESMTP\r\n")
EHLO = C("EHLO client.example.test\r\n") + S(
    "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n"
    "250-STARTTLS\r\n250-CHUNKING\r\n250 8BITMIME\r\n")
BODY = ("From: <alice@example.test>\r\nTo: <bob@example.test>\r\nSubject: hello\r\n"
        " folded\r\nMessage-ID: <1@example.test>\r\n\r\nHi Bob,\r\n..stuffed dot\r\n.\r\n")

SEEDS = {
    "normal-session": bytes([0]) + GREET + EHLO
    + C("MAIL FROM:<alice@example.test>\r\n") + S("250 2.1.0 Ok\r\n")
    + C("RCPT TO:<bob@example.test>\r\n") + S("250 2.1.5 Ok\r\n")
    + C("RCPT TO:<nobody@example.test>\r\n")
    + S("550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown\r\n")
    + C("DATA\r\n") + S("354 End data with <CR><LF>.<CR><LF>\r\n") + C(BODY)
    + S("250 2.0.0 Ok: queued as 4ABCDEF\r\n") + C("QUIT\r\n") + S("221 2.0.0 Bye\r\n")
    + close(CLOSED),
    "pipelining": bytes([AUDIT]) + GREET + EHLO
    + C("MAIL FROM:<alice@example.test> SIZE=120\r\nRCPT TO:<bob@example.test>\r\n"
        "RCPT TO:<carol@example.test>\r\nDATA\r\n")
    + S("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n450 4.2.0 <carol@example.test>: greylisted\r\n"
        "354 go ahead\r\n")
    + C(BODY) + C("RSET\r\nQUIT\r\n")
    + S("250 2.0.0 Ok: queued as 1234\r\n250 2.0.0 Ok\r\n221 Bye\r\n") + close(CLOSED),
    "auth-login": bytes([0]) + GREET + EHLO + C("AUTH LOGIN\r\n") + S("334 VXNlcm5hbWU6\r\n")
    + C("YWxpY2U=\r\n") + S("334 UGFzc3dvcmQ6\r\n") + C("c2VjcmV0\r\n")
    + S("535 5.7.8 Error: authentication failed\r\n")
    + C("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n") + S("235 2.7.0 Authentication successful\r\n")
    + C("QUIT\r\n") + S("221 Bye\r\n") + close(CLOSED),
    "auth-login-secrets": bytes([SECRETS | COLOR]) + GREET + EHLO + C("AUTH LOGIN YWxpY2U=\r\n")
    + S("334 UGFzc3dvcmQ6\r\n") + C("*\r\n") + S("501 5.7.0 Authentication aborted\r\n")
    + C("AUTH CRAM-MD5\r\n") + S("334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2U+\r\n")
    + C("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n") + S("235 Ok\r\n")
    + close(RESET),
    "bdat": bytes([0]) + GREET + EHLO + C("MAIL FROM:<alice@example.test> BODY=BINARYMIME\r\n")
    + S("250 Ok\r\n") + C("RCPT TO:<bob@example.test>\r\n") + S("250 Ok\r\n")
    + C("BDAT 40\r\nSubject: chunked\r\n\r\nfirst chunk....\r\n")
    + S("250 2.0.0 40 bytes received\r\n") + C("BDAT 0 LAST\r\n")
    + S("250 2.0.0 Ok: queued as BDAT1\r\n") + C("BDAT 5 LAST\r\nhello")
    + S("503 5.5.1 Error: MAIL first\r\n") + C("BDAT junk\r\n") + S("501 bad\r\n")
    + close(CLOSED),
    "starttls": bytes([0]) + GREET + EHLO + C("STARTTLS\r\n") + S("220 2.0.0 Ready to start TLS\r\n")
    + C(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(32)))
    + S(b"\x16\x03\x03\x00\x5a\x02\x00\x00\x56\x03\x03" + bytes(range(32, 64)))
    + C("EHLO after-tls\r\n") + close(CLOSED),
    "starttls-plaintext": bytes([SMALL]) + GREET + EHLO + C("STARTTLS\r\n")
    + C("MAIL FROM:<early@example.test>\r\n") + S("220 Go ahead\r\n")
    + S("250 Ok\r\n") + close(TIMEOUT),
    "midstream-gaps": bytes([MIDSTREAM | SMALL]) + C("RCPT TO:<x@example.test>\r\n")
    + S("250 Ok\r\n") + C("DATA\r\n") + S("354 Go\r\n") + C("Subject: cut\r\n\r\nsome bo")
    + gap(False, 200) + C("dy\r\n.\r\n") + gap(True, 10) + S("ued as X\r\n250 Ok\r\n")
    + S("220 late greeting\r\n") + C("QUIT\n") + S("221 bare lf\n") + close(EVICTED, True)
    + C("NOOP\r\n") + S("250 Ok\r\n") + close(REFUSED) + close(NO_ANSWER),
    "icmp-unreachable": bytes([0]) + close(UNREACHABLE, icmp_code=13)
    + close(UNREACHABLE, icmp_code=1, icmp_v6=True) + GREET + close(RESET, icmp_code=3),
    "long-lines": bytes([SMALL]) + GREET + bytes([0, 1, 44]) + b"HELO " + b"x" * 295
    + S("250-" + "a" * 300 + "\r\n" + "251-second line\r\n250 end\r\n")
    + C("NOOP\r\n" * 20) + S("250 Ok\r\n" * 22) + close(UNFINISHED),
}

if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "smtp_seeds")
    os.makedirs(out, exist_ok=True)
    for name, blob in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(blob)
