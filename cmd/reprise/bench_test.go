package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"
)

// benchKeys is the order of `bench --json`'s fields, which scripts read.
var benchKeys = []string{"mode", "handshakes", "errors", "duration_s", "handshakes_per_s", "p50_ms", "p90_ms", "p99_ms", "resumed_ratio"}

// parseBenchJSON decodes bench's one JSON object, checking its keys.
func parseBenchJSON(t *testing.T, out string) benchReport {
	t.Helper()
	line := strings.TrimSpace(out)
	if strings.Contains(line, "\n") {
		t.Fatalf("want one line of JSON, got:\n%s", out)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &fields); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	for _, k := range benchKeys {
		if _, ok := fields[k]; !ok {
			t.Errorf("JSON has no %q: %s", k, line)
		}
		if i := strings.Index(line, `"`+k+`"`); i < 0 {
			t.Errorf("JSON has no %q", k)
		}
	}
	if len(fields) != len(benchKeys) {
		t.Errorf("JSON has %d fields, want %d: %s", len(fields), len(benchKeys), line)
	}
	last := -1
	for _, k := range benchKeys {
		i := strings.Index(line, `"`+k+`"`)
		if i < last {
			t.Errorf("field %q out of order in %s", k, line)
		}
		last = i
	}
	var r benchReport
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestBench runs bench against serve in each mode: full handshakes never
// resume, and in resume mode every measured handshake does.
func TestBench(t *testing.T) {
	s := startServe(t)
	for _, tc := range []struct {
		name    string
		version string
		args    []string
		ratio   float64
	}{
		{"full", "1.2", []string{"--mode", "full"}, 0},
		{"resume by ticket", "1.2", []string{"--mode", "resume"}, 1},
		{"resume by session ID", "1.2", []string{"--mode", "resume", "--no-ticket"}, 1},
		{"TLS 1.3 full", "1.3", []string{"--mode", "full"}, 0},
		{"TLS 1.3 resume by PSK", "1.3", []string{"--mode", "resume"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"bench", s.addr, "--insecure", "--duration", "1s", "--concurrency", "2", "--max-version", tc.version, "--json"}, tc.args...)
			r := mustSucceed(t, args...)
			rep := parseBenchJSON(t, r.stdout)
			if rep.Handshakes == 0 || rep.Errors != 0 {
				t.Errorf("handshakes %d, errors %d; stderr:\n%s", rep.Handshakes, rep.Errors, r.stderr)
			}
			if rep.ResumedRatio < tc.ratio-0.01 || rep.ResumedRatio > tc.ratio+0.01 {
				t.Errorf("resumed_ratio %v, want %v", rep.ResumedRatio, tc.ratio)
			}
			if rep.Mode != tc.args[1] {
				t.Errorf("mode %q", rep.Mode)
			}
			if rep.DurationS < 0.9 || rep.DurationS > 5 {
				t.Errorf("duration_s %v for --duration 1s", rep.DurationS)
			}
			if !(0 < rep.P50MS && rep.P50MS <= rep.P90MS && rep.P90MS <= rep.P99MS) {
				t.Errorf("latencies p50 %v p90 %v p99 %v", rep.P50MS, rep.P90MS, rep.P99MS)
			}
			if rep.HandshakesPerS <= 0 {
				t.Errorf("handshakes_per_s %v", rep.HandshakesPerS)
			}
			// stderr is not a terminal here: no progress line.
			if r.stderr != "" {
				t.Errorf("stderr:\n%s", r.stderr)
			}
		})
	}

	t.Run("count bound", func(t *testing.T) {
		r := mustSucceed(t, "bench", s.addr, "--insecure", "--max-version", "1.2", "--duration", "20s",
			"--concurrency", "3", "--max-handshakes", "25", "--json")
		if rep := parseBenchJSON(t, r.stdout); rep.Handshakes != 25 || rep.DurationS > 10 {
			t.Errorf("--max-handshakes 25: %d handshakes in %vs", rep.Handshakes, rep.DurationS)
		}
	})

	t.Run("human report", func(t *testing.T) {
		r := mustSucceed(t, "bench", s.addr, "--insecure", "--max-version", "1.2", "--duration", "300ms", "--mode", "resume")
		for _, want := range []string{"mode resume", "TLS1.2", "/s)", "p50", "p90", "p99", "resumed     100.0%", "errors      0"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("report lacks %q:\n%s", want, r.stdout)
			}
		}
	})
}

