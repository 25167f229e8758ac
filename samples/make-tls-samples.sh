#!/bin/bash
# make-tls-samples.sh - regenerate the real TLS handshakes that tests/test_tls.c feeds to tls/.
#
# Runs `openssl s_server` and `openssl s_client` on the loopback interface, each exchange
# captured by tcpdump, and writes for each case NAME into tests/data/tls/:
#   NAME.pcap          the capture (tcpdump -i lo -U -w, port PORT)
#   NAME.client.log    s_client's own transcript (-msg -state): what the test expects comes from
#   NAME.server.log    these two files (and the commands below), never from tls/'s output
# and then tests/data/tls/tls_samples.h: the TCP payloads of every capture, in capture order,
# with their direction (extract-tls-samples.py).
#
# Cases (tls12_ok .. tls13_verify: the server's key is a fresh self-signed RSA-2048
# certificate, CN=mx.example.test):
#   tls12_ok      TLS 1.2, ECDHE-RSA-AES128-GCM-SHA256, SNI mx.example.test, ALPN smtp
#   tls13_ok      TLS 1.3, TLS_AES_256_GCM_SHA384, SNI mx.example.test, ALPN smtp
#   tls12_nocipher  the client offers only ECDHE-RSA-AES128-GCM-SHA256, the server has only
#                 AES256-SHA: the server's fatal handshake_failure alert
#   tls12_verify  TLS 1.2, s_client -verify_return_error against the self-signed certificate:
#                 the client's fatal alert (in clear, before its ChangeCipherSpec)
#   tls13_verify  the same in TLS 1.3: the client has not switched to its handshake keys yet,
#                 so its unknown_ca alert is in clear too
# The certificate cases: leaves with an EC P-256 key, CN=mx.example.test, signed by a test
# CA (RSA-2048, CN=Smtpscope Test CA, O=Smtpscope Test Org) with explicit dates (`openssl ca
# -startdate -enddate`), sent with the CA (-cert_chain: a chain of 2); the client trusts the
# CA (-CAfile) and verifies (-verify_return_error):
#   tls12_expired   valid 2020-01-01 .. 2021-01-01: refused as expired
#   tls12_notyet    valid 2099-01-01 .. 2100-01-01 (GeneralizedTime): refused as not yet valid
#   tls12_chain     valid from yesterday for 10 years, SANs mx.example.test,
#                   *.mail.example.test, mail.example.test; SNI and -verify_hostname
#                   relay.mail.example.test (the wildcard): completes
#   tls12_mismatch  the same certificate, SNI and -verify_hostname other.example.net: refused
# For each case whose server sends its certificate in clear (TLS 1.2), NAME.cert.txt is what
# `openssl x509 -noout -subject -issuer -dates -ext subjectAltName -nameopt RFC2253` and the
# key lines of `-text` print for it: test_tls.c checks tls/'s certificate facts against it.
#
# Needs root (tcpdump on lo), openssl, tcpdump, python3. Every wait is bounded by `timeout`.
# Touches nothing outside a mktemp directory and tests/data/tls/.
#   sudo bash samples/make-tls-samples.sh
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/../tests/data/tls
WORK=$(mktemp -d /tmp/smtpscope-tls.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.example.test -days 3650 \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

# The test CA, and `openssl ca` set up to sign leaves with any dates.
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=Smtpscope Test CA/O=Smtpscope Test Org" \
	-days 3650 -keyout "$WORK/ca.key" -out "$WORK/ca.pem" 2>/dev/null
mkdir -p "$WORK/ca"
: >"$WORK/ca/index.txt"
echo 1000 >"$WORK/ca/serial"
printf '%s\n' "[ca]" "default_ca = test" "[test]" "dir = $WORK/ca" \
	"database = $WORK/ca/index.txt" "new_certs_dir = $WORK/ca" "serial = $WORK/ca/serial" \
	"default_md = sha256" "policy = any" "unique_subject = no" "[any]" "commonName = supplied" \
	"[leaf]" "basicConstraints = CA:FALSE" "keyUsage = digitalSignature" \
	"extendedKeyUsage = serverAuth" 'subjectAltName = $ENV::SANS' >"$WORK/ca.cnf"

# leaf NAME START END SANS: an EC P-256 key and its certificate, CN=mx.example.test
leaf() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj /CN=mx.example.test -keyout "$WORK/$1.key" -out "$WORK/$1.csr" 2>/dev/null
	SANS=$4 openssl ca -batch -notext -config "$WORK/ca.cnf" -extensions leaf \
		-cert "$WORK/ca.pem" -keyfile "$WORK/ca.key" -startdate "$2" -enddate "$3" \
		-in "$WORK/$1.csr" -out "$WORK/$1.pem" 2>/dev/null
}

