// Command tlsload is the load client of bench/loopback.sh: Go's crypto/tls
// (not reprise, so that no server is measured against its own client)
// dialling one server over and over, full or resumed handshakes, for a
// duration or a number of handshakes.
//
//	go run ./bench/tlsload --addr 127.0.0.1:4433 --ca cert.pem [--servername localhost]
//	    [--version 1.2|1.3] [--mode full|resume] [--concurrency 4]
//	    [--duration 5s] [--handshakes N] [--rate N]
//
// With --rate the connections start at that many per second at most (a
// worker that is still busy when its turn comes lets it pass), so that two
// servers can be compared at the same load rather than each at the rate
// it and the client reach together.
//
// Every connection ends the same way on every server: the client sends
// close_notify and reads until the server's close_notify or end of stream,
// so that it never closes a socket with unread bytes (which makes the
// kernel answer with a reset), it reads the TLS 1.3 tickets a server sends
// after the handshake (RFC 8446, Section 4.6.1), and the server does the
// same work to close on every run.
//
// It prints one JSON object: handshakes, resumed, errors, seconds and the
// first error if any. It exits 1 when no handshake succeeded.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// connTimeout bounds one connection: dial, handshake and close.
	connTimeout = 10 * time.Second
	// maxHandshakes bounds --handshakes and a run whose duration is long.
	maxHandshakes = 10_000_000
	maxDuration   = time.Hour
)

type report struct {
	Handshakes uint64  `json:"handshakes"`
	Resumed    uint64  `json:"resumed"`
	Errors     uint64  `json:"errors"`
	Seconds    float64 `json:"seconds"`
	FirstError string  `json:"first_error,omitempty"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:4433", "server address")
	caFile := flag.String("ca", "", "PEM file of the CA (or self-signed certificate) to trust")
	serverName := flag.String("servername", "localhost", "SNI and the name to verify")
	version := flag.String("version", "1.2", "protocol version: 1.2 or 1.3")
	mode := flag.String("mode", "full", "full: offer no session; resume: each worker resumes its previous session")
	concurrency := flag.Int("concurrency", 4, "connections in flight at once")
	duration := flag.Duration("duration", 5*time.Second, "how long to run")
	handshakes := flag.Int("handshakes", maxHandshakes, "stop after this many handshakes")
	rate := flag.Int("rate", 0, "connections started per second at most (0: as fast as the workers go)")
	flag.Parse()
	r, err := run(*addr, *caFile, *serverName, *version, *mode, *concurrency, *duration, *handshakes, *rate)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlsload:", err)
		os.Exit(2)
	}
	json.NewEncoder(os.Stdout).Encode(r)
	if r.Handshakes == 0 {
		os.Exit(1)
	}
}

func run(addr, caFile, serverName, version, mode string, concurrency int, duration time.Duration, handshakes, rate int) (report, error) {
	cfg := &tls.Config{ServerName: serverName}
	switch version {
	case "1.2":
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	case "1.3":
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
	default:
		return report{}, fmt.Errorf("--version %q: want 1.2 or 1.3", version)
	}
	if mode != "full" && mode != "resume" {
		return report{}, fmt.Errorf("--mode %q: want full or resume", mode)
	}
	if concurrency < 1 || concurrency > 1024 {
		return report{}, fmt.Errorf("--concurrency %d: want 1 to 1024", concurrency)
	}
	if duration <= 0 || duration > maxDuration {
		return report{}, fmt.Errorf("--duration %v: want more than 0 and at most %v", duration, maxDuration)
	}
	if handshakes < 1 || handshakes > maxHandshakes {
		return report{}, fmt.Errorf("--handshakes %d: want 1 to %d", handshakes, maxHandshakes)
	}
	if rate < 0 || rate > 1_000_000 {
		return report{}, fmt.Errorf("--rate %d: want 0 to 1000000", rate)
	}
	if caFile == "" {
		return report{}, errors.New("--ca is required")
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return report{}, err
	}
	cfg.RootCAs = x509.NewCertPool()
	if !cfg.RootCAs.AppendCertsFromPEM(pem) {
		return report{}, fmt.Errorf("%s: no PEM certificates", caFile)
	}

	var (
		started, succeeded, resumed, failed atomic.Uint64
		errMu                               sync.Mutex
		firstErr                            error
	)
	fail := func(err error) {
		failed.Add(1)
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
	}
	workers := make([]*tls.Config, concurrency)
	for i := range workers {
		workers[i] = cfg.Clone()
		if mode == "resume" {
			// Each worker its own cache, so that workers do not take each
			// other's single TLS 1.3 tickets.
			workers[i].ClientSessionCache = tls.NewLRUClientSessionCache(1)
		}
	}
	if mode == "resume" {
		// The first handshake of each worker is full and fills its cache;
		// it is not counted.
		for _, w := range workers {
			if _, err := connect(addr, w); err != nil {
				return report{}, fmt.Errorf("first handshake: %w", err)
			}
		}
	}

	start := time.Now()
	deadline := start.Add(duration)
	// turns paces the workers under --rate: a tick that finds no worker
	// waiting is dropped, so the rate is a ceiling.
	var turns <-chan time.Time
	if rate > 0 {
		ticker := time.NewTicker(time.Second / time.Duration(rate))
		defer ticker.Stop()
		turns = ticker.C
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && started.Add(1) <= uint64(handshakes) {
				if turns != nil {
					<-turns
				}
				didResume, err := connect(addr, w)
				if err != nil {
					fail(err)
					continue
				}
				succeeded.Add(1)
				if didResume {
					resumed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	r := report{
		Handshakes: succeeded.Load(),
		Resumed:    resumed.Load(),
		Errors:     failed.Load(),
		Seconds:    time.Since(start).Seconds(),
	}
	if firstErr != nil {
		r.FirstError = firstErr.Error()
	}
	return r, nil
}

// connect dials, handshakes and closes one connection, and reports whether
// it resumed.
func connect(addr string, cfg *tls.Config) (bool, error) {
	raw, err := net.DialTimeout("tcp", addr, connTimeout)
	if err != nil {
		return false, err
	}
	raw.SetDeadline(time.Now().Add(connTimeout))
	conn := tls.Client(raw, cfg)
	defer conn.Close()
	if err := conn.Handshake(); err != nil {
		return false, err
	}
	didResume := conn.ConnectionState().DidResume
	// close_notify, then read to the end: the server's tickets, its own
	// close_notify, or end of stream. CloseWrite sends close_notify only;
	// the socket stays open for reading.
	if err := conn.CloseWrite(); err != nil {
		return didResume, err
	}
	var buf [512]byte
	for {
		if _, err := conn.Read(buf[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
				return didResume, nil
			}
			return didResume, err
		}
	}
}

// isReset reports a connection reset: a server may close with its
// receive buffer not empty, and the kernel then resets; that ends the
// connection as well as a close_notify does for this purpose.
func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }
