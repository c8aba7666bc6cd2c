package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/internal/peertest"
)

// configurations are the three ways a client can meet Debian's vsftpd
// 3.0.3 with require_ssl_reuse=YES. vsftpd itself has no TLS 1.2/1.3 or
// ticket switch (OpenSSL 3 negotiates TLS 1.3 and issues tickets on
// request), so the client chooses.
var configurations = []struct {
	name       string
	maxVersion string
	noTicket   bool
	want       reprise.Resumption
}{
	{"TLS1.2 session IDs", "1.2", true, reprise.ResumedSessionID},
	{"TLS1.2 tickets", "1.2", false, reprise.ResumedTicket},
	{"TLS1.3", "1.3", false, reprise.ResumedPSK},
}

// startServer starts vsftpd with an RSA certificate (Debian's default
// ssl_ciphers is ECDHE-RSA-AES256-GCM-SHA384, so TLS 1.2 needs RSA) and a
// random file to download; it returns the server, the CA file and the
// file's SHA-256.
func startServer(t *testing.T) (*peertest.VSFTPD, *peertest.Cert, string) {
	cert := peertest.Certs(t, peertest.RSA2048)
	v := peertest.StartVSFTPD(t, cert)
	data := make([]byte, 300<<10)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(v.Root, "pub", "data.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return v, cert, hex.EncodeToString(sum[:])
}

// TestExampleAgainstVSFTPD runs the example as a user would, in each
// configuration: the download's checksum matches and the exit is clean,
// which run only allows when every data connection resumed.
func TestExampleAgainstVSFTPD(t *testing.T) {
	v, cert, sum := startServer(t)
	for _, tc := range configurations {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "data.bin")
			args := []string{"-addr", v.Addr, "-servername", "localhost", "-ca", cert.CAFile,
				"-max-version", tc.maxVersion, "-v", "-list", "pub", "-get", "pub/data.bin", "-out", out,
				"-put", out, "-to", "incoming/" + strings.ReplaceAll(tc.name, " ", "-")}
			if tc.noTicket {
				args = append(args, "-no-ticket")
			}
			var stdout, stderr bytes.Buffer
			if err := run(args, &stdout, &stderr); err != nil {
				t.Fatalf("run: %v\n%s\nvsftpd log:\n%s", err, stderr.String(), v.Log())
			}
			if !strings.Contains(stdout.String(), sum+"  "+out) {
				t.Fatalf("checksum: want %s in\n%s", sum, stdout.String())
			}
			if !strings.Contains(stdout.String(), "data.bin") {
				t.Fatalf("listing: %s", stdout.String())
			}
			if n := strings.Count(stderr.String(), "resumed=true via "+string(tc.want)); n != 3 {
				t.Fatalf("%d data connections resumed via %s:\n%s", n, tc.want, stderr.String())
			}
		})
	}
}

// TestHandOverAgainstVSFTPD makes more data connections than the control
// connection has TLS 1.3 tickets: each offers an unused ticket, and after
// the control connection's run out, one a data connection received.
func TestHandOverAgainstVSFTPD(t *testing.T) {
	v, cert, sum := startServer(t)
	for _, tc := range configurations {
		t.Run(tc.name, func(t *testing.T) {
			o := options{addr: v.Addr, serverName: "localhost", caFile: cert.CAFile, maxVersion: tc.maxVersion, noTicket: tc.noTicket}
			cfg, err := o.config()
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			c, err := dial(v.Addr, cfg, "anonymous", "x", &log)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var uploaded []byte
			for i := range 3 {
				var got bytes.Buffer
				if err := c.Retrieve("pub/data.bin", &got); err != nil {
					t.Fatalf("RETR %d: %v\n%s", i, err, log.String())
				}
				if s := sha256.Sum256(got.Bytes()); hex.EncodeToString(s[:]) != sum {
					t.Fatalf("RETR %d: checksum mismatch", i)
				}
				uploaded = got.Bytes()
			}
			name := fmt.Sprintf("incoming/%d.bin", time.Now().UnixNano())
			if err := c.Store(name, bytes.NewReader(uploaded)); err != nil {
				t.Fatalf("STOR: %v\n%s", err, log.String())
			}
			if err := c.List("incoming", io.Discard); err != nil {
				t.Fatalf("LIST: %v\n%s", err, log.String())
			}
			stored, err := os.ReadFile(filepath.Join(v.Root, name))
			if err != nil || !bytes.Equal(stored, uploaded) {
				t.Fatalf("uploaded file: %v (%d bytes)", err, len(stored))
			}
			if len(c.Data) != 5 {
				t.Fatalf("%d data connections", len(c.Data))
			}
			for i, st := range c.Data {
				if !st.DidResume || st.Resumption != tc.want {
					t.Fatalf("data connection %d: %s\n%s", i, describe(st), log.String())
				}
			}
		})
	}
}

