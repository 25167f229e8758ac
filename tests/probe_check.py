#!/usr/bin/env python3
"""tests/probe_check.py --bin BIN: smtpscope --probe end to end, in a network namespace.

Needs root (ip netns) and Postfix; prints one "probe: SKIP: <reason>" line and exits 0 when
not root, when `ip netns` is unusable, or when Postfix or nft is missing and cannot be
installed (as root it installs postfix, preseeded "No configuration", and nftables).

Everything lives in one namespace of its own, smtpscope-probe-<pid>, on its loopback:
  10.201.0.1, fd00:201::1   a Postfix instance (its own config, queue and maillog_file under
                            the work directory): mail for probe.test accepted, 550 5.1.1 for
                            an unknown user, relay denied for other domains, 450 for
                            grey@probe.test (check_recipient_access), DSN and STARTTLS offered
                            (:25 a self-signed certificate); more smtpd services, each with
                            a certificate from a test CA this script makes with openssl:
                            :2601 valid, :2602 expired, :2603 another name, :2604 TLS required
                            (smtpd_tls_security_level=encrypt), :2605 AUTH required (Cyrus
                            SASL sasldb, PLAIN and LOGIN), :2606 message_size_limit=200,
                            :2607 no STARTTLS, :2608 AUTH LOGIN only
  10.201.0.2                nothing listens (connection refused)
  10.201.0.3                an nftables rule drops port 25 (no answer)
  10.201.0.4                scripted servers: :25 closes after its banner, :2526 greets 554,
                            :2527 never greets
  10.201.0.5                Exim (Debian's exim4-daemon-light, unpacked with apt-get download
                            and dpkg -x: as a package it would replace Postfix), its own
                            configuration, spool and mainlog: exim.test's mail for alice
                            accepted (and discarded), other users 550 Unrouteable address,
                            STARTTLS with a certificate from the test CA (GnuTLS)
  10.201.0.53               a DNS server (this file, --dns; standard library only) serving
                            MX, no-MX, NXDOMAIN, SERVFAIL, null-MX and silent names
  10.202.0.0/24             an "unreachable" route; 198.51.100.0/24 no route at all
/etc/netns/<ns>/resolv.conf points the probe's resolver at 10.201.0.53 (ip netns exec binds it
over /etc/resolv.conf). Each probe's JSON is checked against what this script configured (DNS
answers, addresses, which server listens how) and, for every session with Postfix, against
Postfix's own log: the per-command tallies of its "disconnect from" line, and the code and text
of each "NOQUEUE: reject" line, the TLS version and cipher of its "TLS connection established"
line, the SASL user it logged, the queue id of a message taken (--data) and its "removed".
The certificates' verification is checked against how this script made them. -w FILE is read
back with -r and must give the same session. smtpscope's output is never compared with a
stored copy, and the AUTH password must appear in none of it (plain or base64).
"""
import argparse
import base64
import json
import os
import re
import shutil
import socket
import struct
import signal
import subprocess
import sys
import tempfile
import threading
import time

NS = "smtpscope-probe-%d" % os.getpid()
PF, DOWN, DROP, SCRIPT, DNS = "10.201.0.1", "10.201.0.2", "10.201.0.3", "10.201.0.4", "10.201.0.53"
EXIM = "10.201.0.5"
PF6 = "fd00:201::1"

# name -> records; "rcode" NXDOMAIN (also every name not listed), SERVFAIL or DROP (no answer)
ZONES = {
    "probe.test": {"MX": [[10, "mx.probe.test"]]},
    "mx.probe.test": {"A": [PF], "AAAA": [PF6]},
    "backup.test": {"MX": [[20, "mx.probe.test"], [5, "down.backup.test"]]},
    "down.backup.test": {"A": [DOWN]},
    "implicit.test": {"A": [PF]},
    "fail.test": {"rcode": "SERVFAIL"},
    "slow.test": {"rcode": "DROP"},
    "null.test": {"MX": [[0, ""]]},
    "noaddr.test": {"MX": [[10, "ghost.noaddr.test"]]},
    "dropped.test": {"MX": [[10, "drop.dropped.test"]]},
    "drop.dropped.test": {"A": [DROP]},
    "banner.test": {"MX": [[10, "banner.banner.test"]]},
    "banner.banner.test": {"A": [SCRIPT]},
    "exim.test": {"MX": [[10, "mx.exim.test"]]},
    "mx.exim.test": {"A": [EXIM]},
}


# ----------------------------------------------------------------- the DNS server (--dns)
def dns_name(name):
    out = b""
    for label in name.split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def dns_answer(query, zones):
    """The response to one query, or None to stay silent."""
    if len(query) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", query[:6])
    pos, labels = 12, []
    while pos < len(query) and query[pos]:
        n = query[pos]
        labels.append(query[pos + 1:pos + 1 + n].decode(errors="replace"))
        pos += 1 + n
    pos += 1
    if qd != 1 or pos + 4 > len(query):
        return None
    qtype = struct.unpack("!H", query[pos:pos + 2])[0]
    question = query[12:pos + 4]
    name = ".".join(labels).lower()
    zone = zones.get(name)
    rcode = {"NXDOMAIN": 3, "SERVFAIL": 2}.get((zone or {}).get("rcode", "NXDOMAIN" if zone is None else ""), 0)
    if zone and zone.get("rcode") == "DROP":
        return None
    answers = []
    if zone and rcode == 0:
        types = {1: "A", 28: "AAAA", 15: "MX"}
        for value in zone.get(types.get(qtype, "?"), []):
            if qtype == 1:
                rdata = socket.inet_pton(socket.AF_INET, value)
            elif qtype == 28:
                rdata = socket.inet_pton(socket.AF_INET6, value)
            else:
                rdata = struct.pack("!H", value[0]) + dns_name(value[1])
            answers.append(b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 60, len(rdata)) + rdata)
    # QR, AA, RD as asked, RA: an authoritative answer (glibc treats a bare NODATA as lame)
    rflags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode
    return struct.pack("!HHHHHH", qid, rflags, 1, len(answers), 0, 0) + question + b"".join(answers)


def dns_server(addr, zones_file):
    zones = json.load(open(zones_file))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    print("ready", flush=True)
    while True:
        query, peer = s.recvfrom(4096)
        resp = dns_answer(query, zones)
        if resp:
            s.sendto(resp, peer)


# ----------------------------------------------------------- scripted servers (--servers)
def scripted(conn, port):
    try:
        if port == 25:  # a banner; the EHLO read, the connection closes
            conn.sendall(b"220 banner.banner.test ESMTP\r\n")
            conn.settimeout(5)
            conn.recv(512)
        elif port == 2526:  # 554 as greeting (RFC 5321 3.1), then QUIT is answered
            conn.sendall(b"554 5.3.2 No SMTP service here\r\n")
            conn.settimeout(5)
            if conn.recv(512).upper().startswith(b"QUIT"):
                conn.sendall(b"221 2.0.0 Bye\r\n")
        elif port in (2528, 2529):  # a dialog: STARTTLS refused (2528) or not TLS after 220
            dialog(conn, port)
        else:  # 2527: connected, never a greeting
            time.sleep(10)
    except OSError:
        pass
    conn.close()


def dialog(conn, port):
    """A small SMTP server: EHLO offers STARTTLS and AUTH CRAM-MD5 only; STARTTLS is refused
    with 454 (2528), or accepted and answered with bytes that are no TLS (2529)."""
    conn.settimeout(5)
    f = conn.makefile("rb")
    conn.sendall(b"220 script.test ESMTP\r\n")
    for line in f:
        verb = line[:4].upper()
        if verb == b"EHLO":
            conn.sendall(b"250-script.test\r\n250-STARTTLS\r\n250 AUTH CRAM-MD5\r\n")
        elif verb == b"STAR" and port == 2528:
            conn.sendall(b"454 4.7.0 TLS not available due to local problem\r\n")
        elif verb == b"STAR":
            conn.sendall(b"220 2.0.0 Ready to start TLS\r\nthis is not TLS\r\n")
            return
        elif verb == b"QUIT":
            conn.sendall(b"221 2.0.0 Bye\r\n")
            return
        else:
            conn.sendall(b"250 2.0.0 Ok\r\n")


