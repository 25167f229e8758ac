#!/usr/bin/env python3
"""analyst_check.py - the times an analyst queries (issue 18, "For analysts"), and README's
"Analysing with jq and pandas" lines, on the bundled captures.

Over every samples/*.pcap, samples/edge/*.pcap and samples/trust/*.pcap, -o json:
  - every command has reply_time: a number when reply is an object, null when reply is null;
  - every session has end_ts = ts + duration (to the microsecond);
  - the summary has start_ts <= every session's ts and end_ts >= every session's end_ts;
  - every message has mail_ts, data_end_ts, final_reply_ts and transaction_time (null or a
    value); mail_ts is the ts of a MAIL command of the session, final_reply_ts the time of a
    reply, mail_ts <= data_end_ts <= final_reply_ts, transaction_time = final_reply_ts - mail_ts;
    an accepted message whose MAIL and "."/BDAT LAST were seen has all four.
One capture with no packet at all: the summary has neither start_ts nor end_ts.

README: each `$ smtpscope ...` line of the section is run on samples/seed-exchange-errors.pcap
(the binary for smtpscope, the capture for mail.pcap) under bash -o pipefail: a jq line only
when jq is installed, a pandas line only when pandas imports (SKIP otherwise, said on stdout);
every python3 -c program must at least compile. What a jq line prints is compared with the
same question answered here from the JSON (failure reasons per server, sessions per hour, the
slowest reply, time to deliver per message); a pandas line must exit 0 and print the columns
or keys asked for. The four answers computed here are checked in any case: a failure per
server, sessions in an hour, a slowest reply, a delivered message with its time to deliver.

Usage: python3 tests/analyst_check.py [--bin PATH]
"""
import argparse
import collections
import datetime
import glob
import atexit
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(REPO, "samples", "seed-exchange-errors.pcap")
TIMEOUT = 60


def when(ts):
    """ISO 8601 UTC with microseconds -> microseconds since the epoch."""
    d = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    return round(d.timestamp() * 1e6)


def run_json(binary, pcap):
    p = subprocess.run([binary, "-r", pcap, "-o", "json", "-q"], capture_output=True,
                       timeout=TIMEOUT)
    if p.returncode not in (0, 1):
        return None, "exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace")[-200:])
    try:
        return [json.loads(line) for line in p.stdout.splitlines()], None
    except ValueError as e:
        return None, "not JSON Lines: %s" % e


def check_command(c):
    if "reply_time" not in c:
        return "command %s has no reply_time" % c.get("cmd")
    if (c["reply"] is None) != (c["reply_time"] is None):
        return "command %s: reply %s but reply_time %s" % (
            c["cmd"], "null" if c["reply"] is None else "present", c["reply_time"])
    return None


def check_message(s, m):
    keys = ("mail_ts", "data_end_ts", "final_reply_ts", "transaction_time")
    missing = [k for k in keys if k not in m]
    if missing:
        return "message has no %s" % ", ".join(missing)
    mail_cmds = {c["ts"] for c in s["commands"] if c["cmd"] == "MAIL"}
    if m["mail_ts"] is not None and m["mail_ts"] not in mail_cmds:
        return "mail_ts %s is no MAIL command's ts" % m["mail_ts"]
    if m["final_reply_ts"] is not None:
        replies = {when(c["ts"]) + round(c["reply_time"] * 1e6) for c in s["commands"]
                   if c["cmd"] in (".", "BDAT") and c["reply_time"] is not None}
        if when(m["final_reply_ts"]) not in replies:
            return "final_reply_ts %s is no reply to . or BDAT" % m["final_reply_ts"]
    seen = [when(m[k]) for k in keys[:3] if m[k] is not None]
    if seen != sorted(seen):
        return "times out of order: %s" % [m[k] for k in keys[:3]]
    if (m["transaction_time"] is None) != (m["mail_ts"] is None or m["final_reply_ts"] is None):
        return "transaction_time %s with mail_ts %s, final_reply_ts %s" % (
            m["transaction_time"], m["mail_ts"], m["final_reply_ts"])
    if m["transaction_time"] is not None and \
            round(m["transaction_time"] * 1e6) != when(m["final_reply_ts"]) - when(m["mail_ts"]):
        return "transaction_time %s is not final_reply_ts - mail_ts" % m["transaction_time"]
    ends = [c for c in s["commands"] if c["cmd"] == "."]
    if m["accepted"] and m["mail_ts"] and ends and all(
            v is None for v in (m["data_end_ts"], m["final_reply_ts"])):
        return "accepted message without its end of data and reply times"
    return None


