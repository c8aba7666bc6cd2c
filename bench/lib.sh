# bench/lib.sh: what the bench scripts share. Sourced, not run; the
# sourcing script sets tmp (its scratch directory) first.

# server_pids are the servers stop_servers stops.
server_pids=()

stop_servers() {
	local pid
	for pid in "${server_pids[@]+"${server_pids[@]}"}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	server_pids=()
}

# wait_port PORT PID: waits up to 10 s for 127.0.0.1:PORT to accept a
# connection, failing early if PID exits.
wait_port() {
	local port=$1 pid=$2 i
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 1
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# make_cert: one ECDSA P-256 certificate for localhost and 127.0.0.1 in
# $tmp/cert.pem and $tmp/key.pem, so that every server signs with the
# same key type.
make_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
		-keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
}
