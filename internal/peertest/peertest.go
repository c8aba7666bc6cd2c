package peertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// readyTimeout bounds how long Start waits for a server's ready line.
	readyTimeout = 15 * time.Second
	// maxOutput caps what is kept of a peer's output, so a misbehaving
	// peer cannot make a test allocate without bound.
	maxOutput = 1 << 20
	// waitDelay bounds how long we wait for output pipes after a process
	// exits or is killed (a grandchild could hold them open).
	waitDelay = 2 * time.Second
	// startAttempts: FreeAddr cannot reserve a port, so another process may
	// take it before the peer binds; the server wrappers retry then.
	startAttempts = 3
)

// Need returns the path of the binary bin. When it is missing the test is
// skipped on a developer machine, but fails when CI=true: CI installs the
// peers, and a silently skipped interop suite would hide regressions.
func Need(t testing.TB, bin string) string {
	t.Helper()
	path, err := exec.LookPath(bin)
	switch {
	case err == nil:
		return path
	case os.Getenv("CI") == "true":
		t.Fatalf("peertest: %s is required when CI=true: %v", bin, err)
	default:
		t.Skipf("peertest: %s not installed: %v", bin, err)
	}
	return ""
}

// FreeAddr returns "127.0.0.1:PORT" for a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("peertest: finding a free port: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("peertest: releasing %s: %v", addr, err)
	}
	return addr
}

// cappedBuffer collects a process's stdout and stderr. It is safe for
// concurrent use, keeps at most maxOutput bytes, and signals each write on
// changed so a waiter need not poll.
type cappedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int
	changed chan struct{} // capacity 1; a pending token means "look again"
}

func newCappedBuffer() *cappedBuffer {
	return &cappedBuffer{changed: make(chan struct{}, 1)}
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	room := maxOutput - b.buf.Len()
	if room >= len(p) {
		b.buf.Write(p)
	} else {
		b.buf.Write(p[:max(room, 0)])
		b.dropped += len(p) - max(room, 0)
	}
	b.mu.Unlock()
	select {
	case b.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (b *cappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return b.buf.String() + fmt.Sprintf("\n[peertest: %d more bytes of output dropped]\n", b.dropped)
	}
	return b.buf.String()
}

// hasCompleteLineContaining reports whether ready occurs in a finished line.
// Waiting for the newline matters: gnutls-serv prints "listening on ..."
// before it binds and "...done" after.
func (b *cappedBuffer) hasCompleteLineContaining(ready string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	data := b.buf.Bytes()
	end := bytes.LastIndexByte(data, '\n')
	return end >= 0 && bytes.Contains(data[:end], []byte(ready))
}

// Process is a running peer. It is killed, with its whole process group, when
// the test that started it finishes.
type Process struct {
	name  string
	cmd   *exec.Cmd
	out   *cappedBuffer
	stdin io.WriteCloser
	done  chan struct{} // closed when the process has exited
	err   error         // cmd.Wait's result; read only after done is closed
}

// Output returns the process's stdout and stderr so far, interleaved.
func (p *Process) Output() string { return p.out.String() }

// Wait waits up to timeout for the process to exit and returns its exit
// error. It does not kill the process on timeout; cleanup does that.
func (p *Process) Wait(timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.err
	case <-timer.C:
		return fmt.Errorf("peertest: %s still running after %v", p.name, timeout)
	}
}

// Send writes s to the process's standard input. openssl s_server takes
// single-letter commands there (for example "k\n" for a TLS 1.3 KeyUpdate).
func (p *Process) Send(s string) error {
	_, err := io.WriteString(p.stdin, s)
	return err
}

// exited reports whether the process has exited.
func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop kills the process group and waits for it; used at cleanup.
func (p *Process) stop() {
	// Closing stdin first lets well-behaved peers notice; the kill makes
	// sure, and covers any children they started.
	p.stdin.Close()
	if !p.exited() {
		killProcessGroup(p.cmd.Process)
	}
	select {
	case <-p.done:
	case <-time.After(readyTimeout):
	}
}

// Start runs bin with args and waits until its output has a line containing
// ready (ready "" means don't wait). If that does not happen within 15 s, or
// the process exits first, the test fails with the output so far. Standard
// input stays open (see Send), because several peers quit on stdin EOF.
func Start(t testing.TB, bin string, args []string, ready string) *Process {
	t.Helper()
	p, err := start(t, bin, args, ready, "")
	if err != nil {
		t.Fatalf("%v", err)
	}
	return p
}

