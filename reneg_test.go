package reprise

import (
	"bytes"
	"fmt"
	"slices"

	"context"
	"errors"
	"github.com/reprise-tls/reprise/internal/wire"
	"io"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// askAfterRequest runs the protected-path pattern on server: read a
// 5-byte request, ask for a certificate, answer with the subject's CN or
// "none".
func askAfterRequest(server *Conn) (string, error) {
	buf := make([]byte, 5)
	if _, err := io.ReadFull(server, buf); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := server.RequestClientCertificate(ctx)
	answer := "none"
	switch {
	case err == nil:
		answer = server.ConnectionState().PeerCertificates[0].Subject.CommonName
	case errors.Is(err, ErrNoClientCertificate):
	default:
		return "", err
	}
	_, werr := server.Write([]byte(answer + "\n"))
	return answer, werr
}

func readLine(t testing.TB, c *Conn) string {
	t.Helper()
	var out []byte
	b := make([]byte, 1)
	for {
		if _, err := c.Read(b); err != nil {
			t.Fatalf("client read: %v (after %q)", err, out)
		}
		if b[0] == '\n' {
			return string(out)
		}
		out = append(out, b[0])
	}
}

func TestRequestClientCertificateReprise(t *testing.T) {
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		for _, withCert := range []bool{true, false} {
			name := versionName(vers)
			if !withCert {
				name += "/no-cert"
			}
			t.Run(name, func(t *testing.T) {
				scfg := testServerConfig(t)
				scfg.MaxVersion = vers
				scfg.ClientCAs = peertest.CAPool(t)
				ccfg := testClientConfig(t)
				ccfg.Renegotiation = RenegotiateOnceAsClient
				ccfg.ClientSessionCache = NewLRUClientSessionCache(4)
				if withCert {
					ccfg.Certificates = []Certificate{testClientCert(t)}
				} else if vers == VersionTLS13 {
					ccfg.testForcePostHandshakeAuth = true
				}
				client, server, cerr, serr := handshakePair(t, ccfg, scfg)
				if cerr != nil || serr != nil {
					t.Fatal(cerr, serr)
				}
				before := client.Session()
				done := make(chan error, 1)
				var answer string
				go func() {
					var err error
					answer, err = askAfterRequest(server)
					done <- err
				}()
				if _, err := client.Write([]byte("GET /")); err != nil {
					t.Fatal(err)
				}
				got := readLine(t, client)
				if err := <-done; err != nil {
					t.Fatalf("server: %v", err)
				}
				want := "none"
				if withCert {
					want = "client"
				}
				if got != want || answer != want {
					t.Fatalf("got %q/%q, want %q", got, answer, want)
				}
				// Data still flows both ways afterwards.
				exchange(t, client, server)
				if vers == VersionTLS12 && withCert {
					after := client.Session()
					if after == nil || after == before {
						t.Fatalf("client session not refreshed after renegotiation")
					}
					if s := server.Session(); s == nil || len(s.peerCerts) == 0 {
						t.Fatalf("server session after renegotiation lacks the client certificate")
					}
				}
			})
		}
	}
}

// protectedPair connects a reprise client and server of version vers and
// runs askAfterRequest on the server while the client sends a request and
// reads the answer. It returns both ends and both sides' errors.
func protectedPair(t testing.TB, vers uint16, ccfg, scfg *Config, prepare func(client, server *Conn)) (client, server *Conn, answer string, cerr, serr error) {
	t.Helper()
	scfg.MinVersion, scfg.MaxVersion = vers, vers
	a, b := memPipe()
	client, server = Client(a, ccfg), Server(b, scfg)
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(client, server)
	}
	go func() {
		var err error
		answer, err = askAfterRequest(server)
		if err != nil {
			b.Close()
		}
		errc <- err
	}()
	if _, err := client.Write([]byte("GET /")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_, cerr = client.Read(buf)
	if cerr != nil {
		a.Close()
	}
	serr = <-errc
	return client, server, answer, cerr, serr
}

func renegClientConfig(t *testing.T) *Config { return renegClientConfigTB(t) }

func renegClientConfigTB(t testing.TB) *Config {
	ccfg := testClientConfig(t)
	ccfg.Renegotiation = RenegotiateFreelyAsClient
	ccfg.Certificates = []Certificate{testClientCert(t)}
	return ccfg
}

