#!/bin/bash
# make-samples.sh — regenerate every bundled capture in samples/ from scratch, with a real
# Postfix and real clients (swaks, Python's smtplib) on the loopback interface, plus a small
# scripted server for the Microsoft seed transcripts.  Run as root on a throwaway Debian 12
# machine:   sudo bash samples/make-samples.sh        (takes about a minute)
#
# For each capture NAME it writes samples/NAME.pcap and samples/NAME.expected.json, then
# samples/README.md.  The expected results come from the clients' own transcripts (swaks'
# "->"/"<-" lines; the Python clients record what they send and receive), are cross-checked
# against the server's own log (Postfix's maillog_file, or the seed server's log), and against
# the capture itself with tshark.  smtpscope is never used.  Any disagreement stops the script
# with an error.
#
# WHAT IT TOUCHES ON THE MACHINE
#   * apt-get install -y (only what is missing): postfix sasl2-bin libsasl2-modules swaks
#     libnet-ssleay-perl libio-socket-inet6-perl tcpdump tshark python3 openssl nftables iproute2
#     (postfix is preseeded "No configuration", so the default instance is not set up)
#   * a separate Postfix instance, never the default one's files:
#       config   /etc/postfix-smtpscope        (main.cf, master.cf, maps, TLS key/cert, SASL conf)
#       queue    /var/spool/postfix-smtpscope
#       data     /var/lib/postfix-smtpscope    (also the sasldb with the fake user alice)
#       log      /var/log/postfix-smtpscope.log (maillog_file via postlogd; a copy of the
#                                                 run's log is left in /tmp/smtpscope-samples)
#     listening on 127.0.0.1:25 and 127.0.0.1:2525; mail is accepted and then discarded
#     (local and relay transports are discard:), nothing leaves the machine.
#     It is stopped and its three directories removed at the end (KEEP_POSTFIX=1 keeps it).
#   * if something else already listens on 127.0.0.1:25/2525 or 127.0.0.10:25: when it is the
#     default Postfix instance, it is stopped (postfix stop) and started again at the end;
#     otherwise the script stops with an error.
#   * an nftables table "inet smtpscope_samples" (one rule dropping SYNs to 127.0.0.4:25, for the
#     no-answer capture), deleted at the end.  Skipped with a warning if nft does not work.
#   * temporary files in /tmp/smtpscope-samples (removed at the start of the next run).
# Every wait is bounded (swaks --timeout, socket timeouts, `timeout`, counted polling loops).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE
WORK=/tmp/smtpscope-samples
PY=/usr/bin/python3
PC=/etc/postfix-smtpscope
QD=/var/spool/postfix-smtpscope
DD=/var/lib/postfix-smtpscope
LOG=/var/log/postfix-smtpscope.log
NFT_TABLE="inet smtpscope_samples"
FILTER='tcp port 25 or tcp port 2525'
CIP=127.0.0.1            # client address inside mynetworks
CIP_OUTSIDE=127.0.0.2    # client address outside mynetworks (relay-denied)
SRV=127.0.0.1            # Postfix listens here only
REFUSED_IP=127.0.0.3     # nothing listens here: SYN is answered by RST
NOANSWER_IP=127.0.0.4    # SYNs dropped by nftables
HELO=client.sample.test

