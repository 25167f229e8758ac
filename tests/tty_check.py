#!/usr/bin/env python3
"""tty_check.py - the transcript as a terminal shows it (issue 16, points 1, 5 and 10).

smtpscope runs under a pseudo-terminal (stdout and stderr on the same pty, its window size set
with TIOCSWINSZ), and what it writes is replayed on a small screen model (\\r, \\n, ESC [ K), so
each check reads the lines a user would see:
  1  the summary comes after the transcript, on lines of its own; the progress bar is never
     left inside a transcript line (a generated capture of more than 4096 packets draws it);
  5  lines fit the window (explanations, verdicts, the header, the summary), continuation lines
     indented; COLUMNS when the window has no size; a pipe keeps one line per explanation;
     wide (CJK) characters take two columns, so the reply column stays put; "notes:" in words;
     no "explanations by" in the text summary (JSON keeps it); "(+1 line)"; no "later..";
     a verdict even when --limit session-memory keeps no text;
 10  NO_COLOR and --color; LANG=C gives ASCII marks.

    python3 tests/tty_check.py --bin build/smtpscope
"""
import argparse
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "samples", "seed-exchange-errors.pcap")
SGR = re.compile(rb"\x1b\[[0-9;]*m")
BAR = re.compile(r"\[[#-]{30}\]")

# ---- generated captures --------------------------------------------------------------------


def ipv4_tcp(src, dst, sport, dport, seq, ack, flags, payload):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0, 64, 6, 0,
                     src, dst)
    return b"\x00" * 12 + b"\x08\x00" + ip + tcp + payload


def session_packets(turns, cport):
    """Handshake, the turns ("S"/"C", bytes), FIN both ways, as Ethernet frames."""
    client, server = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    pkts, cseq, sseq = [], 1000, 5000
    SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
    pkts.append(ipv4_tcp(client, server, cport, 25, cseq - 1, 0, SYN, b""))
    pkts.append(ipv4_tcp(server, client, 25, cport, sseq - 1, cseq, SYN | ACK, b""))
    pkts.append(ipv4_tcp(client, server, cport, 25, cseq, sseq, ACK, b""))
    for who, data in turns:
        if who == "C":
            pkts.append(ipv4_tcp(client, server, cport, 25, cseq, sseq, PSH | ACK, data))
            cseq += len(data)
        else:
            pkts.append(ipv4_tcp(server, client, 25, cport, sseq, cseq, PSH | ACK, data))
            sseq += len(data)
    pkts.append(ipv4_tcp(client, server, cport, 25, cseq, sseq, FIN | ACK, b""))
    pkts.append(ipv4_tcp(server, client, 25, cport, sseq, cseq + 1, FIN | ACK, b""))
    pkts.append(ipv4_tcp(client, server, cport, 25, cseq + 1, sseq + 1, ACK, b""))
    return pkts


