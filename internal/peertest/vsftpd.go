package peertest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// VSFTPD is a running vsftpd for FTPS tests: explicit FTPS (AUTH TLS) on a
// loopback port, anonymous login over TLS only, and require_ssl_reuse=YES,
// Debian's default: every data connection must resume the control
// connection's TLS session, or vsftpd answers "522 SSL connection failed:
// session reuse required".
//
// Anonymous login (any password) stands in for a throwaway local user:
// with run_as_launching_user=YES vsftpd runs as whoever started it, root in
// CI or not, so a test needs no account, no chroot and no root.
type VSFTPD struct {
	Addr string // control connection, "127.0.0.1:PORT"
	// Root is the FTP root. Files put in Root/pub can be downloaded as
	// "pub/NAME"; Root/incoming takes uploads ("incoming/NAME").
	Root    string
	LogFile string // vsftpd's log, with the FTP dialogue (log_ftp_protocol)
	Process *Process
}

// Log returns vsftpd's log so far, for a failing test's message.
func (v *VSFTPD) Log() string {
	b, _ := os.ReadFile(v.LogFile)
	return string(b)
}

// StartVSFTPD writes a config for cert, starts vsftpd in the foreground on
// a free loopback port and waits until it listens. It is stopped by PID
// (with its process group) when the test ends. extra lines ("key=value")
// are appended to the config and override earlier ones.
//
// vsftpd 3.0.3 has no switch for TLS 1.2 or 1.3 (only ssl_sslv2, ssl_sslv3
// and ssl_tlsv1) and no switch for tickets: Debian 12's build uses
// OpenSSL 3's TLS_server_method, so it negotiates TLS 1.3 with a client
// that offers it, and issues tickets (TLS 1.2 RFC 5077 and TLS 1.3) to
// clients that ask. Tests choose the version and ticket use on the client.
func StartVSFTPD(t testing.TB, cert *Cert, extra ...string) *VSFTPD {
	t.Helper()
	Need(t, "vsftpd")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	for _, d := range []string{root, filepath.Join(root, "pub"), filepath.Join(root, "incoming")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("peertest: %v", err)
		}
	}
	v := &VSFTPD{Root: root, LogFile: filepath.Join(dir, "vsftpd.log")}
	conf := filepath.Join(dir, "vsftpd.conf")
	// vsftpd picks passive ports at random in the range and retries a
	// taken one; a random window keeps parallel tests apart.
	pasvMin := 40000 + rand.IntN(18000)
	addr, p := startServer(t, "vsftpd", func(addr string) ([]string, string, string) {
		_, port, _ := net.SplitHostPort(addr)
		lines := []string{
			"listen=YES",
			"listen_ipv6=NO",
			"background=NO",
			"listen_address=127.0.0.1",
			"listen_port=" + port,
			"run_as_launching_user=YES",
			"seccomp_sandbox=NO",
			"anonymous_enable=YES",
			"local_enable=NO",
			"anon_root=" + root,
			"no_anon_password=YES",
			"write_enable=YES",
			"anon_upload_enable=YES",
			"anon_umask=022",
			"pasv_enable=YES",
			"pasv_address=127.0.0.1",
			fmt.Sprintf("pasv_min_port=%d", pasvMin),
			fmt.Sprintf("pasv_max_port=%d", pasvMin+999),
			"ssl_enable=YES",
			"allow_anon_ssl=YES",
			"force_anon_logins_ssl=YES",
			"force_anon_data_ssl=YES",
			"require_ssl_reuse=YES",
			"rsa_cert_file=" + cert.CertFile,
			"rsa_private_key_file=" + cert.KeyFile,
			"xferlog_enable=YES",
			"xferlog_std_format=NO",
			"log_ftp_protocol=YES",
			"vsftpd_log_file=" + v.LogFile,
		}
		lines = append(lines, extra...)
		// As root, vsftpd refuses a config file root does not own; the
		// test's own file is owned by whoever runs the test.
		if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatalf("peertest: %v", err)
		}
		return []string{conf}, "", ""
	}, true)
	v.Addr, v.Process = addr, p
	return v
}
