package reprise

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// serveEarlyTCP serves cfg on a loopback port: each connection's early
// data (ReadEarlyData) and first 1-RTT read are answered with what the
// server made of them.
func serveEarlyTCP(t *testing.T, cfg *Config) string {
	t.Helper()
	l, err := Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go func(c *Conn) {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				early, err := io.ReadAll(io.LimitReader(readerFunc(c.ReadEarlyData), 1<<20))
				if err != nil {
					return
				}
				if err := c.Handshake(); err != nil {
					return
				}
				buf := make([]byte, 4096)
				n, _ := c.Read(buf)
				st := c.ConnectionState()
				fmt.Fprintf(c, "HTTP/1.0 200 OK\r\n\r\nearly=%q status=%s refused=%s resumed=%v onertt=%q\n", early, st.EarlyData, st.EarlyDataRefused, st.DidResume, buf[:n])
			}(nc.(*Conn))
		}
	}()
	return l.Addr().String()
}

// TestOpenSSLClientEarlyData: openssl s_client -early_data against a
// reprise server: accepted with MaxEarlyData, rejected (and skipped)
// without, the data reaching ReadEarlyData and never Read.
func TestOpenSSLClientEarlyData(t *testing.T) {
	openssl := peertest.Need(t, "openssl")
	pc := peertest.Certs(t, peertest.ECDSAP256)
	early := filepath.Join(t.TempDir(), "early.txt")
	if err := os.WriteFile(early, []byte("GET /early HTTP/1.0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	scfg := earlyServerConfig(t)
	addr := serveEarlyTCP(t, scfg)
	sess := filepath.Join(t.TempDir(), "sess.pem")
	base := []string{"s_client", "-connect", addr, "-tls1_3", "-CAfile", pc.CAFile, "-servername", "localhost", "-ign_eof"}
	out, err := peertest.Run(t, 20*time.Second, "first\n", openssl, append(base, "-sess_out", sess)...)
	if err != nil || !strings.Contains(out, "Max Early Data: 65536") {
		t.Fatalf("first connection: %v\n%s", err, out)
	}
	for i := range 2 { // a ticket is reusable: each ClientHello differs
		out, err = peertest.Run(t, 20*time.Second, "one-rtt\n", openssl, append(base, "-sess_in", sess, "-early_data", early)...)
		if err != nil || !strings.Contains(out, "Early data was accepted") ||
			!strings.Contains(out, `early="GET /early HTTP/1.0\n" status=accepted refused= resumed=true onertt="one-rtt\n"`) {
			t.Fatalf("0-RTT %d: %v\n%s", i, err, out)
		}
	}
	// A server with 0-RTT off skips the early data and resumes.
	off := scfg.Clone()
	off.MaxEarlyData = 0
	base[2] = serveEarlyTCP(t, off)
	out, err = peertest.Run(t, 20*time.Second, "one-rtt\n", openssl, append(base, "-sess_in", sess, "-early_data", early)...)
	if err != nil || !strings.Contains(out, "Early data was rejected") ||
		!strings.Contains(out, `early="" status=rejected refused=early-data-off resumed=true onertt="one-rtt\n"`) {
		t.Fatalf("0-RTT off: %v\n%s", err, out)
	}
	if snap := scfg.Counters().Snapshot(); snap.EarlyDataAccepted != 2 || snap.EarlyDataRejected["early-data-off"] != 1 {
		t.Fatalf("counters %+v", snap)
	}
}

// dialEarly connects with data as early data and returns the state and
// all the server said.
func dialEarly(t *testing.T, addr string, ccfg *Config, early, oneRTT string) (ConnectionState, string) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := Client(nc, ccfg)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if early != "" {
		if err := c.SetEarlyData([]byte(early)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	if oneRTT != "" {
		c.Write([]byte(oneRTT))
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	b, _ := io.ReadAll(io.LimitReader(c, 1<<16))
	return c.ConnectionState(), string(b)
}

// TestOpenSSLServerEarlyData: a reprise client sends early data to openssl
// s_server -early_data, which prints it.
func TestOpenSSLServerEarlyData(t *testing.T) {
	peertest.Need(t, "openssl")
	pc := peertest.Certs(t, peertest.ECDSAP256)
	// -no_anti_replay: s_server's own anti-replay makes its tickets
	// single-use and in its cache; reprise's client does not care which.
	addr, p := peertest.OpenSSLServer(t, "-cert", pc.CertFile, "-key", pc.KeyFile, "-tls1_3", "-early_data", "-no_anti_replay")
	ccfg := resumeClient13(t)
	// The first connection brings the tickets (read until the deadline).
	if st, _ := dialEarly(t, addr, ccfg, "", "first\n"); st.DidResume {
		t.Fatal("first connection resumed")
	}
	s := ccfg.ClientSessionCache.Get("localhost")
	if s == nil || s.maxEarly == 0 {
		t.Fatalf("no ticket allowing early data: %+v", s)
	}
	st, _ := dialEarly(t, addr, ccfg, "hello from 0-RTT\n", "then 1-RTT\n")
	if !st.DidResume || st.EarlyData != EarlyDataAccepted {
		t.Fatalf("%+v", st)
	}
	deadline := time.Now().Add(10 * time.Second)
	// s_server prints the data and its "Early data received:" heading on
	// different streams, so their order varies.
	for out := p.Output(); !strings.Contains(out, "Early data received:") || !strings.Contains(out, "hello from 0-RTT") || !strings.Contains(out, "then 1-RTT"); out = p.Output() {
		if time.Now().After(deadline) {
			t.Fatalf("s_server did not print the early data:\n%s", p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCryptoTLSWithEarlyDataOn: crypto/tls has no 0-RTT over TCP (only its
// QUIC API has it), so what is tested is that 0-RTT settings harm nothing:
// a crypto/tls client resumes with a reprise server whose tickets carry
// max_early_data_size (and sends no early data), and a reprise client that
// asked for early data resumes with a crypto/tls server, whose tickets
// allow none, sending none.
func TestCryptoTLSWithEarlyDataOn(t *testing.T) {
	scfg := earlyServerConfig(t)
	gcfg := &tls.Config{ServerName: "localhost", RootCAs: peertest.CAPool(t), ClientSessionCache: tls.NewLRUClientSessionCache(0)}
	for i := range 2 {
		a, b := memPipe()
		srv := Server(b, scfg)
		go echoOnce(srv)
		c := tls.Client(a, gcfg)
		roundTrip(t, c)
		if c.ConnectionState().DidResume != (i > 0) {
			t.Fatalf("crypto/tls client, connection %d did not resume", i)
		}
		if st := srv.ConnectionState(); st.EarlyData != EarlyDataNone {
			t.Fatalf("server %+v", st)
		}
	}

	pc := peertest.Certs(t, peertest.ECDSAP256)
	goSrv := &tls.Config{Certificates: []tls.Certificate{pc.TLSCertificate()}}
	ccfg := resumeClient13(t)
	for i := range 2 {
		a, b := memPipe()
		go echoOnce(tls.Server(b, goSrv))
		c := Client(a, ccfg)
		c.SetEarlyData([]byte("only if allowed"))
		roundTrip(t, c)
		st := c.ConnectionState()
		if st.DidResume != (i > 0) || st.EarlyData != EarlyDataNone {
			t.Fatalf("reprise client, connection %d: %+v", i, st)
		}
		if i > 0 && st.EarlyDataRefused != RefusedEarlyTicket {
			t.Fatalf("reason %q", st.EarlyDataRefused)
		}
	}
}