// TestBenchBadInput: each mistake is one line naming it and a non-zero exit.
func TestBenchBadInput(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	s := startServe(t, "--max-version", "1.2")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no address", []string{"bench", "--insecure"}, 2, "HOST:PORT"},
		{"two addresses", []string{"bench", "a:1", "b:2"}, 2, "HOST:PORT"},
		{"bad address", []string{"bench", "nonsense", "--insecure"}, 2, "bad address"},
		{"bad port", []string{"bench", "127.0.0.1:http2x", "--insecure"}, 2, "bad port"},
		{"unknown flag", []string{"bench", s.addr, "--threads", "4"}, 2, "threads"},
		{"bad mode", []string{"bench", s.addr, "--insecure", "--mode", "fast"}, 2, "--mode"},
		{"zero duration", []string{"bench", s.addr, "--insecure", "--duration", "0s"}, 2, "--duration"},
		{"bad duration", []string{"bench", s.addr, "--insecure", "--duration", "ten"}, 2, "duration"},
		{"zero concurrency", []string{"bench", s.addr, "--insecure", "--concurrency", "0"}, 2, "--concurrency"},
		{"huge concurrency", []string{"bench", s.addr, "--insecure", "--concurrency", "100000"}, 2, "--concurrency"},
		{"too many handshakes", []string{"bench", s.addr, "--insecure", "--max-handshakes", "20000000"}, 2, "--max-handshakes"},
		{"bad version", []string{"bench", s.addr, "--insecure", "--max-version", "1.1"}, 2, "max-version"},
		{"connection refused", []string{"bench", closedAddr, "--insecure", "--duration", "1s"}, 1, "connection refused"},
		{"untrusted certificate", []string{"bench", s.addr, "--max-version", "1.2", "--duration", "1s"}, 1, "certificate"},
		{"peer is not TLS", []string{"bench", hangUpServer(t, []byte("HTTP/1.0 400 Bad Request\r\n\r\n")), "--insecure", "--duration", "1s"}, 1, "first handshake"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := runReprise(t, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "reprise: bench: ") || !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr is not one line \"reprise: bench: ...%s...\":\n%s", tc.want, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout:\n%s", r.stdout)
			}
			// A failing first handshake ends the command at once, not
			// after the run's duration.
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
}

func TestLatencyHistogram(t *testing.T) {
	// Buckets cover every duration, in order, each within 1% of its middle.
	prev := -1
	for _, d := range []time.Duration{0, 1, 63, 64, 65, 127, 128, 1000, time.Microsecond * 123, time.Millisecond, 7 * time.Second, time.Hour, 1<<63 - 1} {
		i := latencyBucket(d)
		if i < prev || i >= latencyBuckets {
			t.Fatalf("bucket(%v) = %d after %d (of %d)", d, i, prev, latencyBuckets)
		}
		prev = i
		mid := latencyBucketMid(i)
		if diff := float64(mid-d) / float64(max(d, 1)); diff > 0.01 || diff < -0.01 {
			t.Errorf("%v: bucket middle %v is %.2f%% off", d, mid, 100*diff)
		}
	}
	if latencyBucket(-5) != 0 {
		t.Error("a negative duration is not bucket 0")
	}

	var h latencyHistogram
	if h.quantile(0.5) != 0 {
		t.Error("empty histogram has a median")
	}
	// 1ms..100ms in 1ms steps: p50 = 50ms, p90 = 90ms, p99 = 99ms.
	for ms := 1; ms <= 100; ms++ {
		h.record(time.Duration(ms) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.9, 90 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		got := h.quantile(tc.q)
		if diff := float64(got-tc.want) / float64(tc.want); diff > 0.01 || diff < -0.01 {
			t.Errorf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
}

func TestBenchProgressLine(t *testing.T) {
	var b benchRun
	b.start = time.Now().Add(-2 * time.Second)
	b.succeeded.Store(400)
	b.resumed.Store(300)
	b.failed.Store(1)
	var out strings.Builder
	b.printProgress(&out)
	line := out.String()
	for _, want := range []string{"\r", "400 handshakes", "/s", "resumed 75.0%", "errors 1"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "\n") {
		t.Errorf("progress line %q has a newline", line)
	}
}
