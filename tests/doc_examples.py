#!/usr/bin/env python3
"""doc_examples.py - README's example output and the marks README and the man page name are
what the program prints today.

README.md: every example is a line `<!-- example: terminal WIDTH -->` followed by an indented
block whose first line is `    $ ./build/smtpscope ARGS`: the block's other lines must be what
`BIN ARGS` writes on its standard output when that is a terminal WIDTH columns wide (a
pseudo-terminal; NO_COLOR set, a UTF-8 locale; standard error, the summary, is not part of
the example). `--update` writes the program's output into the blocks instead of comparing:
examples are made by running the program, never typed.

Command lines: every `smtpscope ...` line of README's "Usage" block and of smtpscope.1's
EXAMPLES is run (the file names in them replaced by a bundled capture and its key log, a new
folder for --extract; a pipe's first command only; live capture, -i, is left out): it must
exit 0 with nothing on standard error but the summary.

Marks: the transcript's marks (the first character of each command line) over every sample
must each be named in README's "Marks:" paragraph and in smtpscope.1's description of -o
text (its groff escapes read through the table below).

Usage: python3 tests/doc_examples.py [--bin PATH] [--update]
"""
import argparse
import fcntl
import glob
import os
import pty
import re
import select
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import termios

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
README = os.path.join(ROOT, "README.md")
MAN = os.path.join(ROOT, "smtpscope.1")
EXAMPLE = re.compile(r"^<!-- example: terminal (\d+) -->\n((?:    .*\n)+)", re.M)
# groff escapes smtpscope.1 writes its marks with, and the characters they print
GROFF = {r"\(OK": "\u2713", r"\(mu": "\u00d7", r"\(->": "\u2192", r"\(~~": "\u2248"}


def on_terminal(argv, width, timeout=60):
    """stdout of argv on a pseudo-terminal width columns wide (stderr is dropped)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, width, 0, 0))
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.ONLCR  # the program's "\n", not the terminal's "\r\n"
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    env = dict(os.environ, NO_COLOR="1", LANG="C.UTF-8", LC_ALL="C.UTF-8", COLUMNS=str(width))
    p = subprocess.Popen(argv, stdout=slave, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                         env=env, close_fds=True)
    os.close(slave)
    out = b""
    while True:
        r, _, _ = select.select([master], [], [], timeout)
        if not r:
            p.kill()
            raise RuntimeError("%s: no output for %d s" % (" ".join(argv), timeout))
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the program closed the terminal
            break
        if not chunk:
            break
        out += chunk
    p.wait(timeout)
    os.close(master)
    return out.decode("utf-8", errors="replace")


def example_output(binary, cmdline, width):
    args = cmdline.split()[1:]  # "./build/smtpscope -r ..." -> the options
    argv = [binary] + (["-Z", "root"] if os.geteuid() == 0 else []) + args
    out = on_terminal(argv, width)
    return ["    " + line if line else "" for line in out.rstrip("\n").split("\n")]


def check_examples(binary, update):
    text = open(README).read()
    fails, checked = [], 0

    def one(m):
        nonlocal checked
        width = int(m.group(1))
        lines = m.group(2).rstrip("\n").split("\n")
        cmd = lines[0][len("    $ "):]
        got = example_output(binary, cmd, width)
        checked += 1
        if got != lines[1:] and not update:
            for i, (a, b) in enumerate(zip(lines[1:] + [""] * len(got), got + [""] * len(lines))):
                if a != b:
                    fails.append("README example `%s`, line %d:\n      README:  %r\n      program: %r"
                                 % (cmd, i + 2, a, b))
                    break
        return "<!-- example: terminal %d -->\n%s\n" % (width, "\n".join([lines[0]] + got))

    new = EXAMPLE.sub(one, text)
    if update and new != text:
        open(README, "w").write(new)
        print("doc_examples: README examples rewritten from the program's output")
    if checked == 0:
        fails.append("README has no example block (<!-- example: terminal N --> then `    $ ./build/smtpscope ...`)")
    return checked, fails


# what the examples' placeholders stand for: a real capture and its key log
PLACEHOLDERS = {"capture.pcap": "samples/keylog/tls13-aes256.pcap",
                "big.pcap": "samples/pipelining.pcap",
                "keys.log": "samples/keylog/tls13-aes256.keylog"}


def example_lines():
    """(where, command line) of README's Usage block and smtpscope.1's EXAMPLES."""
    readme = open(README).read()
    usage = re.search(r"^## Usage\n\n((?:    .*\n)+)", readme, re.M)
    lines = [("README Usage", l.strip().split("  #")[0].strip())
             for l in (usage.group(1).splitlines() if usage else [])]
    man = open(MAN).read()
    ex = re.search(r"^\.SH EXAMPLES\n\.nf\n(.*?)^\.fi", man, re.M | re.S)
    lines += [("smtpscope.1 EXAMPLES", l.replace("\\-", "-"))
              for l in (ex.group(1).splitlines() if ex else [])]
    return [(w, l) for w, l in lines if l.startswith("smtpscope ")]


def graph_name(name):
    """--audit-graph FILE, written in the scratch folder; an SVG needs Graphviz's dot."""
    if name.endswith(".svg") and not shutil.which("dot"):
        return name[:-4] + ".dot"
    return name


