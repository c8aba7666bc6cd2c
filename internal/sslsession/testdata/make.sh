#!/bin/sh
# make.sh regenerates the fixtures in this directory with the openssl and
# nginx binaries (Debian openssl 3.0, nginx-light 1.22). Every secret in
# them belongs to throwaway servers that ran on loopback for a second:
# the certificate's key is deleted, the ticket key was made for this run.
#
#   client-tls12-ticket.pem  s_client -sess_out, TLS 1.2 with a ticket (s_server)
#   client-tls12-id.pem      s_client -sess_out, TLS 1.2, -no_ticket: session ID only
#   client-tls13.pem         s_client -sess_out, TLS 1.3 (ticket, age_add)
#   nginx-ticket.key         80-byte ssl_session_ticket_key file
#   nginx-tls12.pem          s_client -sess_out from nginx, TLS 1.2 (its ticket)
#   nginx-tls13.pem          s_client -sess_out from nginx, TLS 1.3 (its ticket)
#   server-tls12.der         the state sealed in nginx-tls12.pem's ticket
#   server-tls13.der         the state sealed in nginx-tls13.pem's ticket
#   cert.pem                 the servers' certificate (CN=localhost)
#
# Run it from this directory: sh make.sh
set -eu
S_PORT=${S_PORT:-24433}
N_PORT=${N_PORT:-24443}
work=$(mktemp -d)
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$work/key.pem" -out cert.pem -days 3650 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null

openssl s_server -accept 127.0.0.1:$S_PORT -cert cert.pem -key "$work/key.pem" -www -quiet &
echo $! > "$work/s_server.pid"
sleep 1
req='GET / HTTP/1.0\r\n\r\n'
client() { # client PORT OUT ARGS...
	port=$1 out=$2; shift 2
	printf "$req" | openssl s_client -connect 127.0.0.1:$port -servername localhost \
		-CAfile cert.pem -ign_eof -sess_out "$out" "$@" >/dev/null 2>&1
}
client $S_PORT client-tls12-ticket.pem -tls1_2
client $S_PORT client-tls12-id.pem -tls1_2 -no_ticket
client $S_PORT client-tls13.pem -tls1_3

openssl rand 80 > nginx-ticket.key
mkdir -p "$work/logs"
cat > "$work/nginx.conf" <<CONF
daemon off;
master_process off;
error_log $work/logs/error.log;
pid $work/nginx.pid;
events { worker_connections 16; }
http {
	access_log off;
	server {
		listen 127.0.0.1:$N_PORT ssl;
		ssl_certificate $PWD/cert.pem;
		ssl_certificate_key $work/key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_session_ticket_key $PWD/nginx-ticket.key;
		location / { return 200 "ok\n"; }
	}
}
CONF
nginx -e "$work/logs/error.log" -p "$work" -c "$work/nginx.conf" &
sleep 1
client $N_PORT nginx-tls12.pem -tls1_2
client $N_PORT nginx-tls13.pem -tls1_3

# Open a ticket as nginx does with an 80-byte key (name 16 | HMAC 32 |
# AES-256 32): ticket = name 16 | IV 16 | AES-256-CBC state | HMAC-SHA256 32.
open_ticket() { # open_ticket SESSION.pem OUT.der
	tick=$(openssl asn1parse -in "$1" | grep -A1 'cont \[ 10 \]' | tail -1 | sed 's/.*\[HEX DUMP\]://')
	n=${#tick}
	aes=$(od -An -tx1 -v -j48 -N32 nginx-ticket.key | tr -d ' \n')
	echo "$tick" | cut -c65-$((n-64)) | xxd -r -p |
		openssl enc -d -aes-256-cbc -K "$aes" -iv "$(echo "$tick" | cut -c33-64)" > "$2"
}
open_ticket nginx-tls12.pem server-tls12.der
open_ticket nginx-tls13.pem server-tls13.der
for f in *.pem; do openssl sess_id -in "$f" -noout 2>/dev/null || true; done
ls -l
