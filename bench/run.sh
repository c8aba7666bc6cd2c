#!/usr/bin/env bash
# bench/run.sh writes docs/benchmarks.md: reprise against crypto/tls in Go
# benchmarks (compared with benchstat), the session store benchmarks, and
# `reprise bench` on loopback against `reprise serve`, a crypto/tls server
# (bench/gotlsserver) and `openssl s_server`, full and resumed handshakes.
#
# Not run by CI. With the defaults it takes about four minutes. Knobs:
#   BENCH_COUNT=6          go test -count (benchstat wants 6 or more)
#   BENCH_TIME=1s          go test -benchtime
#   BENCH_DURATION=5s      reprise bench --duration, per server and mode
#   BENCH_CONCURRENCY=N    reprise bench --concurrency (default: nproc)
#   BENCH_VERSIONS="1.2 1.3"  protocol versions for reprise bench; a version
#                          that reprise serve cannot do yet is skipped, noted
#   BENCH_PORT=44330       first of three loopback ports for the servers
#   OUT=docs/benchmarks.md where the report goes (the section that
#                          bench/loopback.sh writes there is kept)
set -euo pipefail

cd "$(dirname "$0")/.."

BENCH_COUNT=${BENCH_COUNT:-6}
BENCH_TIME=${BENCH_TIME:-1s}
BENCH_DURATION=${BENCH_DURATION:-5s}
BENCH_CONCURRENCY=${BENCH_CONCURRENCY:-$(nproc 2>/dev/null || echo 2)}
BENCH_VERSIONS=${BENCH_VERSIONS:-1.2 1.3}
BENCH_PORT=${BENCH_PORT:-44330}
OUT=${OUT:-docs/benchmarks.md}

log() { echo "bench/run.sh: $*" >&2; }

tmp=$(mktemp -d)
. bench/lib.sh
trap 'stop_servers; rm -rf "$tmp"' EXIT

# benchstat, installed into GOPATH/bin if it is not on PATH.
PATH="$PATH:$(go env GOPATH)/bin"
if ! command -v benchstat >/dev/null; then
	log "installing benchstat"
	go install golang.org/x/perf/cmd/benchstat@latest
fi

# --- Go benchmarks -------------------------------------------------------

log "go test -bench Handshake (count $BENCH_COUNT, benchtime $BENCH_TIME)"
go test -run '^$' -bench 'Handshake' -benchmem -count "$BENCH_COUNT" -benchtime "$BENCH_TIME" . >"$tmp/handshake.txt"
# The sub-benchmarks are named Handshake/<case>/<impl>. benchstat keys only
# name parts of the form key=value, so name the two parts, then put the
# implementations side by side, crypto/tls first as the baseline.
sed -E 's#^BenchmarkHandshake/([^/[:space:]]+)/([[:alnum:]]+)(-[0-9]+)?([[:space:]])#BenchmarkHandshake/case=\1/impl=\2\3\4#' \
	"$tmp/handshake.txt" >"$tmp/handshake-keyed.txt"
benchstat -row /case -col '/impl@(cryptotls reprise)' "$tmp/handshake-keyed.txt" >"$tmp/handshake-stat.txt"

log "go test -bench SessionStore (count $BENCH_COUNT)"
go test -run '^$' -bench 'SessionStore' -benchmem -count "$BENCH_COUNT" . >"$tmp/store.txt"
# BenchmarkSessionStoreMemory's time and allocations are those of filling a
# million sessions, not of an operation: keep only its bytes/session.
awk '/^BenchmarkSessionStoreMemory/ {
	for (i = 3; i < NF; i += 2) if ($(i + 1) == "bytes/session") { print $1, $2, $i, $(i + 1) }
	next
} { print }' "$tmp/store.txt" >"$tmp/store-kept.txt"
benchstat "default store=$tmp/store-kept.txt" >"$tmp/store-stat.txt"

# --- reprise bench on loopback -------------------------------------------

log "building reprise and gotlsserver"
go build -o "$tmp/reprise" ./cmd/reprise
go build -o "$tmp/gotlsserver" ./bench/gotlsserver

make_cert # one certificate for all three servers


# start_server NAME PORT COMMAND...: starts a server, waits for its port.
start_server() {
	local name=$1 port=$2
	shift 2
	"$@" >"$tmp/$name.log" 2>&1 &
	local pid=$!
	server_pids+=("$pid")
	if ! wait_port "$port" "$pid"; then
		log "$name did not start on port $port:"
		cat "$tmp/$name.log" >&2
		exit 1
	fi
}