def check_command_lines(binary, tmp):
    fails, ran = [], 0
    for where, line in example_lines():
        cmd = line.split(" | ")[0].split(" > ")[0]  # a pipe's first command, no redirection
        argv = shlex.split(cmd)[1:]
        if "-i" in argv or "--probe" in argv or not argv:
            continue  # live capture, a probe: not run here (live_test.sh, probe_check.py)
        argv = [os.path.join(ROOT, PLACEHOLDERS[a]) if a in PLACEHOLDERS else
                os.path.join(tmp, "mails%d" % ran) if a.startswith("/tmp/") else
                os.path.join(tmp, graph_name(a)) if a.endswith((".svg", ".dot")) else a
                for a in argv]
        root = ["-Z", "root"] if os.geteuid() == 0 and "-r" in argv else []
        p = subprocess.run([binary] + root + argv,
                           capture_output=True, timeout=60, cwd=ROOT)
        err = [l for l in p.stderr.decode(errors="replace").splitlines()
               if l.startswith("smtpscope:")]
        ran += 1
        if p.returncode != 0 or err:
            fails.append("%s: `%s` exits %d: %s" % (where, line, p.returncode,
                                                   err[0] if err else ""))
    if ran == 0:
        fails.append("no example command line found in README's Usage or smtpscope.1's EXAMPLES")
    return ran, fails


def marks_used(binary):
    marks = set()
    for pcap in sorted(glob.glob(os.path.join(ROOT, "samples", "**", "*.pcap"), recursive=True)):
        out = on_terminal([binary] + (["-Z", "root"] if os.geteuid() == 0 else []) +
                          ["-r", pcap, "-q", "-p", "25,465,2525"], 200)
        for line in out.split("\n"):
            m = re.match(r"^  (\S) [A-Z.?]", line)
            if m:
                marks.add(m.group(1))
    return marks


def check_marks(binary):
    marks = marks_used(binary)
    readme = open(README).read()
    para = re.search(r"^Marks:(.*?)\n\n", readme, re.M | re.S)
    man = open(MAN).read()
    for esc, ch in GROFF.items():
        man = man.replace(esc, ch)
    man = re.sub(r"\\\[u([0-9A-F]{4,5})\]", lambda m: chr(int(m.group(1), 16)), man)
    fails = []
    for mark in sorted(marks):
        if not para or mark not in para.group(1):
            fails.append("mark %r is printed but README's Marks paragraph does not name it" % mark)
        if mark not in man:
            fails.append("mark %r is printed but smtpscope.1 does not name it" % mark)
    return marks, fails


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "smtpscope"))
    ap.add_argument("--update", action="store_true")
    a = ap.parse_args()
    n, fails = check_examples(a.bin, a.update)
    marks, mfails = check_marks(a.bin)
    fails += mfails
    with tempfile.TemporaryDirectory() as tmp:
        ran, cfails = check_command_lines(a.bin, tmp)
    fails += cfails
    for f in fails:
        print("FAIL " + f)
    print("doc_examples: %d README example%s, %d example command lines run, marks %s: %s" % (
        n, "" if n == 1 else "s", ran, " ".join(sorted(marks)), "FAIL" if fails else "PASS"))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