def servers(addr):
    socks = []
    for port in (25, 2526, 2527, 2528, 2529):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(8)
        socks.append((s, port))
    for s, port in socks:
        threading.Thread(target=lambda s=s, p=port: [
            threading.Thread(target=scripted, args=(s.accept()[0], p), daemon=True).start()
            for _ in iter(int, 1)], daemon=True).start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


# ------------------------------------------------------------------------- the harness
EARLY_FAILS = []  # failures found before the namespace part: a skip must not hide them


def skip(why):
    print("probe: SKIP: %s" % why)
    if EARLY_FAILS:
        print("probe: %d failure(s) before the namespace part" % len(EARLY_FAILS))
        sys.exit(1)
    sys.exit(0)


def sh(*args, check=True, **kw):
    p = subprocess.run(args, capture_output=True, timeout=120, **kw)
    if check and p.returncode:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args), p.returncode,
                                                p.stderr.decode(errors="replace").strip()))
    return p


def nsx(*args, check=True, **kw):
    return sh("ip", "netns", "exec", NS, *args, check=check, **kw)


def ensure_tools():
    need = [p for p, ok in (("postfix", shutil.which("postfix")), ("nftables", shutil.which("nft")),
                            ("sasl2-bin", shutil.which("saslpasswd2")),
                            ("libsasl2-modules", os.path.exists(
                                "/usr/lib/x86_64-linux-gnu/sasl2/libplain.so") or
                             bool(__import__("glob").glob("/usr/lib/*/sasl2/libplain.so"))))
            if not ok]
    if not need:
        return
    if not shutil.which("apt-get"):
        skip("missing %s and no apt-get" % " ".join(need))
    print("probe: installing %s" % " ".join(need))
    subprocess.run(["debconf-set-selections"], input=b"postfix postfix/main_mailer_type select "
                   b"No configuration\n", capture_output=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    ok = subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env).returncode == 0
    ok = ok and subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + need,
                               capture_output=True, env=env).returncode == 0
    if not ok or not shutil.which("postfix") or not shutil.which("nft") or \
            not shutil.which("saslpasswd2"):
        skip("could not install %s" % " ".join(need))


MAIN_CF = """compatibility_level = 3.6
syslog_name = postfix-probe
queue_directory = {work}/spool
data_directory = {work}/lib
maillog_file = {work}/maillog
maillog_file_prefixes = {work}
myhostname = mx.probe.test
mydomain = probe.test
myorigin = probe.test
mydestination = probe.test
inet_interfaces = {pf}, [{pf6}]
inet_protocols = {protocols}
mynetworks = 127.0.0.1/32
smtpd_banner = $myhostname ESMTP Postfix (smtpscope probe test)
smtpd_client_port_logging = yes
smtpd_peername_lookup = no
disable_dns_lookups = yes
smtp_dns_support_level = disabled
local_recipient_maps = hash:{work}/etc/local_recipients
alias_maps =
alias_database =
local_transport = discard:local
default_transport = discard:relayed
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access hash:{work}/etc/grey
smtpd_tls_cert_file = {work}/etc/tls.crt
smtpd_tls_key_file = {work}/etc/tls.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = no
smtpd_tls_loglevel = 1
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = {work}/etc/sasl
smtpd_sasl_local_domain = mx.probe.test
smtpd_sasl_auth_enable = no
# RFC 4954's 530 for a sender not logged in (Postfix has no built-in text for it)
auth_sender_restrictions = permit_sasl_authenticated,
    check_sender_access static:{{530 5.7.0 Authentication required}}
"""

# The smtpd services of the TLS, AUTH and size cases (port, -o settings).
def extra_services(etc):
    cert = lambda n: ["smtpd_tls_cert_file=%s/%s.crt" % (etc, n),
                      "smtpd_tls_key_file=%s/%s.key" % (etc, n)]
    auth = ["smtpd_sasl_auth_enable=yes", "smtpd_delay_reject=no",
            "smtpd_sender_restrictions=$auth_sender_restrictions",
            "smtpd_relay_restrictions=permit_sasl_authenticated,reject"]
    svcs = {2601: cert("valid"), 2602: cert("expired"), 2603: cert("mismatch"),
            2604: cert("valid") + ["smtpd_tls_security_level=encrypt"],
            2605: cert("valid") + auth,
            2606: cert("valid") + ["message_size_limit=200"],
            2607: ["smtpd_tls_security_level=none"],
            2608: cert("valid") + auth + ["smtpd_sasl_mechanism_filter=login"]}
    out = ""
    for port, opts in svcs.items():
        out += "%d inet n - n - - smtpd\n  -o syslog_name=postfix-probe/%d\n" % (port, port)
        out += "".join("  -o %s\n" % o for o in opts)
    return out


CA_CNF = """[ca]
default_ca = tca
[tca]
dir = {d}
database = {d}/index.txt
new_certs_dir = {d}
serial = {d}/serial
default_md = sha256
policy = pol
copy_extensions = copy
unique_subject = no
[pol]
commonName = supplied
"""
CA_NAME = "smtpscope probe test CA"
# name -> (CN and DNS subjectAltName, openssl ca dates), and what a verifier must say
CERTS = {"valid": ("mx.probe.test", ["-days", "2"], "ok"),
         "expired": ("mx.probe.test", ["-startdate", "20200101000000Z", "-enddate",
                                       "20200201000000Z"], "expired"),
         "mismatch": ("wrong.example.test", ["-days", "2"], "name_mismatch")}
PASSWORD = "not-a-real-password"


def make_certs(etc):
    """A test CA, and from it the leaf certificates of CERTS (openssl req, openssl ca)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    d = os.path.join(etc, "ca")
    os.makedirs(d)
    open(d + "/index.txt", "w").close()
    with open(d + "/serial", "w") as f:
        f.write("1000\n")
    with open(d + "/ca.cnf", "w") as f:
        f.write(CA_CNF.format(d=d))
    sh("openssl", "req", "-x509", *ec, "-days", "2", "-subj", "/CN=" + CA_NAME,
       "-keyout", d + "/ca.key", "-out", etc + "/ca.crt")
    for name, (cn, dates, _) in list(CERTS.items()) + [("exim", ("mx.exim.test",
                                                                  ["-days", "2"], "ok"))]:
        sh("openssl", "req", "-new", *ec, "-subj", "/CN=" + cn, "-addext",
           "subjectAltName=DNS:" + cn, "-keyout", "%s/%s.key" % (etc, name),
           "-out", "%s/%s.csr" % (d, name))
        sh("openssl", "ca", "-batch", "-notext", "-config", d + "/ca.cnf", "-cert",
           etc + "/ca.crt", "-keyfile", d + "/ca.key", "-in", "%s/%s.csr" % (d, name),
           "-out", "%s/%s.crt" % (etc, name), *dates)
        os.chmod("%s/%s.key" % (etc, name), 0o600)


def make_sasl(work, etc):
    """Cyrus SASL with a sasldb (as samples/postfix-lib.sh): user alice, PLAIN and LOGIN."""
    db = os.path.join(work, "lib", "sasldb2")
    os.makedirs(etc + "/sasl")
    sh("saslpasswd2", "-p", "-f", db, "-c", "-u", "mx.probe.test", "alice",
       input=(PASSWORD + "\n").encode())
    shutil.chown(db, "postfix")
    os.chmod(db, 0o600)
    with open(etc + "/sasl/smtpd.conf", "w") as f:
        f.write("pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: %s\n"
                "mech_list: PLAIN LOGIN\n" % db)
    for name, pw in (("good", PASSWORD), ("bad", "wrong-" + PASSWORD)):
        with open(os.path.join(work, "pw-" + name), "w") as f:
            f.write(pw + "\n")

MASTER_CF = """smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def start_postfix(work, v6):
    etc = os.path.join(work, "etc")
    for d in ("etc", "spool", "lib"):
        os.makedirs(os.path.join(work, d))
    shutil.chown(os.path.join(work, "lib"), "postfix")
    open(os.path.join(work, "maillog"), "w").close()
    with open(os.path.join(etc, "main.cf"), "w") as f:
        f.write(MAIN_CF.format(work=work, pf=PF, pf6=PF6 if v6 else PF,
                               protocols="all" if v6 else "ipv4"))
    with open(os.path.join(etc, "master.cf"), "w") as f:
        f.write(MASTER_CF + extra_services(etc))
    with open(os.path.join(etc, "local_recipients"), "w") as f:
        f.write("".join("%s@probe.test OK\n" % u for u in ("alice", "postmaster", "grey")))
    with open(os.path.join(etc, "grey"), "w") as f:
        f.write("grey@probe.test 450 4.7.1 Greylisted, try again later\n")
    nsx("postmap", "-c", etc, "hash:%s/local_recipients" % etc, "hash:%s/grey" % etc)
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
       "-subj", "/CN=mx.probe.test", "-keyout", etc + "/tls.key", "-out", etc + "/tls.crt")
    os.chmod(etc + "/tls.key", 0o600)
    make_certs(etc)
    make_sasl(work, etc)
    nsx("postfix", "-c", etc, "start")
    for _ in range(80):
        listening = nsx("ss", "-Htln").stdout.decode()
        if all("%s:%d" % (PF, p) in listening for p in (25, 2601, 2608)):
            return etc
        time.sleep(0.25)
    raise RuntimeError("Postfix did not start listening on %s:25" % PF)


