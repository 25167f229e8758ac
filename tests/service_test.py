#!/usr/bin/env python3
"""service_test.py - smtpscope as the service that service/ describes (issue 17, point 3).

1. service/smtpscope.service: `systemd-analyze verify` (ExecStart pointed at the binary under
   test, the man page findable) and `systemd-analyze security --offline` (the exposure score
   is printed; more than 2.5 fails). Skipped, one line, without systemd-analyze.
2. Root, in two network namespaces of its own joined by a veth pair (nothing else is
   addressed): the binary runs as it would under the unit, as an unprivileged user (nobody,
   standing in for DynamicUser=) with only the capabilities of the unit's
   CapabilityBoundingSet= (setpriv --inh-caps/--ambient-caps/--bounding-set) and the unit's
   options (-o json --output LOGDIR/sessions.json) plus -w LOGDIR/smtp.pcap, under strace:
   - while it captures: its uid is the user's, no capability is left, no_new_privs is set;
   - without the capabilities it cannot open the interface (exit 1, one line saying so);
   - every system call it made is allowed by the unit's SystemCallFilter= lines (expanded
     by systemd-analyze syscall-filter) and every socket family by RestrictAddressFamilies=
     (skipped, said, without strace or systemd-analyze);
   - half of the samples are replayed (tcpreplay), then service/smtpscope.logrotate, with
     only its paths and its reload command changed, is run with `logrotate -f` and a state
     file in the test's directory (its postrotate sends SIGHUP), then the other half: both
     old and new files must hold records (sessions.json.1 and sessions.json; smtp.pcap.1
     and smtp.pcap), every line one whole JSON record, the sessions of both files together
     those of reading the samples offline, and the packets of both pcaps the summary's.
Prints one "service: SKIP: ..." line for a part it cannot run; exit 1 on any failure.

    python3 tests/service_test.py --bin build/smtpscope
"""
import argparse
import glob
import json
import os
import pwd
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
UNIT = os.path.join(ROOT, "service", "smtpscope.service")
LOGROTATE = os.path.join(ROOT, "service", "smtpscope.logrotate")
MAX_EXPOSURE = 2.5
FAILS = []
SRV, CLI = "10.199.2.1", "10.199.2.2"


def say(kind, what):
    print("service: %s: %s" % (kind, what), flush=True)


def check(ok, what, detail=""):
    say("PASS" if ok else "FAIL", what + ("" if ok else " (%s)" % str(detail)[:600]))
    if not ok:
        FAILS.append(what)
    return ok


def sh(args, timeout=60, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def unit_values(key):
    """Every value of KEY= in the unit, in order (each line's words)."""
    out = []
    for line in open(UNIT):
        if line.startswith(key + "="):
            out.append(line.split("=", 1)[1].split())
    return out


# --- 1. systemd-analyze -----------------------------------------------------------------
def analyze(binary, work):
    if not shutil.which("systemd-analyze"):
        say("SKIP", "systemd-analyze missing: the unit is not verified")
        return
    unit = os.path.join(work, "smtpscope.service")
    text = open(UNIT).read()
    check("/usr/local/bin/smtpscope " in text, "the unit runs /usr/local/bin/smtpscope (make install)")
    with open(unit, "w") as f:
        f.write(text.replace("/usr/local/bin/smtpscope", binary))
    man = os.path.join(work, "man", "man1")
    os.makedirs(man)
    shutil.copy(os.path.join(ROOT, "smtpscope.1"), man)
    env = dict(os.environ, MANPATH=os.path.join(work, "man"))
    p = sh(["systemd-analyze", "verify", unit], env=env)
    check(p.returncode == 0 and not p.stderr.strip(), "systemd-analyze verify", p.stderr)
    p = sh(["systemd-analyze", "security", "--offline=true", "--no-pager", unit])
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)", p.stdout)
    if m:
        check(float(m.group(1)) <= MAX_EXPOSURE, "systemd-analyze security: exposure %s %s (at "
              "most %.1f wanted)" % (m.group(1), m.group(2), MAX_EXPOSURE))
        for line in p.stdout.splitlines():
            if line.startswith("\u2717"):
                say("note", "not set: " + " ".join(line[1:].split()[:1]))
    else:
        check(False, "systemd-analyze security gives a score", p.stdout[-300:] + p.stderr)


