#!/usr/bin/env python3
"""sslkeylog_check.py - the key log preload (sslkeylog/) logs what the client logs.

On loopback only, with openssl s_server as the server and the library preloaded:
- TLS 1.3 and TLS 1.2: the server's SSLKEYLOGFILE holds exactly the lines that
  `openssl s_client -keylogfile` wrote (same labels, same values; TLS 1.3 the five secrets,
  TLS 1.2 one CLIENT_RANDOM), and the file is mode 0600;
- SSLKEYLOGFILE unset: nothing written, no message, the handshake works;
- SSLKEYLOGFILE in a missing directory: one line on stderr, the handshake works;
- s_server -keylogfile X (the application's own callback): X gets the client's lines once,
  the library's file stays empty.
Then, as root with Postfix installed, a throwaway Postfix instance (its own config, queue and
port on 127.0.0.1, smtpd chrooted, STARTTLS with a self-signed certificate) with LD_PRELOAD and
SSLKEYLOGFILE passed through import_environment: after `s_client -starttls smtp` the server's
log holds the client's lines. Skipped, with the reason, when not root or without Postfix; all of
it is skipped when openssl or the library is missing. Every wait is bounded.

    python3 tests/sslkeylog_check.py --lib build/libsslkeylog.so
"""
import argparse
import collections
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

TLS13_LABELS = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"}
TLS12_LABELS = {"CLIENT_RANDOM"}
VERSIONS = {"1.3": ("-tls1_3", TLS13_LABELS), "1.2": ("-tls1_2", TLS12_LABELS)}
MARK = "sslkeylog:"
failures = []
cert = {}


def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keylog_lines(path):
    """The key log's lines as a multiset; s_client opens its file with a # comment."""
    if not os.path.exists(path):
        return collections.Counter()
    with open(path) as f:
        return collections.Counter(l.rstrip("\n") for l in f if l.strip() and not l.startswith("#"))


def wait_for(pred, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def make_cert(d):
    key, crt = os.path.join(d, "key.pem"), os.path.join(d, "crt.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", "/CN=mx.keylog.test", "-keyout", key, "-out", crt],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    return key, crt


def s_client(args, keylog, port):
    """One handshake; stdin at EOF makes s_client close once the handshake is done."""
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-keylogfile", keylog] + args
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    return p.returncode, p.stdout.decode(errors="replace")


def s_server_session(d, name, lib, keylogfile, version_flag, extra=()):
    """Runs s_server (the library preloaded) for one connection, and s_client against it.

    Returns (client lines, server stderr, server exit status, client exit status).
    keylogfile None leaves SSLKEYLOGFILE unset."""
    key, crt = cert["key"], cert["crt"]
    env = {k: v for k, v in os.environ.items() if k != "SSLKEYLOGFILE"}
    env["LD_PRELOAD"] = lib
    if keylogfile is not None:
        env["SSLKEYLOGFILE"] = keylogfile
    port = free_port()
    out, err = os.path.join(d, name + ".out"), os.path.join(d, name + ".err")
    with open(out, "w") as fo, open(err, "w") as fe:
        # stdin is a pipe nobody writes: at EOF s_server would end the session early
        srv = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port,
                                "-cert", crt, "-key", key, "-naccept", "1", *extra],
                               stdin=subprocess.PIPE, stdout=fo, stderr=fe, env=env, cwd=d)
    try:
        if not wait_for(lambda: "ACCEPT" in open(out).read() or srv.poll() is not None, 10):
            return None, open(err).read(), None, None
        cli_log = os.path.join(d, name + ".cli.log")
        crc, ctext = s_client([version_flag], cli_log, port)
        try:
            src = srv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            src = None
        return keylog_lines(cli_log), open(err).read(), src, crc
    finally:
        srv.stdin.close()
        if srv.poll() is None:
            srv.kill()
            srv.wait(timeout=10)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else None


