#!/usr/bin/env python3
"""cli_check.py - the command line: bad options get one clear line and exit 2, good ones act.

Every case runs the real binary on a bundled sample (samples/auth-required.pcap: two sessions,
an EHLO of 24 bytes) and checks the exit status, what stderr says, and, for the options that
change the analysis (-c, -f, --limit), that the output changed the way the option says.
Input that cannot be read exits 1 with one line naming it; output that cannot be written
(standard output on /dev/full, -w and --extract on a full tmpfs) exits 1 with one line too. "{tmp}" in a case's arguments is a fresh
directory of its own.

    python3 tests/cli_check.py --bin build/smtpscope
"""
import argparse
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "samples", "auth-required.pcap")
MESSAGES = os.path.join(HERE, "..", "samples", "multi-message.pcap")
EXIT_USAGE = 2
FULL = "smtpscope: cannot write the output: No space left on device"
# as root, smtpscope drops to nobody before it writes --audit-graph: -Z root for a root-owned {tmp}
ROOT = ["-Z", "root"] if os.geteuid() == 0 else []
TMP = None  # set by main(): each case's "{tmp}" is a new directory under it


def expand(args):
    """Each case gets a directory of its own for "{tmp}"."""
    if not any("{tmp}" in a for a in args):
        return args
    d = tempfile.mkdtemp(dir=TMP)
    return [a.replace("{tmp}", d) for a in args]


def run(binary, args, stdout=subprocess.PIPE, stdin=None, preexec_fn=None):
    p = subprocess.run([binary] + args, stdout=stdout, stderr=subprocess.PIPE, stdin=stdin,
                       text=True, timeout=60, preexec_fn=preexec_fn)
    return p.returncode, p.stdout or "", p.stderr


def sessions(stdout):
    return [json.loads(l) for l in stdout.splitlines() if l.startswith('{"type":"session"')]


def one_line(rc, want_rc, out, err, says):
    lines = err.strip().splitlines()
    ok = rc == want_rc and len(lines) == 1 and says in lines[0] and not out
    return ok, "exit %d, stderr %r" % (rc, err.strip()[:200])


def usage_error(binary, args, says):
    """Exit 2 and one stderr line that names what was wrong."""
    rc, out, err = run(binary, expand(args))
    return one_line(rc, EXIT_USAGE, out, err, says)


def input_error(binary, args, says):
    """Exit 1 (input or environment, not usage) and one stderr line naming it."""
    rc, out, err = run(binary, expand(args))
    return one_line(rc, 1, out, err, says)


def w_onto_r(binary, args, says):
    """-w naming the capture -r reads: refused with one line, the capture left whole."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "c.pcap")
        shutil.copy(SAMPLE, path)
        size = os.path.getsize(path)
        rc, out, err = run(binary, ["-r", path, "-w", path, "-q"] + args)
        ok, seen = one_line(rc, 1, out, err, says)
        left = os.path.getsize(path)
        return ok and left == size, "%s; %d of %d bytes left" % (seen, left, size)


def accepted(binary, args, says):
    """Exit 0, nothing on stderr (-q where a summary would come), says on stdout."""
    rc, out, err = run(binary, expand(args))
    return rc == 0 and not err and says in out, "exit %d, stderr %r, stdout %r" % (
        rc, err.strip()[:120], out[:80])


def audit_only(binary, args):
    """--audit (issue 18 point 2): the headline first, no transcript (its "Session N" lines)."""
    rc, out, err = run(binary, expand(args))
    ok = rc == 0 and not err and out.startswith("Audit: ") and "\nSession " not in out
    return ok, "exit %d, stderr %r, stdout %r" % (rc, err.strip()[:120], out[:80])


def graph_written(binary, args, says):
    """--audit-graph FILE.dot: a digraph with an arrow per client and server; FILE.svg through
    Graphviz's dot when it is installed, and one line naming dot when it is not on the PATH."""
    with tempfile.TemporaryDirectory(dir=TMP) as tmp:
        dot = os.path.join(tmp, "g.dot")
        rc, out, err = run(binary, args + ["--audit-graph", dot])
        text = open(dot).read() if os.path.exists(dot) else ""
        ok = rc == 0 and not err and text.startswith("digraph") and says in text
        seen = "dot: exit %d, stderr %r, %d bytes" % (rc, err.strip()[:120], len(text))
        svg = os.path.join(tmp, "g.svg")
        if shutil.which("dot"):
            rc, out, err = run(binary, args + ["--audit-graph", svg])
            drawn = open(svg).read() if os.path.exists(svg) else ""
            ok = ok and rc == 0 and not err and "<svg" in drawn and says.split('"')[1] in drawn
            seen += "; svg: exit %d, %d bytes" % (rc, len(drawn))
        p = subprocess.run([binary] + args + ["--audit-graph", svg], capture_output=True,
                           text=True, timeout=60, env=dict(os.environ, PATH=tmp))
        lines = p.stderr.strip().splitlines()
        ok = ok and p.returncode == 1 and len(lines) == 1 and "Graphviz's dot" in lines[0]
        return ok, seen + "; without dot: exit %d, %r" % (p.returncode, p.stderr.strip()[:120])