func protectedConfig(t *testing.T) *Config { return protectedConfigTB(t) }

func protectedConfigTB(t testing.TB) *Config {
	scfg := testServerConfig(t)
	scfg.ClientCAs = peertest.CAPool(t)
	return scfg
}

// rewriteClientHello returns a mutateOutgoing that edits a renegotiation
// ClientHello (one that carries renegotiation_info data).
func rewriteClientHello(t testing.TB, edit func(h *wire.ClientHello)) func([]byte) []byte {
	return func(msg []byte) []byte {
		if msg[0] != wire.TypeClientHello {
			return msg
		}
		h := new(wire.ClientHello)
		if err := h.Unmarshal(msg); err != nil {
			t.Errorf("re-reading our ClientHello: %v", err)
			return msg
		}
		if len(h.SecureRenegotiation) == 0 {
			return msg // the first handshake's
		}
		edit(h)
		out, err := h.Marshal()
		if err != nil {
			t.Errorf("re-encoding our ClientHello: %v", err)
			return msg
		}
		return out
	}
}

// TestRenegotiationInfoChecked: RFC 5746, Section 3.7: a renegotiation
// ClientHello with the wrong client_verify_data, without renegotiation_info,
// or with the SCSV is aborted with handshake_failure; Section 3.5: a
// renegotiation ServerHello with the wrong verify data is aborted by the
// client with handshake_failure.
func TestRenegotiationInfoChecked(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(h *wire.ClientHello)
	}{
		{"wrong-verify-data", func(h *wire.ClientHello) { h.SecureRenegotiation[0] ^= 1 }},
		{"empty-verify-data", func(h *wire.ClientHello) { h.SecureRenegotiation = nil }},
		{"missing-extension", func(h *wire.ClientHello) {
			h.SecureRenegotiationSupported, h.SecureRenegotiation = false, nil
		}},
		{"scsv", func(h *wire.ClientHello) {
			h.CipherSuites = append(h.CipherSuites, TLS_EMPTY_RENEGOTIATION_INFO_SCSV)
		}},
	} {
		t.Run("client-hello/"+tc.name, func(t *testing.T) {
			_, _, _, cerr, serr := protectedPair(t, VersionTLS12, renegClientConfig(t), protectedConfig(t), func(client, _ *Conn) {
				client.mutateOutgoing = rewriteClientHello(t, tc.edit)
			})
			wantAlert(t, "server", serr, AlertHandshakeFailure, false)
			wantAlert(t, "client", cerr, AlertHandshakeFailure, true)
		})
	}
	t.Run("server-hello/wrong-verify-data", func(t *testing.T) {
		_, _, _, cerr, _ := protectedPair(t, VersionTLS12, renegClientConfig(t), protectedConfig(t), func(_, server *Conn) {
			server.mutateOutgoing = func(msg []byte) []byte {
				if msg[0] != wire.TypeServerHello {
					return msg
				}
				sh := new(wire.ServerHello)
				if sh.Unmarshal(msg) != nil || len(sh.SecureRenegotiation) == 0 {
					return msg
				}
				sh.SecureRenegotiation[len(sh.SecureRenegotiation)-1] ^= 1
				out, _ := sh.Marshal()
				return out
			}
		})
		wantAlert(t, "client", cerr, AlertHandshakeFailure, false)
	})
}

// TestClientInitiatedRenegotiationRefused: a client's own renegotiation
// ClientHello is refused with a no_renegotiation warning, counted, and
// the connection goes on (RFC 5746, Section 4.4).
func TestClientInitiatedRenegotiationRefused(t *testing.T) {
	scfg := protectedConfig(t)
	scfg.MaxVersion = VersionTLS12
	ccfg := testClientConfig(t)
	client, server, cerr, serr := handshakePair(t, ccfg, scfg)
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	// The client sends a ClientHello of its own under the current keys.
	hs := &clientHello{c: client}
	if err := hs.build(); err != nil {
		t.Fatal(err)
	}
	hs.hello.SecureRenegotiation = client.reneg.clientVerify
	raw, err := hs.hello.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.writePostHandshakeMessage(raw); err != nil {
		t.Fatal(err)
	}
	exchange(t, client, server)
	if n := scfg.Counters().Snapshot().RenegotiationsRefused; n != 1 {
		t.Fatalf("renegotiations_refused = %d, want 1", n)
	}
}

