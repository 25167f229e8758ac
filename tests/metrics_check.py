#!/usr/bin/env python3
"""--metrics-file and --metrics without root (issue 17 point 2); the Prometheus server test
is tests/metrics_test.sh.

1. Every samples/*.pcap and samples/audit/*.pcap is read with
       BIN -r CAPTURE -o json --metrics-file DIR/NAME.prom
   The textfile is parsed by the exposition-format parser below (and by `promtool check
   metrics` when the prometheus package is installed): every family has HELP and TYPE before
   its samples, names start with smtpscope_, counters end in _total, label values are escaped.
   Its counters must agree with the JSON summary of the same run (sessions, packets, bytes,
   replies, messages, outcomes, refused, no_answer, gaps, evictions, timeouts), and with the
   capture's expected file, never with smtpscope's own output: sessions by state, replies by
   class, AUTH attempts by result, sessions by server address. For samples/audit, the flags
   gauge counts the hosts of the expected file's findings with that id (flags that need
   --local-nets or --local-domains left out, as neither is given), and the text summary on
   stderr names each abuse flag that fired in one "flags:" line.
2. The HTTP endpoint, on 127.0.0.1 with a pipe as the capture (-r -) so that smtpscope waits:
   GET /metrics gives the same text format; HEAD, a 404, a 405, a 431 for a request past 4 KiB;
   METRICS_CONNS (8) idle connections are held, a ninth waits, and is answered once they close;
   a request never finished is dropped after 5 s; the file is replaced atomically (the old one never half-written).
3. Usage: --metrics-interval without --metrics-file, a bad ADDR:PORT, a port in use, a file in a
   directory that does not exist: exit 2 or 1 with one line.
usage: python3 tests/metrics_check.py [--bin build/smtpscope]
"""
import argparse
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NEEDS_OPTS = {"open_relay", "spoofed_sender", "direct_to_mx", "no_starttls"}
ALARMS = ("open_relay", "password_guessing", "login_failures", "harvesting", "relay_attempts",
          "spoofed_sender", "direct_to_mx")
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')


