#!/usr/bin/env python3
"""tls_hostile_check.py - hostile TLS inside captures decrypted with their key log.

The captures and key logs of tests/data/tls-hostile/ (made by its make.py; see there) are read
with --tls-keylog: smtpscope must exit 0 with no sanitizer report, and
  reent, small, client  TLS begun again inside the decrypted TLS is counted, not read
                        (anomaly tls_undecrypted, unparsed bytes), the dialog before it kept;
  tls13cbc              a CBC suite under TLS 1.3 is "unsupported", never decrypted;
  blind                 a record before the ServerHello does not stop the decryption: the
                        MAIL inside is read.

Usage: python3 tests/tls_hostile_check.py [--bin PATH]
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "tls-hostile")


def run(binary, name, keylog):
    argv = [binary, "-r", os.path.join(DATA, name + ".pcap"), "-p", "25,465", "-o", "json",
            "--tls-keylog", os.path.join(DATA, keylog)]
    if os.geteuid() == 0:
        argv[1:1] = ["-Z", "root"]
    p = subprocess.run(argv, capture_output=True, timeout=60)
    err = p.stderr.decode(errors="replace")
    if p.returncode != 0 or "Sanitizer" in err or "runtime error" in err:
        return None, "exit %d: %s" % (p.returncode, err[-400:])
    recs = [json.loads(line) for line in p.stdout.decode().splitlines()]
    sessions = [r for r in recs if r["type"] == "session"]
    if len(sessions) != 1:
        return None, "%d sessions, want 1" % len(sessions)
    return sessions[0], None


def inner_tls(s):
    cmds = [c["cmd"] for c in s["commands"]]
    if "tls_undecrypted" not in s["anomalies"] or sum(s["unparsed"].values()) == 0:
        return "anomalies %s, unparsed %s" % (s["anomalies"], s["unparsed"])
    if cmds[:3] != ["CONNECT", "EHLO", "STARTTLS"] or not s["tls"]["decrypted"]:
        return "the dialog before the inner STARTTLS: %s, decrypted %s" % (
            cmds, s["tls"]["decrypted"])
    return None


def unsupported(s):
    t = s["tls"]
    return None if t["keys"] == "unsupported" and not t["decrypted"] else "tls %s" % t


def early_record(s):
    cmds = [c["cmd"] for c in s["commands"]]
    return None if "MAIL" in cmds and s["tls"]["decrypted"] else "commands %s, tls %s" % (
        cmds, s["tls"])


CASES = [("reent", "tls12.keylog", inner_tls), ("small", "tls12.keylog", inner_tls),
         ("client", "tls12.keylog", inner_tls), ("tls13cbc", "tls13cbc.keylog", unsupported),
         ("blind", "tls12.keylog", early_record)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "smtpscope"))
    a = ap.parse_args()
    failed = 0
    for name, keylog, check in CASES:
        s, err = run(a.bin, name, keylog)
        err = err or check(s)
        print("%s %s%s" % ("FAIL" if err else "PASS", name, ": " + err if err else ""))
        failed += bool(err)
    print("tls_hostile: %d of %d passed" % (len(CASES) - failed, len(CASES)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
