#!/usr/bin/env bash
# bench/profile.sh says where `reprise serve` spends its CPU on one kind of
# handshake: it runs the server as bench/loopback.sh does (one CPU, the
# same certificate, suite and group), loads it with bench/tlsload from the
# other CPU, records it with `perf record -g`, and sorts every sample by
# what it was part of (the handshake, accepting, closing, the Go
# scheduler, the sysmon thread, the garbage collector), in the process or
# in the kernel on its behalf. Needs perf; not run by CI. Knobs:
#   PROF_VERSION=1.2       protocol version
#   PROF_MODE=resume       resume or full
#   PROF_WARMUP_FULL=3s    full handshakes first, so the server's state is
#                          that of the loopback benchmark's resumed rounds
#   PROF_DURATION=8s       how long to record
#   PROF_PORT=44350
set -euo pipefail

cd "$(dirname "$0")/.."

PROF_VERSION=${PROF_VERSION:-1.2}
PROF_MODE=${PROF_MODE:-resume}
PROF_WARMUP_FULL=${PROF_WARMUP_FULL:-3s}
PROF_DURATION=${PROF_DURATION:-8s}
PROF_PORT=${PROF_PORT:-44350}

log() { echo "bench/profile.sh: $*" >&2; }
command -v perf >/dev/null || { log "perf is not installed"; exit 1; }

tmp=$(mktemp -d)
. bench/lib.sh
trap 'stop_servers; rm -rf "$tmp"' EXIT

server_pin=() client_pin=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	server_pin=(taskset -c 0) client_pin=(taskset -c 1)
fi

go build -o "$tmp/reprise" ./cmd/reprise
go build -o "$tmp/tlsload" ./bench/tlsload
make_cert

"${server_pin[@]}" "$tmp/reprise" serve --addr "127.0.0.1:$PROF_PORT" \
	--cert "$tmp/cert.pem" --key "$tmp/key.pem" --min-version "$PROF_VERSION" --max-version "$PROF_VERSION" \
	--ciphers TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_AES_128_GCM_SHA256 --groups x25519 --echo \
	>"$tmp/serve.log" 2>&1 &
server_pid=$!
server_pids+=("$server_pid")
wait_port "$PROF_PORT" "$server_pid" || { log "reprise serve did not start:"; cat "$tmp/serve.log" >&2; exit 1; }

load() {
	"${client_pin[@]}" "$tmp/tlsload" --addr "127.0.0.1:$PROF_PORT" --ca "$tmp/cert.pem" \
		--servername localhost --version "$PROF_VERSION" --concurrency 4 "$@"
}
load --mode resume --duration 1s >/dev/null
[ "$PROF_WARMUP_FULL" != 0 ] && load --mode full --duration "$PROF_WARMUP_FULL" >/dev/null

ticks() { sed -E 's/^.*\) //' "/proc/$server_pid/stat" | awk '{ print $12 + $13 }'; }
t0=$(ticks)
perf record -F 2000 -g -p "$server_pid" -o "$tmp/perf.data" -- sleep "${PROF_DURATION%s}" >/dev/null 2>&1 &
perf_pid=$!
load --mode "$PROF_MODE" --duration "$PROF_DURATION" >"$tmp/load.json"
wait "$perf_pid" || true
t1=$(ticks)
handshakes=$(sed -E 's/.*"handshakes":([0-9]+).*/\1/' "$tmp/load.json")
us=$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="$handshakes" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')

echo "reprise serve, TLS $PROF_VERSION $PROF_MODE: $handshakes handshakes, $us µs of server CPU each (under perf)"
echo
# Each sample is put in the first class one of its frames matches, in this
# order; "kernel" when the sampled instruction was in the kernel.
perf script -i "$tmp/perf.data" 2>/dev/null | awk '
function classify(   i, c) {
	c = "other"
	for (i = 1; i <= n; i++) {
		if (stack[i] ~ /runtime\.gcBgMarkWorker|runtime\.gcAssistAlloc|runtime\.bgsweep|runtime\.sweepone|runtime\.\(\*mspan\)\.sweep/) { c = "garbage collection"; break }
		if (stack[i] ~ /runtime\.sysmon/) { c = "runtime: sysmon thread"; break }
		if (stack[i] ~ /runtime\.(schedule|findRunnable|park_m|mcall|goexit0)$/) { c = "runtime: scheduler and netpoller"; break }
		if (stack[i] ~ /TCPListener\)\.[aA]ccept/) { c = "accept"; break }
		if (stack[i] ~ /\(\*Conn\)\.Close$|net\.\(\*conn\)\.Close/) { c = "close (close_notify, close)"; break }
		if (stack[i] ~ /\(\*Conn\)\.(Handshake|HandshakeContext)$/) { c = "handshake"; break }
		if (stack[i] ~ /\(\*Conn\)\.Read$/) { c = "reading after the handshake"; break }
		if (stack[i] ~ /runtime\.mallocgc/) { c = "allocation"; break }
	}
	return c
}
/^[^ \t]/ { n = 0; next }
/^[ \t]+[0-9a-f]+ / {
	sym = $2
	sub(/\+0x[0-9a-f]+$/, "", sym)
	if (n == 0) leafk = ($0 ~ /kernel\.kallsyms/)
	stack[++n] = sym
	next
}
/^$/ {
	if (n > 0) {
		c = classify()
		total++
		all[c]++
		if (leafk) kern[c]++
	}
	n = 0
}
END {
	printf "%7s %10s  %s\n", "share", "in kernel", "part of"
	for (c in all) printf "%6.1f%% %9.1f%%  %s\n", 100 * all[c] / total, 100 * kern[c] / total, c | "sort -rn"
}'