// TestPostHandshakeCertificateVerifyTranscript: a post-handshake
// CertificateVerify signed over the wrong transcript (one without the
// CertificateRequest) is decrypt_error.
func TestPostHandshakeCertificateVerifyTranscript(t *testing.T) {
	_, _, _, cerr, serr := protectedPair(t, VersionTLS13, renegClientConfig(t), protectedConfig(t), func(client, _ *Conn) {
		client.reneg.testOmitRequestFromTranscript = true
	})
	wantAlert(t, "server", serr, AlertDecryptError, false)
	wantAlert(t, "client", cerr, AlertDecryptError, true)
}

// TestResumptionOnRenegotiation: a session offered in a renegotiation
// ClientHello is refused by default (reason "renegotiation"), so the
// certificate is asked for; Config.ResumeOnRenegotiation resumes it.
func TestResumptionOnRenegotiation(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("allow=%v", allow), func(t *testing.T) {
			scfg := protectedConfig(t)
			scfg.ResumeOnRenegotiation = allow
			ccfg := renegClientConfig(t)
			ccfg.ClientSessionCache = NewLRUClientSessionCache(4)
			ccfg.testOfferSessionOnRenegotiation = true
			_, server, answer, cerr, serr := protectedPair(t, VersionTLS12, ccfg, scfg, nil)
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}
			st := server.ConnectionState()
			if allow {
				if !st.DidResume || answer != "none" {
					t.Fatalf("want a resumption without a certificate, got %+v answer %q", st, answer)
				}
				return
			}
			if st.DidResume || st.Refused != RefusedRenegotiation || answer != "client" {
				t.Fatalf("want a refused resumption and the certificate, got %+v answer %q", st, answer)
			}
			if n := scfg.Counters().Snapshot().Refusals[string(RefusedRenegotiation)]; n != 1 {
				t.Fatalf("refusals[renegotiation] = %d", n)
			}
		})
	}
}

// TestPostHandshakeAuthSessions: tickets issued after post-handshake auth
// carry the client's certificate, so a server that requires one resumes
// them; the session from before the authentication carries none and is
// refused (client-auth-mismatch), and a client without a certificate
// then fails the full handshake: resumption never drops the requirement.
func TestPostHandshakeAuthSessions(t *testing.T) {
	scfg := protectedConfig(t)
	scfg.TicketsPerConnection = 1
	ccfg := renegClientConfig(t)
	client, _, answer, cerr, serr := protectedPair(t, VersionTLS13, ccfg, scfg, nil)
	if cerr != nil || serr != nil || answer != "client" {
		t.Fatal(cerr, serr, answer)
	}
	client.post13.mu.Lock()
	sessions := slices.Clone(client.post13.sessions)
	client.post13.mu.Unlock()
	if len(sessions) != 2 {
		t.Fatalf("client holds %d sessions, want the handshake's and the one after authentication", len(sessions))
	}
	before, after := sessions[0], sessions[1]
	if len(before.peerCerts) == 0 || client.Session() != after {
		t.Fatalf("client sessions: %+v", sessions)
	}

	required := scfg.Clone()
	required.ClientAuth = RequireAndVerifyClientCert
	required.MinVersion, required.MaxVersion = VersionTLS13, VersionTLS13
	noCert := testClientConfig(t)

	noCert.Session = after
	c, s, cerr, serr := handshakePair(t, noCert, required)
	if cerr != nil || serr != nil {
		t.Fatal("post-authentication ticket:", cerr, serr)
	}
	exchange(t, c, s)
	if st := s.ConnectionState(); !st.DidResume || len(st.PeerCertificates) == 0 || st.PeerCertificates[0].Subject.CommonName != "client" {
		t.Fatalf("post-authentication ticket: %+v", st)
	}

	noCert = testClientConfig(t)
	noCert.Session = before
	_, s, _, serr = handshakePair(t, noCert, required)
	wantAlert(t, "server", serr, AlertCertificateRequired, false)
	if st := s.ConnectionState(); st.DidResume || st.Refused != RefusedClientAuth {
		t.Fatalf("pre-authentication ticket: %+v", st)
	}
}

