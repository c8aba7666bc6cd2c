package peertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// NginxOptions configures NginxServer.
type NginxOptions struct {
	// Cert is the server certificate (required).
	Cert *Cert
	// TicketKeyFiles are ssl_session_ticket_key files, the first one
	// current (nginx seals with the first directive's key).
	TicketKeyFiles []string
	// Protocols is ssl_protocols; empty means "TLSv1.2 TLSv1.3".
	Protocols string
	// SessionCache is ssl_session_cache; empty means "off", so that
	// TLS 1.2 resumes only by ticket.
	SessionCache string
	// Directives are added to the server block as they are.
	Directives []string
}

// NginxServer starts nginx (Debian nginx-light) in the foreground as one
// process (daemon off; master_process off) on a free loopback port, with
// its own prefix, configuration, logs and temporary directories in
// t.TempDir(), and waits until it listens. nginx answers every request
// with "reused=$ssl_session_reused protocol=$ssl_protocol\n". It is
// stopped by its PID (its process group) when the test ends; its error log
// is in the prefix's logs/error.log.
func NginxServer(t testing.TB, o NginxOptions) (addr string, p *Process) {
	t.Helper()
	if o.Cert == nil {
		t.Fatal("peertest: NginxServer needs a certificate")
	}
	protocols := o.Protocols
	if protocols == "" {
		protocols = "TLSv1.2 TLSv1.3"
	}
	cache := o.SessionCache
	if cache == "" {
		cache = "off"
	}
	prefix := t.TempDir()
	for _, d := range []string{"logs", "tmp"} {
		if err := os.Mkdir(filepath.Join(prefix, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return startServer(t, "nginx", func(addr string) (argv []string, ready, failure string) {
		var server strings.Builder
		fmt.Fprintf(&server, "\t\tlisten %s ssl;\n", addr)
		fmt.Fprintf(&server, "\t\tssl_certificate %s;\n\t\tssl_certificate_key %s;\n", o.Cert.CertFile, o.Cert.KeyFile)
		fmt.Fprintf(&server, "\t\tssl_protocols %s;\n\t\tssl_session_cache %s;\n", protocols, cache)
		for _, k := range o.TicketKeyFiles {
			fmt.Fprintf(&server, "\t\tssl_session_ticket_key %s;\n", k)
		}
		for _, d := range o.Directives {
			fmt.Fprintf(&server, "\t\t%s\n", strings.TrimSuffix(d, ";")+";")
		}
		server.WriteString("\t\tlocation / { return 200 \"reused=$ssl_session_reused protocol=$ssl_protocol\\n\"; }\n")
		tmp := filepath.Join(prefix, "tmp")
		conf := fmt.Sprintf(`daemon off;
master_process off;
error_log %[1]s/logs/error.log info;
pid %[1]s/nginx.pid;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path %[2]s;
	proxy_temp_path %[2]s;
	fastcgi_temp_path %[2]s;
	uwsgi_temp_path %[2]s;
	scgi_temp_path %[2]s;
	server {
%[3]s	}
}
`, prefix, tmp, server.String())
		confPath := filepath.Join(prefix, "nginx.conf")
		if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		// -e: the compiled-in error log (/var/log/nginx) is not ours to
		// write, even before the configuration is read.
		return []string{"-e", filepath.Join(prefix, "logs", "error.log"), "-p", prefix, "-c", confPath}, "", ""
	}, true)
}
