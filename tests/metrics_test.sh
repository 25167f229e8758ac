#!/usr/bin/env bash
# tests/metrics_test.sh BIN - smtpscope --metrics scraped by a real Prometheus server (Debian's
# prometheus package), run by `make test` (issue 17 point 2).
#
# Needs root (network namespaces); prints one "prometheus: SKIP: <reason>" line and exits 0 when
# not root, when `ip netns` is unusable, or when a tool is missing and cannot be installed (as
# root it installs what is missing with apt-get: iproute2 tcpreplay prometheus python3).
#
# All inside two network namespaces of its own joined by a veth pair (10.198.0.1 on the
# smtpscope side, 10.198.0.2 on the replay side); nothing outside them is addressed:
#   1. `BIN -i vs -o json --metrics 10.198.0.1:9125 --metrics-file F --idle 2` on the veth,
#      and Prometheus (its web API on 127.0.0.1:9090 of the same namespace) scraping it every
#      second; the test waits until up{job="smtpscope"} is 1;
#   2. tcpreplay --topspeed of every samples/*.pcap, then samples/audit/password-guessing.pcap,
#      from the other namespace onto the veth;
#   3. PromQL through /api/v1/query (Python's urllib) until the scrapes show every replayed
#      packet and no open session, then: sessions in all and by state, replies by class, AUTH
#      attempts by result, sessions per server, packets, kernel drops, the password_guessing
#      flag; each expected figure comes from the samples' expected files (sessions, states,
#      replies) and from the pcap files themselves (packets), never from smtpscope. A session
#      the capture file leaves open ("unfinished") goes on being open live, and ends by --idle:
#      it is expected as "timeout";
#   4. SIGUSR1: the running summary names the flag ("flags: password_guessing 1 host"); SIGINT:
#      the textfile written at exit (promtool check metrics) agrees with the JSON summary.
# Every wait is bounded; the trap kills what it started and deletes the namespaces.
set -u

BIN=${1:?usage: tests/metrics_test.sh BIN}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac

skip() { echo "prometheus: SKIP: $*"; exit 0; }

[ "$(id -u)" = 0 ] || skip "not root (network namespaces need root)"
[ -x "$BIN" ] || { echo "prometheus: FAIL: $BIN is not an executable"; exit 1; }

need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v tcpreplay >/dev/null 2>&1 || need+=(tcpreplay)
[ -x /usr/bin/prometheus ] || need+=(prometheus)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v timeout >/dev/null 2>&1 || skip "timeout (coreutils) missing"
if ((${#need[@]})); then
	command -v apt-get >/dev/null 2>&1 || skip "missing ${need[*]} and no apt-get"
	echo "prometheus: installing ${need[*]}"
	log=$(mktemp)
	if ! { timeout 300 apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq \
			--no-install-recommends "${need[@]}"; } >"$log" 2>&1; then
		tail -n 5 "$log" | sed 's/^/prometheus:   /'
		rm -f "$log"
		skip "missing ${need[*]}, and apt-get could not install it"
	fi
	rm -f "$log"
fi
# the package starts its own service on installation: that one is not ours and is left alone

NS=smtpscope-prom-$$
NSS=$NS-s
NSC=$NS-c
WORK=$(mktemp -d /tmp/smtpscope-prom.XXXXXX)
chmod 755 "$WORK"
PIDS=()
FAILS=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 30); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
	done
	for ns in "$NSS" "$NSC"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	if [ "$FAILS" = 0 ]; then
		rm -rf "$WORK"
	else
		echo "prometheus: work files kept in $WORK"
	fi
}
trap cleanup EXIT
trap 'FAILS=$((FAILS + 1)); exit 1' INT TERM HUP

pass() { echo "prometheus: PASS: $*"; }
fail() {
	echo "prometheus: FAIL: $*"
	FAILS=$((FAILS + 1))
}

ip netns add "$NSS" 2>"$WORK/netns.err" || skip "ip netns unusable: $(head -n1 "$WORK/netns.err")"
if ! ip netns add "$NSC" 2>"$WORK/netns.err"; then
	ip netns del "$NSS"
	skip "ip netns unusable: $(head -n1 "$WORK/netns.err")"
fi
SRV=10.198.0.1
CLI=10.198.0.2
if ! { ip link add name vs netns "$NSS" type veth peer name vc netns "$NSC" &&
	ip -n "$NSS" link set lo up && ip -n "$NSC" link set lo up &&
	ip -n "$NSS" addr add $SRV/24 dev vs && ip -n "$NSC" addr add $CLI/24 dev vc &&
	ip -n "$NSS" link set vs up && ip -n "$NSC" link set vc up; } 2>"$WORK/veth.err"; then
	skip "cannot create a veth pair between namespaces: $(head -n1 "$WORK/veth.err")"
fi
for _ in $(seq 50); do
	ip -n "$NSS" link show vs | grep -q LOWER_UP && ip -n "$NSC" link show vc | grep -q LOWER_UP && break
	sleep 0.1
done

# --- smtpscope, then Prometheus scraping it ------------------------------------------------
mkdir -m 775 "$WORK/textfile"
# the file is written after root is dropped: the directory belongs to that user; a coverage
# build keeps uid 0 but gives up its capabilities, so root's group may write there too
chown nobody:0 "$WORK/textfile"
ip netns exec "$NSS" "$BIN" -i vs -o json -p 25,2525 -B 32768 --idle 2 -Z nobody \
	--metrics $SRV:9125 --metrics-file "$WORK/textfile/smtpscope.prom" --metrics-interval 1 \
	>"$WORK/scope.json" 2>"$WORK/scope.err" &
SCOPE=$!
PIDS+=("$SCOPE")

cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: smtpscope
    static_configs:
      - targets: ['$SRV:9125']
EOF
if ! promtool check config "$WORK/prometheus.yml" >"$WORK/promtool.log" 2>&1; then
	fail "promtool check config: $(tail -n 2 "$WORK/promtool.log")"
	exit 1
fi
ip netns exec "$NSS" /usr/bin/prometheus --config.file="$WORK/prometheus.yml" \
	--storage.tsdb.path="$WORK/tsdb" --web.listen-address=127.0.0.1:9090 \
	--storage.tsdb.retention.time=1h >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)