// start is Start returning its error. A complete output line containing
// failure (if not "") ends the wait early, for servers that report a failed
// bind but keep running.
func start(t testing.TB, bin string, args []string, ready, failure string) (*Process, error) {
	t.Helper()
	path := Need(t, bin)
	cmd := exec.Command(path, args...)
	setProcessGroup(cmd)
	cmd.WaitDelay = waitDelay
	p := &Process{
		name: bin,
		cmd:  cmd,
		out:  newCappedBuffer(),
		done: make(chan struct{}),
	}
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("peertest: %s: %v", bin, err)
	}
	p.stdin = stdin
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("peertest: starting %s: %v", commandLine(bin, args), err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.stop)
	t.Logf("peertest: started %s", commandLine(bin, args))
	if ready == "" {
		return p, nil
	}

	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	for !p.out.hasCompleteLineContaining(ready) {
		if failure != "" && p.out.hasCompleteLineContaining(failure) {
			p.stop()
			return nil, fmt.Errorf("peertest: %s printed %q; output:\n%s",
				commandLine(bin, args), failure, p.Output())
		}
		select {
		case <-p.out.changed:
		case <-p.done:
			// Output written just before exit may still hold the line.
			if p.out.hasCompleteLineContaining(ready) {
				return p, nil
			}
			return nil, fmt.Errorf("peertest: %s exited (%v) before printing %q; output:\n%s",
				commandLine(bin, args), p.err, ready, p.Output())
		case <-timer.C:
			p.stop()
			return nil, fmt.Errorf("peertest: %s did not print %q within %v; output:\n%s",
				commandLine(bin, args), ready, readyTimeout, p.Output())
		}
	}
	return p, nil
}

// Run runs a client to completion with the given standard input, killing it
// (and its process group) if it takes longer than timeout. It returns the
// combined stdout and stderr and the exit error; a timeout is an error too.
//
// Note that openssl s_client and gnutls-cli may close the connection as soon
// as stdin reaches EOF, before the server's reply arrives; pass -ign_eof to
// s_client when the server closes the connection itself.
func Run(t testing.TB, timeout time.Duration, stdin string, bin string, args ...string) (string, error) {
	t.Helper()
	path := Need(t, bin)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	setProcessGroup(cmd)
	cmd.Cancel = func() error { return killProcessGroup(cmd.Process) }
	cmd.WaitDelay = waitDelay
	out := newCappedBuffer()
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout = out
	cmd.Stderr = out
	t.Logf("peertest: running %s", commandLine(bin, args))
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("peertest: %s killed after %v: %w", bin, timeout, err)
	}
	return out.String(), err
}

// OpenSSLServer starts "openssl s_server -accept 127.0.0.1:PORT args..." and
// waits for it to listen. Without -quiet or -brief it waits for the "ACCEPT"
// line; those flags suppress that line, so then it watches the kernel's
// socket table instead (Linux only).
func OpenSSLServer(t testing.TB, args ...string) (addr string, p *Process) {
	t.Helper()
	quiet := slices.Contains(args, "-quiet") || slices.Contains(args, "-brief")
	return startServer(t, "openssl", func(addr string) (argv []string, ready, failure string) {
		ready = "ACCEPT"
		if quiet {
			ready = ""
		}
		return append([]string{"s_server", "-accept", addr}, args...), ready, ""
	}, quiet)
}

// GnuTLSServer starts "gnutls-serv --port PORT args..." and waits until it
// listens. gnutls-serv binds every address; tests connect to 127.0.0.1.
// Pass --echo or --http; with neither, gnutls-serv acts as --http.
func GnuTLSServer(t testing.TB, args ...string) (addr string, p *Process) {
	t.Helper()
	return startServer(t, "gnutls-serv", func(addr string) (argv []string, ready, failure string) {
		_, port, _ := net.SplitHostPort(addr)
		// gnutls-serv prints "Echo Server listening on IPv4 0.0.0.0 port N...done"
		// (or "HTTP Server ..."), on stderr, once per address family. When
		// bind fails it prints "...bind() failed: ..." instead of "done" and
		// keeps running on the other family, so both must be matched.
		return append([]string{"--port", port}, args...),
			"IPv4 0.0.0.0 port " + port + "...done", "bind() failed"
	}, false)
}

// startServer picks a port, starts the server, and retries with a new port
// if the old one was taken in between.
func startServer(t testing.TB, bin string, argsFor func(addr string) (argv []string, ready, failure string), watchSocket bool) (string, *Process) {
	t.Helper()
	var lastErr error
	for range startAttempts {
		addr := FreeAddr(t)
		args, ready, failure := argsFor(addr)
		p, err := start(t, bin, args, ready, failure)
		if err == nil && watchSocket {
			err = waitListening(p, addr)
			if err != nil {
				p.stop()
			}
		}
		if err == nil {
			return addr, p
		}
		lastErr = err
		if !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	t.Fatalf("%v", lastErr)
	return "", nil
}

// waitListening waits until addr is in LISTEN state, read from
// /proc/net/tcp, without connecting to it: a probe connection would count
// against s_server's -naccept and clutter its output.
func waitListening(p *Process, addr string) error {
	_, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return err
	}
	// /proc/net/tcp lists local_address as HEX_IP:HEX_PORT and state 0A for
	// LISTEN. 127.0.0.1 is 0100007F in the kernel's little-endian hex.
	want := fmt.Sprintf(" 0100007F:%04X 00000000:0000 0A ", port)
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		table, err := os.ReadFile("/proc/net/tcp")
		if err != nil {
			return fmt.Errorf("peertest: cannot tell when %s listens (%v); drop -quiet/-brief so it prints ACCEPT", p.name, err)
		}
		if bytes.Contains(table, []byte(want)) {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("peertest: %s exited (%v) before listening on %s; output:\n%s", p.name, p.err, addr, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("peertest: %s did not listen on %s within %v; output:\n%s", p.name, addr, readyTimeout, p.Output())
}

func commandLine(bin string, args []string) string {
	return strings.Join(append([]string{bin}, args...), " ")
}
