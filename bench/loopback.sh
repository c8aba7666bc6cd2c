#!/usr/bin/env bash
# bench/loopback.sh measures what a handshake costs the server: `reprise
# serve` beside nginx, one worker each, pinned to one CPU, the same
# certificate, cipher suite and key exchange group, driven by a crypto/tls
# load client (bench/tlsload) on the other CPU. For full and resumed
# handshakes of TLS 1.2 and TLS 1.3 it reads each server's CPU time
# (utime + stime from /proc/PID/stat) before and after the load and reports
# CPU per handshake and the ratio reprise / nginx. Then it counts, with
# `strace -c -f`, the system calls each server makes per resumed TLS 1.2
# connection, under `openssl s_time -reuse` and under bench/tlsload.
#
# The report replaces the section between the loopback markers of
# docs/benchmarks.md (bench/run.sh keeps that section when it rewrites the
# rest). Not run by CI. Knobs:
#   LOOP_DURATION=5s       load per server, mode and round
#   LOOP_ROUNDS=3          rounds; the servers alternate inside each round,
#                          and CPU and handshakes are summed over rounds
#   LOOP_CONCURRENCY=4     connections in flight at once
#   LOOP_RATE=400          also measure resumed handshakes at this many
#                          connections per second, the same for both servers
#                          (0: only as fast as client and server go together)
#   LOOP_RATE_FULL=200     the same for full handshakes (LOOP_RATE / 2),
#                          which the one client CPU cannot make as fast
#   LOOP_VERSIONS="1.2 1.3"
#   LOOP_STRACE_CONNS=1500 connections counted under strace (0: skip strace)
#   LOOP_PORT=44340        first of two loopback ports
#   LOOP_NOTE=...          a line printed under the settings (machine load)
#   OUT=docs/benchmarks.md
set -euo pipefail

cd "$(dirname "$0")/.."

LOOP_DURATION=${LOOP_DURATION:-5s}
LOOP_ROUNDS=${LOOP_ROUNDS:-3}
LOOP_CONCURRENCY=${LOOP_CONCURRENCY:-4}
LOOP_RATE=${LOOP_RATE:-400}
LOOP_RATE_FULL=${LOOP_RATE_FULL:-$((LOOP_RATE / 2))}
LOOP_VERSIONS=${LOOP_VERSIONS:-1.2 1.3}
LOOP_STRACE_CONNS=${LOOP_STRACE_CONNS:-1500}
LOOP_PORT=${LOOP_PORT:-44340}
OUT=${OUT:-docs/benchmarks.md}

log() { echo "bench/loopback.sh: $*" >&2; }

for tool in nginx openssl; do
	if ! command -v "$tool" >/dev/null; then
		log "$tool is not installed; it is what reprise is measured against"
		exit 1
	fi
done

# One CPU for the servers, another for the client, where there are two
# and taskset exists; otherwise everything shares, and the report says so.
server_pin=() client_pin=() pinning="not pinned (no taskset or one CPU)"
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	server_pin=(taskset -c 0) client_pin=(taskset -c 1)
	pinning="servers on CPU 0, client on CPU 1 (taskset)"
fi
clk_tck=$(getconf CLK_TCK)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

tmp=$(mktemp -d)
. bench/lib.sh
trap 'stop_servers; rm -rf "$tmp"' EXIT

log "building reprise and bench/tlsload"
go build -o "$tmp/reprise" ./cmd/reprise
go build -o "$tmp/tlsload" ./bench/tlsload

make_cert

reprise_port=$LOOP_PORT
nginx_port=$((LOOP_PORT + 1))


# Both servers: ECDHE-ECDSA with AES-128-GCM in TLS 1.2, TLS_AES_128_GCM_SHA256
# in TLS 1.3, X25519 only, session tickets on (each server's default count:
# two per full TLS 1.3 handshake, one after a resumption), and a session
# cache.
start_reprise() {
	local version=$1
	"${server_pin[@]}" "$tmp/reprise" serve --addr "127.0.0.1:$reprise_port" \
		--cert "$tmp/cert.pem" --key "$tmp/key.pem" --min-version "$version" --max-version "$version" \
		--ciphers TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_AES_128_GCM_SHA256 --groups x25519 --echo \
		>"$tmp/reprise.log" 2>&1 &
	reprise_pid=$!
	server_pids+=("$reprise_pid")
	wait_port "$reprise_port" "$reprise_pid" || { log "reprise serve did not start:"; cat "$tmp/reprise.log" >&2; exit 1; }
}