log() { printf '\n=== %s\n' "$*" >&2; }
fail() { printf 'make-samples.sh: ERROR: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root"

. "$HERE/postfix-lib.sh"     # the Postfix instance: pf_install_missing, pf_write_config, ...
PF_WRITER=make-samples.sh
PF_SYSLOG=postfix-smtpscope
PF_MYNETWORKS=127.0.0.1/32

# ------------------------------------------------------------------------------ packages
pf_install_missing postfix sasl2-bin libsasl2-modules swaks libnet-ssleay-perl \
    libio-socket-inet6-perl tcpdump tshark python3 openssl nftables iproute2

# ------------------------------------------------------------------------------ cleanup
CAP_PID= ; SEED_PID= ; BG_PID= ; RESTART_SYSTEM_POSTFIX=0
cleanup() {
    set +e
    [ -n "$CAP_PID" ] && kill -INT "$CAP_PID" 2>/dev/null
    [ -n "$SEED_PID" ] && kill "$SEED_PID" 2>/dev/null
    [ -n "$BG_PID" ] && kill "$BG_PID" 2>/dev/null
    nft delete table $NFT_TABLE 2>/dev/null
    pf_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$WORK"; mkdir -p "$WORK"

# ----------------------------------------------------------------- free the addresses we use
nft delete table $NFT_TABLE 2>/dev/null || true
pf_free_addresses "( sport = :25 or sport = :2525 )" '127\.0\.0\.(1|3|4|10)'

# ------------------------------------------------------------------- the Postfix instance
pf_write_config
pf_start

PFV=$(postconf -c "$PC" -h mail_version)
SWV=$(swaks --version | awk 'NR==1{print $3}')
TDV=$(tcpdump --version 2>&1 | awk '/^tcpdump version/{print $3}')
LPV=$(tcpdump --version 2>&1 | awk '/^libpcap version/{print $3}')
PYV=$($PY -c 'import platform; print(platform.python_version())')
CAPT="tcpdump $TDV (libpcap $LPV) on lo"
MW_SWAKS="Postfix $PFV, swaks $SWV, $CAPT"
MW_PY="Postfix $PFV, Python $PYV smtplib, $CAPT"
MW_SEED="scripted Python $PYV server and client (samples/smtpclients.py), $CAPT"

# --------------------------------------------------------------------------- capture helpers
. "$HERE/capture-lib.sh"     # cap_start NAME / cap_stop NAME: tcpdump -i lo -U -w $OUT/NAME.pcap

NAME= ; N=0 ; LOGOFF=0 ; TRANSCRIPTS=()
begin() {       # NAME
    NAME=$1; N=0; TRANSCRIPTS=()
    log "$NAME"
    LOGOFF=$(stat -c %s "$LOG")
    cap_start "$NAME"
}
swaks_session() {   # SERVER_IP PORT CLIENT_IP swaks-options...
    local sip=$1 sport=$2 cip=$3; shift 3
    N=$((N + 1))
    local f="$WORK/$NAME.$N"
    timeout 60 swaks --server "$sip" --port "$sport" -li "$cip" --helo "$HELO" --timeout 10 "$@" \
        > "$f.swaks" 2>&1 || echo "(swaks exit status $?)" >> "$f.swaks"
    cat "$f.swaks" >&2
    $PY "$HERE/expect.py" swaks2json "$f.swaks" "$sip" "$sport" "$cip" "$f.json"
    TRANSCRIPTS+=("$f.json")
}
py_session() {      # smtpclients.py scenario
    N=$((N + 1))
    timeout 60 $PY "$HERE/smtpclients.py" smtplib "$1" "$WORK/$NAME.$N.json"
    TRANSCRIPTS+=("$WORK/$NAME.$N.json")
}
finish() {      # DESCRIPTION MADE_WITH HOW [expect.py options]
    local desc=$1 made=$2 how=$3; shift 3
    [ -n "$CAP_PID" ] && cap_stop "$NAME"
    timeout 120 $PY "$HERE/expect.py" build --name "$NAME" --description "$desc" \
        --made-with "$made" --how "$how" --pcap "$OUT/$NAME.pcap" \
        --out "$OUT/$NAME.expected.json" "$@" "${TRANSCRIPTS[@]}"
    tcpdump -nn -r "$OUT/$NAME.pcap" > "$WORK/$NAME.tcpdump.txt" 2>/dev/null
}
pf() { echo --postfix-log "$LOG" --log-offset "$LOGOFF"; }


# ----------------------------------------------------------------------------- scenarios
begin clean-dsn
py_session clean-dsn
finish "Clean delivery on port 25: EHLO, MAIL with RET/ENVID, RCPT with NOTIFY=SUCCESS,FAILURE (DSN), DATA with Subject and Message-ID, 250 queued, QUIT 221" \
    "$MW_PY" "python3 smtplib sendmail() with mail_options RET=HDRS ENVID=… and rcpt_options NOTIFY=SUCCESS,FAILURE" $(pf)

begin unknown-recipient
swaks_session $SRV 25 $CIP --from alice@sample.test --to nobody@sample.test \
    --header "Subject: unknown recipient"
finish "RCPT to a local address that does not exist: 550 5.1.1 User unknown in local recipient table; swaks then QUITs" \
    "$MW_SWAKS" "swaks --to nobody@sample.test (local_recipient_maps lists alice, bob, kate, postmaster)" $(pf)

begin bad-sender
swaks_session $SRV 25 $CIP --from 'not an address' --to kate@sample.test
finish "MAIL FROM:<not an address> is refused: 501 5.1.7 Bad sender address syntax; then QUIT" \
    "$MW_SWAKS" "swaks --from 'not an address'" $(pf)

begin relay-denied
swaks_session $SRV 25 $CIP_OUTSIDE --from alice@sample.test --to kate@elsewhere.example
finish "Client 127.0.0.2 (outside mynetworks) asks to relay to a foreign domain: 554 5.7.1 Relay access denied" \
    "$MW_SWAKS" "swaks -li 127.0.0.2 --to kate@elsewhere.example (mynetworks = 127.0.0.1/32)" $(pf)

begin auth-required
swaks_session $SRV 2525 $CIP --from alice@sample.test --to kate@sample.test
swaks_session $SRV 2525 $CIP --from carol@elsewhere.example --to kate@sample.test
finish "Port 2525 requires AUTH: session 1 MAIL from a local sender gets 553 5.7.1 Sender address rejected: not logged in; session 2 MAIL from another sender gets 530 5.7.0 Authentication required" \
    "$MW_SWAKS" "two swaks runs on port 2525 without --auth (reject_unauthenticated_sender_login_mismatch; check_sender_access static:{530 5.7.0 Authentication required}; smtpd_delay_reject=no)" $(pf)

begin auth-login-ok
swaks_session $SRV 2525 $CIP --auth LOGIN --auth-user alice --auth-password not-a-real-password \
    --from alice@sample.test --to kate@elsewhere.example --header "Subject: relayed after AUTH LOGIN" --header "Message-Id: <auth-login-ok@client.sample.test>"
finish "AUTH LOGIN on port 2525 (334 Username:/334 Password:/235 2.7.0), then relaying to a foreign domain is allowed: 250 queued" \
    "$MW_SWAKS" "swaks -p 2525 --auth LOGIN --auth-user alice --auth-password not-a-real-password (Cyrus SASL sasldb)" $(pf)

begin auth-login-fail
swaks_session $SRV 2525 $CIP --auth LOGIN --auth-user alice --auth-password wrong-fake-password \
    --from alice@sample.test --to kate@elsewhere.example
finish "AUTH LOGIN with a wrong password on port 2525: 535 5.7.8 Error: authentication failed; swaks QUITs" \
    "$MW_SWAKS" "swaks -p 2525 --auth LOGIN --auth-user alice --auth-password wrong-fake-password" $(pf)

begin unrecognized-command
py_session unrecognized-command
finish "Unknown verb XYZZY and typo EHLLO: Postfix answers 500 5.5.2 Error: command not recognized; the session goes on (NOOP) and QUITs" \
    "$MW_PY" "python3 smtplib docmd('XYZZY'), docmd('EHLLO', …)" $(pf)

begin starttls
swaks_session $SRV 25 $CIP --tls --from alice@sample.test --to kate@sample.test \
    --header "Subject: over TLS" --header "Message-Id: <starttls@client.sample.test>"
finish "EHLO, STARTTLS 220 2.0.0 Ready to start TLS, then TLS 1.3 (self-signed certificate); the mail transaction inside TLS is not visible" \
    "$MW_SWAKS" "swaks --tls" $(pf)

begin pipelining
swaks_session $SRV 25 $CIP --pipeline --from alice@sample.test --to nobody@sample.test,kate@sample.test \
    --header "Subject: pipelined" --header "Message-Id: <pipelining@client.sample.test>"
finish "PIPELINING: MAIL, RCPT (refused 550 5.1.1), RCPT (250), DATA sent in one group, replies in order, then the message is queued" \
    "$MW_SWAKS" "swaks --pipeline --to nobody@sample.test,kate@sample.test" $(pf)

begin multi-message
py_session multi-message
finish "Four MAIL transactions in one session: queued; queued with one recipient refused; all recipients refused (RSET, no DATA); RSET then queued (with a dot-stuffed body line)" \
    "$MW_PY" "python3 smtplib: four sendmail() calls on one connection" $(pf)

begin port-2525
swaks_session $SRV 2525 $CIP --auth PLAIN --auth-user alice --auth-password not-a-real-password \
    --from alice@sample.test --to kate@sample.test --header "Subject: delivered on port 2525" --header "Message-Id: <port-2525@client.sample.test>"
finish "Delivery on port 2525 after AUTH PLAIN (235 2.7.0), 250 queued" \
    "$MW_SWAKS" "swaks -p 2525 --auth PLAIN --auth-user alice --auth-password not-a-real-password" $(pf)

begin refused
swaks_session $REFUSED_IP 25 $CIP:40025 --from alice@sample.test --to kate@sample.test
finish "Connection refused: SYN to 127.0.0.3:25, where nothing listens, answered by RST" \
    "Linux kernel (no listener), swaks $SWV, $CAPT" "swaks --server 127.0.0.3 -li 127.0.0.1:40025 (Postfix listens on 127.0.0.1 only)"

begin client-reset
py_session client-reset
finish "The client aborts after RCPT with a TCP RST (SO_LINGER 0), without QUIT; Postfix logs lost connection after RCPT" \
    "$MW_PY" "python3 smtplib, then close() with SO_LINGER 0" $(pf)

begin unfinished
rm -f "$WORK/ready" "$WORK/go"
N=1; TRANSCRIPTS=("$WORK/$NAME.1.json")
timeout 90 $PY "$HERE/smtpclients.py" smtplib unfinished "$WORK/$NAME.1.json" \
    --ready "$WORK/ready" --go "$WORK/go" &
BG_PID=$!
for i in $(seq 1 200); do [ -f "$WORK/ready" ] && break; sleep 0.1; done
[ -f "$WORK/ready" ] || fail "unfinished: client not ready"
cap_stop "$NAME"
touch "$WORK/go"
wait "$BG_PID" || fail "unfinished: client failed"
BG_PID=
finish "The capture stops in the middle of a session (after MAIL 250): no FIN, no RST; the session is unfinished" \
    "$MW_PY" "python3 smtplib; tcpdump stopped before RCPT/QUIT were sent" $(pf)

# no-answer: needs nftables (works in this sandbox; skipped with a warning if it does not)
if nft add table $NFT_TABLE 2>/dev/null &&
   nft add chain $NFT_TABLE input '{ type filter hook input priority 0; policy accept; }' &&
   nft add rule $NFT_TABLE input ip daddr $NOANSWER_IP tcp dport 25 drop; then
    begin no-answer
    N=1; TRANSCRIPTS=("$WORK/$NAME.1.json")
    timeout 30 $PY "$HERE/smtpclients.py" no-answer $NOANSWER_IP 25 "$WORK/$NAME.1.json"
    finish "SYN to 127.0.0.4:25 is never answered (dropped by an nftables rule): the client gives up after 4 s; only the SYN and its retransmissions are on the wire" \
        "Linux nftables drop rule, Python $PYV socket, $CAPT" "python3 socket.connect() with a 4 s timeout; nft rule 'ip daddr 127.0.0.4 tcp dport 25 drop'"
    nft delete table $NFT_TABLE
else
    log "WARNING: nftables does not work here: no-answer capture skipped"
    nft delete table $NFT_TABLE 2>/dev/null || true
fi

# the seed transcripts: scripted server on 127.0.0.10:25 + scripted client
seed() {    # NAME DESCRIPTION HOW
    rm -f "$WORK/$1.ready"
    timeout 90 $PY "$HERE/smtpclients.py" seed-server "$1" "$WORK/$1.seedlog.json" "$WORK/$1.ready" &
    SEED_PID=$!
    for i in $(seq 1 100); do [ -f "$WORK/$1.ready" ] && break; sleep 0.1; done
    [ -f "$WORK/$1.ready" ] || fail "$1: seed server not ready"
    begin "$1"
    timeout 60 $PY "$HERE/smtpclients.py" seed-client "$1" "$WORK/$1"
    wait "$SEED_PID" || fail "$1: seed server failed"
    SEED_PID=
    TRANSCRIPTS=("$WORK/$1".[0-9]*.json)
    finish "$2" "$MW_SEED" "$3" --seed-log "$WORK/$1.seedlog.json"
}
seed seed-exchange \
    "The successful session of seed 001 (Exchange 2016 via telnet), byte for byte: 220 Microsoft ESMTP MAIL Service, EHLO list ending 250 XRDST, MAIL FROM: <…> with a space, RCPT with NOTIFY, 250 2.6.0 Queued mail for delivery, 221" \
    "scripted server on 127.0.0.10:25 playing seed 001's replies; scripted client sending the seed's lines"
seed seed-exchange-errors \
    "Seed 001's failure replies: 501 5.5.4 Invalid domain name (EHLO), 500 5.3.3 Unrecognized command (typo), 550 5.1.7 Invalid address and 530 5.7.1 Client was not authenticated (MAIL); session 2: 550 5.1.1 User unknown (RCPT), then a queued message" \
    "scripted server on 127.0.0.10:25 playing seed 001's failure replies; scripted client"
seed seed-imc \
    "Exchange 5.x Internet Mail Connector texts of seeds 000/002/003: 500 Command not recognized, 250 OK - MAIL FROM …, MAIL FROM:addr without brackets, 354 Send data. End with CRLF.CRLF, 221 closing connection" \
    "scripted server on 127.0.0.10:25 playing the IMC replies; scripted client"

# ----------------------------------------------------------------------------- README
$PY "$HERE/expect.py" readme "$OUT" > "$OUT/README.md"
log "done: $(ls "$OUT"/*.pcap | wc -l) captures in $OUT"
