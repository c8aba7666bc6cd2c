package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var metricsRE = regexp.MustCompile(`metrics on (http://\S+/metrics)`)

// TestServeMetrics: `reprise serve --metrics ADDR` serves its handshakes
// and counters in the Prometheus text format.
func TestServeMetrics(t *testing.T) {
	s := startServe(t, "--metrics", "127.0.0.1:0", "--max-version", "1.2")
	m := metricsRE.FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no metrics address in:\n%s", s.stdout)
	}
	mustSucceed(t, "connect", s.addr, "--insecure", "--reconnect", "1")
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`reprise_handshakes_total{resumption="none",role="server",version="TLS1.2"} 1`,
		`reprise_handshakes_total{resumption="ticket",role="server",version="TLS1.2"} 1`,
		`reprise_server_handshakes_completed_total 2`,
		`reprise_handshake_duration_seconds_bucket{resumption="ticket",role="server",version="TLS1.2",le="+Inf"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want the text format", ct)
	}
}