start_nginx() {
	local version=$1
	mkdir -p "$tmp/nginx/logs" "$tmp/nginx/tmp"
	cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log crit;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/tmp/body;
    proxy_temp_path $tmp/nginx/tmp/proxy;
    fastcgi_temp_path $tmp/nginx/tmp/fastcgi;
    uwsgi_temp_path $tmp/nginx/tmp/uwsgi;
    scgi_temp_path $tmp/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$nginx_port ssl deferred;
        ssl_certificate $tmp/cert.pem;
        ssl_certificate_key $tmp/key.pem;
        ssl_protocols TLSv$version;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256;
        ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
        ssl_ecdh_curve X25519;
        ssl_session_cache shared:SSL:10m;
        ssl_session_timeout 5m;
        ssl_session_tickets on;
        location / { return 200 "ok\n"; }
    }
}
EOF
	"${server_pin[@]}" nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/logs/error.log" \
		>"$tmp/nginx.log" 2>&1 &
	nginx_pid=$!
	server_pids+=("$nginx_pid")
	wait_port "$nginx_port" "$nginx_pid" || { log "nginx did not start:"; cat "$tmp/nginx.log" "$tmp/nginx/logs/error.log" >&2; exit 1; }
	# The master listens before it starts its worker.
	local i
	nginx_worker=
	for i in $(seq 50); do
		nginx_worker=$(pgrep -P "$nginx_pid" | head -1) && [ -n "$nginx_worker" ] && break
		sleep 0.1
	done
	[ -n "$nginx_worker" ] || { log "no nginx worker process"; exit 1; }
}