EXIM_CONF = """exim_path = {exim}
primary_hostname = mx.exim.test
qualify_domain = exim.test
domainlist local_domains = exim.test
spool_directory = {d}/spool
log_file_path = {d}/log/%slog
pid_file_path = {d}/exim.pid
local_interfaces = {ip}
daemon_smtp_ports = 25
smtp_banner = $smtp_active_hostname ESMTP Exim $version_number (smtpscope probe test)
host_lookup =
rfc1413_hosts =
keep_environment =
tls_advertise_hosts = *
tls_certificate = {d}/tls.crt
tls_privatekey = {d}/tls.key
log_selector = +tls_cipher +incoming_port +smtp_connection +received_recipients
acl_smtp_rcpt = acl_check_rcpt

begin acl
acl_check_rcpt:
  deny    domains = !+local_domains
          message = relay not permitted
  require verify = recipient
  accept

begin routers
known:
  driver = redirect
  domains = +local_domains
  local_parts = alice : postmaster
  data = :blackhole:
"""


class Exim:
    """Exim out of its Debian package, run in the namespace (as samples/make-exim-keylog-
    samples.sh does it). why: the reason it could not be started, else None."""

    def __init__(self, work, etc):
        self.proc, self.made_user, self.why = None, False, None
        self.d = os.path.join(work, "exim")
        self.log = os.path.join(self.d, "log", "mainlog")
        try:
            self.start(etc)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            self.why = str(e)

    def start(self, etc):
        d = self.d
        os.makedirs(d + "/debs")
        deb = os.environ.get("EXIM_DEB")
        if not deb:
            p = subprocess.run(["apt-get", "download", "exim4-daemon-light"], cwd=d + "/debs",
                               capture_output=True, timeout=300)
            debs = [f for f in os.listdir(d + "/debs") if f.endswith(".deb")]
            if p.returncode or not debs:
                raise RuntimeError("apt-get download exim4-daemon-light failed (no network? "
                                   "give the .deb in EXIM_DEB=)")
            deb = os.path.join(d, "debs", debs[0])
        sh("dpkg", "-x", deb, d + "/root")
        self.exim = d + "/root/usr/sbin/exim4"
        missing = [l.split()[0] for l in sh("ldd", self.exim).stdout.decode().splitlines()
                   if "not found" in l]
        if missing:
            raise RuntimeError("exim4's libraries missing: %s" % " ".join(missing))
        if sh("getent", "passwd", "Debian-exim", check=False).returncode:
            sh("useradd", "-r", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", "-U",
               "Debian-exim")
            self.made_user = True
        for sub in ("spool", "log"):
            os.makedirs(os.path.join(d, sub))
            shutil.chown(os.path.join(d, sub), "Debian-exim", "Debian-exim")
        open(self.log, "w").close()
        shutil.chown(self.log, "Debian-exim", "Debian-exim")
        shutil.copy(etc + "/exim.crt", d + "/tls.crt")
        shutil.copy(etc + "/exim.key", d + "/tls.key")
        shutil.chown(d + "/tls.key", group="Debian-exim")
        os.chmod(d + "/tls.key", 0o640)
        os.chmod(d, 0o755)
        with open(d + "/exim.conf", "w") as f:
            f.write(EXIM_CONF.format(exim=self.exim, d=d, ip=EXIM))
        nsx(self.exim, "-C", d + "/exim.conf", "-bV")
        self.proc = subprocess.Popen(["ip", "netns", "exec", NS, self.exim, "-C",
                                      d + "/exim.conf", "-bdf"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(80):
            if EXIM + ":25" in nsx("ss", "-Htln").stdout.decode():
                return
            time.sleep(0.25)
        raise RuntimeError("Exim did not start listening on %s:25" % EXIM)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def remove_user(self):
        """The user made for Exim, once its processes are gone (after the namespace's)."""
        for _ in range(20 if self.made_user else 0):
            if sh("userdel", "Debian-exim", check=False).returncode == 0:
                break
            time.sleep(0.25)
        self.made_user = False


def exim_lines(log, ip, port, deadline=5.0):
    """Exim's mainlog lines about the client ip:port (log_selector +incoming_port)."""
    pat = re.compile(r"\[%s\]:%d\b" % (re.escape(ip), port))
    end = time.time() + deadline
    while True:
        got = [l for l in open(log, errors="replace") if pat.search(l)]
        if any("SMTP connection from" in l and "closed" in l for l in got) or \
                time.time() > end:
            return got
        time.sleep(0.2)


def check_with_exim(sess, log):
    """A session with Exim against its mainlog: the refusals, the message taken, TLS."""
    lines = exim_lines(log, sess["client"]["ip"], sess["client"]["port"])
    if not any("SMTP connection from" in l for l in lines):
        return "no Exim log line for port %d" % sess["client"]["port"]
    refused = [c for c in sess["commands"] if c["cmd"] == "RCPT" and c["reply"]["code"] >= 400]
    rejected = [l for l in lines if " rejected RCPT " in l]
    if len(refused) != len(rejected):
        return "Exim logged %d RCPT rejections, the probe %d" % (len(rejected), len(refused))
    for c, l in zip(refused, rejected):
        m = re.search(r"rejected RCPT <(.*?)>: (.*)$", l)
        if not m or m.group(1) not in c["arg"] or m.group(2).strip() not in c["reply"]["text"]:
            return "Exim: %r, the probe %s %r" % (l.strip(), c["arg"], c["reply"]["text"])
    dots = [c for c in sess["commands"] if c["cmd"] == "." and c["reply"]["code"] == 250]
    arrivals = [l for l in lines if " <= " in l]
    if len(dots) != len(arrivals):
        return "Exim logged %d arrivals, the probe %d messages taken" % (len(arrivals), len(dots))
    for c, l in zip(dots, arrivals):
        msg_id = re.search(r"id=(\S+)", c["reply"]["text"])
        if not msg_id or msg_id.group(1) not in l:
            return "Exim's arrival %r, the probe's reply %r" % (l.strip(), c["reply"]["text"])
        t = sess["tls"] or {}
        # GnuTLS names the suite by its parts (ECDHE_X25519__ECDSA_..._AES_256_GCM): the
        # bulk cipher must be the one in the IANA name the probe reports
        x = re.search(r" X=(TLS1\.\d):[^: ]*?_((?:AES_\d+_(?:GCM|CCM|CBC))|CHACHA20_POLY1305)", l)
        if not x or "TLSv" + x.group(1)[3:] != t.get("version") or \
                "_%s_" % x.group(2) not in (t.get("cipher") or ""):
            return "Exim logged %s, the probe %s %s" % (x and x.groups(), t.get("version"),
                                                        t.get("cipher"))
    return None


def exim_cases():
    alice = ["--rcpt", "alice@exim.test", "--ca-file", "{ca}"]
    return [
        ("Exim: acceptance", ["exim.test", "-4"] + alice, 0,
         {"rcpt": [250], "tls": ("ok", "mx.exim.test", CA_NAME), "exim": True}),
        ("Exim: acceptance, --data", ["exim.test", "-4", "--data", "--from",
                                      "chris@contoso.test"] + alice, 0,
         {"dot": (250, None), "exim": True}),
        ("Exim: unknown user", ["exim.test", "-4", "--rcpt", "nobody@exim.test",
                                "--starttls", "never"], 3, {"rcpt": [550], "exim": True}),
        ("Exim: relay denied", ["exim.test", "-4", "--rcpt", "someone@elsewhere.test"], 3,
         {"rcpt": [550], "exim": True}),
    ]


def setup(work):
    nsx("ip", "link", "set", "lo", "up")
    for a in (PF, DOWN, DROP, SCRIPT, DNS, EXIM):
        nsx("ip", "addr", "add", a + "/32", "dev", "lo")
    v6 = nsx("ip", "-6", "addr", "add", PF6 + "/128", "dev", "lo", check=False).returncode == 0
    nsx("ip", "route", "add", "unreachable", "10.202.0.0/24")
    nsx("nft", "-f", "-", input=(
        "table inet probe_test {\n chain out {\n  type filter hook output priority 0;\n"
        "  ip daddr %s tcp dport 25 drop\n }\n}\n" % DROP).encode())
    os.makedirs("/etc/netns/" + NS, exist_ok=True)
    with open("/etc/netns/%s/resolv.conf" % NS, "w") as f:
        f.write("nameserver %s\noptions timeout:1 attempts:1\n" % DNS)
    zones = os.path.join(work, "zones.json")
    json.dump(ZONES, open(zones, "w"))
    procs = []
    for mode in (["--dns", DNS, zones], ["--servers", SCRIPT]):
        p = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, os.path.abspath(__file__)]
                             + mode, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        procs.append(p)
        if p.stdout.readline().strip() != b"ready":
            raise RuntimeError("helper %s did not start" % mode[0])
    return procs, v6


def teardown(procs, etc):
    if etc:
        nsx("postfix", "-c", etc, "stop", check=False)
    for p in procs:
        p.kill()
        p.wait()
    sh("ip", "netns", "pids", NS, check=False)
    for pid in sh("ip", "netns", "pids", NS, check=False).stdout.split():
        try:
            os.kill(int(pid), 9)
        except OSError:
            pass
    sh("ip", "netns", "del", NS, check=False)
    shutil.rmtree("/etc/netns/" + NS, ignore_errors=True)


# ----------------------------------------------------------------------- the checks
def probe(binary, args):
    p = nsx(binary, "-o", "json", "--probe", *args, check=False)
    recs = [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]
    return p.returncode, recs, p.stderr.decode()


def postfix_tally(log_path, ip, port, deadline=10.0):
    """Postfix's "disconnect from" counts for the client ip:port: {verb: (ok, total)}."""
    pat = re.compile(r"disconnect from unknown\[%s\]:%d (.*)" % (re.escape(ip), port))
    end = time.time() + deadline
    while time.time() < end:
        for line in open(log_path, errors="replace"):
            m = pat.search(line)
            if m:
                tally = {}
                for word in m.group(1).split():
                    k, _, v = word.partition("=")
                    ok, _, total = v.partition("/")
                    if k != "commands":
                        tally[k.upper()] = (int(ok), int(total or ok))
                return tally
        time.sleep(0.2)
    return None


def postfix_rejects(log_path, ip, port):
    pat = re.compile(r"(?:NOQUEUE|[0-9A-F]+): reject: (\S+) from unknown\[%s\]:%d: (\d{3}) (.*?); from=<(.*?)> "
                     r"(?:to=<(.*?)> )?proto=(\S+) helo=<(.*?)>" % (re.escape(ip), port))
    return [m.groups() for m in map(pat.search, open(log_path, errors="replace")) if m]


def our_tally(sess):
    """The session's commands counted as Postfix counts them: AUTH and DATA by how their
    exchange ended (the last AUTH-DATA line's reply, the reply after "."), those lines and
    "." not as commands of their own."""
    tally, cmds = {}, sess["commands"]
    for i, c in enumerate(cmds):
        if c["cmd"] in ("CONNECT", "AUTH-DATA", "."):
            continue
        last = c
        for n in cmds[i + 1:]:
            if n["cmd"] not in ("AUTH-DATA", ".") or c["cmd"] not in ("AUTH", "DATA"):
                break
            last = n
        ok, total = tally.get(c["cmd"], (0, 0))
        good = all(x["reply"] is not None and x["reply"]["code"] < 400 for x in (c, last))
        tally[c["cmd"]] = (ok + good, total + 1)
    return tally


def postfix_lines(log_path, ip, port, what, deadline=5.0):
    """Postfix's log lines about the client ip:port that contain what (waiting a little)."""
    tag = "unknown[%s]:%d" % (ip, port)
    end = time.time() + deadline
    while True:
        got = [l for l in open(log_path, errors="replace") if tag in l and what in l]
        if got or time.time() > end:
            return got
        time.sleep(0.2)


def check_tls_with_postfix(sess, log):
    """The version and cipher Postfix logged for this connection, against the session's."""
    t = sess["tls"]
    lines = postfix_lines(log, sess["client"]["ip"], sess["client"]["port"],
                          "TLS connection established")
    if not t or t["handshake"] != "completed":
        return "TLS: handshake %s, but Postfix logged %d" % (t and t["handshake"], len(lines)) \
            if lines else None
    m = re.search(r": (TLSv[0-9.]+) with cipher (\S+)", lines[0]) if lines else None
    if not m or (m.group(1), m.group(2)) != (t["version"], t["cipher"]):
        return "TLS: Postfix logged %s, the probe %s %s" % (m and m.groups(), t["version"],
                                                             t["cipher"])
    hosts = [m["host"] for m in (sess["dns"] or {}).get("mx", [])]
    if not sess["dns"]:  # an address given: no SNI (RFC 6066 3), the address is checked
        if not t["decrypted"] or t["sni"] is not None or \
                (sess["tls_verify"] or {}).get("host") != sess["server"]["ip"]:
            return "TLS to an address: decrypted %s, sni %s, checked %s" % (
                t["decrypted"], t["sni"], sess["tls_verify"])
    elif not t["decrypted"] or t["sni"] not in hosts or \
            (sess["tls_verify"] or {}).get("host") != t["sni"]:
        return "TLS: decrypted %s, sni %s, the hosts tried %s" % (t["decrypted"], t["sni"], hosts)
    return None


def check_with_postfix(sess, log):
    """Every session with Postfix against its log: tallies, TLS, SASL, each refusal's reply."""
    ip, port = sess["client"]["ip"], sess["client"]["port"]
    tally = postfix_tally(log, ip, port)
    if tally is None:
        return "no Postfix 'disconnect from %s:%d' line" % (ip, port)
    if tally != our_tally(sess):
        return "commands: Postfix logged %s, the probe reported %s" % (tally, our_tally(sess))
    why = check_tls_with_postfix(sess, log)
    if why:
        return why
    sasl = postfix_lines(log, ip, port, "sasl_method=", deadline=0)
    failed = postfix_lines(log, ip, port, "authentication failed", deadline=0)
    auth = auth_exchange(sess["commands"])
    if auth and auth[1] == 235 and not (sasl and "sasl_method=%s, sasl_username=alice" % auth[0]
                                         in sasl[0]):
        return "AUTH %s ok, Postfix logged %s" % (auth, sasl)
    if bool(auth and auth[1] == 535) != bool(failed) or (not auth and sasl):
        return "AUTH %s, Postfix logged %s %s" % (auth, sasl, failed)
    # what smtpd's restrictions refuse is logged as "reject:"; its own protocol checks (530
    # Must issue a STARTTLS command first) and AUTH failures only in the tallies above
    refused = [c for c in sess["commands"] if c["reply"] and c["reply"]["code"] >= 400
               and c["cmd"] not in ("CONNECT", "EHLO", "AUTH", "AUTH-DATA", ".")
               and "STARTTLS" not in c["reply"]["text"]]
    rejects = postfix_rejects(log, ip, port)
    if len(rejects) != len(refused):
        return "Postfix logged %d refusals, the probe %d" % (len(rejects), len(refused))
    for c, (verb, code, text, _frm, to, _proto, helo) in zip(refused, rejects):
        if c["cmd"] != verb or c["reply"]["code"] != int(code) or c["reply"]["text"] != text:
            return "refusal differs: Postfix %s %s %r, the probe %s %d %r" % (
                verb, code, text, c["cmd"], c["reply"]["code"], c["reply"]["text"])
        if helo != sess["helo"] or (to is not None and to not in c["arg"]):
            return "refusal of %s: Postfix saw helo=%s to=%s" % (c["arg"], helo, to)
    return None


def zone_hosts(domain, family=None):
    """What the zone says the probe must find: [(preference, host, [addresses])]."""
    mx = sorted(ZONES[domain].get("MX", []), key=lambda m: m[0])
    hosts = [(p, h) for p, h in mx] if mx else [(None, domain)]
    fams = {None: ("AAAA", "A"), 4: ("A",), 6: ("AAAA",)}[family]
    return [(p, h, [a for t in fams for a in ZONES.get(h, {}).get(t, [])]) for p, h in hosts]


# Each case: name, probe arguments, expected exit status, and what else must hold.
def cases(v6):
    out = [
        ("accepted, NOTIFY, STARTTLS offered, never", ["probe.test", "-4", "--from",
                                                        "chris@contoso.test", "--rcpt",
                                                        "alice@probe.test", "--notify",
                                                        "--starttls", "never"], 0,
         {"dns": ("mx", "probe.test", 4), "states": ["closed"], "rcpt": [250],
          "notify": True, "note": "STARTTLS", "postfix": True}),
        ("unknown user", ["probe.test", "-4", "--rcpt", "nobody@probe.test"], 3,
         {"rcpt": [550], "enhanced": "5.1.1", "postfix": True}),
        ("relay denied", ["probe.test", "-4", "--rcpt", "someone@elsewhere.test"], 3,
         {"rcpt": [554], "enhanced": "5.7.1", "postfix": True}),
        ("greylisted", ["probe.test", "-4", "--rcpt", "grey@probe.test"], 5,
         {"rcpt": [450], "enhanced": "4.7.1", "postfix": True}),
        ("postmaster by default, a list", ["probe.test", "-4", "--rcpt",
                                           "alice@probe.test,nobody@probe.test"], 3,
         {"rcpt": [250, 550], "postfix": True}),
        ("postmaster by default", ["probe.test", "-4"], 0,
         {"rcpt": [250], "rcpt_to": ["postmaster@probe.test"], "postfix": True}),
        ("next MX after a refused one", ["backup.test", "-4", "--rcpt", "alice@probe.test"], 0,
         {"dns": ("mx", "backup.test", 4), "states": ["refused", "closed"],
          "servers": [DOWN, PF], "postfix": True}),
        ("implicit MX", ["implicit.test", "-4", "--rcpt", "alice@probe.test"], 0,
         {"dns": ("implicit_mx", "implicit.test", 4), "postfix": True}),
        ("a host, --no-mx", ["mx.probe.test", "--no-mx", "-4", "--rcpt", "alice@probe.test"], 0,
         {"dns_result": "host", "servers": [PF], "postfix": True}),
        ("NXDOMAIN", ["nx.test"], 4, {"dns_result": "nxdomain", "sessions": 0}),
        ("SERVFAIL", ["fail.test"], 4, {"dns_result": "servfail", "sessions": 0}),
        ("DNS timeout", ["slow.test"], 4, {"dns_result": "timeout", "sessions": 0}),
        ("null MX", ["null.test"], 3, {"dns_result": "null_mx", "sessions": 0}),
        ("MX without address", ["noaddr.test"], 4, {"dns_result": "no_address", "sessions": 0}),
        ("dropped (nftables)", ["dropped.test", "--timeout", "connect=2"], 4,
         {"states": ["no_answer"], "servers": [DROP]}),
        ("refused port", [PF, "--port", "2600"], 4, {"states": ["refused"], "dns": None}),
        ("closes after its banner", ["banner.test", "--rcpt", "alice@probe.test"], 4,
         {"states": ["closed"], "greeting": 220, "servers": [SCRIPT]}),
        ("554 greeting", [SCRIPT, "--port", "2526"], 3, {"greeting": 554}),
        ("no greeting", [SCRIPT, "--port", "2527", "--timeout", "greeting=2"], 4,
         {"states": ["timeout"], "greeting": None}),
        ("host unreachable (route)", ["10.202.0.1"], 4, {"states": ["refused"], "icmp_code": 1}),
        ("network unreachable", ["198.51.100.1"], 4, {"states": ["refused"], "icmp_code": 0}),
    ]
    ca, good, bad = "{ca}", "{pw-good}", "{pw-bad}"
    alice = ["--rcpt", "alice@probe.test"]
    relay = ["--from", "alice@probe.test", "--rcpt", "someone@elsewhere.test"]
    for name, (cn, _, result) in CERTS.items():
        port = str(2601 + list(CERTS).index(name))
        out.append(("TLS, %s certificate" % name, ["probe.test", "-4", "--port", port,
                                                  "--ca-file", ca] + alice, 0,
                    {"tls": (result, cn, CA_NAME), "rcpt": [250], "postfix": True}))
    out += [
        ("TLS, self-signed certificate", ["probe.test", "-4", "--ca-file", ca] + alice, 0,
         {"tls": ("self_signed", "mx.probe.test", "mx.probe.test"), "postfix": True}),
        ("TLS to an address: no SNI, the address checked", [PF, "--port", "2601", "--ca-file", ca,
                                                             "--rcpt", "alice@probe.test"], 0,
         {"tls": ("name_mismatch", "mx.probe.test", CA_NAME), "postfix": True}),
        ("STARTTLS refused (454): plaintext, AUTH CRAM-MD5 only",
         [SCRIPT, "--port", "2528", "--auth-user", "alice", "--auth-password-file", good,
          "--auth-cleartext"] + alice, 0,
         {"note": "refused STARTTLS", "note2": "neither PLAIN nor LOGIN", "no_cmd": "AUTH",
          "rcpt": [250]}),
        ("STARTTLS refused, --starttls require", [SCRIPT, "--port", "2528", "--starttls",
                                                   "require"] + alice, 6,
         {"result": "tls_failed", "no_cmd": "MAIL"}),
        ("not TLS after 220 to STARTTLS", [SCRIPT, "--port", "2529"] + alice, 6,
         {"result": "tls_failed", "no_cmd": "MAIL", "verdict": "TLS handshake"}),
        ("no STARTTLS offered, try", ["probe.test", "-4", "--port", "2607"] + alice, 0,
         {"note": "does not offer STARTTLS", "rcpt": [250], "postfix": True}),
        ("AUTH asked, not offered", ["probe.test", "-4", "--port", "2601", "--auth-user", "alice",
                                     "--auth-password-file", good] + alice, 0,
         {"note": "does not offer AUTH", "no_cmd": "AUTH", "postfix": True}),
        ("TLS, system store: unknown issuer", ["probe.test", "-4", "--port", "2601"] + alice, 0,
         {"tls": ("unknown_issuer", "mx.probe.test", CA_NAME), "postfix": True}),
        ("--verify, expired certificate", ["probe.test", "-4", "--port", "2602", "--ca-file", ca,
                                          "--verify"] + alice, 6,
         {"tls": ("expired", "mx.probe.test", CA_NAME), "result": "tls_failed",
          "no_cmd": "MAIL", "postfix": True}),
        ("--verify, valid certificate", ["probe.test", "-4", "--port", "2601", "--ca-file", ca,
                                        "--verify"] + alice, 0,
         {"tls": ("ok", "mx.probe.test", CA_NAME), "postfix": True}),
        ("TLS required, --starttls never", ["probe.test", "-4", "--port", "2604",
                                            "--starttls", "never"] + alice, 3,
         {"mail": (530, "5.7.0"), "no_cmd": "STARTTLS", "reason": ("MAIL", "tls_required"),
          "postfix": True}),
        ("TLS required, STARTTLS", ["probe.test", "-4", "--port", "2604"] + alice, 0,
         {"rcpt": [250], "postfix": True}),
        ("--starttls require, not offered", ["probe.test", "-4", "--port", "2607",
                                             "--starttls", "require"] + alice, 6,
         {"result": "tls_failed", "no_cmd": "MAIL", "postfix": True}),
        ("AUTH required, none given", ["probe.test", "-4", "--port", "2605"] + relay, 3,
         {"mail": (530, "5.7.0"), "reason": ("MAIL", "auth_required"), "postfix": True}),
        ("AUTH PLAIN ok, relay allowed", ["probe.test", "-4", "--port", "2605", "--auth-user",
                                          "alice", "--auth-password-file", good] + relay, 0,
         {"auth": (235, "PLAIN"), "rcpt": [250], "postfix": True}),
        ("AUTH PLAIN failed", ["probe.test", "-4", "--port", "2605", "--auth-user", "alice",
                               "--auth-password-file", bad] + relay, 3,
         {"auth": (535, "PLAIN"), "no_cmd": "MAIL", "reason": ("AUTH", "auth_failed"),
          "postfix": True}),
        ("AUTH LOGIN ok", ["probe.test", "-4", "--port", "2608", "--auth-user", "alice",
                           "--auth-password-file", good] + relay, 0,
         {"auth": (235, "LOGIN"), "postfix": True}),
        ("AUTH in clear refused by the probe", ["probe.test", "-4", "--port", "2605",
                                                "--starttls", "never", "--auth-user", "alice",
                                                "--auth-password-file", good] + relay, 3,
         {"no_cmd": "AUTH", "note": "AUTH was not sent", "mail": (530, "5.7.0"),
          "postfix": True}),
        ("AUTH in clear, --auth-cleartext", ["probe.test", "-4", "--port", "2605", "--starttls",
                                             "never", "--auth-cleartext", "--auth-user", "alice",
                                             "--auth-password-file", good] + relay, 0,
         {"auth": (235, "PLAIN"), "postfix": True}),
        ("--data: message too large", ["probe.test", "-4", "--port", "2606", "--data"] + alice, 3,
         {"dot": (552, "5.3.4"), "reason": (".", "message_too_large"), "postfix": True}),
        ("--data: accepted and queued", ["probe.test", "-4", "--data", "--from",
                                         "chris@contoso.test"] + alice, 0,
         {"dot": (250, "2.0.0"), "queued": True, "postfix": True}),
    ]
    if v6:
        out.append(("IPv6 (AAAA)", ["probe.test", "-6", "--rcpt", "alice@probe.test"], 0,
                    {"dns": ("mx", "probe.test", 6), "servers": [PF6], "postfix": True}))
    return out


def secrets_shown(text):
    """The test password in any form a probe could leak it: plain, or base64 in AUTH."""
    forms = [PASSWORD, base64.b64encode(PASSWORD.encode()).decode(),
             base64.b64encode(b"\0alice\0" + PASSWORD.encode()).decode()]
    return [f for f in forms if f in text]


def auth_exchange(cmds):
    """(mechanism, the code that ended the AUTH exchange) or None."""
    for i, c in enumerate(cmds):
        if c["cmd"] == "AUTH":
            last = c
            for n in cmds[i + 1:]:
                if n["cmd"] != "AUTH-DATA":
                    break
                last = n
            return c["arg"].split()[0].upper(), last["reply"] and last["reply"]["code"]
    return None


def check_tls_verify(last, want):
    result, cn, issuer = want
    v = last.get("tls_verify")
    if not v or v["result"] != result or not v["explanation"]:
        return "tls_verify %s, the test made a certificate that is %s" % (v, result)
    leaf = v["chain"][0] if v["chain"] else {}
    if leaf.get("subject") != "CN=" + cn or leaf.get("issuer") != "CN=" + issuer:
        return "chain %s, the test made CN=%s issued by CN=%s" % (v["chain"], cn, issuer)
    if result == "expired" and not leaf["not_after"].startswith("2020-02-01"):
        return "not_after %s, the test made 2020-02-01" % leaf["not_after"]
    hosts = [m["host"] for m in last["dns"]["mx"]] if last["dns"] else [last["server"]["ip"]]
    if v["host"] not in hosts or last["tls"]["sni"] != (v["host"] if last["dns"] else None):
        return "checked %s, SNI %s, the MX hosts %s" % (v["host"], last["tls"]["sni"], hosts)
    return None


def queued_in_postfix(log, reply_text):
    m = re.search(r"queued as ([0-9A-Za-z]+)", reply_text)
    if not m:
        return "no queue id in %r" % reply_text
    end = time.time() + 10
    while time.time() < end:
        text = open(log, errors="replace").read()
        if re.search(r"%s: removed" % m.group(1), text) and \
                re.search(r"%s: from=<chris@contoso.test>" % m.group(1), text):
            return None
        time.sleep(0.2)
    return "Postfix logged no 'from=' and 'removed' for queue id %s" % m.group(1)


def check_more(want, end, last, cmds, log):
    """The checks of part 2: TLS, AUTH, DATA, the probe's result."""
    if "result" in want and end["result"] != want["result"]:
        return "result %s, wanted %s" % (end["result"], want["result"])
    if "tls" in want:
        why = check_tls_verify(last, want["tls"])
        if why:
            return why
    if "no_cmd" in want and any(c["cmd"] == want["no_cmd"] for c in cmds):
        return "%s was sent" % want["no_cmd"]
    mail = [c for c in cmds if c["cmd"] == "MAIL"]
    if "mail" in want and (not mail or not mail[-1]["reply"] or
                           (mail[-1]["reply"]["code"], mail[-1]["reply"]["enhanced"]) !=
                           want["mail"]):
        return "MAIL reply %s, wanted %s" % (mail and mail[-1]["reply"], want["mail"])
    if "auth" in want:
        got = auth_exchange(cmds)
        if not got or (got[1], got[0]) != want["auth"]:
            return "AUTH %s, wanted %s" % (got, want["auth"])
        in_tls = [c.get("in_tls", False) for c in cmds if c["cmd"] == "AUTH"][0]
        if in_tls == ("auth_in_cleartext" in last["anomalies"]) or in_tls != bool(last["tls"]):
            return "AUTH inside TLS %s, anomalies %s" % (in_tls, last["anomalies"])
    if "reason" in want:  # the knowledge table's reason, as a capture would get it
        cmd, reason = want["reason"]
        got = [c["reason"] for c in cmds if c["cmd"] == cmd]
        if not got or got[-1] != reason:
            return "%s reason %s, wanted %s" % (cmd, got, reason)
    if "dot" in want:
        dots = [c for c in cmds if c["cmd"] == "."]
        r = dots[-1]["reply"] if dots else None
        if not r or (r["code"], r["enhanced"]) != want["dot"] or not dots[-1]["explanation"]:
            return "reply to the message %s, wanted %s" % (r, want["dot"])
        if want.get("queued"):
            return queued_in_postfix(log, r["text"])
    return None


def check_case(binary, log, args, want_exit, want):
    status, recs, err = probe(binary, args)
    leaked = secrets_shown(json.dumps(recs) + err)
    if leaked:
        return "the password is in the output: %s" % leaked
    if status != want_exit:
        return "exit %d, wanted %d (%s)" % (status, want_exit, err.strip() or recs[-1:])
    if not recs or recs[-1].get("type") != "probe":
        return "no closing probe record"
    end, sessions = recs[-1], [r for r in recs if r.get("type") == "session"]
    if end["exit_status"] != status or end["sessions"] != len(sessions):
        return "probe record says exit %s, %s sessions" % (end["exit_status"], end["sessions"])
    if any(s["source"] != "probe" for s in sessions):
        return "a session without source probe"
    if "sessions" in want and len(sessions) != want["sessions"]:
        return "%d sessions, wanted %d" % (len(sessions), want["sessions"])
    if "dns_result" in want and (end["dns"] or {}).get("result") != want["dns_result"]:
        return "dns result %s, wanted %s" % ((end["dns"] or {}).get("result"), want["dns_result"])
    if "dns" in want:
        if want["dns"] is None:
            if end["dns"] is not None:
                return "a DNS step for an address"
        else:
            result, domain, fam = want["dns"]
            got = [(m["preference"], m["host"], m["addresses"]) for m in end["dns"]["mx"]]
            if end["dns"]["result"] != result or got != zone_hosts(domain, fam):
                return "dns %s %s, the zone says %s" % (end["dns"]["result"], got,
                                                       zone_hosts(domain, fam))
            if any(s["dns"] != end["dns"] for s in sessions):
                return "a session's dns differs from the probe's"
    if "states" in want and [s["state"] for s in sessions] != want["states"]:
        return "states %s, wanted %s" % ([s["state"] for s in sessions], want["states"])
    if "servers" in want and [s["server"]["ip"] for s in sessions] != want["servers"]:
        return "servers %s, wanted %s" % ([s["server"]["ip"] for s in sessions], want["servers"])
    last = sessions[-1] if sessions else None
    cmds = last["commands"] if last else []
    if "--data" not in args and \
            any(c["cmd"] in ("DATA", "BDAT") for s in sessions for c in s["commands"]):
        return "DATA was sent"
    why = check_more(want, end, last, cmds, log)
    if why:
        return why
    if "greeting" in want:
        g = cmds[0]["reply"]["code"] if cmds and cmds[0]["reply"] else None
        if g != want["greeting"]:
            return "greeting %s, wanted %s" % (g, want["greeting"])
    rcpts = [c for c in cmds if c["cmd"] == "RCPT"]
    if "rcpt" in want and [c["reply"]["code"] for c in rcpts] != want["rcpt"]:
        return "RCPT replies %s, wanted %s" % ([c["reply"] and c["reply"]["code"] for c in rcpts],
                                              want["rcpt"])
    if "enhanced" in want and rcpts[-1]["reply"]["enhanced"] != want["enhanced"]:
        return "enhanced %s, wanted %s" % (rcpts[-1]["reply"]["enhanced"], want["enhanced"])
    if "rcpt_to" in want and [c["arg"].strip("<>").split(">")[0].split("<")[-1]
                              for c in rcpts] != want["rcpt_to"]:
        return "RCPT to %s" % [c["arg"] for c in rcpts]
    if want.get("notify") and not all("NOTIFY=SUCCESS,FAILURE" in c["arg"] for c in rcpts):
        return "RCPT without NOTIFY though DSN is offered"
    for k in ("note", "note2"):
        if want.get(k) and not any(want[k] in n for n in last["probe_notes"]):
            return "no note about %s: %s" % (want[k], last["probe_notes"])
    if want.get("verdict") and want["verdict"] not in end["verdict"]:
        return "verdict %r lacks %r" % (end["verdict"], want["verdict"])
    if "icmp_code" in want and (last.get("icmp_unreachable") or {}).get("code") != want["icmp_code"]:
        return "icmp_unreachable %s" % last.get("icmp_unreachable")
    if last and [c["cmd"] for c in cmds if c["cmd"] == "RSET"] and cmds[-1]["cmd"] != "QUIT":
        return "RSET without QUIT at the end"
    for s in sessions:
        if want.get("exim"):
            why = check_with_exim(s, want["exim_log"])
            if why:
                return why
        if want.get("postfix") and s["server"]["ip"] in (PF, PF6) and s["state"] == "closed":
            why = check_with_postfix(s, log)
            if why:
                return why
    return None


def formats_agree(binary):
    """Text, ECS and CSV write the probe's session and verdict as JSON does (one refusal)."""
    args = ["probe.test", "-4", "--rcpt", "nobody@probe.test"]
    status, recs, _ = probe(binary, args)
    sess, end = recs[0], recs[-1]
    outs = {}
    for fmt in ("text", "ecs", "csv"):
        p = nsx(binary, "-o", fmt, "--probe", *args, check=False)
        outs[fmt] = (p.returncode, p.stdout.decode(), p.stderr.decode())
    if any(o[0] != status for o in outs.values()):
        return "exit statuses differ: json %d, %s" % (status, {f: o[0] for f, o in outs.items()})
    text = outs["text"][1]
    if "=> " + sess["verdict"] not in text or end["verdict"] not in text or "Probe of" not in text:
        return "text lacks the session's or the probe's verdict"
    docs = [json.loads(l) for l in outs["ecs"][1].splitlines()]
    if docs[0]["smtpscope"]["source"] != "probe" or \
            docs[-1]["smtpscope"]["probe"]["verdict"] != end["verdict"]:
        return "ECS differs: %s" % docs[-1]
    rows = outs["csv"][1].splitlines()
    if len(rows) < 2 or end["verdict"] not in outs["csv"][2]:
        return "CSV: %d rows, verdict on stderr: %s" % (len(rows), end["verdict"] in outs["csv"][2])
    return None


def session_facts(sess):
    """What a probe's session and the same session read back from -w must share."""
    t = sess["tls"] or {}
    return {"ends": [sess["client"], sess["server"]], "state": sess["state"],
            "helo": sess["helo"], "extensions": sess["extensions"],
            "commands": [(c["cmd"], c["arg"], c["reply"] and c["reply"]["code"],
                          c["reply"] and c["reply"]["text"], c["explanation"],
                          c.get("in_tls", False)) for c in sess["commands"]],
            "messages": [(m.get("outcome"), m.get("subject"), m.get("message_id"))
                         for m in sess["messages"]],
            "tls": [t.get(k) for k in ("handshake", "version", "cipher", "sni", "decrypted")],
            "verdict": sess["verdict"]}


def wire_round_trip(binary, work):
    """-w FILE (and --tls-keylog KEYS): smtpscope -r FILE gives the probe's sessions again."""
    fails = []
    for name, extra in (("plaintext", ["--starttls", "never"]),
                        ("STARTTLS and --data", ["--data", "--from", "chris@contoso.test"])):
        pcap, keys = os.path.join(work, "wire.pcap"), os.path.join(work, "wire.keys")
        for f in (pcap, keys):
            if os.path.exists(f):
                os.unlink(f)
        args = ["probe.test", "-4", "--rcpt", "alice@probe.test", "-w", pcap,
                "--tls-keylog", keys] + extra
        status, recs, err = probe(binary, args)
        sessions = [r for r in recs if r.get("type") == "session"]
        back = sh(binary, "-r", pcap, "--tls-keylog", keys, "-o", "json", check=False)
        again = [json.loads(l) for l in back.stdout.decode().splitlines() if l.strip()]
        again = [r for r in again if r.get("type") == "session"]
        if status != 0 or back.returncode != 0 or len(again) != len(sessions) or not sessions:
            fails.append("%s: exit %d/%d, %d sessions probed, %d read back (%s)" % (
                name, status, back.returncode, len(sessions), len(again),
                (err + back.stderr.decode()).strip()))
            continue
        for a, b in zip(sessions, again):
            fa, fb = session_facts(a), session_facts(b)
            diff = [k for k in fa if fa[k] != fb[k]]
            if diff or b["source"] != "capture" or b["midstream"]:
                fails.append("%s: read back differs in %s: %s / %s" % (
                    name, diff, [fa[k] for k in diff], [fb[k] for k in diff]))
    return fails


def bad_arguments(binary):
    """One clear line on stderr and exit 2 for what cannot be probed (no namespace needed)."""
    fails = []
    for args, words in ((["--probe", "a b"], "--probe wants"),
                        (["--probe", "x.test", "--rcpt", "nobody"], "--rcpt wants"),
                        (["--probe", "x.test", "--from", "a@b>"], "--from"),
                        (["--probe", "x.test", "--port", "0"], "--port"),
                        (["--probe", "x.test", "--timeout", "body=5"], "STEP is"),
                        (["--probe", "192.0.2.1", "--no-mx"], "--no-mx"),
                        (["--probe", "192.0.2.1", "-6"], "-6 cannot"),
                        (["--probe", "x.test", "-4", "-6"], "-4 and -6"),
                        (["--probe", "x.test", "-r", "f.pcap"], "cannot be used together"),
                        (["-r", "f.pcap", "--rcpt", "a@b"], "--rcpt works only with --probe"),
                        (["-r", "f.pcap", "--data"], "--data works only with --probe"),
                        (["--probe", "x.test", "--starttls", "maybe"], "--starttls takes"),
                        (["--probe", "x.test", "--verify", "--starttls", "never"],
                         "--verify needs TLS"),
                        (["--probe", "x.test", "--auth-password-file", "f"], "need"),
                        (["--probe", "x.test", "--auth-user", ""], "--auth-user wants"),
                        (["--probe", "x.test", "--ca-file", "/nonexistent/ca.pem"],
                         "--ca-file cannot be read")):
        p = subprocess.run([binary] + args, capture_output=True, timeout=30)
        err = p.stderr.decode().strip().splitlines()
        if p.returncode != 2 or len(err) != 1 or words not in err[0]:
            fails.append("%s: exit %d, %r" % (" ".join(args), p.returncode, err))
    return fails


def password_prompt(binary):
    """--auth-user without a file: the password is asked on the terminal, not echoed, and
    neither shown nor in the process's arguments; an unreadable file or an empty password is
    one line and exit 1. Loopback only: 127.0.0.1 port 9 (discard, nothing listens)."""
    import pty
    fails = []
    typed = "typed-" + PASSWORD
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(binary, [binary, "--probe", "127.0.0.1", "--port", "9", "--timeout", "2",
                          "--auth-user", "alice", "--auth-cleartext", "-o", "json"])
    out, sent, end = b"", False, time.time() + 20
    while time.time() < end:
        import select
        if not select.select([fd], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if not sent and b"Password: " in out:
            os.write(fd, (typed + "\n").encode())
            sent = True
    code = None
    for _ in range(100):  # bounded: a child stuck reading the terminal is killed, and said
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(st)
            break
        time.sleep(0.1)
    if code is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        code = -9
    text = out.decode(errors="replace")
    if not sent or typed in text or code != 4 or '"type":"probe"' not in text.replace(" ", ""):
        fails.append("terminal: prompt %s, exit %d, echoed %s: %r" % (sent, code, typed in text,
                                                                       text[-300:]))
    for args, words in ((["--auth-user", "alice", "--auth-password-file", "/nonexistent/pw"],
                         "--auth-password-file"),
                        (["--auth-user", "alice", "--auth-password-file", "/dev/null"],
                         "password is empty"),
                        (["--ca-file", "/dev/null"], "no certificate could be read")):
        p = subprocess.run([binary, "--probe", "127.0.0.1", "--port", "9"] + args,
                           capture_output=True, timeout=30)
        err = p.stderr.decode().strip().splitlines()
        if p.returncode != 1 or len(err) != 1 or words not in err[0] or p.stdout:
            fails.append("%s: exit %d, %r" % (" ".join(args), p.returncode, err))
    return fails


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin")
    ap.add_argument("--dns", nargs=2)
    ap.add_argument("--servers")
    ap.add_argument("--only", help="run only the cases whose name contains this")
    ap.add_argument("--shell", action="store_true",
                    help="set the namespace up, run a shell in it, tear it down (for README)")
    a = ap.parse_args()
    if a.dns:
        return dns_server(*a.dns)
    if a.servers:
        return servers(a.servers)
    binary = os.path.abspath(a.bin)
    fails = bad_arguments(binary)
    for f in fails:
        print("probe: FAIL: arguments: %s" % f)
    for f in password_prompt(binary):
        fails.append(f)
        print("probe: FAIL: password: %s" % f)
    EARLY_FAILS.extend(fails)
    if os.geteuid() != 0:
        skip("not root (network namespaces need root)")
    if sh("ip", "netns", "list", check=False).returncode != 0:
        skip("ip netns is unusable here")
    ensure_tools()
    work = tempfile.mkdtemp(prefix="smtpscope-probe-")
    os.chmod(work, 0o755)
    procs, etc, exim = [], None, None
    passed = 0
    try:
        if sh("ip", "netns", "add", NS, check=False).returncode != 0:
            skip("cannot create a network namespace")
        entered = sh("ip", "netns", "exec", NS, "true", check=False)
        if entered.returncode != 0:  # e.g. a chroot, where / is not a mount point
            sh("ip", "netns", "del", NS, check=False)
            skip("cannot enter a network namespace: %s" % (entered.stderr.decode(errors="replace").strip().splitlines()
                                                            or ["ip netns exec failed"])[0])
        procs, v6 = setup(work)
        etc = start_postfix(work, v6)
        files = {"{ca}": etc + "/ca.crt", "{pw-good}": work + "/pw-good",
                 "{pw-bad}": work + "/pw-bad"}
        if a.shell:
            print("namespace %s; CA %s; password file %s" % (NS, files["{ca}"], files["{pw-good}"]))
            subprocess.run(["ip", "netns", "exec", NS, os.environ.get("SHELL", "/bin/sh")])
            return 0
        for name, args, want_exit, want in cases(v6):
            if a.only and a.only not in name:
                continue
            args = [files.get(x, x) for x in args]
            why = check_case(binary, os.path.join(work, "maillog"), args, want_exit, want)
            if why:
                fails.append(name)
                print("probe: FAIL: %s (--probe %s): %s" % (name, " ".join(args), why))
            else:
                passed += 1
                print("probe: PASS %s" % name)
        exim = Exim(work, etc) if not a.only or "Exim" in a.only else None
        if exim and exim.why:
            print("probe: SKIP Exim cases: %s" % exim.why)
        elif exim:
            for name, args, want_exit, want in exim_cases():
                args = [files.get(x, x) for x in args]
                why = check_case(binary, exim.log, args, want_exit, dict(want, exim_log=exim.log))
                if why:
                    fails.append(name)
                    print("probe: FAIL: %s (--probe %s): %s" % (name, " ".join(args), why))
                else:
                    passed += 1
                    print("probe: PASS %s" % name)
        if not a.only or a.only == "-w":
            wire_fails = wire_round_trip(binary, work)
            for why in wire_fails:
                print("probe: FAIL: -w round trip: %s" % why)
            if wire_fails:
                fails.append("-w")
            else:
                passed += 1
                print("probe: PASS -w FILE reads back with -r as the same sessions")
        why = formats_agree(binary)
        if why:
            fails.append("formats")
            print("probe: FAIL: text, ECS and CSV against JSON: %s" % why)
        else:
            passed += 1
            print("probe: PASS text, ECS and CSV agree with JSON")
    finally:
        if exim:
            exim.stop()
        teardown(procs, etc)
        if exim:
            exim.remove_user()
    if fails:
        print("probe: %d passed, %d failed; work directory kept: %s" % (passed, len(fails), work))
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("probe: %d passed, 0 failed" % passed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