# field FILE KEY: a numeric field of reprise bench's JSON.
field() { sed -E "s/.*\"$2\":([^,}]*).*/\1/" "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }

servers=(reprise gotls openssl)
declare -A server_label=(
	[reprise]='`reprise serve`'
	[gotls]='crypto/tls (`bench/gotlsserver`)'
	[openssl]='`openssl s_server -www`'
)
declare -A server_port=([reprise]=$BENCH_PORT [gotls]=$((BENCH_PORT + 1)) [openssl]=$((BENCH_PORT + 2)))

live_md="$tmp/live.md"
: >"$live_md"
for version in $BENCH_VERSIONS; do
	log "reprise bench, TLS $version"
	openssl_version_flag=()
	[ "$version" = 1.2 ] && openssl_version_flag=(-tls1_2)
	start_server reprise "${server_port[reprise]}" "$tmp/reprise" serve --addr "127.0.0.1:${server_port[reprise]}" \
		--cert "$tmp/cert.pem" --key "$tmp/key.pem" --max-version "$version"
	start_server gotls "${server_port[gotls]}" "$tmp/gotlsserver" --addr "127.0.0.1:${server_port[gotls]}" \
		--cert "$tmp/cert.pem" --key "$tmp/key.pem" --max-version "$version"
	start_server openssl "${server_port[openssl]}" openssl s_server -quiet -www "${openssl_version_flag[@]}" \
		-accept "127.0.0.1:${server_port[openssl]}" -cert "$tmp/cert.pem" -key "$tmp/key.pem"

	# A version reprise cannot do yet (TLS 1.3 while it is being written)
	# is noted and skipped rather than filling the table with failures.
	if ! probe=$("$tmp/reprise" connect "127.0.0.1:${server_port[reprise]}" --ca "$tmp/cert.pem" \
		--servername localhost --min-version "$version" --max-version "$version" 2>&1); then
		log "TLS $version skipped: $probe"
		printf '### TLS %s\n\nSkipped: reprise cannot do TLS %s in this tree yet (`%s`).\n\n' \
			"$version" "$version" "$(echo "$probe" | head -1)" >>"$live_md"
		stop_servers
		continue
	fi

	for mode in full resume; do
		for s in "${servers[@]}"; do
			log "  $mode against $s"
			json="$tmp/$version-$mode-$s.json"
			if ! "$tmp/reprise" bench "127.0.0.1:${server_port[$s]}" --ca "$tmp/cert.pem" --servername localhost \
				--min-version "$version" --max-version "$version" --mode "$mode" \
				--duration "$BENCH_DURATION" --concurrency "$BENCH_CONCURRENCY" --json >"$json" 2>"$json.err"; then
				log "  failed: $(head -1 "$json.err")"
				: >"$json"
			fi
		done
	done
	stop_servers

	{
		printf '### TLS %s\n\n' "$version"
		printf '| server | mode | handshakes/s | p50 ms | p90 ms | p99 ms | resumed | errors | handshakes/s ÷ reprise serve |\n'
		printf '|---|---|---:|---:|---:|---:|---:|---:|---:|\n'
		for mode in full resume; do
			base="$tmp/$version-$mode-reprise.json"
			for s in "${servers[@]}"; do
				json="$tmp/$version-$mode-$s.json"
				if [ ! -s "$json" ]; then
					printf '| %s | %s | failed: %s | | | | | | |\n' "${server_label[$s]}" "$mode" "$(head -1 "$json.err" | sed 's/|/\\|/g')"
					continue
				fi
				rate=$(field "$json" handshakes_per_s)
				base_rate=0
				[ -s "$base" ] && base_rate=$(field "$base" handshakes_per_s)
				printf '| %s | %s | %s | %s | %s | %s | %s%% | %s | %s |\n' "${server_label[$s]}" "$mode" "$rate" \
					"$(field "$json" p50_ms)" "$(field "$json" p90_ms)" "$(field "$json" p99_ms)" \
					"$(awk -v r="$(field "$json" resumed_ratio)" 'BEGIN { printf "%.1f", 100 * r }')" \
					"$(field "$json" errors)" "$(ratio "$rate" "$base_rate")"
			done
		done
		printf '\nWhat resumption buys on each server:\n\n'
		printf '| server | full handshakes/s | resumed handshakes/s | resumed ÷ full |\n'
		printf '|---|---:|---:|---:|\n'
		for s in "${servers[@]}"; do
			full="$tmp/$version-full-$s.json" resume="$tmp/$version-resume-$s.json"
			if [ -s "$full" ] && [ -s "$resume" ]; then
				full_rate=$(field "$full" handshakes_per_s) resume_rate=$(field "$resume" handshakes_per_s)
				printf '| %s | %s | %s | %s |\n' "${server_label[$s]}" "$full_rate" "$resume_rate" "$(ratio "$resume_rate" "$full_rate")"
			fi
		done
		printf '\n'
	} >>"$live_md"
done

# --- the report ----------------------------------------------------------

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
mkdir -p "$(dirname "$OUT")"
# The section bench/loopback.sh writes is its own: keep it.
loopback_md="$tmp/loopback.md"
: >"$loopback_md"
if [ -f "$OUT" ]; then
	sed -n '/^<!-- bench\/loopback.sh: begin -->$/,/^<!-- bench\/loopback.sh: end -->$/p' "$OUT" >"$loopback_md"
fi
{
	cat <<EOF
# Benchmarks

Written by \`bench/run.sh\` (not by hand, not by CI). Run it again with
\`bench/run.sh\`; \`BENCH_COUNT\`, \`BENCH_TIME\`, \`BENCH_DURATION\`,
\`BENCH_CONCURRENCY\` and \`BENCH_VERSIONS\` trade time for precision.

This run: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown),
$(go version | cut -d' ' -f3-), $(openssl version | cut -d' ' -f1-2), $(nproc) CPUs${cpu:+ ($cpu)}, $(uname -sr).
Settings: BENCH_COUNT=$BENCH_COUNT BENCH_TIME=$BENCH_TIME BENCH_DURATION=$BENCH_DURATION BENCH_CONCURRENCY=$BENCH_CONCURRENCY.

EOF
	if [ -n "${BENCH_NOTE:-}" ]; then
		printf '%s\n\n' "$BENCH_NOTE"
	fi
	cat <<'EOF'
## Handshakes in one process: reprise and crypto/tls

`BenchmarkHandshake` runs client and server in one process over an
in-memory pipe, so it measures the CPU and allocations of both ends of a
whole handshake and nothing of the network. Every case has the same
certificate (ECDSA P-256) and key exchange (X25519) for both libraries.
crypto/tls is the baseline column; "vs base" is reprise's change from it
(negative is faster or smaller). crypto/tls has no server session ID cache,
so `tls12-session-id` has a reprise row only. benchstat prints `~` when the
difference is not significant at the samples taken.

```
EOF
	cat "$tmp/handshake-stat.txt"
	cat <<'EOF'
```

## The session store

`BenchmarkSessionStore` is parallel Get (80%) and Put (20%) on the default
in-memory store holding a million sessions, once with room for two million
(as a server's store is sized) and once filled exactly to capacity (every
hit in the probation segment then moves entries between segments);
`BenchmarkSessionStoreMemory` is the store's own heap per cached session,
beyond the sessions themselves.

```
EOF
	cat "$tmp/store-stat.txt"
	cat <<'EOF'
```

## Over loopback: `reprise bench` against three servers

`reprise bench` (reprise as the client in every row) dials, handshakes and
closes, from several connections at once, for the duration. *full* offers
no session; *resume* gives each connection of the load its own client
cache, fills it with one unmeasured handshake, then resumes every time
(TLS 1.2 by ticket, which all three servers issue; TLS 1.3 by PSK).
Latency is from the dial to the end of the handshake. The last column is
the server's handshakes per second divided by `reprise serve`'s in the
same mode: above 1 means that server did more than reprise.

`openssl s_server` handles one connection at a time, so it cannot use
more than one core; the other two servers serve connections concurrently.
Client and server share the machine's cores, so these numbers measure the
pair, and the server's share of the work is what differs between rows.

EOF
	cat "$live_md"
	cat <<'EOF'
## Reading these numbers

The machine that wrote this file may be shared and small; the numbers then
carry noise of several percent between runs, and only differences that
benchstat marks significant, or that are large in the loopback tables,
mean anything. Compare runs made on the same machine at the same time.
EOF
	if [ -s "$loopback_md" ]; then
		echo
		cat "$loopback_md"
	fi
} >"$OUT"
log "wrote $OUT"
