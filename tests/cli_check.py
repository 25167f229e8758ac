#!/usr/bin/env python3
"""cli_check.py - the command line: bad options get one clear line and exit 2, good ones act.

Every case runs the real binary on a bundled sample (samples/auth-required.pcap: two sessions,
an EHLO of 24 bytes) and checks the exit status, what stderr says, and, for the options that
change the analysis (-c, -f, --limit), that the output changed the way the option says.

    python3 tests/cli_check.py --bin build/smtpscope
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "samples", "auth-required.pcap")
EXIT_USAGE = 2


def run(binary, args):
    p = subprocess.run([binary] + args, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def sessions(stdout):
    return [json.loads(l) for l in stdout.splitlines() if l.startswith('{"type":"session"')]


def usage_error(binary, args, says):
    """Exit 2 and one stderr line that names what was wrong."""
    rc, out, err = run(binary, args)
    lines = err.strip().splitlines()
    ok = rc == EXIT_USAGE and len(lines) == 1 and says in lines[0] and not out
    return ok, "exit %d, stderr %r" % (rc, err.strip()[:200])


def limit_list(binary, args):
    """A --limit without a known NAME=VALUE: exit 2 and every limit named with its value."""
    rc, out, err = run(binary, args)
    ok = rc == EXIT_USAGE and "NAME=VALUE" in err and "flows" in out and "frag-bytes" in out
    return ok, "exit %d, stderr %r, %d lines listed" % (rc, err.strip()[:80], len(out.splitlines()))


def help_text(binary, args):
    rc, out, err = run(binary, args)
    return rc == 0 and out.startswith("usage: smtpscope") and not err, "exit %d" % rc


def max_sessions(binary, args):
    """-c 1 stops after one session; without it the sample has two."""
    rc, out, _ = run(binary, ["-r", SAMPLE, "-o", "json"])
    all_n = len(sessions(out))
    rc1, out1, _ = run(binary, args)
    n = len(sessions(out1))
    return rc == 0 and rc1 == 0 and all_n == 2 and n == 1, "%d sessions, %d with -c 1" % (all_n, n)


def line_limit(binary, args):
    """--limit line=16: no command kept longer than 16 bytes; unlimited, the EHLO is longer."""
    rc, out, _ = run(binary, ["-r", SAMPLE, "-o", "json"])
    rc16, out16, _ = run(binary, args)

    def longest(o):
        return max(len(c["cmd"] + (" " + c["arg"] if c.get("arg") else ""))
                   for s in sessions(o) for c in s["commands"])
    full, cut = longest(out), longest(out16)
    return rc == 0 and rc16 == 0 and full > 16 and cut <= 16, "longest %d, with line=16 %d" % (full, cut)


def bpf_filter(binary, args):
    """-f narrows the capture: the sample's port 2525 is kept, port 9 leaves nothing."""
    rc, out, _ = run(binary, args + ["port 2525"])
    rc9, out9, _ = run(binary, args + ["port 9"])
    n, n9 = len(sessions(out)), len(sessions(out9))
    return rc == 0 and rc9 == 0 and n == 2 and n9 == 0, "port 2525: %d sessions, port 9: %d" % (n, n9)


def explain_reply(binary, args):
    """--explain: the reason, the class, who fixes it and the provider's page, each said."""
    rc, out, err = run(binary, args)
    want = ["reason: mailbox_unknown", "class: permanent", "fixed by: sender",
            "from: Gmail", "page: https://support.google.com/a/answer/3726730",
            "matched on text"]
    missing = [w for w in want if w not in out]
    return rc == 0 and not err and not missing, "exit %d, missing %s" % (rc, missing)


def explain_french(binary, args):
    """A reply in French is read by its words, capitals and accents folded."""
    rc, out, _ = run(binary, args)
    return rc == 0 and "reason: mailbox_full" in out, "exit %d: %s" % (rc, out.strip()[-120:])


GMAIL_NO_SUCH_USER = (
    "550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
    "550-5.1.1 double-checking the recipient's email address for typos or\n"
    "550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser a1si123 - gsmtp")

CASES = [
    ("--explain a multi-line reply", explain_reply,
     ["--explain", GMAIL_NO_SUCH_USER, "--after", "RCPT"], None),
    ("--explain in French", explain_french,
     ["--explain", "452 4.2.2 BOÎTE DU DESTINATAIRE PLEINE", "--after", "RCPT"], None),
    ("--explain lines with two codes", usage_error, ["--explain", "550-a\n551 b"], "--explain"),
    ("--explain a last line, then more", usage_error, ["--explain", "550 a\n550 b"], "--explain"),
    ("--explain no last line", usage_error, ["--explain", "550-a"], "--explain"),
    ("unknown output format", usage_error, ["-r", SAMPLE, "-o", "yaml"], "yaml"),
    ("snap length out of range", usage_error, ["-r", SAMPLE, "-s", "10"], "-s"),
    ("-c not a number", usage_error, ["-r", SAMPLE, "-c", "many"], "many"),
    ("limit value zero", usage_error, ["-r", SAMPLE, "--limit", "flows=0"], "flows"),
    ("limit value negative", usage_error, ["-r", SAMPLE, "--limit", "line=-5"], "line"),
    ("limit value too large", usage_error, ["-r", SAMPLE, "--limit", "pending=99999999999"], "pending"),
    ("limit value not a number", usage_error, ["-r", SAMPLE, "--limit", "idle=soon"], "idle"),
    ("bad audit sort key", usage_error, ["-r", SAMPLE, "--audit", "--audit-sort", "size"], "--audit-sort"),
    ("limit without a value", limit_list, ["-r", SAMPLE, "--limit", "flows"], None),
    ("unknown limit name", limit_list, ["-r", SAMPLE, "--limit", "nosuch=5"], None),
    ("help", help_text, ["-h"], None),
    ("-c 1", max_sessions, ["-r", SAMPLE, "-o", "json", "-c", "1"], None),
    ("--limit line=16", line_limit, ["-r", SAMPLE, "-o", "json", "--limit", "line=16"], None),
    ("-f filter", bpf_filter, ["-r", SAMPLE, "-o", "json", "-f"], None),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    failed = 0
    for name, check, args, says in CASES:
        ok, detail = check(a.bin, args, says) if says else check(a.bin, args)
        print("%s %s: %s" % ("PASS" if ok else "FAIL", name, detail))
        failed += not ok
    print("cli: %d passed, %d failed" % (len(CASES) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