# cpu_ticks PID...: utime + stime of the processes, in clock ticks. The
# command name in field 2 may hold spaces, so fields count from its ")".
cpu_ticks() {
	local total=0 pid t
	for pid in "$@"; do
		t=$(sed -E 's/^.*\) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
		total=$((total + t))
	done
	echo "$total"
}

# json_field FILE KEY
json_field() { sed -E "s/.*\"$2\":([0-9.]+).*/\1/" "$1"; }

# load NAME PORT VERSION MODE ARGS...: runs bench/tlsload, JSON to stdout.
load() {
	local port=$1 version=$2 mode=$3
	shift 3
	"${client_pin[@]}" "$tmp/tlsload" --addr "127.0.0.1:$port" --ca "$tmp/cert.pem" --servername localhost \
		--version "$version" --mode "$mode" --concurrency "$LOOP_CONCURRENCY" "$@"
}

declare -A ticks handshakes resumed errors
loop_rates=max
[ "$LOOP_RATE" -gt 0 ] && loop_rates="max fixed"
# rate_of MODE: the fixed rate for the mode.
rate_of() { if [ "$1" = full ]; then echo "$LOOP_RATE_FULL"; else echo "$LOOP_RATE"; fi; }
cpu_md="$tmp/cpu.md"
: >"$cpu_md"
for version in $LOOP_VERSIONS; do
	log "TLS $version: starting reprise serve and nginx"
	start_reprise "$version"
	start_nginx "$version"
	declare -A pids=([reprise]="$reprise_pid" [nginx]="$nginx_pid $nginx_worker")
	declare -A ports=([reprise]=$reprise_port [nginx]=$nginx_port)
	for s in reprise nginx; do
		# Warm up: the Go heap grows to its working size, caches fill.
		load "${ports[$s]}" "$version" resume --duration 1s >/dev/null
		for k in "${!ticks[@]}"; do
			[[ $k == "$version,"*",$s" ]] && unset "ticks[$k]"
		done
	done
	for round in $(seq "$LOOP_ROUNDS"); do
		for rate in $loop_rates; do
			for mode in full resume; do
				rate_flag=()
				[ "$rate" = max ] || rate_flag=(--rate "$(rate_of "$mode")")
				for s in reprise nginx; do
					# shellcheck disable=SC2086 # pids is a list
					before=$(cpu_ticks ${pids[$s]})
					load "${ports[$s]}" "$version" "$mode" --duration "$LOOP_DURATION" "${rate_flag[@]}" >"$tmp/run.json"
					# shellcheck disable=SC2086
					after=$(cpu_ticks ${pids[$s]})
					k=$version,$mode,$rate,$s
					ticks[$k]=$((${ticks[$k]:-0} + after - before))
					handshakes[$k]=$((${handshakes[$k]:-0} + $(json_field "$tmp/run.json" handshakes)))
					resumed[$k]=$((${resumed[$k]:-0} + $(json_field "$tmp/run.json" resumed)))
					errors[$k]=$((${errors[$k]:-0} + $(json_field "$tmp/run.json" errors)))
					log "  round $round, $mode, rate $rate, $s: $(cat "$tmp/run.json"), $((after - before)) ticks"
				done
			done
		done
	done
	stop_servers
	for rate in $loop_rates; do
		for mode in full resume; do
			if [ "$rate" = max ]; then
				row="| TLS $version | $mode | as fast as it goes |"
			else
				row="| TLS $version | $mode | $(rate_of "$mode")/s |"
			fi
			for s in reprise nginx; do
				k=$version,$mode,$rate,$s
				us=$(awk -v t="${ticks[$k]}" -v h="${handshakes[$k]}" -v hz="$clk_tck" \
					'BEGIN { if (h > 0) printf "%.1f", t / hz * 1e6 / h; else printf "n/a" }')
				res=$(awk -v r="${resumed[$k]}" -v h="${handshakes[$k]}" \
					'BEGIN { if (h > 0) printf "%.0f%%", 100 * r / h; else printf "n/a" }')
				row="$row $us µs | ${handshakes[$k]} ($res resumed, ${errors[$k]} errors) |"
				eval "us_$s=\$us"
			done
			# shellcheck disable=SC2154 # us_reprise and us_nginx are set by eval
			row="$row $(awk -v a="$us_reprise" -v b="$us_nginx" 'BEGIN { if (b > 0) printf "**%.2f**", a / b; else printf "n/a" }') |"
			echo "$row" >>"$cpu_md"
		done
	done
done

# --- system calls per resumed TLS 1.2 connection -------------------------

# strace_count OUTFILE CONNS PIDS -- LOAD...: runs the load with strace -c -f
# attached to the server processes and writes "syscall calls errors" lines,
# per connection, for the CONNS connections the load made (CONNS may be a
# file holding the number, read after the load).
strace_summary() {
	# strace -c prints: % time, seconds, usecs/call, calls, [errors,] syscall.
	awk '$NF != "total" && $1 ~ /^[0-9.]+$/ && NF >= 5 {
		name = $NF; calls = $4; errs = (NF == 6) ? $5 : 0
		print name, calls, errs
	}' "$1"
}

