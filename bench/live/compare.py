#!/usr/bin/env python3
"""Compare smtpscope's live JSON output with an offline run of the same capture.

    python3 bench/live/compare.py LIVE.json OFFLINE.json [--exclude-client IP]

Sessions are matched by client ip/port + server ip/port (several sessions on one 4-tuple
are matched in order of their first packet); for each pair the state and the sequence of
(command, reply code) must be equal. Sessions whose client is --exclude-client (the bench's
readiness probes) are left out of the live side. Prints counts, the first differences and
the live summary's kernel counters; exit 0 when every session matches.

    python3 bench/live/compare.py --tally LIVE.json [--against OFFLINE.json]

streams a (large) live output and prints only counts: sessions, states, commands, and the
summary record (for the looped replay, whose output is over a GB); with --against, how many
live sessions equal a session of the offline run with the same ports and family (the
addresses differ: tcpreplay --unique-ip changes them each loop).
"""
import collections
import json
import sys


def records(path):
    with open(path) as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def sessions(path, exclude, seen):
    """The session records of path, less the client exclude's; the summary goes in seen."""
    for o in records(path):
        if o.get("type") == "summary":
            seen["summary"] = o
        elif o.get("type") == "session" and not (exclude and o["client"]["ip"] == exclude):
            yield o


def cmds(s):
    return tuple((c["cmd"], (c.get("reply") or {}).get("code")) for c in s["commands"])


def key(s):
    return (s["client"]["ip"], s["client"]["port"], s["server"]["ip"], s["server"]["port"])


def fmt(cs):
    return " ".join("%s:%s" % (c, "-" if r is None else r) for c, r in cs)


def load(path, exclude=None):
    by_key, seen, n = collections.defaultdict(list), {}, 0
    for o in sessions(path, exclude, seen):
        by_key[key(o)].append(o)
        n += 1
    for v in by_key.values():
        v.sort(key=lambda s: (s["ts"], s["id"]))
    return by_key, seen.get("summary"), n


def compare(live, offline, exclude):
    lk, lsum, ln = load(live, exclude)
    ok, osum, on = load(offline)
    same = diff = 0
    shown = 0
    for k in sorted(set(lk) | set(ok)):
        a, b = lk.get(k, []), ok.get(k, [])
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else None
            y = b[i] if i < len(b) else None
            if x and y and x["state"] == y["state"] and cmds(x) == cmds(y):
                same += 1
                continue
            diff += 1
            if shown < 10:
                shown += 1
                print("  differs %s #%d" % (k, i + 1))
                print("    live:    %s" % ("absent" if not x else x["state"] + " " + fmt(cmds(x))))
                print("    offline: %s" % ("absent" if not y else y["state"] + " " + fmt(cmds(y))))
    states = collections.Counter(s["state"] for v in lk.values() for s in v)
    ncmd = sum(len(s["commands"]) for v in lk.values() for s in v)
    print("sessions: live %d, offline %d; identical (state + every command and reply code) %d, "
          "different %d" % (ln, on, same, diff))
    print("live states: %s; live commands: %d" % (dict(sorted(states.items())), ncmd))
    if lsum:
        print("live summary: packets %s, kernel_received %s, kernel_dropped %s, "
              "interface_dropped %s, gap_bytes %s" % (lsum.get("packets"), lsum.get("kernel_received"),
                                                     lsum.get("kernel_dropped"), lsum.get("interface_dropped"),
                                                     lsum.get("gap_bytes")))
    if osum:
        print("offline summary: packets %s (all packets of the file), tcp_segments %s, "
              "gap_bytes %s" % (osum.get("packets"), osum.get("tcp_segments"), osum.get("gap_bytes")))
    return 0 if diff == 0 and ln == on else 1


def tally(path, exclude, against=None):
    n, states, ncmd, seen = 0, collections.Counter(), 0, {}
    tuples = set()
    # --unique-ip changes the addresses each loop, never the ports: a live session is "as
    # offline" when a session of the offline run has its ports, family, state and commands
    ref = collections.defaultdict(set)
    if against:
        for o in records(against):
            if o.get("type") == "session":
                ref[(o["client"]["port"], o["server"]["port"], ":" in o["client"]["ip"])].add(
                    (o["state"], cmds(o)))
    same = collections.Counter()
    odd = collections.Counter()
    for o in sessions(path, exclude, seen):
        n += 1
        states[o["state"]] += 1
        ncmd += len(o["commands"])
        tuples.add(key(o))
        if against:
            fam = "IPv6" if ":" in o["client"]["ip"] else "IPv4"
            k = (o["client"]["port"], o["server"]["port"], fam == "IPv6")
            ok = (o["state"], cmds(o)) in ref.get(k, ())
            same[(fam, ok)] += 1
            if not ok:
                odd[(fam, o["state"])] += 1
    if against:
        for fam in ("IPv4", "IPv6"):
            print("%s: %d sessions as offline (ports, state, every command and reply code), %d not"
                  % (fam, same[(fam, True)], same[(fam, False)]))
        print("not as offline, by state: %s" % {"%s %s" % k: v for k, v in sorted(odd.items())})
    print("sessions %d (distinct 4-tuples %d), commands %d, states %s"
          % (n, len(tuples), ncmd, dict(sorted(states.items()))))
    summary = seen.get("summary")
    if summary:
        print("summary: " + json.dumps({k: summary.get(k) for k in (
            "packets", "sessions", "kernel_received", "kernel_dropped", "interface_dropped",
            "gap_bytes", "evicted_flows", "timed_out_flows", "queue_overflows", "interrupted")}))
    return 0


def main(argv):
    exclude = None
    if "--exclude-client" in argv:
        i = argv.index("--exclude-client")
        exclude = argv[i + 1]
        del argv[i:i + 2]
    against = None
    if "--against" in argv:
        i = argv.index("--against")
        against = argv[i + 1]
        del argv[i:i + 2]
    if argv and argv[0] == "--tally":
        return tally(argv[1], exclude, against)
    if len(argv) != 2:
        sys.exit(__doc__)
    return compare(argv[0], argv[1], exclude)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