def allowed_syscalls():
    """The unit's SystemCallFilter= lines applied in order to systemd's groups."""
    out = sh(["systemd-analyze", "syscall-filter", "--no-pager"]).stdout
    groups, cur = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            cur = line.strip()
            groups[cur] = []
        elif cur and line.strip() and not line.strip().startswith("#"):
            groups[cur].append(line.strip())

    def expand(names, depth=0):
        res = set()
        for x in names:
            res |= expand(groups.get(x, []), depth + 1) if x.startswith("@") and depth < 8 else {x}
        return res

    allowed = None
    for words in unit_values("SystemCallFilter"):
        deny = words[0].startswith("~")
        names = expand([words[0].lstrip("~")] + words[1:])
        if allowed is None:
            allowed = set() if deny else set()
        allowed = allowed - names if deny else allowed | names
    return allowed or set()


# --- 2. a capture as the unit runs it ------------------------------------------------------
class Net:
    def __init__(self):
        self.ns = "smtpscope-svc-%d" % os.getpid()
        self.s, self.c = self.ns + "-s", self.ns + "-c"
        self.up = False

    def create(self):
        for cmd in (["ip", "netns", "add", self.s], ["ip", "netns", "add", self.c]):
            p = sh(cmd)
            if p.returncode:
                return p.stderr.strip().splitlines()[0] if p.stderr.strip() else "ip netns failed"
        self.up = True
        for cmd in (["ip", "link", "add", "name", "vs", "netns", self.s, "type", "veth", "peer",
                     "name", "vc", "netns", self.c],
                    ["ip", "-n", self.s, "addr", "add", SRV + "/24", "dev", "vs"],
                    ["ip", "-n", self.c, "addr", "add", CLI + "/24", "dev", "vc"],
                    ["ip", "-n", self.s, "link", "set", "vs", "up"],
                    ["ip", "-n", self.c, "link", "set", "vc", "up"]):
            p = sh(cmd)
            if p.returncode:
                return p.stderr.strip()
        for _ in range(50):
            if "LOWER_UP" in sh(["ip", "-n", self.c, "link", "show", "vc"]).stdout:
                break
            time.sleep(0.1)
        return None

    def destroy(self):
        if not self.up:
            return
        for ns in (self.s, self.c):
            for pid in sh(["ip", "netns", "pids", ns]).stdout.split():
                try:
                    os.kill(int(pid), 9)
                except OSError:
                    pass
            sh(["ip", "netns", "del", ns])


def status_of(pid):
    fields = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                fields[k] = v.split()
    except OSError:
        pass
    return fields


def caps_of_unit():
    caps = [w for words in unit_values("CapabilityBoundingSet") for w in words]
    return [c.lower().replace("cap_", "") for c in caps]


def setpriv_args(user, caps):
    plus = ",".join("+" + c for c in caps)
    return ["setpriv", "--reuid=%d" % user.pw_uid, "--regid=%d" % user.pw_gid, "--clear-groups",
            "--inh-caps=-all" + ("," + plus if plus else ""),
            "--ambient-caps=-all" + ("," + plus if plus else ""),
            "--bounding-set=-all" + ("," + plus if plus else "")]