strace_md="$tmp/strace.md"
: >"$strace_md"
if [ "$LOOP_STRACE_CONNS" -gt 0 ] && command -v strace >/dev/null; then
	log "strace: resumed TLS 1.2 connections"
	start_reprise 1.2
	start_nginx 1.2
	declare -A trace_pids=([reprise]="$reprise_pid" [nginx]="$nginx_worker")
	declare -A ports=([reprise]=$reprise_port [nginx]=$nginx_port)
	for client in s_time tlsload; do
		for s in reprise nginx; do
			load "${ports[$s]}" 1.2 resume --duration 1s >/dev/null
			strace -c -f -o "$tmp/strace-$client-$s.txt" -p "${trace_pids[$s]}" 2>/dev/null &
			strace_pid=$!
			sleep 1 # strace attaches
			if [ "$client" = s_time ]; then
				# s_time has no connection count: run it for a time and
				# read the count from its output.
				secs=$(awk -v n="$LOOP_STRACE_CONNS" 'BEGIN { s = int(n / 300); print (s < 2 ? 2 : s) }')
				"${client_pin[@]}" openssl s_time -connect "127.0.0.1:${ports[$s]}" -reuse -tls1_2 \
					-cipher ECDHE-ECDSA-AES128-GCM-SHA256 -CAfile "$tmp/cert.pem" -time "$secs" \
					>"$tmp/s_time-$s.txt" 2>&1 || true
				conns=$(awk '/connections in/ { n = $1 } END { print n + 1 }' "$tmp/s_time-$s.txt")
			else
				load "${ports[$s]}" 1.2 resume --handshakes "$LOOP_STRACE_CONNS" >"$tmp/run.json"
				conns=$(($(json_field "$tmp/run.json" handshakes) + $(json_field "$tmp/run.json" errors)))
			fi
			sleep 0.5
			kill -INT "$strace_pid"
			wait "$strace_pid" 2>/dev/null || true
			strace_summary "$tmp/strace-$client-$s.txt" >"$tmp/calls-$client-$s.txt"
			echo "$conns" >"$tmp/conns-$client-$s.txt"
			log "  $client, $s: $conns connections"
		done
		# One table per client: every system call either server made, per
		# connection, errors in brackets.
		{
			printf '\nUnder %s (%s connections to reprise, %s to nginx):\n\n' \
				"$([ "$client" = s_time ] && echo '`openssl s_time -reuse`' || echo '`bench/tlsload --mode resume`')" \
				"$(cat "$tmp/conns-$client-reprise.txt")" "$(cat "$tmp/conns-$client-nginx.txt")"
			printf '| system call | reprise serve | nginx |\n|---|---:|---:|\n'
			awk -v cr="$(cat "$tmp/conns-$client-reprise.txt")" -v cn="$(cat "$tmp/conns-$client-nginx.txt")" '
				function cell(c, e, n) {
					if (c == "") return "";
					s = sprintf("%.2f", c / n);
					if (e > 0) s = s sprintf(" (%.2f failed)", e / n);
					return s
				}
				FILENAME ~ /reprise/ { r[$1] = $2; re[$1] = $3; names[$1] = 1; tr += $2 }
				FILENAME ~ /nginx/ { g[$1] = $2; ge[$1] = $3; names[$1] = 1; tg += $2 }
				END {
					for (n in names) printf "| %s | %s | %s |\n", n, cell(r[n], re[n], cr), cell(g[n], ge[n], cn) | "sort"
					close("sort")
					printf "| **all** | **%.2f** | **%.2f** |\n", tr / cr, tg / cn
				}' "$tmp/calls-$client-reprise.txt" "$tmp/calls-$client-nginx.txt"
		} >>"$strace_md"
	done
	stop_servers
fi

# --- the report ------------------------------------------------------------