def check_sessions(sessions, summary):
    """(a) session end_ts; (a) reply_time on every command; (b) message times: first of each."""
    errs = {}
    for s in sessions:
        if "end_ts" not in s:
            errs.setdefault("end", "session %d has no end_ts" % s["id"])
        elif when(s["end_ts"]) - when(s["ts"]) != round(s["duration"] * 1e6):
            errs.setdefault("end", "session %d: end_ts %s is not ts %s + duration %s" % (
                s["id"], s["end_ts"], s["ts"], s["duration"]))
        for c in s["commands"]:
            err = check_command(c)
            if err:
                errs.setdefault("reply_time", "session %d: %s" % (s["id"], err))
        for m in s["messages"]:
            err = check_message(s, m)
            if err:
                errs.setdefault("message", "session %d: %s" % (s["id"], err))
    return list(errs.values())


def check_summary(sessions, summary):
    if not summary.get("packets"):
        return []
    if "start_ts" not in summary or "end_ts" not in summary:
        return ["summary without start_ts/end_ts"]
    start, end = when(summary["start_ts"]), when(summary["end_ts"])
    if start > end:
        return ["summary start_ts after end_ts"]
    for s in sessions:
        if when(s["ts"]) < start or when(s.get("end_ts", s["ts"])) > end:
            return ["session %d outside the summary's start_ts..end_ts" % s["id"]]
    return []


def check_records(records):
    """Every problem kind found, the first of each."""
    sessions = [r for r in records if r["type"] == "session"]
    summary = records[-1] if records and records[-1]["type"] == "summary" else None
    if summary is None:
        return ["no summary last"]
    return check_sessions(sessions, summary) + check_summary(sessions, summary)


