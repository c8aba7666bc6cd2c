package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reprise-tls/reprise"
)

const (
	// maxBenchHandshakes is the default and largest --max-handshakes: the
	// count bound that holds even when --duration is long and the server
	// is fast.
	maxBenchHandshakes = 10_000_000
	maxBenchDuration   = 24 * time.Hour
	maxConcurrency     = 1024
	// progressEvery is how often the live line on a terminal is redrawn.
	progressEvery = time.Second
)

type benchOptions struct {
	clientOptions
	mode          string
	duration      time.Duration
	concurrency   int
	maxHandshakes int
	json          bool
}

// benchReport is the result of a run and the object `bench --json` prints.
// The field names and order are what scripts read: do not change them.
type benchReport struct {
	Mode           string  `json:"mode"`
	Handshakes     uint64  `json:"handshakes"`
	Errors         uint64  `json:"errors"`
	DurationS      float64 `json:"duration_s"`
	HandshakesPerS float64 `json:"handshakes_per_s"`
	P50MS          float64 `json:"p50_ms"`
	P90MS          float64 `json:"p90_ms"`
	P99MS          float64 `json:"p99_ms"`
	ResumedRatio   float64 `json:"resumed_ratio"`

	firstError string
	version    uint16
}

func runBench(args []string, stdout, stderr io.Writer) error {
	var o benchOptions
	fs := newFlagSet("bench")
	o.registerClient(fs)
	fs.StringVar(&o.mode, "mode", "full", "full: offer no session; resume: each worker resumes its previous session")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to run")
	fs.IntVar(&o.concurrency, "concurrency", runtime.NumCPU(), "connections in flight at once")
	fs.IntVar(&o.maxHandshakes, "max-handshakes", maxBenchHandshakes, "stop after this many handshakes even if --duration has not passed")
	fs.BoolVar(&o.json, "json", false, "print one JSON object with the results")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("want exactly one HOST:PORT, got %d arguments", len(pos))
	}
	addr := pos[0]
	host, err := checkHostPort(addr)
	if err != nil {
		return err
	}
	if o.mode != "full" && o.mode != "resume" {
		return usageErrorf("--mode %q: want full or resume", o.mode)
	}
	if o.duration <= 0 || o.duration > maxBenchDuration {
		return usageErrorf("--duration %v: want more than 0 and at most %v", o.duration, maxBenchDuration)
	}
	if o.concurrency < 1 || o.concurrency > maxConcurrency {
		return usageErrorf("--concurrency %d: want 1 to %d", o.concurrency, maxConcurrency)
	}
	if o.maxHandshakes < 1 || o.maxHandshakes > maxBenchHandshakes {
		return usageErrorf("--max-handshakes %d: want 1 to %d", o.maxHandshakes, maxBenchHandshakes)
	}

	cfg, closeKeyLog, err := o.clientConfig(host)
	defer closeKeyLog()
	if err != nil {
		return err
	}
	if o.mode == "full" {
		cfg.DisableSessionOffer = true
	}

	// One handshake before the clock starts, so that a wrong address, an
	// untrusted certificate or a peer that is not TLS is one clear line
	// rather than a run of errors.
	probe := newBenchWorker(cfg, addr, o.mode == "resume")
	cs, _, err := probe.handshake(context.Background())
	if err != nil {
		return fmt.Errorf("first handshake with %s: %w", addr, err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	b := &benchRun{opts: o, cfg: cfg, addr: addr}
	var progress io.Writer
	// The live line redraws itself with \r, so it is for people only.
	if isTerminal(stderr) {
		progress = stderr
	}
	report := b.run(ctx, progress)
	report.version = cs.Version
	if o.json {
		line, err := json.Marshal(report)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", line)
		if report.firstError != "" {
			fmt.Fprintf(stderr, "reprise: bench: %d errors, the first: %s\n", report.Errors, report.firstError)
		}
	} else {
		report.writeHuman(stdout, addr, o)
	}
	if report.Handshakes == 0 && report.Errors > 0 {
		return errReported
	}
	return nil
}

// benchRun is one load run: the counters the workers share.
type benchRun struct {
	opts benchOptions
	cfg  *reprise.Config
	addr string

	started   atomic.Int64 // handshakes begun, for the count bound
	succeeded atomic.Uint64
	resumed   atomic.Uint64
	failed    atomic.Uint64
	latency   latencyHistogram
	start     time.Time

	errMu    sync.Mutex
	firstErr error
}

// run starts the workers and waits until the duration ends, the count
// bound is reached or ctx is cancelled (Ctrl-C), then reports. A non-nil
// progress gets the live line.
func (b *benchRun) run(ctx context.Context, progress io.Writer) benchReport {
	workers := make([]*benchWorker, b.opts.concurrency)
	resume := b.opts.mode == "resume"
	for i := range workers {
		workers[i] = newBenchWorker(b.cfg, b.addr, resume)
	}
	if resume {
		// Each worker's first handshake is full; it fills the worker's own
		// cache and is not measured, so the run shows resumption alone.
		var warm sync.WaitGroup
		for _, w := range workers {
			warm.Add(1)
			go func() {
				defer warm.Done()
				if _, _, err := w.handshake(ctx); err != nil {
					b.recordError(err)
				}
			}()
		}
		warm.Wait()
	}

	b.start = time.Now()
	runCtx, cancel := context.WithTimeout(ctx, b.opts.duration)
	defer cancel()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.loop(runCtx, ctx, w)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	if progress != nil {
		ticker := time.NewTicker(progressEvery)
	wait:
		for {
			select {
			case <-done:
				break wait
			case <-ticker.C:
				b.printProgress(progress)
			}
		}
		ticker.Stop()
		// Erase the progress line before the report.
		fmt.Fprint(progress, "\r\033[K")
	}
	<-done
	return b.report(time.Since(b.start))
}

// loop handshakes until runCtx ends or the count bound is reached. A
// handshake in flight when the time is up finishes (the server would
// otherwise log a client hanging up on it); only Ctrl-C, which cancels
// ctx, cuts it off.
func (b *benchRun) loop(runCtx, ctx context.Context, w *benchWorker) {
	for runCtx.Err() == nil && b.started.Add(1) <= int64(b.opts.maxHandshakes) {
		cs, took, err := w.handshake(ctx)
		if err != nil {
			// A handshake cut off by Ctrl-C is not the server's failure.
			if ctx.Err() == nil {
				b.recordError(err)
			}
			continue
		}
		b.succeeded.Add(1)
		if cs.DidResume {
			b.resumed.Add(1)
		}
		b.latency.record(took)
	}
}

func (b *benchRun) recordError(err error) {
	b.failed.Add(1)
	b.errMu.Lock()
	defer b.errMu.Unlock()
	if b.firstErr == nil {
		b.firstErr = err
	}
}

func (b *benchRun) report(elapsed time.Duration) benchReport {
	r := benchReport{
		Mode:       b.opts.mode,
		Handshakes: b.succeeded.Load(),
		Errors:     b.failed.Load(),
		DurationS:  round(elapsed.Seconds(), 3),
		P50MS:      round(b.latency.quantile(0.50).Seconds()*1000, 3),
		P90MS:      round(b.latency.quantile(0.90).Seconds()*1000, 3),
		P99MS:      round(b.latency.quantile(0.99).Seconds()*1000, 3),
	}
	if elapsed > 0 {
		r.HandshakesPerS = round(float64(r.Handshakes)/elapsed.Seconds(), 1)
	}
	if r.Handshakes > 0 {
		r.ResumedRatio = round(float64(b.resumed.Load())/float64(r.Handshakes), 4)
	}
	if b.firstErr != nil {
		r.firstError = b.firstErr.Error()
	}
	return r
}

// printProgress redraws the live line: elapsed time, handshakes so far,
// the rate, resumptions and errors.
func (b *benchRun) printProgress(w io.Writer) {
	elapsed := time.Since(b.start)
	n := b.succeeded.Load()
	resumed := 0.0
	if n > 0 {
		resumed = 100 * float64(b.resumed.Load()) / float64(n)
	}
	fmt.Fprintf(w, "\r%5.1fs  %d handshakes  %.0f/s  resumed %.1f%%  errors %d\033[K",
		elapsed.Seconds(), n, float64(n)/elapsed.Seconds(), resumed, b.failed.Load())
}

func (r benchReport) writeHuman(w io.Writer, addr string, o benchOptions) {
	version := "?"
	if r.version != 0 {
		version = reprise.VersionName(r.version)
	}
	fmt.Fprintf(w, "bench %s: mode %s, %s, %d connections at once, %.1fs\n", addr, r.Mode, version, o.concurrency, r.DurationS)
	fmt.Fprintf(w, "  handshakes  %d (%.1f/s)\n", r.Handshakes, r.HandshakesPerS)
	fmt.Fprintf(w, "  latency     p50 %.3fms  p90 %.3fms  p99 %.3fms (dial + handshake)\n", r.P50MS, r.P90MS, r.P99MS)
	fmt.Fprintf(w, "  resumed     %.1f%%\n", 100*r.ResumedRatio)
	if r.Errors == 0 {
		fmt.Fprintf(w, "  errors      0\n")
	} else {
		fmt.Fprintf(w, "  errors      %d, the first: %s\n", r.Errors, r.firstError)
	}
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// benchWorker makes one connection at a time. In resume mode it has its
// own client session cache, so it offers the session its previous
// connection left and workers do not take each other's TLS 1.3 tickets.
type benchWorker struct {
	cfg    *reprise.Config
	addr   string
	resume bool
	cache  *ticketNotifyingCache
}

func newBenchWorker(cfg *reprise.Config, addr string, resume bool) *benchWorker {
	w := &benchWorker{cfg: cfg.Clone(), addr: addr, resume: resume}
	if resume {
		w.cache = &ticketNotifyingCache{ClientSessionCache: reprise.NewLRUClientSessionCache(1)}
		w.cfg.ClientSessionCache = w.cache
	}
	return w
}

// handshake dials, handshakes and closes one connection. The time is from
// the dial to the end of the handshake, as a client sees it.
func (w *benchWorker) handshake(ctx context.Context) (reprise.ConnectionState, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	start := time.Now()
	d := net.Dialer{Timeout: dialTimeout}
	raw, err := d.DialContext(ctx, "tcp", w.addr)
	if err != nil {
		return reprise.ConnectionState{}, 0, err
	}
	conn := reprise.Client(raw, w.cfg)
	defer conn.Close()
	if err := conn.HandshakeContext(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return reprise.ConnectionState{}, 0, fmt.Errorf("handshake did not finish within %v", handshakeTimeout)
		}
		return reprise.ConnectionState{}, 0, fmt.Errorf("handshake: %w", err)
	}
	took := time.Since(start)
	cs := conn.ConnectionState()
	if w.resume && cs.Version == reprise.VersionTLS13 {
		w.awaitTicket(conn, raw)
	}
	return cs, took, nil
}

// awaitTicket reads until the first NewSessionTicket is in the cache, so
// the next connection can resume: in TLS 1.3 tickets follow the handshake
// (RFC 8446, Section 4.6.1). Read waits for application data, which a
// server may never send, so the cache cuts the wait short by moving the
// read deadline to now as the ticket is stored.
func (w *benchWorker) awaitTicket(conn *reprise.Conn, raw net.Conn) {
	w.cache.arm(raw)
	defer w.cache.arm(nil)
	raw.SetReadDeadline(time.Now().Add(ticketWait))
	var buf [1]byte
	conn.Read(buf[:])
}

// ticketNotifyingCache is a ClientSessionCache that, when a session is
// stored, ends the pending read on the armed connection.
type ticketNotifyingCache struct {
	reprise.ClientSessionCache
	mu    sync.Mutex
	armed net.Conn
}

func (c *ticketNotifyingCache) arm(conn net.Conn) {
	c.mu.Lock()
	c.armed = conn
	c.mu.Unlock()
}

func (c *ticketNotifyingCache) Put(key string, s *reprise.Session) {
	c.ClientSessionCache.Put(key, s)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed != nil && s != nil {
		c.armed.SetReadDeadline(time.Now())
	}
}

// latencyHistogram counts durations in log-linear buckets: exact below
// 64ns, then 64 buckets per power of two, so a quantile is within 1% of
// the true value. Memory is fixed whatever the number of handshakes.
type latencyHistogram struct {
	counts [latencyBuckets]atomic.Uint64
}

const (
	latencySubBits = 6
	// The largest shift is 63-latencySubBits, so the last bucket is
	// (64-latencySubBits)<<latencySubBits + (1<<latencySubBits - 1).
	latencyBuckets = (64 - latencySubBits + 1) << latencySubBits
)

func latencyBucket(d time.Duration) int {
	v := uint64(max(d, 0))
	if v < 1<<latencySubBits {
		return int(v)
	}
	shift := bits.Len64(v) - 1 - latencySubBits
	mantissa := (v >> shift) & (1<<latencySubBits - 1)
	return (shift+1)<<latencySubBits + int(mantissa)
}

// latencyBucketMid is the middle of bucket i's range.
func latencyBucketMid(i int) time.Duration {
	if i < 1<<latencySubBits {
		return time.Duration(i)
	}
	shift := i>>latencySubBits - 1
	mantissa := uint64(i & (1<<latencySubBits - 1))
	low := (1<<latencySubBits + mantissa) << shift
	return time.Duration(low + (uint64(1)<<shift)/2)
}

func (h *latencyHistogram) record(d time.Duration) { h.counts[latencyBucket(d)].Add(1) }

// quantile returns the q-quantile (0 < q <= 1), or 0 when empty.
func (h *latencyHistogram) quantile(q float64) time.Duration {
	var total uint64
	for i := range h.counts {
		total += h.counts[i].Load()
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	rank = max(rank, 1)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return latencyBucketMid(i)
		}
	}
	return latencyBucketMid(latencyBuckets - 1)
}
