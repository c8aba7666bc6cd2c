package reprisehttp

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/internal/peertest"
)

// describe answers every request with what the server saw of it.
var describe = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil {
		fmt.Fprintf(w, "proto=%s tls=nil\n", r.Proto)
		return
	}
	st, _ := ConnectionState(r)
	fmt.Fprintf(w, "proto=%s tls=%s alpn=%s sni=%s resumption=%s\n", r.Proto,
		reprise.VersionName(r.TLS.Version), r.TLS.NegotiatedProtocol, r.TLS.ServerName, st.Resumption)
})

// startServer serves describe over reprise on a loopback port.
func startServer(t *testing.T, cfg *reprise.Config) (addr string) {
	t.Helper()
	if cfg == nil {
		cert, err := reprise.X509KeyPair(peertest.Certs(t, peertest.ECDSAP256).CertPEM, peertest.Certs(t, peertest.ECDSAP256).KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		cfg = &reprise.Config{Certificates: []reprise.Certificate{cert}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{HTTP: &http.Server{Handler: describe, ReadHeaderTimeout: 10 * time.Second}, TLS: cfg}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.HTTP.Close()
		if err := <-done; err != http.ErrServerClosed {
			t.Errorf("Serve returned %v", err)
		}
	})
	return ln.Addr().String()
}

func get(t *testing.T, client *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// TestServerWithGoClient: Go's own client (crypto/tls) gets HTTP/2 when it
// offers it and HTTP/1.1 when it does not, and the handler sees the TLS
// state either way.
func TestServerWithGoClient(t *testing.T) {
	addr := startServer(t, nil)
	roots := peertest.CAPool(t)
	for _, tc := range []struct {
		name      string
		transport *http.Transport
		want      string
	}{
		{"h2", &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}, "proto=HTTP/2.0"},
		{"http/1.1", &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}, "proto=HTTP/1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "http/1.1" {
				tc.transport.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
			}
			client := &http.Client{Transport: tc.transport}
			defer tc.transport.CloseIdleConnections()
			url := "https://" + strings.Replace(addr, "127.0.0.1", "localhost", 1) + "/"
			resp, body := get(t, client, url)
			if !strings.Contains(body, tc.want) || !strings.Contains(body, "tls=TLS1.3") || !strings.Contains(body, "sni=localhost") {
				t.Fatalf("%s: body %q", resp.Proto, body)
			}
		})
	}
}

// TestServerWithCurl: curl, over HTTP/2 and HTTP/1.1.
func TestServerWithCurl(t *testing.T) {
	curl := peertest.Need(t, "curl")
	addr := startServer(t, nil)
	for _, tc := range []struct{ flag, version, proto string }{
		{"--http2", "2", "HTTP/2.0"},
		{"--http1.1", "1.1", "HTTP/1.1"},
	} {
		out, err := peertest.Run(t, 30*time.Second, "", curl, "-sk", tc.flag, "-w", "\nversion=%{http_version}\n", "https://"+addr+"/")
		if err != nil {
			t.Fatalf("curl %s: %v\n%s", tc.flag, err, out)
		}
		if !strings.Contains(out, "proto="+tc.proto) || !strings.Contains(out, "version="+tc.version+"\n") || !strings.Contains(out, "tls=TLS1.") {
			t.Fatalf("curl %s printed %q", tc.flag, out)
		}
	}
}

// TestTransportAgainstCryptoTLS: the client against httptest servers
// (crypto/tls), with HTTP/2 enabled and without; Response.TLS is filled and
// a new connection resumes the session of the first.
func TestTransportAgainstCryptoTLS(t *testing.T) {
	for _, h2 := range []bool{true, false} {
		t.Run(fmt.Sprintf("EnableHTTP2=%v", h2), func(t *testing.T) {
			ts := httptest.NewUnstartedServer(describe)
			ts.EnableHTTP2 = h2
			ts.StartTLS()
			defer ts.Close()
			roots := ts.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
			tr := &Transport{TLS: &reprise.Config{RootCAs: roots, ServerName: "example.com"}}
			client := &http.Client{Transport: tr}
			wantProto := map[bool]int{true: 2, false: 1}[h2]
			for i := range 2 {
				resp, body := get(t, client, ts.URL)
				if resp.ProtoMajor != wantProto || resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
					t.Fatalf("request %d: %s, TLS %v, body %q", i, resp.Proto, resp.TLS, body)
				}
				if resp.TLS.DidResume != (i == 1) {
					t.Fatalf("request %d: DidResume %v", i, resp.TLS.DidResume)
				}
				if !strings.Contains(body, fmt.Sprintf("proto=HTTP/%d", wantProto)) {
					t.Fatalf("request %d: body %q", i, body)
				}
				tr.CloseIdleConnections() // the next request dials again
			}
		})
	}
}

// TestTransportAgainstServer: both halves of this package, TLS 1.2 and 1.3,
// HTTP/2 and HTTP/1.1; the second connection resumes.
func TestTransportAgainstServer(t *testing.T) {
	pc := peertest.Certs(t, peertest.ECDSAP256)
	cert, err := reprise.X509KeyPair(pc.CertPEM, pc.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, vers := range []uint16{reprise.VersionTLS12, reprise.VersionTLS13} {
		for _, protos := range [][]string{nil, {"http/1.1"}} {
			t.Run(fmt.Sprintf("%s/%v", reprise.VersionName(vers), protos), func(t *testing.T) {
				addr := startServer(t, &reprise.Config{Certificates: []reprise.Certificate{cert}, MaxVersion: vers})
				tr := &Transport{TLS: &reprise.Config{RootCAs: peertest.CAPool(t), ServerName: "localhost", NextProtos: protos}}
				client := &http.Client{Transport: tr}
				want := "HTTP/2.0"
				if protos != nil {
					want = "HTTP/1.1"
				}
				for i := range 3 {
					resp, body := get(t, client, "https://"+addr+"/")
					if resp.Proto != want || resp.TLS == nil || resp.TLS.Version != vers || !strings.Contains(body, "proto="+want) {
						t.Fatalf("request %d: %s, body %q", i, resp.Proto, body)
					}
					if i == 2 && !resp.TLS.DidResume {
						t.Fatalf("request %d: not resumed; body %q", i, body)
					}
					if i >= 1 {
						tr.CloseIdleConnections()
					}
				}
			})
		}
	}
}

// TestTransportConcurrent: concurrent first requests to an HTTP/2 server
// end up sharing one connection, and to an HTTP/1.1 server each gets a
// connection of its own with Response.TLS filled.
func TestTransportConcurrent(t *testing.T) {
	pc := peertest.Certs(t, peertest.ECDSAP256)
	cert, err := reprise.X509KeyPair(pc.CertPEM, pc.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, protos := range [][]string{nil, {"http/1.1"}} {
		addr := startServer(t, &reprise.Config{Certificates: []reprise.Certificate{cert}, NextProtos: protos})
		tr := &Transport{TLS: &reprise.Config{RootCAs: peertest.CAPool(t), ServerName: "localhost"}}
		client := &http.Client{Transport: tr}
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := client.Get("https://" + addr + "/")
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.TLS == nil || (protos == nil) != (resp.ProtoMajor == 2) {
					t.Errorf("%v: %s, TLS %v", protos, resp.Proto, resp.TLS != nil)
				}
			}()
		}
		wg.Wait()
		tr.mu.Lock()
		if n := len(tr.h2); (protos == nil) != (n == 1) {
			t.Errorf("%v: %d HTTP/2 connections kept", protos, n)
		}
		tr.mu.Unlock()
		tr.CloseIdleConnections()
	}
}