promql() { ip netns exec "$NSS" timeout 120 python3 "$HERE/metrics_promql.py" "$@"; }

if ! promql wait-up; then
	fail "Prometheus did not scrape smtpscope within 60 s: $(tail -n 3 "$WORK/scope.err") $(tail -n 3 "$WORK/prometheus.log")"
	exit 1
fi
pass "Prometheus $(/usr/bin/prometheus --version 2>&1 | head -n1 | awk '{print $3}') scrapes smtpscope every second (up == 1)"

# --- the replay -----------------------------------------------------------------------------
mapfile -t SAMPLES < <(ls "$ROOT"/samples/*.pcap)
AUDIT=$ROOT/samples/audit/password-guessing.pcap
if ip netns exec "$NSC" timeout 60 tcpreplay -i vc --topspeed "${SAMPLES[@]}" >"$WORK/tcpreplay.log" 2>&1 &&
	ip netns exec "$NSC" timeout 60 tcpreplay -i vc --topspeed "$AUDIT" >>"$WORK/tcpreplay.log" 2>&1; then
	pass "tcpreplay --topspeed of ${#SAMPLES[@]} samples and $(basename "$AUDIT")"
else
	fail "tcpreplay: $(tail -n 3 "$WORK/tcpreplay.log")"
fi

# --- PromQL against the expected files -----------------------------------------------------
promql check "$ROOT/samples" "$AUDIT" "${SAMPLES[@]}" || FAILS=$((FAILS + 1))

# --- the live summary's flags line, and the textfile at exit -------------------------------
kill -USR1 "$SCOPE"
for _ in $(seq 30); do
	grep -q 'flags:' "$WORK/scope.err" && break
	sleep 0.1
done
line=$(grep 'flags:' "$WORK/scope.err" | head -n 1)
if [ "$line" = "smtpscope: flags: password_guessing 1 host, login_failures 1 host" ]; then
	pass "SIGUSR1: $line"
else
	fail "SIGUSR1: the flags line is \"$line\""
fi
kill -INT "$SCOPE"
for _ in $(seq 200); do
	kill -0 "$SCOPE" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$SCOPE" 2>/dev/null; then
	fail "smtpscope did not exit within 20 s of SIGINT"
	exit 1
fi
wait "$SCOPE"
rc=$?
[ $rc = 0 ] || fail "smtpscope exited $rc: $(head -n 5 "$WORK/scope.err")"
if grep -qE 'ERROR: (Address|Leak|Undefined|Thread)Sanitizer|runtime error:' "$WORK/scope.err"; then
	fail "sanitizer report:"
	head -n 30 "$WORK/scope.err" | sed 's/^/      /'
fi
[ "$(grep -c 'flags:' "$WORK/scope.err")" -ge 2 ] && pass "the summary at the end has the flags line too" ||
	fail "no flags line at the end: $(tail -n 3 "$WORK/scope.err")"
if promtool check metrics <"$WORK/textfile/smtpscope.prom" >"$WORK/promtool.log" 2>&1; then
	pass "promtool check metrics: the textfile written at exit"
else
	fail "promtool check metrics: $(head -n 3 "$WORK/promtool.log")"
fi
python3 "$HERE/metrics_promql.py" summary "$WORK/scope.json" "$WORK/textfile/smtpscope.prom" || FAILS=$((FAILS + 1))

if [ "$FAILS" = 0 ]; then
	echo "prometheus: all passed ($BIN, ${SECONDS} s)"
	exit 0
fi
echo "prometheus: $FAILS failure(s)"
exit 1