def rdns_compared(binary, args):
    """--audit-rdns: each client's rdns is what the system resolver says (Python asks the same
    resolver), and ehlo_not_rdns is flagged exactly when no EHLO name is that name."""
    import socket
    rc, out, err = run(binary, args)
    hosts = [json.loads(l) for l in out.splitlines() if l.startswith('{"type":"host"')]
    clients = [h for h in hosts if h["role"] == "client"]
    bad = []
    for h in clients:
        try:
            want = socket.gethostbyaddr(h["ip"])[0]
        except OSError:
            want = None
        flagged = any(f["id"] == "ehlo_not_rdns" for f in h["findings"])
        names = [n for n in h.get("ehlo_names", []) if not n.startswith("[")]
        differs = bool(names) and (want is None or
                                   want.rstrip(".").lower() not in
                                   [n.rstrip(".").lower() for n in names])
        if h.get("rdns", "absent") != want or flagged != differs:
            bad.append((h["ip"], h.get("rdns", "absent"), want, flagged))
    ok = rc == 0 and clients and not bad and all("rdns" not in h for h in hosts
                                                  if h["role"] == "server")
    return ok, "exit %d, %d clients, differences %r" % (rc, len(clients), bad)


def full_disk(binary, args):
    """Standard output on /dev/full: exit 1 and the one line that says so."""
    with open("/dev/full", "w") as full:
        rc, _, err = run(binary, expand(args), stdout=full)
    return rc == 1 and err.strip() == FULL, "exit %d, stderr %r" % (rc, err.strip()[:200])


# A full disk: the case's folder becomes a tmpfs of 4 KiB, filled, in a mount namespace of the
# run's own (unshare -rm: no root needed where user namespaces are allowed).
FULL_TMPFS = ('mount -t tmpfs -o size=4k,mode=0700 smtpscope-full "$0" && '
              '{ head -c 8192 /dev/zero > "$0/fill" 2>/dev/null; exec "$@"; }')


