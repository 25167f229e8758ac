#!/bin/bash
# make-trust.sh — regenerate samples/trust/: one small capture per behaviour of issue 11
# ("Transaction semantics", "TLS and not-SMTP", "Other verdicts"), each with its expected file,
# from a scripted server and scripted clients (samples/trustclients.py) on the loopback
# interface.  Run as root:   sudo bash samples/make-trust.sh      (about two minutes)
#            or, to make only some:   sudo bash samples/make-trust.sh NAME...
#
# For each scenario NAME (trustclients.py list) it writes samples/trust/NAME.pcap and
# samples/trust/NAME.expected.json, then samples/trust/README.md.  The expected results come
# from the client's own transcript (what it sent and received, byte for byte; for TLS the
# client's ssl error and the alert record it sent or received), cross-checked by expect.py
# against the scripted server's own log (same bytes both ways, its own ssl report) and against
# the capture with tshark (one TCP stream per session, FIN/RST as the state says, every byte on
# the wire equal to the transcript, TLS records and HTTP preamble included).  smtpscope is
# never used.  Any disagreement stops the script with an error.
#
# WHAT IT TOUCHES: apt-get install -y (only what is missing) tcpdump tshark python3 openssl;
# listens on 127.0.0.11:25 while it runs (it stops if something else does); a throwaway
# self-signed certificate and the transcripts/logs in /tmp/smtpscope-trust (removed at the
# start of the next run).  Every wait is bounded (socket timeouts, `timeout`, polling loops).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/trust
WORK=/tmp/smtpscope-trust
PY=/usr/bin/python3
SRV=127.0.0.11
FILTER="host $SRV and tcp port 25"

log() { printf '\n=== %s\n' "$*" >&2; }
fail() { printf 'make-trust.sh: ERROR: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root"

need=()
for p in tcpdump tshark python3 openssl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    log "installing: ${need[*]}"
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    timeout 600 apt-get update -q
    DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -q --no-install-recommends "${need[@]}"
fi

CAP_PID= ; SRV_PID=
cleanup() {
    set +e
    [ -n "$CAP_PID" ] && kill -INT "$CAP_PID" 2>/dev/null
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$WORK"; mkdir -p "$WORK" "$OUT"
ss -Htln "( sport = :25 )" | awk '{print $4}' | grep -qE "^(0\.0\.0\.0|\*|\[::\]|$SRV):" &&
    fail "something already listens on $SRV:25"
. "$HERE/capture-lib.sh"

openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=mx.example \
    -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null

TDV=$(tcpdump --version 2>&1 | awk '/^tcpdump version/{print $3}')
LPV=$(tcpdump --version 2>&1 | awk '/^libpcap version/{print $3}')
PYV=$($PY -c 'import platform; print(platform.python_version())')
OSV=$($PY -c 'import ssl; print(ssl.OPENSSL_VERSION)')
MADE="scripted Python $PYV server and client (samples/trustclients.py; TLS: Python ssl, $OSV), tcpdump $TDV (libpcap $LPV) on lo"
HOW="scripted server on $SRV:25 and scripted client from 127.0.0.1, both playing trustclients.py's scenario"

ALL=$($PY "$HERE/trustclients.py" list)
if [ $# -gt 0 ]; then
    for NAME in "$@"; do
        grep -qxF "$NAME" <<<"$ALL" || fail "no scenario $NAME (trustclients.py list)"
        rm -f "$OUT/$NAME.pcap" "$OUT/$NAME.expected.json"
    done
    NAMES="$*"
else
    rm -f "$OUT"/*.pcap "$OUT"/*.expected.json
    NAMES=$ALL
fi
for NAME in $NAMES; do
    log "$NAME"
    rm -f "$WORK/$NAME.ready"
    timeout 90 $PY "$HERE/trustclients.py" server "$NAME" "$WORK/$NAME.serverlog.json" \
        "$WORK/$NAME.ready" "$WORK/tls.crt" "$WORK/tls.key" &
    SRV_PID=$!
    for i in $(seq 1 100); do [ -f "$WORK/$NAME.ready" ] && break; sleep 0.1; done
    [ -f "$WORK/$NAME.ready" ] || fail "$NAME: server not ready"
    cap_start "$NAME"
    timeout 60 $PY "$HERE/trustclients.py" client "$NAME" "$WORK/$NAME" || fail "$NAME: client failed"
    wait "$SRV_PID" || fail "$NAME: server failed"
    SRV_PID=
    cap_stop "$NAME"
    timeout 120 $PY "$HERE/expect.py" build --name "trust/$NAME" \
        --description "$($PY "$HERE/trustclients.py" meta "$NAME" what)" \
        --pins "$($PY "$HERE/trustclients.py" meta "$NAME" holds)" \
        --made-with "$MADE" --how "$HOW" --pcap "$OUT/$NAME.pcap" \
        --out "$OUT/$NAME.expected.json" --seed-log "$WORK/$NAME.serverlog.json" \
        "$WORK/$NAME".[0-9]*.json
done
$PY "$HERE/expect.py" readme-trust "$OUT" > "$OUT/README.md"
log "done: $(ls "$OUT"/*.pcap | wc -l) captures in $OUT"