# expect NAME CERT: what openssl says of the certificate the server of NAME sends
expect() {
	{
		openssl x509 -in "$2" -noout -subject -issuer -dates -ext subjectAltName \
			-nameopt RFC2253
		openssl x509 -in "$2" -noout -text | grep -E 'Public Key Algorithm|Public-Key'
	} >"$OUT/$1.cert.txt"
}

leaf expired 20200101000000Z 20210101000000Z "DNS:mx.example.test"
leaf notyet 20990101000000Z 21000101000000Z "DNS:mx.example.test"
leaf chain "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" "$(date -u -d '+10 years' +%Y%m%d%H%M%SZ)" \
	"DNS:mx.example.test, DNS:*.mail.example.test, DNS:mail.example.test"

# run NAME PORT "server options" "client options" (the server options name its -cert and -key)
run() {
	local name=$1 port=$2 sopts=$3 copts=$4 tdpid spid
	timeout 20 tcpdump -i lo -U -s 0 -w "$OUT/$name.pcap" "tcp port $port" 2>/dev/null &
	tdpid=$!
	sleep 1
	# stdin held open by sleep, so the server only ends when the client does (-naccept 1)
	sleep 6 | timeout 10 openssl s_server -accept "$port" -naccept 1 $sopts -msg -state \
		>"$OUT/$name.server.log" 2>&1 &
	spid=$!
	sleep 1
	printf 'EHLO client.example.test\r\n' | timeout 8 openssl s_client \
		-connect "127.0.0.1:$port" -msg -state $copts >"$OUT/$name.client.log" 2>&1 || true
	sleep 1
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	sleep 1
	kill -INT "$tdpid" 2>/dev/null || true
	wait "$tdpid" 2>/dev/null || true
	echo "$name: $(stat -c %s "$OUT/$name.pcap") bytes captured"
}

SELF="-cert $WORK/cert.pem -key $WORK/key.pem"
run tls12_ok 44331 "$SELF -alpn smtp" \
	"-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -servername mx.example.test -alpn smtp"
run tls13_ok 44332 "$SELF -alpn smtp" \
	"-tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 -servername mx.example.test -alpn smtp"
run tls12_nocipher 44333 "$SELF -cipher AES256-SHA" \
	"-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -servername mx.example.test"
run tls12_verify 44334 "$SELF" \
	"-tls1_2 -verify_return_error -servername mx.example.test"
run tls13_verify 44335 "$SELF" \
	"-tls1_3 -verify_return_error -servername mx.example.test"
TRUST="-tls1_2 -CAfile $WORK/ca.pem -verify_return_error"
leafopts() { echo "-cert $WORK/$1.pem -key $WORK/$1.key -cert_chain $WORK/ca.pem"; }
run tls12_expired 44336 "$(leafopts expired)" "$TRUST -servername mx.example.test"
run tls12_notyet 44337 "$(leafopts notyet)" "$TRUST -servername mx.example.test"
run tls12_chain 44338 "$(leafopts chain)" \
	"$TRUST -servername relay.mail.example.test -verify_hostname relay.mail.example.test"
run tls12_mismatch 44339 "$(leafopts chain)" \
	"$TRUST -servername other.example.net -verify_hostname other.example.net"
for n in tls12_ok tls12_verify; do expect $n "$WORK/cert.pem"; done
expect tls12_expired "$WORK/expired.pem"
expect tls12_notyet "$WORK/notyet.pem"
for n in tls12_chain tls12_mismatch; do expect $n "$WORK/chain.pem"; done

openssl version >"$OUT/VERSIONS"
tcpdump --version 2>&1 | head -2 >>"$OUT/VERSIONS"
python3 "$HERE/extract-tls-samples.py" "$OUT" tls12_ok tls13_ok tls12_nocipher tls12_verify \
	tls13_verify tls12_expired tls12_notyet tls12_chain tls12_mismatch
