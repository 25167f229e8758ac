# capture-lib.sh -- the tcpdump start/stop helpers of samples/make-samples.sh,
# samples/make-trust.sh and samples/make-keylog-samples.sh (sourced, not run).  The caller sets
# OUT (where NAME.pcap goes), WORK (scratch), FILTER (tcpdump filter), CAP_PID= and a fail()
# function.  -s 0 is tcpdump's default snap length (262144), written out.

cap_start() {   # NAME
    rm -f "$OUT/$1.pcap" "$OUT/$1.expected.json"
    tcpdump -i lo -U -s 0 -n -w "$OUT/$1.pcap" "$FILTER" 2>"$WORK/$1.tcpdump.err" &
    CAP_PID=$!
    for i in $(seq 1 100); do
        grep -q 'listening on' "$WORK/$1.tcpdump.err" && break
        kill -0 "$CAP_PID" 2>/dev/null || fail "tcpdump died: $(cat "$WORK/$1.tcpdump.err")"
        sleep 0.1
    done
    grep -q 'listening on' "$WORK/$1.tcpdump.err" || fail "tcpdump is not capturing"
    sleep 0.5
}
cap_stop() {    # NAME
    sleep 1
    kill -INT "$CAP_PID"
    for i in $(seq 1 100); do kill -0 "$CAP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$CAP_PID" 2>/dev/null && { kill -TERM "$CAP_PID"; sleep 1; }
    kill -0 "$CAP_PID" 2>/dev/null && { kill -KILL "$CAP_PID"; fail "$1: tcpdump did not stop"; }
    wait "$CAP_PID" || true
    CAP_PID=
    chown --reference="$OUT" "$OUT/$1.pcap"     # tcpdump wrote it as user tcpdump
    grep -q '^0 packets dropped by kernel' "$WORK/$1.tcpdump.err" ||
        fail "$1: tcpdump dropped packets: $(cat "$WORK/$1.tcpdump.err")"
}
