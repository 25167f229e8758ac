#!/bin/bash
# make-exim-keylog-samples.sh - the exim-* captures of samples/keylog/: real SMTP sessions with
# TLS against Exim (Debian's exim4-daemon-light, whose TLS is GnuTLS, not OpenSSL as Postfix's)
# and the clients' own NSS key logs, for --tls-keylog.  The clients are keylogclients.py's
# (the smtplib cases EXIM_CASES names), the checks expect.py's and keylogclients.py's.
# Run as root:   sudo bash samples/make-exim-keylog-samples.sh        (under a minute)
#
# For each case NAME it writes samples/keylog/NAME.pcap (tcpdump -i lo -U -s 0),
# NAME.keylog (the client's key log of exactly this capture) and NAME.expected.json, then
# samples/keylog/README.md.  The expected results come from the clients' own transcripts,
# cross-checked by expect.py against Exim's main log (connection, rejection, arrival,
# delivery lines) and the capture (tshark), and by keylogclients.py against tshark's own
# decryption with the key log and against the X=TLS... field of Exim's log.  smtpscope is
# never used.  Any disagreement stops the script.
#
# EXIM IS NOT INSTALLED: installing exim4 would remove Postfix (both provide
# mail-transport-agent).  The script takes the exim4 binary out of the Debian package
# instead: `apt-get download exim4-daemon-light` (or the .deb in $EXIM_DEB) and `dpkg -x`
# into its mktemp directory, and runs it as root with its own configuration (-C), spool and
# log directories.  Its run-time libraries must be installed (ldd is checked; on Debian 12
# libidn12 was the only one missing: apt-get install libidn12).  The binary's built-in
# exim user is Debian-exim: if that user does not exist the script creates it (useradd -r)
# and removes it at the end.
#
# WHAT IT TOUCHES: a mktemp directory /tmp/smtpscope-exim.XXXXXX (the binary, configuration,
# spool, log, certificate, transcripts), removed at the end (KEEP=1 keeps it and leaves Exim
# running), the user Debian-exim if it had to create it, and samples/keylog/exim-*.  Exim
# listens on 127.0.0.1:25 and :465 while it runs; the script stops if something else
# listens there.  Every wait is bounded (`timeout`, socket timeouts, counted polling loops).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/keylog
PY=/usr/bin/python3
SRV=127.0.0.1
FILTER='tcp port 25 or tcp port 465'
K="$PY $HERE/keylogclients.py"

