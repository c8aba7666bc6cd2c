package reprise

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// TestGnuTLSClientEarlyData: gnutls-cli --resume --earlydata against a
// reprise server: the resumed connection's early data is accepted.
func TestGnuTLSClientEarlyData(t *testing.T) {
	cli := peertest.Need(t, "gnutls-cli")
	pc := peertest.Certs(t, peertest.ECDSAP256)
	early := filepath.Join(t.TempDir(), "early.txt")
	if err := os.WriteFile(early, []byte("GET /gnutls-early\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	scfg := earlyServerConfig(t)
	addr := serveEarlyTCP(t, scfg)
	host, port, _ := strings.Cut(addr, ":")
	out, err := peertest.Run(t, 30*time.Second, "GET / HTTP/1.0\r\n\r\n", cli, "--resume", "--earlydata="+early,
		"--x509cafile", pc.CAFile, "--sni-hostname", "localhost", "--verify-hostname", "localhost",
		"--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3", "-p", port, host)
	t.Logf("%s", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `early="GET /gnutls-early\n" status=accepted`) {
		t.Fatalf("gnutls-cli's early data not accepted:\n%s", out)
	}
}

// TestGnuTLSServerEarlyData: a reprise client's early data to gnutls-serv
// --earlydata.
func TestGnuTLSServerEarlyData(t *testing.T) {
	peertest.Need(t, "gnutls-serv")
	pc := peertest.Certs(t, peertest.ECDSAP256)
	addr, p := peertest.GnuTLSServer(t, "--echo", "--earlydata", "--maxearlydata", "16384",
		"--x509certfile", pc.CertFile, "--x509keyfile", pc.KeyFile, "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3")
	addr = strings.Replace(addr, "0.0.0.0", "127.0.0.1", 1)
	ccfg := resumeClient13(t)
	if st, _ := dialEarly(t, addr, ccfg, "", "first\n"); st.DidResume {
		t.Fatal("first connection resumed")
	}
	if s := ccfg.ClientSessionCache.Get("localhost"); s == nil || s.maxEarly == 0 {
		t.Fatalf("no ticket allowing early data: %+v", s)
	}
	st, echoed := dialEarly(t, addr, ccfg, "zero-rtt\n", "one-rtt\n")
	t.Logf("echoed %q\n%s", echoed, p.Output())
	if !st.DidResume || st.EarlyData != EarlyDataAccepted {
		t.Fatalf("%+v", st)
	}
}