// TestCryptoTLSGets522 is the comparison the README makes: Go's crypto/tls
// as an FTPS client of the same vsftpd. Without a ClientSessionCache (as
// Go FTP libraries are commonly used) nothing is resumed and every
// configuration gets 522. With a shared cache and one ServerName,
// crypto/tls resumes by ticket (TLS 1.2 tickets, TLS 1.3) and vsftpd
// accepts; but it cannot resume by session ID, so against a server that
// resumes only by session ID (tickets off) it always gets 522.
func TestCryptoTLSGets522(t *testing.T) {
	v, _, _ := startServer(t)
	for _, tc := range configurations {
		for _, cache := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/cache=%v", tc.name, cache), func(t *testing.T) {
				cfg := &tls.Config{ServerName: "localhost", RootCAs: peertest.CAPool(t), MaxVersion: tls.VersionTLS13,
					SessionTicketsDisabled: tc.noTicket}
				if cache {
					cfg.ClientSessionCache = tls.NewLRUClientSessionCache(0)
				}
				if tc.maxVersion == "1.2" {
					cfg.MaxVersion = tls.VersionTLS12
				}
				reply, resumed := cryptoTLSList(t, v.Addr, cfg)
				t.Logf("crypto/tls, %s, cache %v: data connection resumed=%v, server said %q", tc.name, cache, resumed, reply)
				want522 := !cache || tc.noTicket
				if got522 := strings.HasPrefix(reply, "522"); got522 != want522 || resumed == want522 {
					t.Fatalf("crypto/tls: resumed=%v reply %q; want 522 %v", resumed, reply, want522)
				}
			})
		}
	}
}

// cryptoTLSList logs in with crypto/tls, sends LIST and returns the
// server's final reply and whether the data connection resumed.
func cryptoTLSList(t *testing.T, addr string, cfg *tls.Config) (string, bool) {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(raw)
	var w io.Writer = raw
	read := func() string {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading reply: %v", err)
		}
		return strings.TrimSpace(line)
	}
	cmd := func(s string) string {
		fmt.Fprintf(w, "%s\r\n", s)
		return read()
	}
	read() // 220
	if got := cmd("AUTH TLS"); !strings.HasPrefix(got, "234") {
		t.Fatalf("AUTH TLS: %q", got)
	}
	ctrl := tls.Client(raw, cfg)
	if err := ctrl.Handshake(); err != nil {
		t.Fatalf("control handshake: %v", err)
	}
	r, w = bufio.NewReader(ctrl), ctrl
	cmd("USER anonymous")
	for _, c := range []string{"PASS x", "PBSZ 0", "PROT P"} {
		if got := cmd(c); !strings.HasPrefix(got, "2") {
			t.Fatalf("%s: %q", c, got)
		}
	}
	pasv := cmd("PASV")
	var h1, h2, h3, h4, p1, p2 int
	if _, err := fmt.Sscanf(pasv[strings.IndexByte(pasv, '(')+1:], "%d,%d,%d,%d,%d,%d", &h1, &h2, &h3, &h4, &p1, &p2); err != nil {
		t.Fatalf("PASV %q: %v", pasv, err)
	}
	dataRaw, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p1<<8|p2), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer dataRaw.Close()
	dataRaw.SetDeadline(time.Now().Add(30 * time.Second))
	if got := cmd("LIST"); !strings.HasPrefix(got, "150") {
		t.Fatalf("LIST: %q", got)
	}
	data := tls.Client(dataRaw, cfg)
	resumed := false
	if err := data.Handshake(); err == nil {
		resumed = data.ConnectionState().DidResume
		io.Copy(io.Discard, data)
	}
	data.Close()
	return read(), resumed
}
