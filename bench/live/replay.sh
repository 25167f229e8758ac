#!/usr/bin/env bash
# bench/live/replay.sh - measurements of smtpscope's live mode with tcpreplay (root only;
# not part of `make test`). Two network namespaces of its own (smtpscope-bench-<pid>-s/-c)
# joined by a veth pair; nothing outside them is addressed.
#
#   sudo bench/live/replay.sh [once|loop|all]     (default: all)
#
# once  replay PCAP once at MBPS (tcpreplay --mbps) onto the veth while
#       `BIN -i vs -o json -B BUFKIB` captures on the other end; SIGINT; report the kernel
#       counters of the summary and compare the sessions with `BIN -r PCAP -o json`
#       (bench/live/compare.py: by 4-tuple, state and every command and reply code).
# loop  replay PCAP in a loop with --unique-ip at MBPS for MINUTES minutes
#       (tcpreplay --loop 100000 --unique-ip --duration; not -K, see below), while `BIN -i vs -o json -B BUFKIB
#       --idle IDLE` captures; VmRSS/VmHWM of smtpscope every 10 s into OUT/rss.csv, a
#       running summary (SIGUSR1) every 60 s into OUT/loop.err; then SIGINT and the figures:
#       RSS after 1 minute and at the end, drops, sessions.
#
# Settings (environment): BIN=build/smtpscope  PCAP=build/bench-live/mix-120.pcap (made with
# `python3 bench/gen.py --size-mb 120 --seed 1` when absent)  MBPS=200  BUFKIB=65536
# MINUTES=10  IDLE=30  OUT=build/bench-live  EXTRA= (more smtpscope options for both runs);
# BUFKIB=default gives no -B (smtpscope's own default buffer)
set -u
cd "$(dirname "$0")/../.." || exit 2
MODE=${1:-all}
BIN=$(realpath "${BIN:-build/smtpscope}")
OUT=${OUT:-build/bench-live}
PCAP=${PCAP:-$OUT/mix-120.pcap}
MBPS=${MBPS:-200}
BUFKIB=${BUFKIB:-65536}
MINUTES=${MINUTES:-10}
IDLE=${IDLE:-30}
EXTRA=${EXTRA:-}
BOPT="-B $BUFKIB"
[ "$BUFKIB" = default ] && BOPT=

[ "$(id -u)" = 0 ] || { echo "replay.sh: needs root (network namespaces)" >&2; exit 2; }
for t in ip tcpreplay python3 timeout; do
	command -v $t >/dev/null || { echo "replay.sh: $t missing (apt-get install iproute2 tcpreplay python3)" >&2; exit 2; }
done
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
if [ ! -s "$PCAP" ]; then
	echo "== generating $PCAP"
	timeout 600 python3 bench/gen.py --size-mb 120 --seed 1 -o "$PCAP" || exit 1
fi
PCAP=$(realpath "$PCAP")

NSS=smtpscope-bench-$$-s
NSC=smtpscope-bench-$$-c
SRV=10.199.1.1
CLI=10.199.1.2
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.5
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for ns in "$NSS" "$NSC"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
ip netns add "$NSS" && ip netns add "$NSC" &&
	ip link add name vs netns "$NSS" type veth peer name vc netns "$NSC" &&
	ip -n "$NSS" addr add $SRV/24 dev vs && ip -n "$NSC" addr add $CLI/24 dev vc &&
	ip -n "$NSS" link set lo up && ip -n "$NSC" link set lo up &&
	ip -n "$NSS" link set vs up && ip -n "$NSC" link set vc up || exit 1
for _ in $(seq 50); do
	ip -n "$NSS" link show vs | grep -q LOWER_UP && ip -n "$NSC" link show vc | grep -q LOWER_UP && break
	sleep 0.1
done