def empty_capture(binary, tmp):
    """A pcap file with a header and no packet: no start or end in the summary."""
    path = os.path.join(tmp, "empty.pcap")
    with open(path, "wb") as f:
        f.write(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
    records, err = run_json(binary, path)
    if err:
        return err
    summary = records[-1]
    if summary.get("packets") != 0 or "start_ts" in summary or "end_ts" in summary:
        return "empty capture: summary %s" % json.dumps(summary)[:200]
    return None


# ----------------------------------------------------------------------------
# README
# ----------------------------------------------------------------------------

def readme_lines():
    """The `$ smtpscope ...` lines of README's "Analysing with jq and pandas" section."""
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    m = re.search(r"^## Analysing with jq and pandas\n(.*?)(?=^## )", text, re.S | re.M)
    if not m:
        return None
    return [line.strip()[2:] for line in m.group(1).splitlines()
            if line.startswith("    $ smtpscope ")]


def answers(records):
    """The four questions, answered from the JSON here."""
    sessions = [r for r in records if r["type"] == "session"]
    failures = collections.Counter(
        (s["server"]["ip"], c["reason"]) for s in sessions for c in s["commands"]
        if c["result"].endswith("failure"))
    hours = collections.Counter(s["ts"][:13] for s in sessions)
    slowest = max((c["reply_time"] for s in sessions for c in s["commands"]
                   if c.get("reply_time") is not None), default=None)
    deliver = [(str(s["id"]), m["mail_from"] or "", m["outcome"], m.get("transaction_time"))
               for s in sessions for m in s["messages"]]
    return failures, hours, slowest, deliver


def compare_jq(question, out, want):
    """What a jq line printed against the answer computed here; None when they agree."""
    failures, hours, slowest, deliver = want
    lines = [line for line in out.splitlines() if line.strip()]
    if question == 0:
        got = collections.Counter()
        for line in lines:
            n, rest = line.strip().split(" ", 1)
            ip, reason = rest.split("\t")
            got[(ip, reason)] = int(n)
        return None if got == failures else "got %s, want %s" % (dict(got), dict(failures))
    if question == 1:
        got = collections.Counter({line.split()[1]: int(line.split()[0]) for line in lines})
        return None if got == hours else "got %s, want %s" % (dict(got), dict(hours))
    if question == 2:
        top = float(lines[0].split("\t")[0]) if lines else None
        return None if top == slowest else "top reply_time %s, want %s" % (top, slowest)
    got = [tuple(line.split("\t")) for line in out.splitlines()]
    want4 = [(i, f, o, "" if t is None else json.dumps(t)) for i, f, o, t in deliver]
    return None if got == want4 else "got %s, want %s" % (got, want4)


PANDAS_WANTS = [["reason"], ["2026"], ["reply_time", "command"], ["transaction_time", "outcome"]]


def check_readme(binary, records):
    lines = readme_lines()
    if not lines or len(lines) != 8:
        return ["README: the section should hold 8 `$ smtpscope` lines (jq and pandas, four "
                "questions), found %d" % len(lines or [])], 0
    want = answers(records)
    failures, hours, slowest, deliver = want
    problems, ran = [], 0
    # the answers themselves: what the capture must show for the lines to mean anything
    if not failures:
        problems.append("answers: no failure per server in the sample")
    if sum(hours.values()) < 2:
        problems.append("answers: fewer than 2 sessions per hour")
    if not slowest:
        problems.append("answers: no reply_time")
    if not any(o == "delivered" and t is not None for _, _, o, t in deliver):
        problems.append("answers: no delivered message with its transaction_time")
    have_jq = shutil.which("jq") is not None
    python = pandas_python()
    have_pandas = python is not None
    env = dict(os.environ)
    if python:  # the README's "python3" is the one that has pandas (Debian's, under pyenv)
        bindir = tempfile.mkdtemp(prefix="smtpscope-py-")
        atexit.register(shutil.rmtree, bindir, True)
        os.symlink(python, os.path.join(bindir, "python3"))
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    for n, line in enumerate(lines):
        question, pandas = n // 2, "pandas" in line
        for prog in re.findall(r"python3 -c '([^']*)'", line):
            try:
                compile(prog, "README line %d" % (n + 1), "exec")
            except SyntaxError as e:
                problems.append("README line %d: python does not compile: %s" % (n + 1, e))
        if (pandas and not have_pandas) or (not pandas and not have_jq):
            print("SKIP README %s line %d: %s is not installed" % (
                "pandas" if pandas else "jq", n + 1, "pandas" if pandas else "jq"))
            continue
        cmd = line.replace("mail.pcap", shlex.quote(SAMPLE), 1)
        cmd = shlex.quote(os.path.abspath(binary)) + cmd[len("smtpscope"):]
        p = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True,
                           timeout=TIMEOUT, text=True, env=env)
        ran += 1
        if p.returncode != 0:
            problems.append("README line %d: exit %d: %s" % (n + 1, p.returncode,
                                                              p.stderr.strip()[-300:]))
            continue
        if pandas:
            missing = [w for w in PANDAS_WANTS[question] if w not in p.stdout]
            err = "does not print %s" % missing if missing else None
        else:
            err = compare_jq(question, p.stdout, want)
        if err:
            problems.append("README line %d: %s" % (n + 1, err))
        else:
            print("PASS README line %d (%s)" % (n + 1, "pandas" if pandas else "jq"))
    return problems, ran


def pandas_python():
    """A python3 that imports pandas: the one on PATH, else Debian's (python3-pandas)."""
    for exe in (shutil.which("python3"), "/usr/bin/python3"):
        if exe and subprocess.run([exe, "-c", "import pandas"], capture_output=True,
                                  timeout=TIMEOUT).returncode == 0:
            return exe
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "smtpscope"))
    args = ap.parse_args()
    if not os.access(args.bin, os.X_OK):
        print("analyst: ERROR: binary %s not found (build it first)" % args.bin)
        return 2
    failed = 0
    pcaps = sorted(glob.glob(os.path.join(REPO, "samples", "*.pcap")) +
                   glob.glob(os.path.join(REPO, "samples", "edge", "*.pcap*")) +
                   glob.glob(os.path.join(REPO, "samples", "trust", "*.pcap*")))
    for path in pcaps:
        name = os.path.relpath(path, os.path.join(REPO, "samples"))
        records, err = run_json(args.bin, path)
        errs = [err] if err else check_records(records)
        if errs:
            failed += 1
            print("FAIL %s: %s" % (name, " | ".join(errs)))
    print("%s times in %d captures" % ("FAIL" if failed else "PASS", len(pcaps)))
    tmp = os.environ.get("TMPDIR", "/tmp")
    err = empty_capture(args.bin, tmp)
    if err:
        failed += 1
        print("FAIL " + err)
    records, err = run_json(args.bin, SAMPLE)
    problems, ran = check_readme(args.bin, records) if not err else (["sample: " + err], 0)
    for p in problems:
        print("FAIL " + p)
    failed += len(problems)
    print("analyst: %s (%d captures, %d README lines run)" % (
        "%d failed" % failed if failed else "all passed", len(pcaps), ran))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