def parse(text):
    """{(name, ((label, value), ...)): float}; raises ValueError on a line the format refuses."""
    out, helped, typed = {}, set(), {}
    for n, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line.startswith("# HELP "):
            helped.add(line.split(" ")[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            if typ not in ("counter", "gauge"):
                raise ValueError("line %d: type %s" % (n, typ))
            if typ == "counter" and not name.endswith("_total"):
                raise ValueError("line %d: counter %s without _total" % (n, name))
            typed[name] = typ
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise ValueError("line %d: not a sample: %r" % (n, line))
        name, labels = m.group(1), []
        if not name.startswith("smtpscope_"):
            raise ValueError("line %d: %s has no smtpscope_ prefix" % (n, name))
        if name not in helped or name not in typed:
            raise ValueError("line %d: %s before its HELP and TYPE" % (n, name))
        rest = m.group(3) or ""
        while rest:
            lm = LABEL_RE.match(rest)
            if not lm:
                raise ValueError("line %d: bad labels %r" % (n, rest))
            value = re.sub(r'\\(.)', lambda x: {"n": "\n"}.get(x.group(1), x.group(1)), lm.group(2))
            labels.append((lm.group(1), value))
            rest = rest[lm.end():]
        key = (name, tuple(sorted(labels)))
        if key in out:
            raise ValueError("line %d: %s twice" % (n, line))
        out[key] = float(m.group(4))
    if not text.endswith("\n"):
        raise ValueError("no line feed at the end")
    return out


def series(metrics, name, label=None):
    """{label value: n} of one family (label None: the one unlabelled sample)."""
    got = {}
    for (n, labels), v in metrics.items():
        if n != name:
            continue
        if label is None:
            return v
        got[dict(labels)[label]] = v
    return got


def expected_counts(exp):
    """What the expected file says: states, reply classes, AUTH attempts, servers."""
    states, classes, auth, servers = {}, {}, {}, {}
    for s in exp["sessions"]:
        states[s["state"]] = states.get(s["state"], 0) + 1
        servers[s["server_ip"]] = servers.get(s["server_ip"], 0) + 1
        open_ = False
        for c in s["commands"]:
            code = c.get("code")
            if code:
                k = "%dxx" % (code // 100)
                classes[k] = classes.get(k, 0) + 1
            if c["cmd"] == "AUTH" or (c["cmd"] == "AUTH-DATA" and open_):
                open_ = True
                if code and code // 100 != 3:
                    r = "success" if code // 100 == 2 else "failure"
                    auth[r] = auth.get(r, 0) + 1
                    open_ = False
            elif open_:
                auth["unknown"] = auth.get("unknown", 0) + 1
                open_ = False
        if open_:
            auth["unknown"] = auth.get("unknown", 0) + 1
    return states, classes, auth, servers


def nonzero(d):
    return {k: v for k, v in d.items() if v}


def check_against_summary(m, summary):
    """Counters that the JSON summary of the same run also has: [problem, ...]."""
    bad = []
    pairs = [("packets", series(m, "smtpscope_capture_packets_total")),
             ("bytes", series(m, "smtpscope_capture_bytes_total")),
             ("sessions", sum(series(m, "smtpscope_sessions_total", "state").values())),
             ("replies", sum(series(m, "smtpscope_replies_total", "class").values())),
             ("replies", sum(series(m, "smtpscope_replies_by_reason_total", "reason").values())),
             ("messages", series(m, "smtpscope_messages_total")),
             ("messages_accepted", series(m, "smtpscope_messages_accepted_total")),
             ("refused", series(m, "smtpscope_sessions_total", "state").get("refused")),
             ("no_answer", series(m, "smtpscope_sessions_total", "state").get("no_answer")),
             ("gap_bytes", series(m, "smtpscope_gap_bytes_total")),
             ("evicted_flows", series(m, "smtpscope_evicted_flows_total")),
             ("timed_out_flows", series(m, "smtpscope_timed_out_flows_total")),
             ("memory_refused", series(m, "smtpscope_memory_refused_total")),
             ("sessions", sum(series(m, "smtpscope_server_sessions_total", "server").values()))]
    for key in ("kernel_dropped", "kernel_received"):
        if key in summary:
            pairs.append((key, series(m, "smtpscope_%s_packets_total" % key)))
    for key, got in pairs:
        if got != summary[key]:
            bad.append("%s: metrics %s, JSON summary %s" % (key, got, summary[key]))
    outcomes = nonzero(series(m, "smtpscope_session_outcomes_total", "outcome"))
    if outcomes != summary["outcomes"]:
        bad.append("outcomes: metrics %s, JSON summary %s" % (outcomes, summary["outcomes"]))
    return bad


def promtool(path):
    if not shutil.which("promtool"):
        return None
    p = subprocess.run(["promtool", "check", "metrics"], stdin=open(path, "rb"),
                       capture_output=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace").strip()


def run_file(binary, pcap, work):
    name = os.path.relpath(pcap, os.path.join(REPO, "samples")).replace("/", "_")[:-5]
    prom = os.path.join(work, name + ".prom")
    p = subprocess.run([binary, "-r", pcap, "-o", "json", "-Z", "root", "--metrics-file", prom],
                       capture_output=True, timeout=120)
    recs = [json.loads(l) for l in p.stdout.decode("utf-8", "surrogateescape").splitlines() if l]
    return p, prom, recs[-1]


def check_files(binary, work):
    fails, promtool_seen = 0, False
    pcaps = sorted(glob.glob(os.path.join(REPO, "samples", "*.pcap")) +
                   glob.glob(os.path.join(REPO, "samples", "audit", "*.pcap")))
    for pcap in pcaps:
        exp = json.load(open(pcap[:-5] + ".expected.json"))
        p, prom, summary = run_file(binary, pcap, work)
        what = os.path.relpath(pcap, REPO)
        bad = [] if p.returncode == 0 else ["exit %d: %s" % (p.returncode, p.stderr[:200])]
        try:
            m = parse(open(prom).read())
        except (OSError, ValueError) as e:
            print("metrics: FAIL: %s: textfile: %s" % (what, e))
            fails += 1
            continue
        if os.stat(prom).st_mode & 0o777 != 0o644:
            bad.append("mode %o, want 644 (node_exporter reads it as another user)"
                       % (os.stat(prom).st_mode & 0o777))
        if os.path.exists(prom + ".tmp"):
            bad.append("the temporary file was left behind")
        bad += check_against_summary(m, summary)
        states, classes, auth, servers = expected_counts(exp)
        for name, label, want in (("smtpscope_sessions_total", "state", states),
                                  ("smtpscope_replies_total", "class", classes),
                                  ("smtpscope_auth_attempts_total", "result", auth),
                                  ("smtpscope_server_sessions_total", "server", servers)):
            got = nonzero(series(m, name, label))
            if got != want:
                bad.append("%s: metrics %s, expected file %s" % (name, got, want))
        flags = nonzero(series(m, "smtpscope_audit_flagged_hosts", "flag"))
        if "audit" in exp:
            want = {}
            for h in exp["audit"]["hosts"]:
                for f in h["findings"]:
                    if f["id"] not in NEEDS_OPTS:
                        want[f["id"]] = want.get(f["id"], 0) + 1
            got = {k: v for k, v in flags.items() if k in want or k in ALARMS}
            if got != want:
                bad.append("flags: metrics %s, expected file %s" % (got, want))
            line = [l for l in p.stderr.decode().splitlines() if l.startswith("smtpscope: flags:")]
            alarms = sorted((k, v) for k, v in want.items() if k in ALARMS)
            want_line = ["smtpscope: flags: " + ", ".join(
                "%s %d host%s" % (k, v, "" if v == 1 else "s") for k, v in
                sorted(alarms, key=lambda kv: ALARMS.index(kv[0])))] if alarms else []
            if line != want_line:
                bad.append("summary line %s, want %s" % (line, want_line))
        pt = promtool(prom)
        if pt and pt[0] != 0:
            bad.append("promtool check metrics: %s" % pt[1])
        promtool_seen |= pt is not None
        if bad:
            print("metrics: FAIL: %s: %s" % (what, "; ".join(bad)))
            fails += 1
        else:
            print("metrics: PASS: %s: %d sessions, %d replies, %d packets as in the JSON summary "
                  "and the expected file%s" % (what, summary["sessions"], summary["replies"],
                                               summary["packets"],
                                               "; flags %s" % flags if "audit" in exp else ""))
    print("metrics: %s" % ("promtool check metrics passed on every textfile" if promtool_seen
                           else "promtool not installed: the textfiles were checked by the "
                           "parser of this test only"))
    return fails


def http(port, raw, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(raw)
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head.decode(), body


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def check_http(binary, work):
    fails = 0
    port = free_port()
    prom = os.path.join(work, "http.prom")
    proc = subprocess.Popen([binary, "-r", "-", "-o", "json", "-Z", "root", "--metrics",
                             "127.0.0.1:%d" % port, "--metrics-file", prom,
                             "--metrics-interval", "1"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sample = open(os.path.join(REPO, "samples", "auth-login-fail.pcap"), "rb").read()
    proc.stdin.write(sample[:24])  # the file header: smtpscope now waits for packets
    proc.stdin.flush()
    results = []

    def expect(what, cond, detail=""):
        results.append((what, cond, detail))

    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        code, head, body = http(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        expect("GET /metrics", code == 200 and "version=0.0.4" in head and
               "Content-Length: %d" % len(body) in head, head)
        try:
            m = parse(body.decode())
            expect("GET /metrics: the exposition format",
                   series(m, "smtpscope_capture_packets_total") == 0)
        except ValueError as e:
            expect("GET /metrics: the exposition format", False, str(e))
        code, head, body = http(port, b"HEAD /metrics HTTP/1.0\r\n\r\n")
        expect("HEAD /metrics", code == 200 and body == b"", head)
        code, _, _ = http(port, b"GET /other HTTP/1.1\r\n\r\n")
        expect("404", code == 404)
        code, _, _ = http(port, b"POST /metrics HTTP/1.1\r\n\r\n")
        expect("405", code == 405)
        code, _, _ = http(port, b"GET /metrics?x=1 HTTP/1.1\r\nX: " + b"a" * 5000)
        expect("431 past 4 KiB", code == 431)
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(8)]
        time.sleep(0.3)
        ninth = socket.create_connection(("127.0.0.1", port), timeout=0.7)
        ninth.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
        try:
            early = ninth.recv(100)
        except socket.timeout:
            early = None
        expect("a ninth connection waits while 8 are open", early is None, repr(early))
        for s in idle:
            s.close()
        ninth.settimeout(5)
        late = ninth.recv(100)
        expect("... and is answered once they close", late.startswith(b"HTTP/1.1 200"), repr(late))
        ninth.close()
        slow = socket.create_connection(("127.0.0.1", port), timeout=10)
        slow.sendall(b"GET /met")
        t0 = time.time()
        rest = slow.recv(100)
        expect("a request never finished is dropped after 5 s", rest == b"" and
               4 < time.time() - t0 < 8, "%r after %.1f s" % (rest, time.time() - t0))
        slow.close()
        out, err = proc.communicate(input=sample[24:], timeout=60)
        expect("exit 0", proc.returncode == 0, err.decode()[:300])
        summary = json.loads(out.decode().splitlines()[-1])
        bad = check_against_summary(parse(open(prom).read()), summary)
        expect("the file at the end agrees with the JSON summary", not bad, "; ".join(bad))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for what, ok, detail in results:
        print("metrics: %s: HTTP: %s%s" % ("PASS" if ok else "FAIL", what,
                                           "" if ok or not detail else ": " + detail))
        fails += not ok
    return fails


def check_usage(binary, work):
    fails = 0
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    sample = os.path.join(REPO, "samples", "refused.pcap")
    for args, status, words in (
            (["--metrics-interval", "5"], 2, "works only with --metrics-file"),
            (["--metrics", "9125"], 1, "wants ADDR:PORT"),
            (["--metrics", "localhost:9125"], 1, "numeric"),
            (["--metrics", "127.0.0.1:%d" % busy.getsockname()[1]], 1, "Address already in use"),
            (["--metrics-file", os.path.join(work, "no", "such", "x.prom")], 1,
             "No such file or directory"),
            (["--metrics", "[::1]:0", "-q"], 0, "")):
        p = subprocess.run([binary, "-r", sample, "-Z", "root"] + args, capture_output=True,
                           timeout=60)
        err = p.stderr.decode()
        ok = p.returncode == status and (words in err if words else True) and \
            (status == 0 or len(err.strip().splitlines()) == 1)
        print("metrics: %s: %s: exit %d%s" % ("PASS" if ok else "FAIL", " ".join(args),
                                               p.returncode, ", " + err.strip() if err else ""))
        fails += not ok
    busy.close()
    return fails


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/smtpscope")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    work = tempfile.mkdtemp(prefix="smtpscope-metrics.")
    try:
        fails = check_files(binary, work) + check_http(binary, work) + check_usage(binary, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if fails:
        print("metrics: %d failure(s)" % fails)
        return 1
    print("metrics: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