section="$tmp/section.md"
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
{
	cat <<EOF
<!-- bench/loopback.sh: begin -->
## Server CPU per handshake: \`reprise serve\` and nginx

Written by \`bench/loopback.sh\` (run it again to replace this section;
\`LOOP_DURATION\`, \`LOOP_ROUNDS\`, \`LOOP_CONCURRENCY\`, \`LOOP_VERSIONS\` and
\`LOOP_STRACE_CONNS\` trade time for precision). This run:
$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown),
$(go version | cut -d' ' -f3-), $(nginx -v 2>&1 | sed 's/.*: //') with $(openssl version | cut -d' ' -f1-2),
$(nproc) CPUs${cpu:+ ($cpu)}, $(uname -sr); $pinning; load average before the run: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg).
Settings: LOOP_DURATION=$LOOP_DURATION LOOP_ROUNDS=$LOOP_ROUNDS LOOP_CONCURRENCY=$LOOP_CONCURRENCY LOOP_RATE=$LOOP_RATE LOOP_RATE_FULL=$LOOP_RATE_FULL.

EOF
	if [ -n "${LOOP_NOTE:-}" ]; then
		printf '%s\n\n' "$LOOP_NOTE"
	fi
	cat <<'EOF'
Each server runs as one worker on one CPU: `reprise serve --echo` under
`taskset` (so Go's GOMAXPROCS is 1), and nginx with `worker_processes 1`
(master and worker both counted). After the handshake each reads until the
client's close_notify, as both do with a connection that sends no request;
`--echo` rather than `--www`, because `--www` hands each connection to
net/http, whose per-connection goroutine and buffers would be measured
too. Both have the same ECDSA P-256 certificate,
ECDHE-ECDSA-AES128-GCM-SHA256 (TLS 1.2) or TLS_AES_128_GCM_SHA256 (TLS 1.3),
X25519 only, session tickets and a session cache on (from both, two TLS
1.3 tickets after a full handshake and one after a resumption; neither
caches a TLS 1.2 session it sends as a ticket), and a deferred accept
(TCP_DEFER_ACCEPT: nginx's `listen ... deferred`, `reprise serve`'s
default on Linux), so that a connection reaches the server with its
ClientHello. The load is
`bench/tlsload`, a crypto/tls client on the other CPU: it dials, handshakes,
sends close_notify and reads to the end (so it takes TLS 1.3 tickets and
the server closes the same way every time); in *resume* mode each of its
connections resumes the session its previous one got (TLS 1.2 by ticket,
TLS 1.3 by PSK with a fresh X25519 exchange). CPU is utime + stime from
`/proc/PID/stat` before and after each load, summed over rounds in which the
two servers alternate; it is the server's whole cost of a connection
(accept, handshake, close, and the Go runtime's or nginx's event loop), not
the cryptography alone. The ratio is reprise / nginx: below 1 means
`reprise serve` spent less CPU per handshake than nginx.

Each case runs at two loads. *As fast as it goes*: the client's workers
connect again as soon as a connection ends, so each server runs at the
rate it and the one client CPU reach together; the two servers then run
at different rates (the `handshakes` columns), and a server that is idle
more of the time pays more per handshake for waking up. *N/s*: both
servers get the same number of connections per second (at most; the
`handshakes` columns say what was reached), the comparison at equal and
lighter load, where every connection wakes the server from idle.

| version | mode | load | reprise serve, CPU per handshake | handshakes | nginx, CPU per handshake | handshakes | reprise / nginx |
|---|---|---|---:|---:|---:|---:|---:|
EOF
	cat "$cpu_md"
	if [ -s "$strace_md" ]; then
		cat <<'EOF'

### System calls per resumed TLS 1.2 connection

Counted with `strace -c -f -p PID` attached to the `reprise serve` process
(every thread) and to the nginx worker, while a client made resumed TLS 1.2
connections; each count is divided by the connections made. strace slows
the servers down, so these runs say nothing about time. Failed calls are in
parentheses. `openssl s_time -reuse` opens one connection at a time and closes
without close_notify; `bench/tlsload` runs as above. `nanosleep`, `futex`
and `epoll_pwait` are the Go runtime's (the sysmon thread's polling, hand-offs
between threads, the netpoller): they follow time more than connections, and
strace's slowdown inflates them most under s_time's one connection at a
time. Of the calls that follow connections, reprise makes Go's three
extras (an `accept4` that returns EAGAIN before the netpoller parks, an
`epoll_ctl` to remove the socket, a `getsockname` for `LocalAddr`) and,
under tlsload, a `sendmsg`: its close_notify in answer to the client's, as
RFC 5246, Section 7.2.1 and RFC 8446, Section 6.1 require, sent with
MSG_MORE so that it leaves in the FIN's segment (nginx answers a
close_notify with silence); nginx makes two `getpid` and a peeking
`recvfrom`.
EOF
		cat "$strace_md"
	fi
	cat <<'EOF'

### Where `reprise serve`'s time goes

Measured by hand, not by this script, on 2026-12-05 with nothing else
running: `bench/profile.sh` runs `reprise serve` as above, records it with
`perf record -g` and sorts every sample by what it was part of. Shares
move by a few points between runs; the times under perf are inflated.

| part of | TLS 1.2 resumed | TLS 1.2 full |
|---|---:|---:|
| the handshake (of which in the kernel) | 28% (14%) | 54% (12%) |
| Go's sysmon thread | 18% | 13% |
| Go's scheduler and netpoller | 16% | 7% |
| accept (Go's `accept4`, `epoll_ctl`, `getsockname`, `setsockopt`) | 14% | 6% |
| close (close_notify with the FIN, `epoll_ctl`, `close`) | 11% | 5% |
| allocation and garbage collection | 10% | 8% |

The cryptography of a resumed TLS 1.2 handshake (PRF, SHA-256, AES-GCM) is
under 5% of it; the rest of "the handshake" is its `read` and `write`
system calls and the loopback TCP work they do. In a full handshake X25519
is 29% of the server's CPU (key generation and the shared secret, Go's
`crypto/ecdh`) and the ECDSA P-256 signature 10%: that is the difference
from nginx in the full rows, since OpenSSL's X25519 is faster and reprise
takes its cryptography from Go's standard library only. A TLS 1.3
resumption makes a fresh X25519 exchange too (psk_dhe_ke, the only mode
crypto/tls and browsers offer): 35% of the server's CPU in one.

What keeps a resumed TLS 1.2 handshake above nginx's is the Go runtime,
about a third of the server's CPU. The largest part is the sysmon thread:
whenever the one CPU goes idle between connections, sysmon parks, and the
next system call wakes it (`entersyscall`) and restarts its polling every
20 µs. Pinned to one CPU, each of its wake-ups is a context switch that
preempts the server (about 2 per handshake, and 0.4-0.6 involuntary
switches of the worker threads). Counted from `/proc/PID/task/*/stat` over
5 s of resumed TLS 1.2 load, four alternating runs: sysmon alone used 10%
of the server's CPU, and with sysmon kept from parking
(`GODEBUG=schedtrace=2147483647`, a diagnostic setting whose side effect is
that sysmon never deep-sleeps) the server spent 87-96 µs per resumed
handshake instead of 121-157 µs, 25% less, about nginx's cost in the
table above. That setting
is not a fix (an idle server then wakes 100 times a second, and it prints
a scheduler trace every 24.8 days of uptime); the fix is in the runtime
(golang/go#18236, "runtime: sysmon tick is hardcoded"). The other runtime
costs per connection are Go's `net` package: an `accept4` that returns
EAGAIN before the netpoller parks, `epoll_ctl` twice against nginx's once,
and `getsockname` for `LocalAddr` (the system call table above), and
hand-offs between threads when a system call outlasts a sysmon tick.

What this work removed (each measured against the tree before it):
allocations per resumed TLS 1.2 handshake (both sides) from 177 to 103,
a TLS 1.2 session sent as a ticket no longer also cached (OpenSSL's rule:
the cache full of them made the server's garbage collector mark every
session, 10-20% of a resumed handshake after a run of full ones), one
TLS 1.3 ticket after a resumption instead of two, close_notify sent in the
same segment as the FIN (13 TCP segments per resumed TLS 1.2 connection
instead of 14), and in `serve` a socket deadline instead of a context per
handshake, one 16 KiB echo buffer per handler instead of per connection,
and a deferred accept (11% of a resumed TLS 1.2 handshake; the profile
above was taken before it, and nginx now gets the same option here).

The system call counts left are Go's `net` package more than TLS: it
registers every accepted socket with epoll at once and removes it at
close (nginx registers one only when a read would block, which with a
deferred accept and `s_time`'s one connection at a time is almost never),
asks `getsockname`, and tries `accept4` once more before it parks. Under
the load client's concurrent connections reprise makes fewer reads and
fewer system calls in all than nginx; under `s_time` about one more.

Reproduce: `bench/loopback.sh` (needs nginx, openssl, and for the
second table strace; taskset where present). Each step is logged on stderr,
with the JSON of every load run.
<!-- bench/loopback.sh: end -->
EOF
} >"$section"

# Replace the section in OUT, or add it at the end.
mkdir -p "$(dirname "$OUT")"
touch "$OUT"
if grep -q '^<!-- bench/loopback.sh: begin -->$' "$OUT"; then
	awk -v section="$section" '
		/^<!-- bench\/loopback.sh: begin -->$/ { while ((getline line < section) > 0) print line; skip = 1; next }
		/^<!-- bench\/loopback.sh: end -->$/ { skip = 0; next }
		!skip { print }' "$OUT" >"$tmp/out.md"
else
	{ cat "$OUT"; [ -s "$OUT" ] && echo; cat "$section"; } >"$tmp/out.md"
fi
cp "$tmp/out.md" "$OUT"
log "wrote $OUT"