def check_version(d, lib, version):
    flag, labels = VERSIONS[version]
    srv_log = os.path.join(d, "srv-%s.log" % version)
    cli, err, src, crc = s_server_session(d, "tls" + version, lib, srv_log, flag)
    if not check(cli is not None and crc == 0 and src == 0,
                 "TLS %s: s_server and s_client ran (exit %s, %s)" % (version, src, crc)):
        print(err)
        return 0, 0
    check(set(k.split()[0] for k in cli) == labels and sum(cli.values()) == len(labels),
          "TLS %s: the client logged %s" % (version, ", ".join(sorted(labels))))
    wait_for(lambda: sum(keylog_lines(srv_log).values()) >= sum(cli.values()), 5)
    srv = keylog_lines(srv_log)
    check(srv == cli, "TLS %s: the server's log holds exactly the client's %d lines (server: %d)"
          % (version, sum(cli.values()), sum(srv.values())))
    check(mode_of(srv_log) == 0o600, "TLS %s: the log is mode 0600 (%s)"
          % (version, oct(mode_of(srv_log) or 0)))
    check(MARK not in err, "TLS %s: the library printed nothing" % version)
    return sum((srv & cli).values()), sum(cli.values())


def check_unset(d, lib):
    quiet = os.path.join(d, "unset")
    os.mkdir(quiet)
    before = set(os.listdir(d))
    cli, err, src, crc = s_server_session(quiet, "s", lib, None, "-tls1_3")
    check(cli is not None and crc == 0 and src == 0 and sum(cli.values()) == 5,
          "SSLKEYLOGFILE unset: the handshake works (exit %s, %s)" % (src, crc))
    made = set(os.listdir(quiet)) - {"s.out", "s.err", "s.cli.log"}
    check(not made and set(os.listdir(d)) == before,
          "SSLKEYLOGFILE unset: no file written %s" % sorted(made))
    check(MARK not in err, "SSLKEYLOGFILE unset: the library printed nothing")


def check_unopenable(d, lib):
    path = os.path.join(d, "no-such-dir", "srv.log")
    cli, err, src, crc = s_server_session(d, "bad", lib, path, "-tls1_3")
    check(cli is not None and crc == 0 and src == 0,
          "SSLKEYLOGFILE unopenable: the handshake works (exit %s, %s)" % (src, crc))
    said = [l for l in err.splitlines() if l.startswith(MARK)]
    check(len(said) == 1 and path in said[0],
          "SSLKEYLOGFILE unopenable: one line on stderr %r" % said)
    check(not os.path.exists(path), "SSLKEYLOGFILE unopenable: nothing created")


def check_app_callback(d, lib):
    app_log, srv_log = os.path.join(d, "app.log"), os.path.join(d, "srv-app.log")
    cli, err, src, crc = s_server_session(d, "app", lib, srv_log, "-tls1_3",
                                          ("-keylogfile", app_log))
    if not check(cli is not None and crc == 0 and src == 0,
                 "application callback: s_server -keylogfile ran (exit %s, %s)" % (src, crc)):
        print(err)
        return
    wait_for(lambda: sum(keylog_lines(app_log).values()) >= sum(cli.values()), 5)
    check(keylog_lines(app_log) == cli,
          "application callback: its own file holds the client's %d lines, once (%d)"
          % (sum(cli.values()), sum(keylog_lines(app_log).values())))
    check(os.path.exists(srv_log) and os.path.getsize(srv_log) == 0,
          "application callback: kept, the library's file stays empty")


# ------------------------------------------------------------------------------ Postfix