SCOPE=
ERR=
start_scope() { # NAME ARGS...: BIN -i vs ARGS > OUT/NAME.json 2> OUT/NAME.err
	local name=$1
	shift
	ERR=$OUT/$name.err
	# shellcheck disable=SC2086
	ip netns exec "$NSS" "$BIN" -i vs "$@" $EXTRA >"$OUT/$name.json" 2>"$ERR" &
	SCOPE=$!
	PIDS+=("$SCOPE")
}
summary_line() { # ask for a running summary (SIGUSR1), print the newest one (bounded 3 s)
	local before
	before=$(grep -c 'so far' "$ERR")
	kill -USR1 "$SCOPE" 2>/dev/null || return 1
	for _ in $(seq 30); do
		[ "$(grep -c 'so far' "$ERR")" -gt "$before" ] && break
		sleep 0.1
	done
	grep 'so far' "$ERR" | tail -n 1
}
packets_now() { summary_line | sed -n 's/.*so far \([0-9]*\) packets.*/\1/p'; }
wait_ready() { # the packet socket exists, then refused probes to :25 until one is counted
	local deadline=$(($(date +%s) + 30)) port=39900
	while [ "$(date +%s)" -lt $deadline ]; do
		[ "$(cat /proc/"$SCOPE"/comm 2>/dev/null)" = smtpscope ] &&
			[ "$(wc -l <"/proc/$SCOPE/net/packet" 2>/dev/null || echo 0)" -gt 1 ] && break
		sleep 0.1
	done
	while [ "$(date +%s)" -lt $deadline ]; do
		ip netns exec "$NSC" timeout 5 python3 -c '
import socket, sys
s = socket.socket(); s.settimeout(3); s.bind((sys.argv[2], int(sys.argv[3])))
try: s.connect((sys.argv[1], 25))
except OSError: pass' $SRV $CLI $port
		port=$((port + 1))
		n=$(packets_now)
		[ -n "$n" ] && [ "$n" -gt 0 ] && return 0
	done
	echo "smtpscope did not start: $(head -n 3 "$ERR")"
	return 1
}
wait_quiet() { # until the packet count has not moved for 3 s (bounded 120 s)
	local deadline=$(($(date +%s) + 120)) last=-1 still=0 n
	while [ "$(date +%s)" -lt $deadline ] && [ $still -lt 3 ]; do
		n=$(packets_now)
		if [ "$n" = "$last" ]; then still=$((still + 1)); else still=0; last=$n; fi
		sleep 1
	done
}
stop_scope() { # SIGINT, bounded wait (60 s)
	kill -INT "$SCOPE"
	for _ in $(seq 600); do
		kill -0 "$SCOPE" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$SCOPE" 2>/dev/null && { echo "smtpscope ignored SIGINT for 60 s"; kill -KILL "$SCOPE"; }
	wait "$SCOPE"
	echo "smtpscope exit status $?"
}
rss_kb() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$SCOPE/status" 2>/dev/null; }

echo "== $(date -u +%FT%TZ) $(uname -r), $(nproc) CPUs, tcpreplay $(tcpreplay --version 2>&1 | sed -n '1s/.*version: \([^ ]*\).*/\1/p'), $(ls -la "$PCAP" | awk '{print $5}') bytes: $PCAP"

if [ "$MODE" = once ] || [ "$MODE" = all ]; then
	echo "== offline: $BIN -r $PCAP -o json $EXTRA"
	# shellcheck disable=SC2086
	/usr/bin/time -f "offline: %e s, max RSS %M KB" timeout 600 "$BIN" -r "$PCAP" -o json $EXTRA >"$OUT/offline.json"
	echo "== once: $BIN -i vs -o json -B $BUFKIB $EXTRA;  tcpreplay -i vc -K --mbps $MBPS $PCAP"
	start_scope once -o json $BOPT
	wait_ready || exit 1
	ip netns exec "$NSC" timeout 900 tcpreplay -i vc -K --mbps "$MBPS" "$PCAP" >"$OUT/once.tcpreplay" 2>&1
	grep -E 'Actual|Rated|Failed' "$OUT/once.tcpreplay" | sed 's/^[[:space:]]*/tcpreplay: /'
	wait_quiet
	echo "smtpscope RSS at the end: $(rss_kb VmRSS) kB (peak $(rss_kb VmHWM) kB)"
	stop_scope
	python3 bench/live/compare.py "$OUT/once.json" "$OUT/offline.json" --exclude-client $CLI