def write_pcap(path, sessions):
    out = [struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)]
    i = 0
    for n, turns in enumerate(sessions):
        for p in session_packets(turns, 20000 + n % 40000):
            out.append(struct.pack("<IIII", 1700000000 + i // 1000, i % 1000, len(p), len(p)) + p)
            i += 1
    with open(path, "wb") as f:
        f.write(b"".join(out))
    return i


# Wide characters in the command column; a two-line reply; a text that ends in a full stop.
CJK = [("S", b"220 mx ESMTP\r\n"),
       ("C", "EHLO 例え.jp\r\n".encode()), ("S", b"250-mx\r\n250 SIZE 1000\r\n"),
       ("C", "MAIL FROM:<用户@例子.中国>\r\n".encode()), ("S", b"250 2.1.0 Ok\r\n"),
       ("C", b"RCPT TO:<kate@example.org>\r\n"), ("S", b"250 2.1.5 Ok\r\n"),
       ("C", b"QUIT\r\n"), ("S", b"221 Bye\r\n")]
LATER = [("S", b"421 4.3.2 Service busy, try again later.\r\n"), ("C", b"QUIT\r\n")]
# One session of many lines, for the bar: about 30 packets each.
LONG = [("S", b"220 mx.example.org ESMTP\r\n"), ("C", b"EHLO c.example.org\r\n"),
        ("S", b"250-mx\r\n250 STARTTLS\r\n")] + \
       [t for k in range(10) for t in (("C", b"MAIL FROM:<a%d@example.org>\r\n" % k),
                                       ("S", b"550 5.7.1 Relaying denied, the sender is not "
                                             b"allowed to send from this address\r\n"))] + \
       [("C", b"QUIT\r\n"), ("S", b"221 Bye\r\n")]

# ---- a terminal ----------------------------------------------------------------------------


def run_pty(binary, args, cols=80, env=None, signal_after=None):
    """The program with stdout and stderr on one pty of cols columns; every byte it wrote."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
    e = dict(os.environ)
    for k in ("NO_COLOR", "COLUMNS", "LC_ALL", "LC_CTYPE"):
        e.pop(k, None)
    e.setdefault("LANG", "C.UTF-8")
    e.update(env or {})
    p = subprocess.Popen([binary] + args, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                         env=e, close_fds=True)
    os.close(slave)
    out, signalled = bytearray(), False
    deadline = time.time() + 120
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 1)
        if not r:
            if p.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
        if signal_after and not signalled and len(out) > signal_after and p.poll() is None:
            p.send_signal(signal.SIGUSR1)
            signalled = True
    os.close(master)
    rc = p.wait(timeout=60)
    return rc, bytes(out)


def screen(raw):
    """The lines a terminal shows after raw (the pty's ONLCR makes \\n into \\r\\n)."""
    lines, cur, col = [], [], 0
    text = SGR.sub(b"", raw).decode("utf-8", "replace")
    i = 0
    while i < len(text):
        ch = text[i]
        if text.startswith("\x1b[K", i):
            del cur[col:]
            i += 3
            continue
        if ch == "\r":
            col = 0
        elif ch == "\n":
            lines.append("".join(cur))
            cur, col = [], 0
        else:
            if col < len(cur):
                cur[col] = ch
            else:
                cur.append(ch)
            col += 1
        i += 1
    if cur:
        lines.append("".join(cur))
    return lines


def columns(s):
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def run_pipe(binary, args, env=None):
    e = dict(os.environ)
    for k in ("NO_COLOR", "COLUMNS", "LC_ALL", "LC_CTYPE"):
        e.pop(k, None)
    e.setdefault("LANG", "C.UTF-8")
    e.update(env or {})
    p = subprocess.run([binary] + args, capture_output=True, env=e, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

# ---- the checks: each returns (ok, what was seen) ------------------------------------------


def transcript_line(line):
    return line.startswith(("Session ", "  ")) or line == ""


def summary_after_transcript(binary, caps):
    rc, raw = run_pty(binary, ["-r", SAMPLE])
    lines = screen(raw)
    at = [i for i, l in enumerate(lines) if "Summary:" in l]
    last = max([i for i, l in enumerate(lines) if l.startswith("  =>")] or [-1])
    ok = rc == 0 and len(at) == 1 and lines[at[0]].startswith("Summary:") and at[0] > last
    return ok, "summary at line %s, last verdict at line %d" % (at, last)


def bar_own_line(binary, caps):
    rc, raw = run_pty(binary, ["-r", caps["long"]], cols=120)
    lines = screen(raw)
    drawn = BAR.search(raw.decode("utf-8", "replace")) is not None
    left = [l for l in lines if BAR.search(l)]
    bad = [l for l in lines if not transcript_line(l) and not l.startswith("Summary:")]
    ok = rc == 0 and drawn and not left and not bad
    return ok, "bar drawn %s; %d lines still hold it, %d lines not of the transcript: %r" % (
        drawn, len(left), len(bad), (left + bad)[:2])


def running_summary_own_line(binary, caps):
    """SIGUSR1 while the file is read: its line stands alone (skipped if the run was over)."""
    rc, raw = run_pty(binary, ["-r", caps["long"]], cols=120, signal_after=20000)
    lines = screen(raw)
    at = [l for l in lines if "so far" in l]
    if not at:
        return True, "the run ended before SIGUSR1 was handled: not checked"
    ok = rc == 0 and all(l.startswith("smtpscope: so far") for l in at)
    return ok, "running summary lines: %r" % at[:2]


def fits_width(binary, caps):
    rc, raw = run_pty(binary, ["-r", SAMPLE], cols=60)
    lines = screen(raw)
    wide = [l for l in lines if columns(l) > 60 or l.strip() == "…"]
    i = next((k for k, l in enumerate(lines) if "EHLO contoso..com" in l), None)
    expl = []
    for l in lines[i + 1:] if i is not None else []:
        if not l.startswith("      "):
            break
        expl.append(l)
    ok = rc == 0 and not wide and len(expl) >= 3 and expl[-1].endswith("will fail again.")
    return ok, "%d lines wider than 60 (%r); the 501's explanation on %d indented lines" % (
        len(wide), wide[:1], len(expl))


def verdict_continued(binary, caps):
    rc, raw = run_pty(binary, ["-r", SAMPLE], cols=60)
    lines = screen(raw)
    i = next((k for k, l in enumerate(lines) if l.startswith("  => Rejected")), None)
    ok = i is not None and lines[i + 1].startswith("     ") and lines[i + 1].strip() != ""
    return ok, "verdict: %r" % (lines[i:i + 2] if i is not None else None)


def explain_wrapped(binary, caps):
    """--explain on a terminal: wrapped too, its continuation indented."""
    reply = ("550 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using "
             "zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.1")
    rc, raw = run_pty(binary, ["--explain", reply, "--after", "RCPT"], cols=60)
    lines = screen(raw)
    wide = [l for l in lines if columns(l) > 60]
    cont = [l for l in lines if l.startswith("    ") and l.strip()]
    return rc == 0 and not wide and cont != [], "%d lines wider than 60, %d continued" % (
        len(wide), len(cont))


def columns_env(binary, caps):
    """A window with no size: COLUMNS says the width."""
    rc, raw = run_pty(binary, ["-r", SAMPLE], cols=0, env={"COLUMNS": "50"})
    wide = [l for l in screen(raw) if columns(l) > 50]
    return rc == 0 and not wide, "%d lines wider than COLUMNS=50: %r" % (len(wide), wide[:1])


def pipe_unwrapped(binary, caps):
    """Not a terminal: one line per explanation, as scripts read it (a guard: unchanged)."""
    rc, out, _ = run_pipe(binary, ["-r", SAMPLE])
    long = [l for l in out.splitlines() if l.startswith("      The name given") and
            l.rstrip().endswith("will fail again.")]
    return rc == 0 and len(long) == 1, "%d one-line explanations of the 501" % len(long)


def cjk_columns(binary, caps):
    rc, raw = run_pty(binary, ["-r", caps["cjk"]], cols=120)
    lines = screen(raw)
    at = set()
    for l in lines:
        m = re.match(r"  \S+ (.*?) ?([0-9]{3}) ", l)
        if m and l[2] in "✓✗→!?↩":
            at.add(columns(l[:m.start(2)]))
    return rc == 0 and len(at) == 1, "reply codes start at columns %s" % sorted(at)


def notes_in_words(binary, caps):
    rc, out, _ = run_pipe(binary, ["-r", SAMPLE])
    rcj, js, _ = run_pipe(binary, ["-r", SAMPLE, "-o", "json"])
    notes = [l for l in out.splitlines() if l.startswith("  notes:")]
    ok = (rc == 0 and notes and all("_" not in l for l in notes) and
          "STARTTLS offered but not used" in notes[0] and '"starttls_offered_not_used"' in js)
    return ok, "notes: %r" % notes[:1]


def summary_no_internals(binary, caps):
    rc, _, err = run_pipe(binary, ["-r", SAMPLE])
    _, js, _ = run_pipe(binary, ["-r", SAMPLE, "-o", "json"])
    summary = json.loads(js.splitlines()[-1])
    ok = rc == 0 and "explanations by" not in err and "Summary:" in err and \
        "code_in_context" in summary.get("explanations", {})
    return ok, "text summary: %r" % err.splitlines()[-1:]


def plural_lines(binary, caps):
    rc, out, _ = run_pipe(binary, ["-r", caps["cjk"]])
    ok = rc == 0 and "(+1 line)" in out and "(+1 lines)" not in out
    return ok, "EHLO line: %r" % [l for l in out.splitlines() if "EHLO" in l][:1]


def no_double_stop(binary, caps):
    rc, out, _ = run_pipe(binary, ["-r", caps["later"]])
    v = [l for l in out.splitlines() if l.startswith("  =>")]
    ok = rc == 0 and v and "later." in v[0] and ".." not in v[0]
    return ok, "verdict: %r" % v[:1]


def verdict_not_empty(binary, caps):
    rc, out, _ = run_pipe(binary, ["-r", SAMPLE, "--limit", "session-memory=10"])
    v = [l for l in out.splitlines() if l.startswith("  =>")]
    ok = rc == 0 and len(v) == 2 and all(len(l.strip()) > 20 and "session-memory" in l for l in v)
    return ok, "verdicts: %r" % v


def no_color_env(binary, caps):
    rc, raw = run_pty(binary, ["-r", SAMPLE], env={"NO_COLOR": "1"})
    rc2, raw2 = run_pty(binary, ["-r", SAMPLE])
    ok = rc == 0 and not SGR.search(raw) and SGR.search(raw2) is not None
    return ok, "NO_COLOR=1: %d colour codes; without: %d" % (len(SGR.findall(raw)),
                                                            len(SGR.findall(raw2)))


def no_color_overridden(binary, caps):
    """--color=always wins over NO_COLOR; --color=never on a terminal has none (guards)."""
    _, raw = run_pty(binary, ["-r", SAMPLE, "--color=always"], env={"NO_COLOR": "1"})
    _, never = run_pty(binary, ["-r", SAMPLE, "--color=never"])
    return SGR.search(raw) is not None and not SGR.search(never), \
        "always+NO_COLOR: %d codes, never: %d" % (len(SGR.findall(raw)), len(SGR.findall(never)))


def color_always_pipe(binary, caps):
    """--color=always on a pipe: colour (a guard); auto on a pipe: none."""
    rc, out, _ = run_pipe(binary, ["-r", SAMPLE, "--color=always"])
    _, plain, _ = run_pipe(binary, ["-r", SAMPLE])
    return rc == 0 and "\x1b[" in out and "\x1b" not in plain, "always: %s, auto: %s" % (
        "\x1b[" in out, "\x1b" in plain)


def ascii_marks(binary, caps):
    rc, raw = run_pty(binary, ["-r", SAMPLE], env={"LANG": "C"})
    lines = screen(raw)
    non_ascii = [l for l in lines if any(ord(c) > 127 for c in l)]
    marks = [l[2:4] for l in lines if re.match(r"  (ok|x |-> |<-)", l)]
    # a reply cut with "..." still fits its command line: no "..." wrapped onto a line alone
    wide = [l for l in lines if len(l) > 80 or l.strip() == "..."]
    ok = rc == 0 and not non_ascii and "ok" in marks and "x " in marks and not wide
    return ok, "%d lines not ASCII (%r); marks %s; %d lines too wide %r" % (
        len(non_ascii), non_ascii[:1], sorted(set(marks)), len(wide), wide[:1])


CHECKS = [
    ("1 summary after the transcript", summary_after_transcript),
    ("1 progress bar on its own line", bar_own_line),
    ("1 SIGUSR1 summary on its own line", running_summary_own_line),
    ("5 lines fit the window, explanations wrapped", fits_width),
    ("5 verdict wrapped, continuation indented", verdict_continued),
    ("5 COLUMNS without a window size", columns_env),
    ("5 --explain wrapped too", explain_wrapped),
    ("5 a pipe keeps one line per explanation", pipe_unwrapped),
    ("5 wide characters keep the reply column", cjk_columns),
    ("5 notes in words", notes_in_words),
    ("5 no internals in the text summary", summary_no_internals),
    ("5 (+1 line)", plural_lines),
    ("5 no 'later..'", no_double_stop),
    ("5 a verdict under --limit session-memory", verdict_not_empty),
    ("10 NO_COLOR", no_color_env),
    ("10 --color over NO_COLOR", no_color_overridden),
    ("10 --color=always on a pipe", color_always_pipe),
    ("10 LANG=C: ASCII marks", ascii_marks),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="build/smtpscope")
    args = ap.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        caps = {"cjk": os.path.join(tmp, "cjk.pcap"), "later": os.path.join(tmp, "later.pcap"),
                "long": os.path.join(tmp, "long.pcap")}
        write_pcap(caps["cjk"], [CJK])
        write_pcap(caps["later"], [LATER])
        n = write_pcap(caps["long"], [LONG] * 400)
        assert n > 4096 * 2, "the long capture must draw the bar (a tick every 4096 packets)"
        for name, check in CHECKS:
            ok, seen = check(args.bin, caps)
            failed += not ok
            print("%s  %s: %s" % ("ok  " if ok else "FAIL", name, seen))
    print("tty: %d of %d checks failed" % (failed, len(CHECKS)) if failed else
          "tty: all %d checks passed" % len(CHECKS))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