MASTER_CF = """\
# sslkeylog_check.py: smtpd chrooted, as Debian ships it
127.0.0.1:{port} inet n - y - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
proxymap  unix  -       -       n       -       -       proxymap
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def postfix_main_cf(base, lib, srv_log, key, crt):
    default_env = subprocess.run(["postconf", "-d", "-h", "import_environment"], check=True,
                                 stdout=subprocess.PIPE, timeout=30).stdout.decode().strip()
    return "\n".join([
        "# sslkeylog_check.py: a throwaway instance, mail is discarded",
        "compatibility_level = 3.6",
        "syslog_name = postfix-sslkeylog",
        "queue_directory = %s/spool" % base,
        "data_directory = %s/data" % base,
        "maillog_file = %s/maillog" % base,
        "myhostname = mx.keylog.test",
        "mydestination =",
        "inet_interfaces = 127.0.0.1",
        "inet_protocols = ipv4",
        "mynetworks = 127.0.0.1/32",
        "smtpd_peername_lookup = no",
        "disable_dns_lookups = yes",
        "smtp_dns_support_level = disabled",
        "alias_maps =",
        "alias_database =",
        "default_transport = discard:relayed",
        "smtpd_tls_security_level = may",
        "smtpd_tls_cert_file = %s" % crt,
        "smtpd_tls_key_file = %s" % key,
        # Postfix empties the environment of its daemons but for this list
        "import_environment = %s LD_PRELOAD=%s SSLKEYLOGFILE=%s" % (default_env, lib, srv_log),
        ""])


def postfix_run(cfg, *args):
    return subprocess.run(["postfix", "-c", cfg, *args], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=60)


def listening(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def stop_postfix(cfg, pidfile):
    """postfix stop, then wait for the master to be gone (the pid file stays behind)."""
    try:
        with open(pidfile) as f:
            pid = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pid = None
    postfix_run(cfg, "stop")
    if pid and not wait_for(lambda: not os.path.exists("/proc/%d" % pid), 20):
        postfix_run(cfg, "abort")


def check_postfix(lib):
    if os.geteuid() != 0:
        print("SKIP Postfix: not root (a Postfix instance needs root)")
        return None
    if not shutil.which("postfix") or not shutil.which("postconf"):
        print("SKIP Postfix: postfix is not installed")
        return None
    # under /var: maillog_file must start with one of maillog_file_prefixes (/var, /dev/stdout)
    base = tempfile.mkdtemp(prefix="sslkeylog-postfix-", dir="/var/tmp")
    os.chmod(base, 0o755)
    cfg, srv_log = os.path.join(base, "etc"), os.path.join(base, "keys.log")
    for sub in ("etc", "spool", "data"):
        os.mkdir(os.path.join(base, sub))
    shutil.chown(os.path.join(base, "data"), "postfix")
    key, crt = make_cert(cfg)
    port = free_port()
    with open(os.path.join(cfg, "main.cf"), "w") as f:
        f.write(postfix_main_cf(base, os.path.abspath(lib), srv_log, key, crt))
    with open(os.path.join(cfg, "master.cf"), "w") as f:
        f.write(MASTER_CF.format(port=port))
    got = {}
    try:
        for what in ("check", "start"):
            p = postfix_run(cfg, what)
            if not check(p.returncode == 0, "Postfix: postfix %s" % what):
                print(p.stdout.decode(errors="replace"))
                return None
        if not check(wait_for(lambda: listening(port), 20), "Postfix: smtpd listens on 127.0.0.1:%d" % port):
            return None
        for version in ("1.3", "1.2"):
            got[version] = postfix_session(base, srv_log, port, version)
        got["8 sessions at once"] = postfix_parallel(base, srv_log, port, 8)
        # an smtpd just spawned has not chrooted yet: look again for up to 3 s
        jail = os.path.join(base, "spool")
        for _ in range(30):
            jailed = chrooted_smtpd(srv_log)
            if jailed and all(r == jail for r in jailed):
                break
            time.sleep(0.1)
        check(jailed and all(r == jail for r in jailed),
              "Postfix: the smtpds that logged run chrooted to the queue directory %s" % sorted(set(jailed)))
        check(mode_of(srv_log) == 0o600 and os.stat(srv_log).st_uid == 0,
              "Postfix: the log is mode 0600, owned by root (%s)" % oct(mode_of(srv_log) or 0))
    finally:
        stop_postfix(cfg, os.path.join(base, "spool", "pid", "master.pid"))
        if failures:
            print("Postfix log kept: %s/maillog" % base)
        else:
            shutil.rmtree(base, ignore_errors=True)
    return got


def chrooted_smtpd(srv_log):
    """The root directories of this instance's smtpd processes (they idle after a session)."""
    roots = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                env = f.read().split(b"\0")
            with open("/proc/%s/comm" % pid) as f:
                comm = f.read().strip()
            if comm == "smtpd" and ("SSLKEYLOGFILE=" + srv_log).encode() in env:
                roots.append(os.readlink("/proc/%s/root" % pid))
        except OSError:
            pass
    return roots