fi

if [ "$MODE" = loop ] || [ "$MODE" = all ]; then
	secs=$((MINUTES * 60))
	# no -K here: tcpreplay 4.4.3's --unique-ip edits preloaded (-K) IPv6 packets in place
	# and from about the 20th loop gives the two directions of a flow different addresses
	# (the SYN goes ::974e -> ::12, its SYN-ACK comes from ::14 to ::974c), which splits
	# IPv6 sessions into one-sided flows; without -K both directions stay consistent.
	echo "== loop: $BIN -i vs -o json -B $BUFKIB --idle $IDLE $EXTRA;  tcpreplay -i vc --loop 100000 --unique-ip --mbps $MBPS --duration $secs $PCAP"
	start_scope loop -o json $BOPT --idle "$IDLE"
	wait_ready || exit 1
	ip netns exec "$NSC" timeout $((secs + 300)) tcpreplay -i vc --loop 100000 --unique-ip \
		--mbps "$MBPS" --duration "$secs" "$PCAP" >"$OUT/loop.tcpreplay" 2>&1 &
	REPLAY=$!
	PIDS+=("$REPLAY")
	t0=$(date +%s)
	echo "seconds,vmrss_kb,vmhwm_kb" >"$OUT/rss.csv"
	next=0
	while kill -0 "$REPLAY" 2>/dev/null && [ $(($(date +%s) - t0)) -lt $((secs + 240)) ]; do
		el=$(($(date +%s) - t0))
		if [ "$el" -ge "$next" ]; then
			echo "$el,$(rss_kb VmRSS),$(rss_kb VmHWM)" >>"$OUT/rss.csv"
			[ $((next % 60)) = 0 ] && kill -USR1 "$SCOPE"
			next=$((next + 10))
		fi
		sleep 1
	done
	wait "$REPLAY"
	echo "tcpreplay exit status $?"
	grep -E 'Actual|Rated|Failed|Retried' "$OUT/loop.tcpreplay" | sed 's/^[[:space:]]*/tcpreplay: /'
	wait_quiet
	echo "$(($(date +%s) - t0)),$(rss_kb VmRSS),$(rss_kb VmHWM)" >>"$OUT/rss.csv"
	stop_scope
	python3 - "$OUT/rss.csv" <<'EOF'
import csv, sys
rows = [(int(r["seconds"]), int(r["vmrss_kb"] or 0), int(r["vmhwm_kb"] or 0)) for r in csv.DictReader(open(sys.argv[1]))]
at1 = next(r for r in rows if r[0] >= 60)
end = rows[-1]
print("RSS after 1 min (t=%d s): %d kB; at the end (t=%d s): %d kB; change %+.1f%%; peak (VmHWM) %d kB"
      % (at1[0], at1[1], end[0], end[1], 100.0 * (end[1] - at1[1]) / at1[1], end[2]))
later = [r for r in rows if r[0] >= 60]
if len(later) > 1 and later[-1][0] > later[0][0]:
    slope = (later[-1][1] - later[0][1]) / ((later[-1][0] - later[0][0]) / 60.0)
    print("RSS slope after the first minute: %+.0f kB/min; min %d kB, max %d kB"
          % (slope, min(r[1] for r in later), max(r[1] for r in later)))
EOF
	grep 'so far' "$OUT/loop.err" | sed 's/^/running: /'
	[ -s "$OUT/offline.json" ] || timeout 600 "$BIN" -r "$PCAP" -o json $EXTRA >"$OUT/offline.json"
	python3 bench/live/compare.py --tally "$OUT/loop.json" --exclude-client $CLI --against "$OUT/offline.json"
fi
