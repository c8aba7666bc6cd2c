package reprise

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// nginxNode is a real nginx and an in-process reprise server sharing one
// ticket key file, the reprise node set up for the mixed fleet.
type nginxNode struct {
	nginx   string
	reprise string
	states  chan ConnectionState // the reprise server's view of each connection
}

func startNginxNode(t *testing.T) *nginxNode {
	t.Helper()
	peertest.Need(t, "nginx")
	pc := peertest.Certs(t, peertest.ECDSAP256)
	keyFile := filepath.Join(t.TempDir(), "ticket.key")
	data, err := NewTicketKeyFile(nil, 256, TicketKeyFormatNginx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	n := &nginxNode{states: make(chan ConnectionState, 16)}
	n.nginx, _ = peertest.NginxServer(t, peertest.NginxOptions{Cert: pc, TicketKeyFiles: []string{keyFile}})

	cert, err := X509KeyPair(pc.CertPEM, pc.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := LoadTicketKeys(keyFile, TicketKeyFormatNginx)
	if err != nil {
		t.Fatal(err)
	}
	scfg := &Config{
		Certificates:     []Certificate{cert},
		TicketKeys:       keys,
		TicketFormat:     TicketFormatOpenSSL,
		SessionIDContext: NginxSessionIDContext(pc.Leaf.Raw),
		SessionCacheMode: SessionCacheOff,
		// Pick suites as nginx's OpenSSL does for an OpenSSL client, so
		// TLS 1.3 PSKs find a suite of their hash on both nodes.
		CipherSuites: []uint16{TLS_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
	}
	ln, err := Listen("tcp", "127.0.0.1:0", scfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	n.reprise = ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				conn := c.(*Conn)
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				if conn.Handshake() == nil {
					n.states <- conn.ConnectionState()
					io.Copy(io.Discard, conn) // until the client closes
				}
			}()
		}
	}()
	return n
}

// dial connects, waits for a TLS 1.3 ticket, and returns the client's
// view and session.
func dialForSession(t *testing.T, addr string, cfg *Config) (ConnectionState, *Session) {
	t.Helper()
	conn, err := Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	cs := conn.ConnectionState()
	if cs.Version == VersionTLS13 {
		// The tickets follow the handshake, and Read returns only with
		// application data: read in short slices until one has arrived.
		conn.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
		buf := make([]byte, 512)
		for end := time.Now().Add(5 * time.Second); conn.Session() == nil && time.Now().Before(end); {
			conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			conn.Read(buf)
		}
	}
	return cs, conn.Session()
}

// TestNginxFleetWithAndWithoutEMS: sessions with and without RFC 7627
// extended master secret cross between nginx and reprise in both
// directions, and keep what they were.
func TestNginxFleetWithAndWithoutEMS(t *testing.T) {
	n := startNginxNode(t)
	for _, ems := range []EMSPolicy{EMSPrefer, EMSDisable} {
		wantEMS := ems == EMSPrefer
		for _, dir := range []struct{ name, mint, resume string }{
			{"nginx-to-reprise", n.nginx, n.reprise},
			{"reprise-to-nginx", n.reprise, n.nginx},
		} {
			name := dir.name + "/ems"
			if !wantEMS {
				name = dir.name + "/no-ems"
			}
			t.Run(name, func(t *testing.T) {
				ccfg := &Config{ServerName: "localhost", RootCAs: peertest.CAPool(t), MaxVersion: VersionTLS12, ExtendedMasterSecret: ems}
				cs, s := dialForSession(t, dir.mint, ccfg)
				if s == nil || !s.HasTicket() || cs.ExtendedMasterSecret != wantEMS {
					t.Fatalf("first connection: EMS %v, session %v", cs.ExtendedMasterSecret, s)
				}
				ccfg.Session = s
				cs, _ = dialForSession(t, dir.resume, ccfg)
				if !cs.DidResume || cs.Resumption != ResumedTicket || cs.ExtendedMasterSecret != wantEMS {
					t.Fatalf("did not resume: %+v", cs)
				}
			})
			drain(n.states)
		}
	}
}

// TestNginxNonEMSSessionWithEMSHello: RFC 7627, Section 5.3: a session
// without EMS offered in a hello with EMS gets a full handshake, and the
// reprise node says why.
func TestNginxNonEMSSessionWithEMSHello(t *testing.T) {
	n := startNginxNode(t)
	ccfg := &Config{ServerName: "localhost", RootCAs: peertest.CAPool(t), MaxVersion: VersionTLS12, ExtendedMasterSecret: EMSDisable}
	_, s := dialForSession(t, n.nginx, ccfg)
	ccfg.ExtendedMasterSecret = EMSPrefer
	ccfg.Session = s
	cs, _ := dialForSession(t, n.reprise, ccfg)
	if cs.DidResume {
		t.Fatal("resumed a non-EMS session with EMS")
	}
	if ss := <-n.states; ss.Refused != RefusedEMS {
		t.Fatalf("server refused %q, want %q", ss.Refused, RefusedEMS)
	}
}

// TestNginxTLS13Tickets: TLS 1.3 tickets cross both ways between the
// nodes for a reprise client too.
func TestNginxTLS13Tickets(t *testing.T) {
	n := startNginxNode(t)
	for _, dir := range [][2]string{{n.nginx, n.reprise}, {n.reprise, n.nginx}} {
		ccfg := &Config{ServerName: "localhost", RootCAs: peertest.CAPool(t), CipherSuites: []uint16{TLS_AES_256_GCM_SHA384}}
		_, s := dialForSession(t, dir[0], ccfg)
		if s == nil || s.Version() != VersionTLS13 {
			t.Fatalf("no TLS 1.3 session from %s", dir[0])
		}
		ccfg.Session = s
		if cs, _ := dialForSession(t, dir[1], ccfg); !cs.DidResume || cs.Resumption != ResumedPSK {
			t.Fatalf("%s to %s: %+v", dir[0], dir[1], cs)
		}
		drain(n.states)
	}
}

func drain(c chan ConnectionState) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}
