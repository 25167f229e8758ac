#!/usr/bin/env python3
"""PromQL for tests/metrics_test.sh, through Prometheus's HTTP API on 127.0.0.1:9090.

  metrics_promql.py wait-up                      until up{job="smtpscope"} == 1 (60 s)
  metrics_promql.py check SAMPLES AUDIT PCAP...  the expected counts, once the scrapes show
                                                 every packet of the pcaps and no open session
  metrics_promql.py summary JSON TEXTFILE        the textfile at exit against the JSON summary
"""
import json
import os
import struct
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
API = "http://127.0.0.1:9090/api/v1/query?query="


def query(q):
    """{labels tuple: value} of an instant vector."""
    with urllib.request.urlopen(API + urllib.parse.quote(q), timeout=5) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError("%s: %s" % (q, body))
    return {tuple(sorted((k, v) for k, v in s["metric"].items() if k not in ("job", "instance")
                         and k != "__name__")): float(s["value"][1])
            for s in body["data"]["result"]}


def scalar(q):
    v = query(q)
    return sum(v.values()) if v else None


def pcap_packets(path):
    """Records in a classic pcap file, counted from its headers."""
    data = open(path, "rb").read()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off, n = 24, 0
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        off += 16 + incl
        n += 1
    return n


def wait_up():
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if scalar('up{job="smtpscope"}') == 1:
                return 0
        except OSError:
            pass
        time.sleep(0.5)
    return 1


def expected(paths):
    import metrics_check as mc  # the same reading of the expected files as the offline test
    states, classes, auth, servers, sessions = {}, {}, {}, {}, 0
    for p in paths:
        exp = json.load(open(p[:-5] + ".expected.json"))
        sessions += len(exp["sessions"])
        for total, part in zip((states, classes, auth, servers), mc.expected_counts(exp)):
            for k, v in part.items():
                total[k] = total.get(k, 0) + v
    # a session the file leaves open is still open live after the replay: --idle ends it
    if "unfinished" in states:
        states["timeout"] = states.get("timeout", 0) + states.pop("unfinished")
    return sessions, states, classes, auth, servers


def by(q, label):
    return {dict(k)[label]: v for k, v in query(q).items() if v}


def check(samples_dir, audit, pcaps):
    paths = list(pcaps) + [audit]
    packets = sum(pcap_packets(p) for p in paths)
    sessions, states, classes, auth, servers = expected(paths)
    deadline, seen = time.time() + 60, None
    while time.time() < deadline:
        seen = (scalar("smtpscope_capture_packets_total"), scalar("smtpscope_open_sessions"))
        if seen[0] is not None and seen[0] >= packets and seen[1] == 0:
            break
        time.sleep(0.5)
    else:
        print("prometheus: FAIL: the scrapes never showed %d packets and no open session: "
              "packets %s, open %s" % (packets, seen[0], seen[1]))
        return 1
    time.sleep(1.5)  # one more scrape: the counters of the sessions that ended last
    fails = 0
    checks = [
        ("sum(smtpscope_sessions_total)", lambda q: scalar(q), sessions),
        ("sum by (state) (smtpscope_sessions_total)", lambda q: by(q, "state"), states),
        ("sum by (class) (smtpscope_replies_total)", lambda q: by(q, "class"), classes),
        ("sum(smtpscope_replies_by_reason_total)", lambda q: scalar(q), sum(classes.values())),
        ("sum by (result) (smtpscope_auth_attempts_total)", lambda q: by(q, "result"), auth),
        ("sum by (server) (smtpscope_server_sessions_total)", lambda q: by(q, "server"), servers),
        ("sum(smtpscope_session_outcomes_total)", lambda q: scalar(q), sessions),
        ("smtpscope_capture_packets_total", lambda q: scalar(q), packets),
        ("smtpscope_kernel_dropped_packets_total", lambda q: scalar(q), 0),
        ('smtpscope_audit_flagged_hosts{flag="password_guessing"}', lambda q: scalar(q), 1),
        ("sum(increase(smtpscope_sessions_total[5m])) > 0", lambda q: scalar(q) is not None,
         True),
    ]
    for q, get, want in checks:
        got = get(q)
        if isinstance(want, dict):
            got = {k: int(v) for k, v in got.items()}
        elif isinstance(got, float):
            got = int(got)
        if got == want:
            print("prometheus: PASS: %s = %s, as expected" % (q, got))
        else:
            print("prometheus: FAIL: %s = %s, expected %s" % (q, got, want))
            fails += 1
    return fails


def summary(json_path, textfile):
    import metrics_check as mc
    recs = [json.loads(l) for l in open(json_path, encoding="utf-8", errors="surrogateescape")
            if l.strip()]
    summ = [r for r in recs if r.get("type") == "summary"]
    if not summ:
        print("prometheus: FAIL: no JSON summary")
        return 1
    bad = mc.check_against_summary(mc.parse(open(textfile).read()), summ[-1])
    if bad:
        print("prometheus: FAIL: the textfile at exit against the JSON summary: %s" % "; ".join(bad))
        return 1
    print("prometheus: PASS: the textfile at exit agrees with the JSON summary (%d sessions, "
          "%d replies, %d packets, %d kernel drops)" % (summ[-1]["sessions"], summ[-1]["replies"],
                                                        summ[-1]["packets"],
                                                        summ[-1]["kernel_dropped"]))
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "wait-up":
        sys.exit(wait_up())
    if cmd == "check":
        sys.exit(1 if check(sys.argv[2], sys.argv[3], sys.argv[4:]) else 0)
    sys.exit(summary(sys.argv[2], sys.argv[3]))