def records(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return None
    n, off = 0, 24
    while off + 16 <= len(data):
        off += 16 + struct.unpack("<I", data[off + 8:off + 12])[0]
        n += 1
    return n if off == len(data) else None


def running_summary(pid, err_path, before):
    """SIGUSR1, then the newest running summary line (bounded 3 s)."""
    os.kill(pid, 10)
    for _ in range(30):
        lines = [x for x in open(err_path, errors="replace") if "so far" in x]
        if len(lines) > before:
            return lines[-1], len(lines)
        time.sleep(0.1)
    return "", before


def wait_packets(pid, err_path, want, seen, deadline):
    n = -1
    while time.time() < deadline:
        line, seen = running_summary(pid, err_path, seen)
        m = re.search(r"so far (\d+) packets", line)
        n = int(m.group(1)) if m else -1
        if n >= want:
            return True, seen, n
        time.sleep(0.2)
    return False, seen, n


def offline_sessions(binary, samples):
    total = 0
    for f in samples:
        p = sh([binary, "-r", f, "-o", "json"])
        total += sum(1 for x in p.stdout.splitlines() if '"type":"session"' in x)
    return total


def capture(binary, work, net):
    user = pwd.getpwnam("nobody")
    caps = caps_of_unit()
    check(caps == ["net_raw"], "the unit's capabilities: CAP_NET_RAW only", caps)
    logdir = os.path.join(work, "log")
    os.mkdir(logdir, 0o750)
    os.chown(logdir, user.pw_uid, user.pw_gid)  # LogsDirectory=, owned by the service's user
    os.chmod(work, 0o755)
    base = ["ip", "netns", "exec", net.s]
    cmd = [binary, "-i", "vs", "-o", "json", "--output", os.path.join(logdir, "sessions.json"),
           "-w", os.path.join(logdir, "smtp.pcap"), "-p", "25,2525"]

    # without the capabilities: refused, said in one line
    p = sh(base + setpriv_args(user, []) + cmd, timeout=30)
    # (a coverage build run as another user adds gcov's "profiling:" lines: not ours)
    said = [l for l in p.stderr.splitlines() if not l.startswith("profiling:")]
    check(p.returncode == 1 and "permission denied" in p.stderr and len(said) == 1,
          "without CAP_NET_RAW: refused in one line", "exit %d %s" % (p.returncode, p.stderr))

    trace = os.path.join(work, "strace.txt")
    tracer = ["strace", "-f", "-qq", "-o", trace] if shutil.which("strace") else []
    err_path = os.path.join(work, "scope.err")
    env = dict(os.environ)
    with open(binary, "rb") as f:
        if tracer and b"__asan_init" in f.read():  # LeakSanitizer cannot run under ptrace
            env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "detect_leaks=0"]))
    proc = subprocess.Popen(base + tracer + setpriv_args(user, caps) + cmd, env=env,
                            stdout=subprocess.DEVNULL, stderr=open(err_path, "w"))
    try:
        return run_capture(binary, work, net, proc, err_path, logdir, user, trace, tracer)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def scope_pid(proc, binary):
    """The smtpscope process under ip netns exec, strace and setpriv (they exec or fork it)."""
    for _ in range(100):
        for d in glob.glob("/proc/[0-9]*"):
            try:
                if os.readlink(d + "/exe") == binary and int(d[6:]) >= proc.pid:
                    return int(d[6:])
            except OSError:
                pass
        if proc.poll() is not None:
            return None
        time.sleep(0.05)
    return None


def run_capture(binary, work, net, proc, err_path, logdir, user, trace, tracer):
    pid = scope_pid(proc, binary)
    if not check(pid is not None, "smtpscope started under setpriv", open(err_path).read()):
        return
    # ready once the running summary answers and a refused probe connection is counted
    seen, ok = 0, False
    deadline = time.time() + 20
    port = 39900
    while time.time() < deadline and not ok:
        sh(["ip", "netns", "exec", net.c, "python3", "-c",
            "import socket,sys\ns=socket.socket();s.settimeout(2);s.bind((sys.argv[2],int(sys.argv[3])))\n"
            "try: s.connect((sys.argv[1],2525))\nexcept OSError: pass", SRV, CLI, str(port)])
        port += 1
        ok, seen, _ = wait_packets(pid, err_path, 1, seen, time.time() + 2)
    if not check(ok, "smtpscope captures on the veth", open(err_path).read()[-300:]):
        return
    st = status_of(pid)
    caps = [st.get(k, ["?"])[0] for k in ("CapEff", "CapPrm", "CapInh", "CapAmb")]
    check(int(st["Uid"][1]) == user.pw_uid and all(c == "0" * 16 for c in caps) and
          st.get("NoNewPrivs") == ["1"],
          "while capturing: uid %s, no capability left, no_new_privs" % st["Uid"][1],
          "caps %s, nnp %s" % (caps, st.get("NoNewPrivs")))

    samples = sorted(glob.glob(os.path.join(ROOT, "samples", "*.pcap")))
    halves = (samples[::2], samples[1::2])
    counted = 0
    for n, half in enumerate(halves):
        want = sum(records(f) for f in half)
        _, seen, counted = wait_packets(pid, err_path, 0, seen, time.time() + 3)
        p = sh(["ip", "netns", "exec", net.c, "tcpreplay", "-i", "vc", "--topspeed"] + half,
               timeout=60)
        ok, seen, got = wait_packets(pid, err_path, counted + want, seen, time.time() + 15)
        check(p.returncode == 0 and ok, "replay %d: %d samples, %d packets counted" %
              (n + 1, len(half), got - counted), p.stderr[-200:])
        if n == 0:
            logrotate(work, logdir, pid)
    os.kill(pid, 2)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        check(False, "smtpscope stops on SIGINT within 30 s")
        return
    check(proc.returncode == 0, "smtpscope exit 0 after SIGINT", open(err_path).read()[-300:])
    check_files(binary, logdir, samples)
    if tracer:
        check_trace(trace, binary)


