#!/bin/bash
# make-keylog-samples.sh - regenerate samples/keylog/: real SMTP sessions with TLS (STARTTLS on
# port 25, implicit TLS on 465) and the clients' own NSS key logs, for --tls-keylog.
# Run as root:   sudo bash samples/make-keylog-samples.sh        (about two minutes)
#
# For each case NAME it writes samples/keylog/NAME.pcap (tcpdump -i lo -U -s 0),
# NAME.keylog (the client's key log of exactly this capture, or an altered / foreign one) and
# NAME.expected.json, then samples/keylog/README.md.  The expected results come from the
# clients' own transcripts (keylogclients.py: what smtplib or openssl s_client sent and
# received, and the TLS messages their msg callback saw), cross-checked by expect.py against
# Postfix's log and the capture (tshark), and by keylogclients.py against tshark's own
# decryption with the key log.  smtpscope is never used.  Any disagreement stops the script.
#
# WHAT IT TOUCHES: a mktemp directory /tmp/smtpscope-keylog.XXXXXX (a Postfix instance of its
# own: config, queue, data, log; the transcripts), removed at the end (KEEP=1 keeps it and
# leaves Postfix running), and samples/keylog/.  Postfix listens on 127.0.0.1:25 and :465
# while it runs; the script stops if something else listens there.  It installs nothing.
# Every wait is bounded (`timeout`, socket timeouts, counted polling loops).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/keylog
PY=/usr/bin/python3
SRV=127.0.0.1
FILTER='tcp port 25 or tcp port 465'
K="$PY $HERE/keylogclients.py"