def small_files():
    """In the child: files may not grow past 512 bytes (EFBIG, as a full disk fails a write)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))


def disk_full(binary, args, says):
    """-w or --extract cannot write all: exit 1, one line naming the output and why.

    On a full tmpfs when a mount namespace can be had; else files are capped by RLIMIT_FSIZE
    (EFBIG), except in a coverage build, whose counters the cap would cut short."""
    d = tempfile.mkdtemp(dir=TMP)
    args = [a.replace("{tmp}", d) for a in args]
    if subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0:
        binary, args, why, pre = "unshare", ["-rm", "sh", "-c", FULL_TMPFS, d, binary] + args, \
            "No space left on device", None
    elif "coverage build" in run(binary, ["-V"])[1]:
        return True, "skipped: no mount namespace, and a file size cap would cut gcov's counters"
    else:
        why, pre = "File too large", small_files
    rc, out, err = run(binary, args, preexec_fn=pre)
    lines = err.strip().splitlines()
    ok = rc == 1 and len(lines) == 1 and says in lines[0] and why in lines[0]
    return ok, "exit %d, stderr %r" % (rc, err.strip()[:200])


def limit_list(binary, args):
    """A --limit without a known NAME=VALUE: exit 2, every limit named on stderr, none on stdout."""
    rc, out, err = run(binary, args)
    ok = (rc == EXIT_USAGE and "NAME=VALUE" in err.splitlines()[0] and "flows" in err
          and "frag-bytes" in err and not out)
    return ok, "exit %d, stderr %r, stdout %d lines" % (rc, err.strip()[:80], len(out.splitlines()))


def limits_listed(binary, args):
    """--limits: the list on stdout, exit 0, with a value --limit set before it."""
    rc, out, err = run(binary, args)
    flows = [l for l in out.splitlines() if l.split()[:1] == ["flows"]]
    ok = rc == 0 and not err and flows and flows[0].split()[1] == "7" and "frag-bytes" in out
    return ok, "exit %d, flows line %r" % (rc, flows)


def help_text(binary, args):
    rc, out, err = run(binary, args)
    return rc == 0 and out.startswith("usage: smtpscope") and not err, "exit %d" % rc


def schema(binary, args):
    rc, out, err = run(binary, args)
    try:
        ok = rc == 0 and not err and "$schema" in json.loads(out)
    except ValueError:
        ok = False
    return ok, "exit %d, %d bytes" % (rc, len(out))


def from_stdin(binary, args):
    """-r - reads the capture from standard input."""
    with open(SAMPLE, "rb") as f:
        rc, out, err = run(binary, args, stdin=f)
    n = len(sessions(out))
    return rc == 0 and n == 2, "exit %d, %d sessions, stderr %r" % (rc, n, err.strip()[:80])


def extract_creates(binary, args):
    """--extract into a folder not there yet: created mode 0700, the messages in it."""
    args = expand(args)
    d = args[args.index("--extract") + 1]
    rc, _, err = run(binary, args)
    mode = stat.S_IMODE(os.stat(d).st_mode) if os.path.isdir(d) else None
    emls = [f for f in os.listdir(d) if f.endswith(".eml")] if mode is not None else []
    ok = (rc == 0 and mode == 0o700 and os.path.exists(os.path.join(d, "index.jsonl"))
          and len(emls) >= 1)
    return ok, "exit %d, mode %s, %d .eml, stderr %r" % (
        rc, oct(mode) if mode is not None else None, len(emls), err.strip()[:120])


def extract_link(binary, args, says):
    """--extract on a symbolic link to a folder: refused, not followed (nothing written there)."""
    args = expand(args)
    d = args[args.index("--extract") + 1]
    target = d + "-target"
    os.mkdir(target)
    os.symlink(target, d)
    rc, out, err = run(binary, args)
    ok, detail = one_line(rc, 1, out, err, says)
    return ok and not os.listdir(target), detail + ", %d files written" % len(os.listdir(target))


def pcap_written(binary, args):
    """-w writes the SMTP packets: a pcap file, mode 0600."""
    args = expand(args)
    path = args[args.index("-w") + 1]
    rc, _, err = run(binary, args)
    with open(path, "rb") as f:
        magic = f.read(4)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    ok = rc == 0 and magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4") and mode == 0o600
    return ok, "exit %d, magic %r, mode %o, stderr %r" % (rc, magic, mode, err.strip()[:80])


def as_root(check):
    """A case that needs root (opening an interface): skipped, and said, otherwise."""
    def wrapped(binary, args, *says):
        if os.geteuid() != 0:
            return True, "skipped: not root"
        return check(binary, args, *says)
    return wrapped


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
    # issue 16 point 8: an option without its value says so
    ("--explain without a value", usage_error, ["--explain"], "--explain needs a value"),
    ("--limit without a value", usage_error, ["-r", SAMPLE, "--limit"], "--limit needs a value"),
    ("-r without a value", usage_error, ["-r"], "-r needs a value"),
    ("--help with a value", usage_error, ["--help=all"], "--help takes no value"),
    ("ambiguous abbreviation", usage_error, ["-r", SAMPLE, "--lim", "5"], "more than one option"),
    ("unknown long option", usage_error, ["-r", SAMPLE, "--nosuch"], "unknown option --nosuch"),
    ("unknown short option", usage_error, ["-r", SAMPLE, "-qx"], "unknown option -x"),
    # point 8: --limit's list is part of a usage error (stderr); --limits alone is output
    ("--limits after --limit", limits_listed, ["--limit", "flows=7", "--limits"], None),
    # point 8: a filter libpcap cannot compile is a usage error, as are stray arguments
    ("bad filter expression", usage_error, ["-r", SAMPLE, "not", "a", "filter"], '"not a filter"'),
    ("bad -f filter", usage_error, ["-r", SAMPLE, "-f", "port 25", "bogus"], "(port 25) and (bogus)"),
    ("-p not ports", usage_error, ["-r", SAMPLE, "-p", "25,smtp"], "25,smtp"),
    ("an argument with --explain", usage_error, ["--explain", "550 x", "extra"], '"extra"'),
    ("an argument with -D", usage_error, ["-D", "extra"], '"extra"'),
    ("a capture without -r", usage_error, [SAMPLE], "give the capture with -r"),
    ("neither -r nor -i", usage_error, [], "give one of -r FILE, -i IFACE or --probe TARGET"),
    # point 8: repeated or conflicting options
    ("-r twice", usage_error, ["-r", SAMPLE, "-r", MESSAGES], "-r is given twice"),
    ("-r twice, the same file", accepted, ["-r", SAMPLE, "-r", SAMPLE, "-q", "-o", "json"],
     '"type":"session"'),
    ("-i and -r", usage_error, ["-i", "lo", "-r", SAMPLE], "-r and -i cannot be used together"),
    ("-D and -r", usage_error, ["-D", "-r", SAMPLE], "-r and -D cannot be used together"),
    ("-o twice", usage_error, ["-r", SAMPLE, "-o", "csv", "-o", "json"], "-o is given twice"),
    ("-c twice", usage_error, ["-r", SAMPLE, "-c", "1", "-c", "2"], "-c is given twice"),
    ("--color twice", usage_error, ["-r", SAMPLE, "--color=never", "--colour=always"],
     "--color is given twice"),
    ("a limit set twice", usage_error, ["-r", SAMPLE, "--idle", "5", "--limit", "idle=6"],
     "idle is set twice"),
    ("--after without --explain", usage_error, ["-r", SAMPLE, "--after", "RCPT"],
     "--after works only with --explain"),
    ("--after an unknown command", usage_error, ["--explain", "550 x", "--after", "FOO"],
     "CONNECT, HELO, EHLO, MAIL, RCPT"),
    ("capture option with --explain", usage_error, ["--explain", "550 x", "-o", "json"],
     "-o has no meaning with --explain"),
    ("-B reading a file", usage_error, ["-r", SAMPLE, "-B", "1024"], "-B works only with -i"),
    ("--threads live", usage_error, ["-i", "lo", "--threads", "2"], "--threads works only with -r"),
    # point 8: --extract creates its folder (mode 0700) in a parent that exists
    ("--extract creates its folder", extract_creates,
     ["-r", MESSAGES, "-q", "-Z", "root", "--extract", "{tmp}/new"], None),
    ("--extract without a parent", input_error,
     ["-r", MESSAGES, "-q", "-Z", "root", "--extract", "{tmp}/no/new"], "cannot create the directory"),
    ("--extract on a symbolic link", extract_link,
     ["-r", MESSAGES, "-q", "-Z", "root", "--extract", "{tmp}/link"], "symbolic link"),
    # point 9: output that cannot be written is an error
    ("--help on a full disk", full_disk, ["--help"], None),
    ("--version on a full disk", full_disk, ["--version"], None),
    ("--json-schema on a full disk", full_disk, ["--json-schema"], None),
    ("--limits on a full disk", full_disk, ["--limits"], None),
    ("--explain on a full disk", full_disk, ["--explain", "550 5.1.1 User unknown"], None),
    ("-D on a full disk", full_disk, ["-D"], None),
    ("sessions on a full disk", full_disk, ["-r", SAMPLE, "-q", "-o", "json"], None),
    ("-w on a full disk", disk_full, ["-r", SAMPLE, "-q", "-Z", "root", "-w", "{tmp}/o.pcap"],
     "o.pcap (-w)"),
    ("--extract on a full disk", disk_full,
     ["-r", MESSAGES, "-q", "-Z", "root", "--extract", "{tmp}"], "(--extract)"),
    # every other option and error path
    ("version", accepted, ["-V"], "smtpscope "),
    ("--json-schema", schema, ["--json-schema"], None),
    ("-r - reads standard input", from_stdin, ["-r", "-", "-o", "json"], None),
    ("--color=always", accepted, ["-r", SAMPLE, "-q", "--color=always", "-n"], "\033["),
    ("--color=never", accepted, ["-r", SAMPLE, "-q", "--color=never"], "Session"),
    ("--color=auto", accepted, ["-r", SAMPLE, "-q", "--colour=auto"], "Session"),
    ("--color something else", usage_error, ["-r", SAMPLE, "--color=sometimes"], "sometimes"),
    ("-o csv", accepted, ["-r", SAMPLE, "-q", "-o", "csv"], ","),
    ("-o ecs", accepted, ["-r", SAMPLE, "-q", "-o", "ecs"], '"@timestamp"'),
    ("-o csv --messages", accepted, ["-r", SAMPLE, "-q", "-o", "csv", "--messages"],
     "session_id,session_ts,client_ip,client_port,server_ip,server_port,helo,message,"),
    ("--messages without -o csv", usage_error, ["-r", SAMPLE, "--messages"],
     "--messages works only with -o csv"),
    ("--messages with -o json", usage_error, ["-r", SAMPLE, "-o", "json", "--messages"],
     "--messages works only with -o csv"),
    ("--audit-sort host", accepted, ["-r", SAMPLE, "-q", "-o", "json", "--audit-sort", "host"],
     '"type":"host"'),
    # issue 18 point 2: --audit alone is the host report; --transcripts brings the sessions back
    ("--audit without transcripts", audit_only, ["-r", MESSAGES, "-q", "--audit"], None),
    ("--audit-sort without transcripts", audit_only, ["-r", MESSAGES, "-q", "--audit-sort", "host"],
     None),
    ("--audit --transcripts", accepted, ["-r", MESSAGES, "-q", "--audit", "--transcripts"],
     "Session 1 "),
    ("--transcripts twice", accepted,
     ["-r", MESSAGES, "-q", "--audit", "--transcripts", "--transcripts"], "Audit: "),
    ("--audit-sort flags", accepted, ["-r", SAMPLE, "-q", "-o", "json", "--audit-sort", "flags"],
     '"type":"host"'),
    ("-o csv --audit: host rows", accepted, ["-r", MESSAGES, "-q", "-o", "csv", "--audit"],
     "role,ip,ports,sessions,"),
    # issue 18 point 1: what is ours, and the host filter, graph and reverse DNS
    ("--local-nets prefix too long", usage_error, ["-r", SAMPLE, "--local-nets", "10.0.0.0/33"],
     "prefix length outside 0-32"),
    ("--local-nets not an address", usage_error,
     ["-r", SAMPLE, "--local-nets", "10.0.0.0/8,mx.example.org"],
     '"mx.example.org" is not an IPv4 or IPv6 address'),
    ("--local-nets empty item", usage_error, ["-r", SAMPLE, "--local-nets", "10.0.0.0/8,"],
     "--local-nets takes networks"),
    ("--local-nets given twice", usage_error,
     ["-r", SAMPLE, "--local-nets", "10.0.0.0/8", "--local-nets", "192.0.2.0/24"],
     "--local-nets is given twice"),
    ("--local-domains not a domain", usage_error, ["-r", SAMPLE, "--local-domains", "a..b"],
     '"a..b" is not a domain name'),
    ("--local-domains with --explain", usage_error,
     ["--explain", "550 x", "--local-domains", "example.org"],
     "--local-domains has no meaning with --explain"),
    ("--audit-only unknown word", usage_error, ["-r", SAMPLE, "--audit-only", "client,servers"],
     '"servers" is not client, server'),
    ("--audit-only local without --local-nets", usage_error,
     ["-r", SAMPLE, "--audit-only", "server,local"], "--audit-only local or outside needs"),
    ("--audit-only help", accepted, ["-r", SAMPLE, "--audit-only", "help"], "password_guessing"),
    ("--audit-only flagged", accepted,
     ["-r", MESSAGES, "-q", "--local-nets", "127.0.0.0/8", "--audit-only", "flagged"],
     "Hosts: 1 of 2 shown (--audit-only)"),
    ("--audit-only outside: none", accepted,
     ["-r", MESSAGES, "-q", "-o", "csv", "--local-nets", "127.0.0.0/8", "--audit-only", "outside"],
     "role,ip,ports,"),
    ("--audit-graph", graph_written, ["-r", MESSAGES, "-q"] + ROOT,
     '"c 127.0.0.1" -> "s 127.0.0.1" [label="1 session'),
    ("--audit-graph in no folder", input_error,
     ["-r", SAMPLE, "-q", "--audit-graph", "{tmp}/no/g.dot"] + ROOT,
     "(--audit-graph): No such file"),
    ("--audit-rdns live", usage_error, ["-i", "lo", "--audit-rdns"],
     "--audit-rdns works only with -r"),
    ("--audit-rdns", rdns_compared, ["-r", MESSAGES, "-q", "-o", "json", "--audit-rdns"], None),
    ("--transcripts without --audit", usage_error, ["-r", SAMPLE, "--transcripts"],
     "--transcripts works only with --audit"),
    ("--transcripts with -o json", usage_error,
     ["-r", SAMPLE, "--audit", "-o", "json", "--transcripts"],
     "--transcripts has no meaning with -o json"),
    ("--transcripts with --explain", usage_error, ["--explain", "550 x", "--transcripts"],
     "--transcripts has no meaning with --explain"),
    ("--show-secrets, --idle, --max-flows", accepted,
     ["-r", SAMPLE, "-q", "-o", "json", "--show-secrets", "--idle", "60", "--max-flows", "10",
      "--limit", "extract-bytes=4096"], '"type":"session"'),
    ("--threads 2", accepted, ["-r", SAMPLE, "-q", "-o", "json", "--threads", "2"],
     '"type":"session"'),
    ("-w writes a pcap", pcap_written, ["-r", SAMPLE, "-q", "-w", "{tmp}/o.pcap"], None),
    ("-w onto the capture -r reads", w_onto_r, [], "is the capture being read"),
    ("-w in no folder", input_error, ["-r", SAMPLE, "-q", "-w", "{tmp}/no/o.pcap"],
     "No such file or directory"),
    ("--after as the client sent it", accepted,
     ["--explain", "550 5.1.1 <a@b>: Recipient address rejected", "--after", "rcpt to:<a@b>"],
     "reason: mailbox_unknown"),
    ("-B too small", usage_error, ["-i", "lo", "-B", "1"], "-B"),
    ("--threads not a number", usage_error, ["-r", SAMPLE, "--threads", "all"], "--threads"),
    ("missing capture file", input_error, ["-r", "{tmp}/none.pcap"], "none.pcap: cannot open"),
    ("not a capture", input_error, ["-r", os.path.join(HERE, "cli_check.py")], "not a pcap"),
    ("--tls-keylog missing", input_error, ["-r", SAMPLE, "--tls-keylog", "{tmp}/none.log"],
     "none.log"),
    ("--tls-keylog a folder", input_error, ["-r", SAMPLE, "--tls-keylog", HERE], "--tls-keylog"),
    ("no such interface", as_root(input_error), ["-i", "nosuch0"], "nosuch0"),
    ("bad filter, live", as_root(usage_error), ["-i", "lo", "not", "a", "filter"],
     '"not a filter"'),
]


def drop_said(binary, args, says):
    """As root, smtpscope drops to nobody before writing the graph: refused, the error says so.
    A coverage build keeps its user (its counters must be written): nothing to see there."""
    if "coverage build" in run(binary, ["-V"])[1]:
        return True, "skipped: a coverage build does not drop root"
    return input_error(binary, args, says)


if os.geteuid() == 0:
    CASES.append(("--audit-graph as root, a folder only root may write", drop_said,
                  ["-r", SAMPLE, "-q", "--audit-graph", "{tmp}/g.dot"],
                  "Permission denied (written as "))


def main():
    global TMP
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    failed = 0
    TMP = tempfile.mkdtemp(prefix="smtpscope-cli-")
    os.chmod(TMP, 0o700)
    try:
        keeps_root = "coverage build" in run(a.bin, ["-V"])[1]
        for name, check, args, says in CASES:
            if keeps_root and name.startswith("--audit-graph as root"):
                print("PASS %s: skipped: a coverage build keeps root" % name)
                continue
            ok, detail = check(a.bin, args, says) if says else check(a.bin, args)
            print("%s %s: %s" % ("PASS" if ok else "FAIL", name, detail))
            failed += not ok
    finally:
        shutil.rmtree(TMP)
    print("cli: %d passed, %d failed" % (len(CASES) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