def logrotate(work, logdir, pid):
    if not shutil.which("logrotate"):
        check(False, "logrotate missing (apt-get install logrotate)")
        return
    text = open(LOGROTATE).read()
    conf = text.replace("/var/log/smtpscope", logdir)
    conf = conf.replace("systemctl reload smtpscope.service >/dev/null 2>&1 || true",
                        "kill -HUP %d" % pid)
    check(conf.count(logdir) == 2 and "kill -HUP" in conf,
          "the logrotate snippet: its paths and reload command found")
    path = os.path.join(work, "logrotate.conf")
    with open(path, "w") as f:
        f.write(conf)
    p = sh(["logrotate", "-f", "-v", "-s", os.path.join(work, "logrotate.state"), path])
    moved = sorted(os.listdir(logdir))
    check(p.returncode == 0 and "sessions.json.1" in moved and "smtp.pcap.1" in moved,
          "logrotate -f moved both files: %s" % " ".join(moved),
          (p.stderr or p.stdout)[-500:])
    # the reopen happens at smtpscope's next tick (at most a second)
    for _ in range(40):
        if os.path.getsize(os.path.join(logdir, "smtp.pcap")) > 0:
            break
        time.sleep(0.1)
    check(os.path.getsize(os.path.join(logdir, "smtp.pcap")) >= 24,
          "after SIGHUP the new smtp.pcap was begun (a pcap header)")


def check_files(binary, logdir, samples):
    sessions, summary, bad = [], None, 0
    per_file = {}
    for name in ("sessions.json.1", "sessions.json"):
        path = os.path.join(logdir, name)
        n = 0
        for line in open(path) if os.path.exists(path) else []:
            try:
                o = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if o.get("type") == "session":
                sessions.append(o)
                n += 1
            elif o.get("type") == "summary":
                summary = o
        per_file[name] = n
    probes = [s for s in sessions if s["client"]["ip"] == CLI and 39900 <= s["client"]["port"] < 40000]
    replayed = len(sessions) - len(probes)
    want = offline_sessions(binary, samples)
    check(bad == 0, "every line of both record files is one whole JSON record", "%d bad" % bad)
    check(all(per_file.values()), "records in the old and the new file: %s" % per_file, per_file)
    check(replayed == want and summary and summary["sessions"] == len(sessions),
          "sessions: %d replayed, %d read offline, summary %s" %
          (replayed, want, summary and summary["sessions"]))
    pk = [records(os.path.join(logdir, n)) for n in ("smtp.pcap.1", "smtp.pcap")]
    check(None not in pk and summary and sum(pk) == summary["packets"],
          "packets in smtp.pcap.1 + smtp.pcap: %s = %s, the summary's" %
          (pk, summary and summary["packets"]))


def check_trace(trace, binary):
    if not shutil.which("systemd-analyze"):
        say("SKIP", "systemd-analyze missing: system calls not checked against the unit")
        return
    calls, families, pids = set(), set(), set()
    for line in open(trace, errors="replace"):
        m = re.match(r"(\d+)\s+(\w+)\((.*)", line)
        if not m:
            continue
        pid, name, rest = m.groups()
        if name == "execve" and rest.startswith('"%s"' % binary):
            pids.add(pid)
            continue
        if pid in pids:
            calls.add(name)
            if name == "socket":
                families.add(rest.split(",")[0])
    allowed = allowed_syscalls()
    missing = sorted(calls - allowed)
    check(calls and not missing, "all %d system calls smtpscope made are in the unit's "
          "SystemCallFilter" % len(calls), "not allowed: %s" % missing)
    fams = {w for words in unit_values("RestrictAddressFamilies") for w in words}
    check(families <= fams, "socket families %s are in RestrictAddressFamilies" %
          " ".join(sorted(families)), sorted(families - fams))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    binary = os.path.realpath(ap.parse_args().bin)
    work = tempfile.mkdtemp(prefix="smtpscope-service.")
    net = Net()
    try:
        analyze(binary, work)
        missing = [t for t in ("ip", "setpriv", "tcpreplay", "logrotate") if not shutil.which(t)]
        if os.geteuid() != 0:
            say("SKIP", "not root: the capture with the unit's capabilities is not run")
        elif missing:
            say("SKIP", "missing %s: the capture with the unit's capabilities is not run" %
                " ".join(missing))
        else:
            why = net.create()
            if why:
                say("SKIP", "network namespaces unusable: %s" % why)
            else:
                capture(binary, work, net)
    finally:
        net.destroy()
        if FAILS:
            say("note", "work files kept in %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    say("done", "%d failure(s)" % len(FAILS) if FAILS else "all passed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
