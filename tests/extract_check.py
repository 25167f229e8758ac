#!/usr/bin/env python3
"""--extract end to end: every message in the samples comes out as a mail a mail client reads.

For every capture under samples/ and samples/edge/, runs `BIN -r PCAP -o json --extract TMP`
and checks, with Python's own email package as the independent reader:
  - every file listed in TMP/index.jsonl exists, and nothing else but the index was written;
  - complete messages are NAME.eml, incomplete ones NAME.eml.partial, as the index says;
  - each complete .eml parses (email.parser.BytesParser, policy=default) with no defect,
    ends with CRLF and not with the SMTP terminator, and its Subject and Message-ID equal
    what the session JSON reports for that message, and its size equals the JSON size;
  - the index agrees with the session JSON (session, message, mail_from, rcpt_to, outcome);
  - a second run into the same directory overwrites nothing (every earlier file unchanged).
usage: python3 tests/extract_check.py [--bin build/smtpscope] [--samples DIR ...]
"""
import argparse
import email.parser
import email.policy
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile


def run(binary, pcap, outdir):
    proc = subprocess.run([binary, "-r", pcap, "-o", "json", "--extract", outdir],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    sessions = {}
    for line in proc.stdout.decode("utf-8").splitlines():
        rec = json.loads(line)
        if rec["type"] == "session":
            sessions[rec["id"]] = rec
    return proc.returncode, sessions


def check_file(path, msg, problems):
    """One complete .eml against what the session said of its message."""
    with open(path, "rb") as f:
        raw = f.read()
    parsed = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
    if parsed.defects:
        problems.append(f"{os.path.basename(path)}: parse defects {parsed.defects}")
    if not raw.endswith(b"\r\n") or b"\r\n.\r\n" in raw[-5:]:
        problems.append(f"{os.path.basename(path)}: does not end as a message (CRLF, no dot)")
    if msg.get("size") is not None and len(raw) != msg["size"]:
        problems.append(f"{os.path.basename(path)}: {len(raw)} bytes, JSON size {msg['size']}")
    for header, key in (("Subject", "subject"), ("Message-ID", "message_id")):
        got = parsed.get(header)
        got = str(got).strip() if got is not None else None
        if msg.get(key) is not None and got != msg[key]:
            problems.append(f"{os.path.basename(path)}: {header} {got!r}, JSON {msg[key]!r}")


def check_index(outdir, sessions, problems):
    names = set()
    with open(os.path.join(outdir, "index.jsonl"), encoding="utf-8") as f:
        for line in f:
            ent = json.loads(line)
            names.add(ent["file"])
            msg = sessions[ent["session"]]["messages"][ent["message"] - 1]
            partial = ent["file"].endswith(".eml.partial")
            if partial == ent["complete"]:
                problems.append(f"{ent['file']}: complete={ent['complete']} but named so")
            for key in ("mail_from", "rcpt_to", "outcome", "subject", "message_id"):
                if ent[key] != msg[key]:
                    problems.append(f"{ent['file']}: index {key} {ent[key]!r}, JSON {msg[key]!r}")
            if not os.path.exists(os.path.join(outdir, ent["file"])):
                problems.append(f"{ent['file']}: listed but missing")
            elif not partial:
                check_file(os.path.join(outdir, ent["file"]), msg, problems)
    extra = set(os.listdir(outdir)) - names - {"index.jsonl"}
    if extra:
        problems.append(f"files not in the index: {sorted(extra)}")
    return len(names)


def digests(outdir):
    out = {}
    for name in os.listdir(outdir):
        with open(os.path.join(outdir, name), "rb") as f:
            out[name] = hashlib.sha256(f.read()).hexdigest()
    return out


COVERAGE_BUILD = False  # set in main(): such a build keeps root (smtpscope.c)


def writable_for_smtpscope(outdir):
    """As root smtpscope writes as the user it drops to (smtpscope, or nobody): give it the directory."""
    if os.geteuid() != 0 or COVERAGE_BUILD:
        return
    import pwd
    for name in ("smtpscope", "nobody"):
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            continue
        os.chown(outdir, pw.pw_uid, pw.pw_gid)
        return


def check_capture(binary, pcap):
    problems = []
    with tempfile.TemporaryDirectory() as outdir:
        writable_for_smtpscope(outdir)
        rc, sessions = run(binary, pcap, outdir)
        if rc not in (0, 1):
            return [f"exit status {rc}"], 0
        n = check_index(outdir, sessions, problems)
        before = digests(outdir)
        run(binary, pcap, outdir)  # again, into the same directory
        after = digests(outdir)
        changed = [k for k in before if after.get(k) != before[k]]
        if changed:
            problems.append(f"second run changed {changed}")
    return problems, n


def summary_of(stdout):
    for line in stdout.decode("utf-8").splitlines():
        rec = json.loads(line)
        if rec["type"] == "summary":
            return rec
    return {}


def check_caps(binary):
    """--limit extract-files and extract-bytes: no more is written, and what is not is counted."""
    problems = []
    pcap = os.path.join("samples", "multi-message.pcap")
    with tempfile.TemporaryDirectory() as outdir:
        writable_for_smtpscope(outdir)
        p = subprocess.run([binary, "-r", pcap, "-o", "json", "--extract", outdir,
                            "--limit", "extract-files=1"], capture_output=True, timeout=60)
        emls = [n for n in os.listdir(outdir) if ".eml" in n]
        ext = summary_of(p.stdout).get("extracted", {})
        if p.returncode != 0 or len(emls) != 1 or ext.get("files") != 1 or ext.get("skipped", 0) < 1:
            problems.append(f"extract-files=1: exit {p.returncode}, {len(emls)} files, {ext}")
    with tempfile.TemporaryDirectory() as outdir:
        writable_for_smtpscope(outdir)
        p = subprocess.run([binary, "-r", pcap, "-o", "json", "--extract", outdir,
                            "--limit", "extract-bytes=100"], capture_output=True, timeout=60)
        sizes = sum(os.path.getsize(os.path.join(outdir, n)) for n in os.listdir(outdir)
                    if ".eml" in n)
        partial = [n for n in os.listdir(outdir) if n.endswith(".partial")]
        ext = summary_of(p.stdout).get("extracted", {})
        if p.returncode != 0 or sizes != 100 or not partial or ext.get("cut_bytes", 0) <= 0:
            problems.append(f"extract-bytes=100: exit {p.returncode}, {sizes} bytes, "
                            f"{len(partial)} partial, {ext}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="build/smtpscope")
    ap.add_argument("--samples", action="append")
    args = ap.parse_args()
    global COVERAGE_BUILD
    COVERAGE_BUILD = "coverage build" in subprocess.run([args.bin, "--version"],
                                                        capture_output=True, text=True).stdout
    dirs = args.samples or ["samples", "samples/edge"]
    failed = total = 0
    for pcap in sorted(p for d in dirs for p in glob.glob(os.path.join(d, "*.pcap"))):
        problems, n = check_capture(args.bin, pcap)
        total += n
        if problems:
            failed += 1
            print(f"FAIL {pcap}: " + "; ".join(problems[:5]))
    caps = check_caps(args.bin)
    for p in caps:
        print("FAIL caps: " + p)
    failed += len(caps)
    print(f"extract: {total} messages checked, caps checked, {failed} failure(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