log() { printf '\n=== %s\n' "$*" >&2; }
fail() { printf 'make-keylog-samples.sh: ERROR: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root"
for c in postfix saslpasswd2 tcpdump tshark openssl; do
	command -v $c >/dev/null || fail "$c is missing (see make-samples.sh for the packages)"
done
busy=$(ss -Htln "( sport = :25 or sport = :465 )" | awk '{print $4}')
[ -z "$busy" ] || fail "something already listens on port 25/465: $busy"

WORK=$(mktemp -d /tmp/smtpscope-keylog.XXXXXX)
chmod 755 "$WORK"		# Postfix's unprivileged daemons walk into the queue below
PC=$WORK/etc QD=$WORK/spool DD=$WORK/lib LOG=$WORK/maillog
CAP_PID=
cleanup() {
	set +e
	[ -n "$CAP_PID" ] && kill -INT "$CAP_PID" 2>/dev/null
	[ "${KEEP:-0}" = 1 ] && { echo "kept: $WORK (postfix -c $PC stop)" >&2; return; }
	timeout 60 postfix -c "$PC" stop >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$PC/sasl" "$QD" "$DD" "$OUT"
chown postfix "$DD"
: >"$LOG"

# ------------------------------------------ the Postfix instance (a subset of make-samples.sh's)
log "Postfix instance in $PC"
cat >"$PC/main.cf" <<EOF
# smtpscope key log instance, written by samples/make-keylog-samples.sh
compatibility_level = 3.6
syslog_name = postfix-keylog
queue_directory = $QD
data_directory = $DD
maillog_file = $LOG
maillog_file_prefixes = $WORK
myhostname = mx.sample.test
mydomain = sample.test
myorigin = sample.test
mydestination = sample.test, mx.sample.test
inet_interfaces = $SRV
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
smtpd_banner = \$myhostname ESMTP Postfix (smtpscope samples)
smtpd_client_port_logging = yes
smtpd_peername_lookup = no
disable_dns_lookups = yes
smtp_dns_support_level = disabled
local_recipient_maps = hash:$PC/local_recipients
alias_maps =
alias_database =
local_transport = discard:delivered-locally
default_transport = discard:relayed
relay_transport = discard:relayed
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_tls_cert_file = $PC/tls.crt
smtpd_tls_key_file = $PC/tls.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
# TLS 1.2 at least; no ARIA (the handshake-no-shared-cipher case offers only ARIA)
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_exclude_ciphers = ARIA
smtpd_tls_loglevel = 1
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $PC/sasl
smtpd_sasl_local_domain = mx.sample.test
smtpd_sasl_auth_enable = no
EOF
cat >"$PC/master.cf" <<EOF
smtp      inet  n       -       n       -       -       smtpd
submissions inet n      -       n       -       -       smtpd
  -o syslog_name=postfix-keylog/submissions
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
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
EOF
printf '%s OK\n' alice@sample.test bob@sample.test kate@sample.test postmaster@sample.test \
	>"$PC/local_recipients"
postmap -c "$PC" "hash:$PC/local_recipients"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=mx.sample.test \
	-keyout "$PC/tls.key" -out "$PC/tls.crt" 2>/dev/null
chmod 600 "$PC/tls.key"
echo 'not-a-real-password' | saslpasswd2 -p -f "$DD/sasldb2" -c -u mx.sample.test alice
chown postfix "$DD/sasldb2"
chmod 600 "$DD/sasldb2"
printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: %s\nmech_list: PLAIN LOGIN\n' \
	"$DD/sasldb2" >"$PC/sasl/smtpd.conf"
timeout 60 postfix -c "$PC" check
timeout 60 postfix -c "$PC" start
for i in $(seq 1 40); do
	[ "$(ss -Htln "( sport = :25 or sport = :465 )" | grep -c "$SRV:")" = 2 ] && break
	sleep 0.25
done
[ "$(ss -Htln "( sport = :25 or sport = :465 )" | grep -c "$SRV:")" = 2 ] ||
	fail "Postfix did not start (see $LOG)"
[ "${SETUP_ONLY:-0}" = 1 ] && { KEEP=1; exit 0; }

PFV=$(postconf -c "$PC" -h mail_version)
TDV=$(tcpdump --version 2>&1 | awk '/^tcpdump version/{print $3}')
LPV=$(tcpdump --version 2>&1 | awk '/^libpcap version/{print $3}')
PYV=$($PY -c 'import platform, ssl; print(platform.python_version(), ssl.OPENSSL_VERSION)')
OSV=$(openssl version | awk '{print $1, $2}')
CAPT="tcpdump $TDV (libpcap $LPV) on lo"
MW_PY="Postfix $PFV, Python $PYV smtplib, $CAPT"
MW_SC="Postfix $PFV, $OSV s_client, $CAPT"

# ------------------------------------------------------------------------------ one case
. "$HERE/capture-lib.sh"	# cap_start NAME / cap_stop NAME

# case NAME CLIENT(smtplib|sclient) DESCRIPTION HOW
case_() {
	local name=$1 client=$2 made=$MW_PY
	[ "$client" = sclient ] && made=$MW_SC
	log "$name"
	OFF[$name]=$(stat -c %s "$LOG")
	rm -f "$OUT/$name.keylog"
	cap_start "$name"
	timeout 90 $K "$client" "$name" "$WORK/$name.json" "$OUT/$name.keylog" ||
		fail "$name: client failed"
	cap_stop "$name"
	build "$name" "$3" "$made" "$4" "${OFF[$name]}"
}
build() {	# NAME DESCRIPTION MADE_WITH HOW LOG_OFFSET
	local kl=-
	[ -f "$OUT/$1.keylog" ] && kl=$1.keylog
	timeout 120 $PY "$HERE/expect.py" build --name "$1" --description "$2" --made-with "$3" \
		--how "$4" --keylog "$kl" --pcap "$OUT/$1.pcap" --out "$OUT/$1.expected.json" \
		--postfix-log "$LOG" --log-offset "$5" "$WORK/$1.json"
	timeout 120 $K check "$1" "$OUT" "$WORK/$1.json" "$LOG" "$5"
}
declare -A OFF
# not the exim-* captures (make-exim-keylog-samples.sh)
find "$OUT" -maxdepth 1 \( -name "*.pcap" -o -name "*.keylog" -o -name "*.expected.json" \) \
	! -name "exim-*" -delete
SC="openssl s_client -starttls smtp -name client.sample.test -crlf -debug -msg -keylogfile F"

case_ tls13-aes256 smtplib \
	"STARTTLS, then TLS 1.3 TLS_AES_256_GCM_SHA384 (Python's default); inside: EHLO, MAIL, RCPT 250, RCPT 550 5.1.1 (unknown user), DATA with Subject, 250 queued, QUIT" \
	"python3 smtplib starttls() with an SSLContext(keylog_filename=NAME.keylog), no certificate check"
case_ tls13-aes128 sclient \
	"STARTTLS, then TLS 1.3 TLS_AES_128_GCM_SHA256; inside: EHLO, MAIL, RCPT, DATA, 250 queued, QUIT" \
	"$SC -ciphersuites TLS_AES_128_GCM_SHA256 -nocommands, SMTP lines on stdin"
case_ tls13-chacha sclient \
	"STARTTLS, then TLS 1.3 TLS_CHACHA20_POLY1305_SHA256; inside: EHLO, MAIL, RCPT, DATA, 250 queued, QUIT" \
	"$SC -ciphersuites TLS_CHACHA20_POLY1305_SHA256 -nocommands, SMTP lines on stdin"
case_ tls13-keyupdate sclient \
	"TLS 1.3 TLS_AES_128_GCM_SHA256 with a KeyUpdate in the middle: after RCPT the client sends KeyUpdate(update_requested), the server answers with its own; DATA, the message and QUIT use the next traffic secrets of both sides (not in the key log: derived from *_TRAFFIC_SECRET_0)" \
	"$SC -ciphersuites TLS_AES_128_GCM_SHA256 with command letters: the stdin line K (SSL_key_update SSL_KEY_UPDATE_REQUESTED); rcpt and quit in lower case so s_client does not take them as commands"
for c in aes128gcm:ECDHE-RSA-AES128-GCM-SHA256:TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 \
	aes256gcm:ECDHE-RSA-AES256-GCM-SHA384:TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 \
	chacha:ECDHE-RSA-CHACHA20-POLY1305:TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256; do
	IFS=: read -r n o i <<<"$c"
	case_ "tls12-$n" smtplib \
		"STARTTLS, then TLS 1.2 $i; inside: EHLO, MAIL, RCPT, DATA, 250 queued, QUIT" \
		"python3 smtplib starttls() with maximum_version TLSv1_2, set_ciphers('$o'), keylog_filename"
done
case_ tls12-cbc-etm smtplib \
	"STARTTLS, then TLS 1.2 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA with encrypt-then-MAC (RFC 7366, OpenSSL's default); inside: EHLO, MAIL, RCPT, DATA, 250 queued, QUIT" \
	"python3 smtplib starttls() with maximum_version TLSv1_2, set_ciphers('ECDHE-RSA-AES128-SHA'), keylog_filename"
case_ tls12-cbc-mte smtplib \
	"STARTTLS, then TLS 1.2 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, MAC-then-encrypt (no encrypt_then_mac extension); inside: EHLO, MAIL, RCPT, DATA, 250 queued, QUIT" \
	"as tls12-cbc-etm, plus ctx.options |= 0x80000 (SSL_OP_NO_ENCRYPT_THEN_MAC)"
case_ implicit-465 smtplib \
	"Implicit TLS on port 465 (submissions), TLS 1.3 TLS_AES_256_GCM_SHA384; inside: EHLO, AUTH PLAIN 235 2.7.0 (the password must never be printed), MAIL, RCPT, DATA, 250 queued, QUIT" \
	"python3 smtplib over an SSLContext-wrapped socket (as SMTP_SSL), keylog_filename, login('alice', 'not-a-real-password')"

log wrong-keylog
$K variant wrong tls13-aes256 wrong-keylog "$OUT" "$WORK"
build wrong-keylog \
	"The capture of tls13-aes256 with a key log whose every secret is altered (each byte XOR 0xFF; client randoms kept): the keys are found but every record fails authentication; nothing inside TLS is visible" \
	"$MW_PY" "copy of tls13-aes256.pcap; keylogclients.py variant wrong" "${OFF[tls13-aes256]}"
log missing-key
$K variant missing tls13-aes256 missing-key "$OUT" "$WORK" tls13-aes128
build missing-key \
	"The capture of tls13-aes256 with the key log of another session (tls13-aes128's) only: no key for this session, so nothing is tried and nothing inside TLS is visible" \
	"$MW_PY" "copy of tls13-aes256.pcap; key log copied from tls13-aes128.keylog" "${OFF[tls13-aes256]}"

case_ handshake-old-version sclient \
	"STARTTLS, then the client offers only TLS 1.0 and 1.1; Postfix (smtpd_tls_protocols >=TLSv1.2) answers with a fatal protocol_version alert" \
	"openssl s_client -starttls smtp -no_tls1_2 -no_tls1_3 -cipher DEFAULT@SECLEVEL=0 -debug -msg (no key log)"
case_ handshake-no-shared-cipher sclient \
	"STARTTLS, then the client offers TLS 1.2 with ECDHE-ARIA128-GCM-SHA256 only; Postfix (smtpd_tls_exclude_ciphers ARIA) answers with a fatal handshake_failure alert" \
	"openssl s_client -starttls smtp -tls1_2 -cipher ECDHE-ARIA128-GCM-SHA256 -debug -msg (no key log)"
case_ handshake-untrusted-cert smtplib \
	"STARTTLS, then TLS 1.3; the client verifies the self-signed certificate against the system CA store, fails and sends a fatal alert (in clear)" \
	"python3 smtplib starttls() with ssl.create_default_context() (server_hostname mx.sample.test), no key log"

$PY "$HERE/keylogclients.py" readme "$OUT" >"$OUT/README.md"
log "done: $(ls "$OUT"/*.pcap | wc -l) captures in $OUT"
