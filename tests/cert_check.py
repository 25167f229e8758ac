#!/usr/bin/env python3
"""cert_check.py - the server's certificate in smtpscope's JSON and verdict, end to end.

Runs `BIN -r tests/data/tls/NAME.pcap -p PORT -o json` over the TLS 1.2 captures of
samples/make-tls-samples.sh and checks the session's tls.certificate against what openssl
printed for the certificate when the script made it (NAME.cert.txt), the flags against the
capture's own time, the JSON against --json-schema (schema_check.py's validator), and the
verdict: the flaw named as the cause when the client refused the certificate, "likely"
unless the alert names it (what the script made each case to be; see its header).

Usage: python3 tests/cert_check.py [--bin PATH]
"""
import argparse
import calendar
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import schema_check  # noqa: E402

DATA = os.path.join(HERE, "data", "tls")

# name, port (make-tls-samples.sh), expected flags, verdict must contain / must not contain
CASES = [
    ("tls12_ok", 44331, dict(self_signed=True, name_matches=True), None, "Likely cause"),
    ("tls12_verify", 44334, dict(self_signed=True, name_matches=True),
     "As the alert says, the server's certificate (mx.example.test) is self-signed", None),
    ("tls12_expired", 44336, dict(expired=True, name_matches=True),
     "As the alert says, the server's certificate (mx.example.test) expired on 2021-01-01", None),
    ("tls12_notyet", 44337, dict(not_yet_valid=True, name_matches=True),
     "Likely cause (the alert does not name it): the server's certificate (mx.example.test) "
     "is not valid before 2099-01-01", None),
    ("tls12_chain", 44338, dict(name_matches=True), None, "Likely cause"),
    ("tls12_mismatch", 44339, dict(name_matches=False),
     "does not name other.example.net", "As the alert says"),
]


def openssl_facts(name):
    f = {"sans": []}
    lines = open(os.path.join(DATA, name + ".cert.txt")).read().splitlines()
    for i, line in enumerate(lines):
        for k in ("subject", "issuer", "notBefore", "notAfter"):
            if line.startswith(k + "="):
                f[k] = line[len(k) + 1:]
        if line.startswith("X509v3 Subject Alternative Name"):
            f["sans"] = [n.strip()[4:] for n in lines[i + 1].split(",")]
    for k in ("notBefore", "notAfter"):
        t = time.strptime(" ".join(f[k].split()), "%b %d %H:%M:%S %Y GMT")
        f[k] = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(calendar.timegm(t)))
    for k in ("subject", "issuer"):
        f[k] = dict(p.split("=", 1) for p in f[k].split(","))
    return f


def check(binary, schema, name, port, flags, contains, excludes):
    out = subprocess.run([binary, "-r", os.path.join(DATA, name + ".pcap"), "-p", str(port),
                          "-o", "json"], capture_output=True, timeout=60).stdout
    records, err = schema_check.json_lines(out)
    if err:
        return err
    err = schema_check.check_json(records, schema)
    if err:
        return err
    s = records[0]
    c = s["tls"]["certificate"]
    o = openssl_facts(name)
    want = {"subject": o["subject"]["CN"], "issuer": o["issuer"]["CN"],
            "issuer_org": o["issuer"].get("O"), "not_before": o["notBefore"],
            "not_after": o["notAfter"], "sans": o["sans"],
            "self_signed": False, "expired": False, "not_yet_valid": False}
    want.update(flags)
    for k, v in want.items():
        if c.get(k) != v:
            return "certificate.%s: %r, openssl/the script say %r" % (k, c.get(k), v)
    if contains and contains not in s["verdict"]:
        return "verdict lacks %r: %s" % (contains, s["verdict"])
    if excludes and excludes in s["verdict"]:
        return "verdict has %r: %s" % (excludes, s["verdict"])
    return audit_errors(binary, name, port, o, want)


def audit_errors(binary, name, port, o, want):
    """--audit: the server's certificate_not_after and its expiry flags, from openssl's dates."""
    out = subprocess.run([binary, "-r", os.path.join(DATA, name + ".pcap"), "-p", str(port),
                          "-o", "json", "--audit"], capture_output=True, timeout=60).stdout
    hosts = [r for r in map(__import__("json").loads, out.splitlines())
             if r.get("type") == "host" and r["role"] == "server"]
    if len(hosts) != 1:
        return "audit: %d server hosts, want 1" % len(hosts)
    h = hosts[0]
    if h["tls"]["certificate_not_after"] != o["notAfter"]:
        return "audit certificate_not_after %r, openssl says %r" % (
            h["tls"]["certificate_not_after"], o["notAfter"])
    if ("certificate expired" in h["flags"]) != want["expired"]:
        return "audit flags %s, expired %s" % (h["flags"], want["expired"])
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "smtpscope"))
    a = ap.parse_args()
    schema = schema_check.load_schema(a.bin, None)
    if isinstance(schema, tuple):
        schema = schema[0]
    failed = 0
    for case in CASES:
        err = check(a.bin, schema, *case)
        print("%s %s%s" % ("FAIL" if err else "PASS", case[0], ": " + err if err else ""))
        failed += bool(err)
    print("cert_check: %d of %d passed" % (len(CASES) - failed, len(CASES)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