log() { printf '\n=== %s\n' "$*" >&2; }
fail() { printf 'make-exim-keylog-samples.sh: ERROR: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root"
for c in tcpdump tshark openssl dpkg-deb; do
	command -v $c >/dev/null || fail "$c is missing"
done
busy=$(ss -Htln "( sport = :25 or sport = :465 )" | awk '{print $4}')
[ -z "$busy" ] || fail "something already listens on port 25/465: $busy"

WORK=$(mktemp -d /tmp/smtpscope-exim.XXXXXX)
chmod 755 "$WORK"		# Exim's receiving processes (user Debian-exim) walk in
CONF=$WORK/exim.conf SPOOL=$WORK/spool LOGD=$WORK/log
LOG=$LOGD/mainlog
CAP_PID= EXIM_PID= MADE_USER=
cleanup() {
	set +e
	[ -n "$CAP_PID" ] && kill -INT "$CAP_PID" 2>/dev/null
	[ "${KEEP:-0}" = 1 ] && { echo "kept: $WORK (exim pid $EXIM_PID)" >&2; return; }
	if [ -n "$EXIM_PID" ]; then
		kill -TERM "$EXIM_PID" 2>/dev/null
		for i in $(seq 1 50); do kill -0 "$EXIM_PID" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$EXIM_PID" 2>/dev/null && kill -KILL "$EXIM_PID"
		wait "$EXIM_PID" 2>/dev/null
	fi
	[ -n "$MADE_USER" ] && userdel Debian-exim
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------- the exim binary, out of its package
log "exim4-daemon-light into $WORK/root"
if [ -z "${EXIM_DEB:-}" ]; then
	mkdir "$WORK/debs"
	(cd "$WORK/debs" && timeout 300 apt-get download exim4-daemon-light) ||
		fail "apt-get download exim4-daemon-light failed (give a .deb in EXIM_DEB=)"
	EXIM_DEB=$(ls "$WORK"/debs/exim4-daemon-light_*.deb)
fi
dpkg -x "$EXIM_DEB" "$WORK/root"
EXIM=$WORK/root/usr/sbin/exim4
DEBV=$(dpkg-deb -f "$EXIM_DEB" Version)
missing=$(ldd "$EXIM" | awk '/not found/{print $1}')
[ -z "$missing" ] || fail "libraries missing for exim4 (install them, not exim4): $missing"
if ! getent passwd Debian-exim >/dev/null; then
	useradd -r -M -d /nonexistent -s /usr/sbin/nologin -U Debian-exim
	MADE_USER=1
fi
mkdir -p "$SPOOL" "$LOGD" "$OUT"
chown Debian-exim:Debian-exim "$SPOOL" "$LOGD"
: >"$LOG"
chown Debian-exim:Debian-exim "$LOG"

# ------------------------------------------------------------------- the Exim configuration
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=mx.sample.test \
	-keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
chgrp Debian-exim "$WORK/tls.key"
chmod 640 "$WORK/tls.key"
cat >"$CONF" <<EOF
# smtpscope key log instance, written by samples/make-exim-keylog-samples.sh
exim_path = $EXIM
primary_hostname = mx.sample.test
qualify_domain = sample.test
domainlist local_domains = sample.test : mx.sample.test
spool_directory = $SPOOL
log_file_path = $LOGD/%slog
pid_file_path = $WORK/exim.pid
local_interfaces = $SRV
daemon_smtp_ports = 25 : 465
tls_on_connect_ports = 465
smtp_banner = \$smtp_active_hostname ESMTP Exim \$version_number (smtpscope samples)
host_lookup =
rfc1413_hosts =
keep_environment =
# STARTTLS offered to everybody; GnuTLS's default priorities (tls_require_ciphers unset)
tls_advertise_hosts = *
tls_certificate = $WORK/tls.crt
tls_privatekey = $WORK/tls.key
log_selector = +tls_cipher +tls_peerdn +incoming_port +smtp_connection +received_recipients
# AUTH only inside TLS
auth_advertise_hosts = \${if eq{\$tls_in_cipher}{}{}{*}}
acl_smtp_rcpt = acl_check_rcpt

begin acl
acl_check_rcpt:
  deny    domains = !+local_domains
          message = relay not permitted
  require verify = recipient
  accept

begin routers
# the known users' mail is discarded; anyone else: 550 Unrouteable address
known:
  driver = redirect
  domains = +local_domains
  local_parts = alice : bob : kate : postmaster
  data = :blackhole:

begin transports

begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = \${if and {{eq{\$auth2}{alice}}{eq{\$auth3}{not-a-real-password}}}}
  server_set_id = \$auth2
EOF
chmod 644 "$CONF"
timeout 30 "$EXIM" -C "$CONF" -bV >"$WORK/bV" 2>&1 || fail "exim -bV: $(cat "$WORK/bV")"
"$EXIM" -C "$CONF" -bdf >"$WORK/exim.out" 2>&1 &
EXIM_PID=$!
for i in $(seq 1 40); do
	[ "$(ss -Htln "( sport = :25 or sport = :465 )" | grep -c "$SRV:")" = 2 ] && break
	sleep 0.25
done
[ "$(ss -Htln "( sport = :25 or sport = :465 )" | grep -c "$SRV:")" = 2 ] ||
	fail "Exim did not start: $(cat "$WORK/exim.out" "$LOG")"
[ "${SETUP_ONLY:-0}" = 1 ] && { KEEP=1; exit 0; }

EXV=$(awk '/^Exim version/{print $3}' "$WORK/bV")
GTV=$(dpkg-query -W -f '${Version}' libgnutls30 2>/dev/null | sed 's/-.*//')
TDV=$(tcpdump --version 2>&1 | awk '/^tcpdump version/{print $3}')
LPV=$(tcpdump --version 2>&1 | awk '/^libpcap version/{print $3}')
PYV=$($PY -c 'import platform, ssl; print(platform.python_version(), ssl.OPENSSL_VERSION)')
MW_PY="Exim $EXV (Debian exim4-daemon-light $DEBV) with GnuTLS $GTV, Python $PYV smtplib, tcpdump $TDV (libpcap $LPV) on lo"

# ------------------------------------------------------------------------------ one case
. "$HERE/capture-lib.sh"	# cap_start NAME / cap_stop NAME

case_() {	# NAME DESCRIPTION HOW
	local name=$1 off
	log "$name"
	off=$(stat -c %s "$LOG")
	rm -f "$OUT/$name.keylog"
	cap_start "$name"
	timeout 90 $K smtplib "$name" "$WORK/$name.json" "$OUT/$name.keylog" ||
		fail "$name: client failed"
	cap_stop "$name"
	timeout 120 $PY "$HERE/expect.py" build --name "$name" --description "$2" \
		--made-with "$MW_PY" --how "$3" --keylog "$name.keylog" --pcap "$OUT/$name.pcap" \
		--out "$OUT/$name.expected.json" --exim-log "$LOG" --log-offset "$off" \
		"$WORK/$name.json"
	timeout 120 $K check-exim "$name" "$OUT" "$WORK/$name.json" "$LOG" "$off"
}
rm -f "$OUT"/exim-*.pcap "$OUT"/exim-*.keylog "$OUT"/exim-*.expected.json

case_ exim-tls13 \
	"Exim (GnuTLS): STARTTLS, then TLS 1.3 with Python's defaults; inside: EHLO, MAIL, RCPT 250, RCPT 550 Unrouteable address (unknown user), DATA with Subject, 250 OK id=, QUIT" \
	"python3 smtplib starttls() with an SSLContext(keylog_filename=NAME.keylog), no certificate check (keylogclients.py's tls13-aes256 client)"
case_ exim-tls12 \
	"Exim (GnuTLS): STARTTLS, then TLS 1.2 (the client's maximum) with Python's default cipher list; inside: EHLO, MAIL, RCPT, DATA, 250 OK id=, QUIT" \
	"python3 smtplib starttls() with maximum_version TLSv1_2, keylog_filename"
case_ exim-tls12-cbc \
	"Exim (GnuTLS): STARTTLS, then TLS 1.2 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA (the client offers only this suite); inside: EHLO, MAIL, RCPT, DATA, 250 OK id=, QUIT" \
	"python3 smtplib starttls() with maximum_version TLSv1_2, set_ciphers('ECDHE-RSA-AES128-SHA'), keylog_filename (keylogclients.py's tls12-cbc-etm client)"
case_ exim-implicit-465 \
	"Exim (GnuTLS): implicit TLS on port 465 (tls_on_connect_ports), TLS 1.3; inside: EHLO, AUTH PLAIN 235 (the password must never be printed), MAIL, RCPT, DATA, 250 OK id=, QUIT" \
	"python3 smtplib over an SSLContext-wrapped socket (as SMTP_SSL), keylog_filename, login('alice', 'not-a-real-password')"

$PY "$HERE/keylogclients.py" readme "$OUT" >"$OUT/README.md"
log "done: $(ls "$OUT"/exim-*.pcap | wc -l) Exim captures in $OUT"
