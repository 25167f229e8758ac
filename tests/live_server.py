#!/usr/bin/env python3
"""A small scripted SMTP server for tests/live_test.sh (standard library only).

    python3 tests/live_server.py --addr 10.199.0.1 --port 25 --cert C.pem --key K.pem \
        --users alice,bob --log server.log

Speaks enough ESMTP for the live test: a 220 greeting, EHLO (PIPELINING, STARTTLS,
ENHANCEDSTATUSCODES, 8BITMIME), HELO, MAIL, RCPT (250 for the listed local users, 550 5.1.1
for any other address), DATA (354, body up to the lone dot, 250 queued as ...), RSET, NOOP,
QUIT (221, then it closes), and STARTTLS with a real TLS handshake (Python's ssl module).
Replies are written one by one as each command is read, so pipelined groups work. Every
command and reply goes to --log, one line each (C: / S:), for debugging a failed run.
It runs until killed; each connection has a 30 s read timeout.
"""
import argparse
import socket
import ssl
import sys
import threading
import time

HOST = "mx.live.test"


class Conn:
    def __init__(self, sock, peer, args, log):
        self.sock = sock
        self.peer = peer
        self.args = args
        self.log = log
        self.buf = b""
        self.users = set(u.lower() for u in args.users.split(",") if u)
        self.queued = 0

    def logline(self, s):
        with self.log[1]:
            self.log[0].write("%.6f %s:%d %s\n" % (time.time(), self.peer[0], self.peer[1], s))
            self.log[0].flush()

    def send(self, code, lines):
        out = []
        for i, text in enumerate(lines):
            sep = " " if i == len(lines) - 1 else "-"
            out.append("%d%s%s\r\n" % (code, sep, text))
            self.logline("S: %d%s%s" % (code, sep, text))
        self.sock.sendall("".join(out).encode())

    def readline(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def run(self):
        self.send(220, ["%s ESMTP smtpscope live test" % HOST])
        tls = False
        mail = False
        rcpts = 0
        while True:
            line = self.readline()
            if line is None:
                self.logline("closed by client")
                return
            self.logline("C: " + line)
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb):].strip()
            if verb == "EHLO":
                ext = ["PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES", "8BITMIME"]
                if not tls:
                    ext.append("STARTTLS")
                self.send(250, [HOST] + ext)
                mail, rcpts = False, 0
            elif verb == "HELO":
                self.send(250, [HOST])
                mail, rcpts = False, 0
            elif verb == "STARTTLS" and not tls:
                if self.buf:
                    self.send(501, ["5.5.4 Syntax error (pipelined STARTTLS)"])
                    continue
                self.send(220, ["2.0.0 Ready to start TLS"])
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(self.args.cert, self.args.key)
                self.sock = ctx.wrap_socket(self.sock, server_side=True)
                self.logline("TLS %s %s" % (self.sock.version(), self.sock.cipher()[0]))
                tls = True
                mail, rcpts = False, 0
            elif verb == "MAIL":
                if mail:
                    self.send(503, ["5.5.1 Error: nested MAIL command"])
                else:
                    mail, rcpts = True, 0
                    self.send(250, ["2.1.0 Ok"])
            elif verb == "RCPT":
                addr = arg.split(":", 1)[-1].strip().strip("<>").split(" ")[0].strip("<>")
                local = addr.split("@", 1)[0].lower()
                if not mail:
                    self.send(503, ["5.5.1 Error: need MAIL command"])
                elif local in self.users:
                    rcpts += 1
                    self.send(250, ["2.1.5 Ok"])
                else:
                    self.send(550, ["5.1.1 <%s>: Recipient address rejected: User unknown"
                                    % addr])
            elif verb == "DATA":
                if not rcpts:
                    self.send(554, ["5.5.1 Error: no valid recipients"])
                    continue
                self.send(354, ["End data with <CR><LF>.<CR><LF>"])
                size = 0
                while True:
                    body = self.readline()
                    if body is None:
                        self.logline("closed in DATA")
                        return
                    if body == ".":
                        break
                    size += len(body) + 2
                self.logline("C: . (%d bytes)" % size)
                self.queued += 1
                self.send(250, ["2.0.0 Ok: queued as LIVE%04d" % self.queued])
                mail, rcpts = False, 0
            elif verb == "RSET":
                mail, rcpts = False, 0
                self.send(250, ["2.0.0 Ok"])
            elif verb == "NOOP":
                self.send(250, ["2.0.0 Ok"])
            elif verb == "QUIT":
                self.send(221, ["2.0.0 Bye"])
                return
            else:
                self.send(500, ["5.5.2 Error: command not recognized"])


def serve(sock, peer, args, log):
    sock.settimeout(30)
    c = Conn(sock, peer, args, log)
    try:
        c.run()
    except (OSError, ssl.SSLError) as e:
        c.logline("error: %s" % e)
    finally:
        try:
            c.sock.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=25)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--users", default="alice,bob,kate,postmaster")
    ap.add_argument("--log", default="-")
    args = ap.parse_args()
    out = sys.stdout if args.log == "-" else open(args.log, "a")
    log = (out, threading.Lock())
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.addr, args.port))
    ls.listen(16)
    out.write("listening on %s:%d\n" % (args.addr, args.port))
    out.flush()
    while True:
        s, peer = ls.accept()
        threading.Thread(target=serve, args=(s, peer, args, log), daemon=True).start()


if __name__ == "__main__":
    main()
