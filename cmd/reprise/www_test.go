package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/internal/peertest"
	"github.com/reprise-tls/reprise/reprisehttp"
)

// TestWWWOverHTTP2: curl gets the status page over HTTP/2 and HTTP/1.1,
// and reprisehttp's client gets it over HTTP/2 and resumes.
func TestWWWOverHTTP2(t *testing.T) {
	curl := peertest.Need(t, "curl")
	s := startServe(t)
	url := "https://" + s.addr + "/"
	for _, tc := range []struct{ flag, status, alpn string }{
		{"--http2", "HTTP/2 200", "ALPN:            h2"},
		{"--http1.1", "HTTP/1.1 200 OK", "ALPN:            http/1.1"},
	} {
		out, err := peertest.Run(t, 30*time.Second, "", curl, "-sk", "-i", tc.flag, url)
		if err != nil || !strings.HasPrefix(out, tc.status) || !strings.Contains(out, tc.alpn) || !strings.Contains(out, "Protocol:        TLS1.3") {
			t.Fatalf("curl %s: %v\n%s", tc.flag, err, out)
		}
	}

	tr := &reprisehttp.Transport{TLS: &reprise.Config{InsecureSkipVerify: true}}
	defer tr.CloseIdleConnections()
	for i := range 2 {
		resp, err := tr.RoundTrip(mustRequest(t, url))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Proto != "HTTP/2.0" || resp.TLS == nil || !strings.Contains(string(body), "reprise serve") {
			t.Fatalf("request %d: %s, TLS %v\n%s", i, resp.Proto, resp.TLS != nil, body)
		}
		if i == 1 && (!resp.TLS.DidResume || !strings.Contains(string(body), "Resumed:         yes, by psk")) {
			t.Fatalf("second connection did not resume:\n%s", body)
		}
		tr.CloseIdleConnections()
	}
}

func mustRequest(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
