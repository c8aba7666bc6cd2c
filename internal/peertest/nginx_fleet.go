package peertest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// NginxTLSServer starts nginx (Debian's nginx-light is enough) on a free
// loopback port with a configuration of its own in a test temporary
// directory: one TLS server with cert, answering every request with 200,
// and serverDirectives (such as ssl_session_ticket_key lines) added to its
// server block. It runs in the foreground without a master process, so
// it is stopped by its PID when the test ends.
func NginxTLSServer(t testing.TB, cert *Cert, serverDirectives string) (addr string, p *Process) {
	t.Helper()
	dir := t.TempDir()
	return startServer(t, "nginx", func(addr string) ([]string, string, string) {
		conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log stderr;
events {}
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	server {
		listen %[2]s ssl;
		ssl_certificate %[3]s;
		ssl_certificate_key %[4]s;
		%[5]s
		location / { return 200 "nginx\n"; }
	}
}
`, dir, addr, cert.CertFile, cert.KeyFile, serverDirectives)
		path := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{"-c", path, "-p", dir, "-e", "stderr"}, "", ""
	}, true)
}