def postfix_session(base, srv_log, port, version):
    flag, labels = VERSIONS[version]
    before = keylog_lines(srv_log)
    cli_log = os.path.join(base, "cli-%s.log" % version)
    crc, text = s_client(["-starttls", "smtp", flag], cli_log, port)
    cli = keylog_lines(cli_log)
    if not check(crc == 0 and set(k.split()[0] for k in cli) == labels,
                 "Postfix TLS %s: s_client -starttls smtp logged %s (exit %d)"
                 % (version, ", ".join(sorted(labels)), crc)):
        print(text[-2000:])
        return 0, sum(cli.values())
    new = lambda: keylog_lines(srv_log) - before
    wait_for(lambda: sum(new().values()) >= sum(cli.values()), 10)
    check(new() == cli, "Postfix TLS %s: smtpd's log holds exactly the client's %d lines (smtpd: %d)"
          % (version, sum(cli.values()), sum(new().values())))
    return sum((new() & cli).values()), sum(cli.values())


def postfix_parallel(base, srv_log, port, n):
    """n sessions at once, so n smtpd processes append to one file: no line may be torn."""
    before = keylog_lines(srv_log)
    logs = [os.path.join(base, "par-%d.log" % i) for i in range(n)]
    procs = [subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                               "-starttls", "smtp", "-tls1_3", "-keylogfile", log],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for log in logs]
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
    cli = sum((keylog_lines(log) for log in logs), collections.Counter())
    new = lambda: keylog_lines(srv_log) - before
    wait_for(lambda: sum(new().values()) >= sum(cli.values()), 10)
    check(sum(cli.values()) == 5 * n and new() == cli,
          "Postfix: %d sessions at once, smtpd's log holds exactly the clients' %d lines (smtpd: %d)"
          % (n, sum(cli.values()), sum(new().values())))
    return sum((new() & cli).values()), sum(cli.values())


def figure(version, pair):
    name = "TLS " + version if version.startswith("1.") else version
    return "%s %d/%d line%s" % (name, pair[0], pair[1], "" if pair[1] == 1 else "s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", default="build/libsslkeylog.so")
    args = ap.parse_args()
    if not shutil.which("openssl"):
        print("sslkeylog: skipped: no openssl command")
        return 0
    if not os.path.exists(args.lib):
        print("sslkeylog: skipped: %s is not built (make sslkeylog)" % args.lib)
        return 0
    lib = os.path.abspath(args.lib)
    with tempfile.TemporaryDirectory(prefix="sslkeylog-") as d:
        cert["key"], cert["crt"] = make_cert(d)
        got = {v: check_version(d, lib, v) for v in ("1.3", "1.2")}
        check_unset(d, lib)
        check_unopenable(d, lib)
        check_app_callback(d, lib)
    pf = check_postfix(lib)
    line = "sslkeylog: " + ", ".join(figure(v, got[v]) for v in got)
    if pf:
        line += "; postfix " + ", ".join(figure(v, pf[v]) for v in pf)
    else:
        line += "; postfix skipped"
    print(line + (", %d FAILED" % len(failures) if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
