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
# Cases (the server's key is a fresh self-signed RSA-2048 certificate, CN=mx.example.test):
#   tls12_ok      TLS 1.2, ECDHE-RSA-AES128-GCM-SHA256, SNI mx.example.test, ALPN smtp
#   tls13_ok      TLS 1.3, TLS_AES_256_GCM_SHA384, SNI mx.example.test, ALPN smtp
#   tls12_nocipher  the client offers only ECDHE-RSA-AES128-GCM-SHA256, the server has only
#                 AES256-SHA: the server's fatal handshake_failure alert
#   tls12_verify  TLS 1.2, s_client -verify_return_error against the self-signed certificate:
#                 the client's fatal alert (in clear, before its ChangeCipherSpec)
#   tls13_verify  the same in TLS 1.3: the client has not switched to its handshake keys yet,
#                 so its unknown_ca alert is in clear too
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

# run NAME PORT "server options" "client options"
run() {
	local name=$1 port=$2 sopts=$3 copts=$4 tdpid spid
	timeout 20 tcpdump -i lo -U -s 0 -w "$OUT/$name.pcap" "tcp port $port" 2>/dev/null &
	tdpid=$!
	sleep 1
	# stdin held open by sleep, so the server only ends when the client does (-naccept 1)
	sleep 6 | timeout 10 openssl s_server -accept "$port" -naccept 1 -cert "$WORK/cert.pem" \
		-key "$WORK/key.pem" -msg -state $sopts >"$OUT/$name.server.log" 2>&1 &
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

run tls12_ok 44331 "-alpn smtp" \
	"-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -servername mx.example.test -alpn smtp"
run tls13_ok 44332 "-alpn smtp" \
	"-tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 -servername mx.example.test -alpn smtp"
run tls12_nocipher 44333 "-cipher AES256-SHA" \
	"-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -servername mx.example.test"
run tls12_verify 44334 "" \
	"-tls1_2 -verify_return_error -servername mx.example.test"
run tls13_verify 44335 "" \
	"-tls1_3 -verify_return_error -servername mx.example.test"

openssl version >"$OUT/VERSIONS"
tcpdump --version 2>&1 | head -2 >>"$OUT/VERSIONS"
python3 "$HERE/extract-tls-samples.py" "$OUT" tls12_ok tls13_ok tls12_nocipher tls12_verify \
	tls13_verify