// TestAppDataDuringExchange: application data the client sent before it
// saw the request (RFC 5246 lets it interleave with the renegotiation's
// messages) is kept for Read, not lost.
func TestAppDataDuringExchange(t *testing.T) {
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		t.Run(versionName(vers), func(t *testing.T) {
			scfg := protectedConfig(t)
			scfg.MaxVersion = vers
			client, server, cerr, serr := handshakePair(t, renegClientConfig(t), scfg)
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}
			if _, err := client.Write([]byte("GET /")); err != nil {
				t.Fatal(err)
			}
			if _, err := client.Write([]byte("extra data")); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				answer, err := askAfterRequest(server)
				if err == nil && answer != "client" {
					err = fmt.Errorf("answer %q", answer)
				}
				if err == nil {
					buf := make([]byte, 10)
					if _, err = io.ReadFull(server, buf); err == nil && string(buf) != "extra data" {
						err = fmt.Errorf("server read %q after the exchange", buf)
					}
				}
				done <- err
			}()
			if got := readLine(t, client); got != "client" {
				t.Fatalf("client read %q", got)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReadDuringExchange: a Read already waiting on the server (net/http's
// background read does this) leaves the client's answer to
// RequestClientCertificate and returns the data that follows it.
func TestReadDuringExchange(t *testing.T) {
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		t.Run(versionName(vers), func(t *testing.T) {
			scfg := protectedConfig(t)
			scfg.MaxVersion = vers
			client, server, cerr, serr := handshakePair(t, renegClientConfig(t), scfg)
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}
			readDone := make(chan string, 1)
			go func() {
				buf := make([]byte, 5)
				_, err := io.ReadFull(server, buf)
				if err != nil {
					readDone <- err.Error()
				}
				readDone <- string(buf)
			}()
			reqDone := make(chan error, 1)
			go func() {
				// Give the Read time to be waiting first; the test holds
				// either way.
				time.Sleep(50 * time.Millisecond)
				reqDone <- server.RequestClientCertificate(context.Background())
			}()
			// The client answers while it reads.
			clientRead := make(chan error, 1)
			go func() {
				buf := make([]byte, 1)
				_, err := client.Read(buf)
				clientRead <- err
			}()
			if err := <-reqDone; err != nil {
				t.Fatal(err)
			}
			if _, err := client.Write([]byte("after")); err != nil {
				t.Fatal(err)
			}
			if got := <-readDone; got != "after" {
				t.Fatalf("the waiting Read got %q", got)
			}
			if cn := server.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "client" {
				t.Fatalf("peer %q", cn)
			}
			server.Write([]byte("x"))
			if err := <-clientRead; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRenegotiationSupport: Config.Renegotiation on the client:
// RenegotiateOnceAsClient answers the first HelloRequest and refuses the
// second (counted), RenegotiateFreelyAsClient answers both, and
// RenegotiateNever (the default) none.
func TestRenegotiationSupport(t *testing.T) {
	for _, tc := range []struct {
		mode RenegotiationSupport
		want []error
	}{
		{RenegotiateNever, []error{ErrRenegotiationRefused, ErrRenegotiationRefused}},
		{RenegotiateOnceAsClient, []error{nil, ErrRenegotiationRefused}},
		{RenegotiateFreelyAsClient, []error{nil, nil}},
	} {
		t.Run(fmt.Sprint(tc.mode), func(t *testing.T) {
			scfg := protectedConfig(t)
			scfg.MaxVersion = VersionTLS12
			ccfg := renegClientConfig(t)
			ccfg.Renegotiation = tc.mode
			ccfg.ClientSessionCache = NewLRUClientSessionCache(4)
			client, server, cerr, serr := handshakePair(t, ccfg, scfg)
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}
			go func() {
				buf := make([]byte, 16)
				for {
					if _, err := client.Read(buf); err != nil {
						return
					}
				}
			}()
			for i, want := range tc.want {
				before := client.Session()
				err := server.RequestClientCertificate(context.Background())
				if !errors.Is(err, want) {
					t.Fatalf("request %d: %v, want %v", i, err, want)
				}
				if err == nil {
					if s := client.Session(); s == before || ccfg.ClientSessionCache.Get("localhost") != s {
						t.Fatalf("request %d: the client's session and cache were not refreshed", i)
					}
				}
			}
			refused := 0
			for _, w := range tc.want {
				if w != nil {
					refused++
				}
			}
			if n := ccfg.Counters().Snapshot().RenegotiationsRefused; n != int64(refused) {
				t.Fatalf("client renegotiations_refused = %d, want %d", n, refused)
			}
		})
	}
}

// TestKeyUpdateBeforePostHandshakeAuth: a KeyUpdate the client sent before
// it saw the CertificateRequest is acted on, and the authentication then
// completes under the client's new keys (RFC 8446, Sections 4.6.2, 4.6.3).
func TestKeyUpdateBeforePostHandshakeAuth(t *testing.T) {
	scfg := protectedConfig(t)
	scfg.MinVersion = VersionTLS13
	client, server, cerr, serr := handshakePair(t, renegClientConfig(t), scfg)
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	done := make(chan error, 1)
	go func() {
		answer, err := askAfterRequest(server)
		if err == nil && answer != "client" {
			err = fmt.Errorf("answer %q", answer)
		}
		done <- err
	}()
	if _, err := client.Write([]byte("GET /")); err != nil {
		t.Fatal(err)
	}
	if err := client.SendKeyUpdate(false); err != nil {
		t.Fatal(err)
	}
	if got := readLine(t, client); got != "client" {
		t.Fatalf("client read %q", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	exchange(t, client, server)
}

// TestWritesDuringExchange: both sides keep writing while the server asks
// for a certificate; every byte arrives, in order, and the exchange
// completes (Write waits out the handshake's messages, Read keeps what
// arrives between them).
func TestWritesDuringExchange(t *testing.T) {
	const chunks, size = 64, 1024
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		t.Run(versionName(vers), func(t *testing.T) {
			scfg := protectedConfig(t)
			scfg.MinVersion, scfg.MaxVersion = vers, vers
			client, server, cerr, serr := handshakePair(t, renegClientConfig(t), scfg)
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}
			pattern := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, size) }
			writeAll := func(c *Conn, errc chan<- error) {
				for i := range chunks {
					if _, err := c.Write(pattern(i)); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}
			readAll := func(c *Conn, errc chan<- error) {
				buf := make([]byte, size)
				for i := range chunks {
					if _, err := io.ReadFull(c, buf); err != nil {
						errc <- err
						return
					}
					if !bytes.Equal(buf, pattern(i)) {
						errc <- fmt.Errorf("chunk %d corrupted", i)
						return
					}
				}
				errc <- nil
				// The client answers the server's request as it reads:
				// keep reading until the connection closes.
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}
			errc := make(chan error, 5)
			go writeAll(client, errc)
			go writeAll(server, errc)
			go readAll(client, errc)
			go readAll(server, errc)
			go func() { errc <- server.RequestClientCertificate(context.Background()) }()
			for range 5 {
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
			}
			if len(server.ConnectionState().PeerCertificates) == 0 {
				t.Fatal("no client certificate")
			}
			client.Close()
			server.Close()
		})
	}
}

// TestCertificateVerifyTranscript12: a TLS 1.2 CertificateVerify made by
// the certificate's key over anything but the handshake messages so far
// (RFC 5246, Section 7.4.8) is decrypt_error (Section 7.2.2), the client
// is not authenticated, and no session of the connection is cached.
func TestCertificateVerifyTranscript12(t *testing.T) {
	scfg := protectedConfig(t)
	scfg.ClientAuth = RequireAndVerifyClientCert
	var cached int
	scfg.OnNewSession = func(*Session) { cached++ }
	ccfg := testClientConfig(t)
	ccfg.MaxVersion = VersionTLS12
	ccfg.Certificates = []Certificate{testClientCert(t)}
	ccfg.testSignShortTranscript12 = true
	_, _, cerr, serr := handshakePair(t, ccfg, scfg)
	wantAlert(t, "server", serr, AlertDecryptError, false)
	wantAlert(t, "client", cerr, AlertDecryptError, true)
	if cached != 0 {
		t.Fatalf("%d sessions cached from a failed client authentication", cached)
	}

	// The same client signing the right transcript is accepted.
	ccfg.testSignShortTranscript12 = false
	if _, server, cerr, serr := handshakePair(t, ccfg, scfg); cerr != nil || serr != nil || len(server.ConnectionState().PeerCertificates) == 0 {
		t.Fatalf("honest CertificateVerify: client %v, server %v", cerr, serr)
	}
}
