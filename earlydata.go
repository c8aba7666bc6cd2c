package reprise

import (
	"context"
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/wire"
)

// EarlyDataStatus is what became of TLS 1.3 0-RTT data on a connection
// (RFC 8446, Section 4.2.10), as ConnectionState.EarlyData reports it.
type EarlyDataStatus string

const (
	// EarlyDataNone: no early data was offered (the zero value).
	EarlyDataNone EarlyDataStatus = ""
	// EarlyDataAccepted: the server took the client's early data. A
	// server reads it with ReadEarlyData, never with Read.
	EarlyDataAccepted EarlyDataStatus = "accepted"
	// EarlyDataRejected: the client sent early data and the server
	// skipped it; the client application must send it again after the
	// handshake if it still wants to (reprise never resends it itself).
	EarlyDataRejected EarlyDataStatus = "rejected"
)

// String returns "none", "accepted" or "rejected", the words of the CLI's
// --json lines.
func (s EarlyDataStatus) String() string {
	if s == EarlyDataNone {
		return "none"
	}
	return string(s)
}

// Reasons a server rejects early data, recorded in
// ConnectionState.EarlyDataRefused and counted in
// CounterSnapshot.EarlyDataRejected. A rejection never fails the
// connection: the server skips the 0-RTT records and the handshake goes on
// (RFC 8446, Section 4.2.10), usually as a resumption.
const (
	RefusedEarlyOff         Refusal = "early-data-off"  // Config.MaxEarlyData is 0
	RefusedEarlyNoPSK       Refusal = "not-resumed"     // no PSK accepted: a full handshake
	RefusedEarlyNotFirstPSK Refusal = "not-first-psk"   // the PSK accepted is not the client's first (Section 4.2.10)
	RefusedEarlyTicket      Refusal = "ticket-no-early" // the ticket allows no early data (max_early_data_size 0), or more than MaxEarlyData now

	RefusedEarlyHRR        Refusal = "hello-retry"       // a HelloRetryRequest was needed (Section 4.1.2)
	RefusedEarlyReplay     Refusal = "replayed"          // the anti-replay check saw this ClientHello before (Section 8)
	RefusedEarlyClientAuth Refusal = "client-auth-early" // the server wants a client certificate
	// Reused from resumption: RefusedCipher (the suite differs from the
	// ticket's, Section 4.2.10 wants the same suite, not just its hash),
	// RefusedALPN, RefusedSNI, RefusedAgeWindow (outside
	// Config.EarlyDataAgeWindow, Section 8.3) and RefusedStoreDown (the
	// anti-replay register failed, stalled or panicked).
)

// earlyCounters count early data outcomes on a server, within Counters.
type earlyCounters struct {
	accepted, replayed atomic.Int64
	mu                 sync.Mutex
	rejected           map[Refusal]int64
}

func (e *earlyCounters) reject(r Refusal) {
	if r == RefusedEarlyReplay {
		e.replayed.Add(1)
	}
	e.mu.Lock()
	if e.rejected == nil {
		e.rejected = make(map[Refusal]int64)
	}
	e.rejected[r]++
	e.mu.Unlock()
}

// fill copies the early data counters into a snapshot.
func (e *earlyCounters) fill(s *CounterSnapshot) {
	s.EarlyDataAccepted, s.EarlyDataReplayed = e.accepted.Load(), e.replayed.Load()
	s.EarlyDataRejected = map[string]int64{}
	e.mu.Lock()
	for r, n := range e.rejected {
		s.EarlyDataRejected[string(r)] = n
	}
	e.mu.Unlock()
}

// earlyDataAgeWindow is Config.EarlyDataAgeWindow with its default: tighter
// than MaxTicketAgeSkew, because the window is what bounds how long the
// strike register must remember a ClientHello (RFC 8446, Section 8.2).
func (c *Config) earlyDataAgeWindow() time.Duration {
	if c.EarlyDataAgeWindow > 0 {
		return c.EarlyDataAgeWindow
	}
	return min(3*time.Second, c.maxTicketAgeSkew())
}

// strikeTTL is how long the anti-replay register must remember an accepted
// ClientHello: a copy is fresh (Section 8.3) while the server's view of the
// ticket age is within the window of the client's, and the first copy may
// have arrived a whole window early, so a replay can pass the age check up
// to two windows after it; one second more absorbs millisecond rounding.
func strikeTTL(window time.Duration) time.Duration { return 2*window + time.Second }

// strikeKey is what the anti-replay register remembers of a ClientHello:
// a hash of its PSK binder. The binder is a MAC over the ClientHello under
// a key only holders of the PSK know (Section 4.2.11.2), so a replayed
// ClientHello carries the same binder and a different ClientHello a
// different one (Section 8.2 suggests it as the "unique value").
func strikeKey(binder []byte) []byte {
	h := sha256.Sum256(binder)
	return h[:]
}

// earlyDecision is the server's answer to a ClientHello's early_data.
type earlyDecision struct {
	accept  bool
	refused Refusal
}

// earlyDataFacts are the facts of a handshake the early data decision
// depends on, gathered by the TLS 1.3 server.
type earlyDataFacts struct {
	session       *Session // the accepted PSK's session, or nil
	identity      uint16   // its index among the client's identities
	binder        []byte   // its binder
	obfuscatedAge uint32
	suite         uint16 // the suite this handshake uses
	alpn          string // the protocol this handshake negotiated
	serverName    string
	helloRetry    bool
	// singleUseTaken: the session came from an atomic take of a single-use
	// ticket, which is itself the anti-replay guard (Section 8.1).
	singleUseTaken bool
}

// decideEarlyData is the server's one place for "accept 0-RTT or not"
// (RFC 8446, Sections 4.2.10 and 8). The checks run from cheapest to the
// anti-replay register, which runs last because it records the ClientHello:
// only a ClientHello that passes everything else may use it up.
func (c *Conn) decideEarlyData(hs *server13, f earlyDataFacts) earlyDecision {
	cfg := c.config
	s := f.session
	reject := func(r Refusal) earlyDecision { return earlyDecision{refused: r} }
	switch {
	case cfg.MaxEarlyData == 0:
		return reject(RefusedEarlyOff)
	case f.helloRetry:
		// Section 4.1.2: the second ClientHello carries no early_data;
		// the early data after the first is skipped.
		return reject(RefusedEarlyHRR)
	case s == nil:
		return reject(RefusedEarlyNoPSK)
	// Section 4.2.10: "In order to accept early data, the server MUST have
	// accepted a PSK cipher suite and selected the first key offered".
	case f.identity != 0:
		return reject(RefusedEarlyNotFirstPSK)
	// "the server MUST verify that the following values are the same as
	// those associated with the selected PSK: The TLS version number, The
	// selected cipher suite, The selected ALPN protocol, if any". The
	// ticket's max_early_data_size says the ticket may carry early data
	// at all (Section 4.6.1).
	// A ticket from before MaxEarlyData was lowered allows more than the
	// server now takes: its early data is refused, not cut short.
	case s.maxEarly == 0 || s.maxEarly > cfg.MaxEarlyData:
		return reject(RefusedEarlyTicket)
	case s.cipherSuite != f.suite:
		return reject(RefusedCipher)
	case s.alpn != f.alpn:
		return reject(RefusedALPN)
	case s.serverName != f.serverName:
		return reject(RefusedSNI)
	// Section 4.3.2 forbids a CertificateRequest in a PSK handshake, so
	// a server that wants client certificates takes no early data.
	case cfg.clientAuth().requests():
		return reject(RefusedEarlyClientAuth)
	// Section 8.3: the ClientHello must be fresh, by a window tighter
	// than resumption's.
	case !ticketAgeOK(s, f.obfuscatedAge, cfg.time(), cfg.earlyDataAgeWindow()):
		return reject(RefusedAgeWindow)
	}
	if f.singleUseTaken && cfg.AntiReplay == nil {
		// Section 8.1: the ticket was taken from the store atomically,
		// so no other connection, here or on another node sharing the
		// store, can resume it again.
		return earlyDecision{accept: true}
	}
	// Section 8.2: the strike register. A register that fails or stalls
	// rejects the early data (never accepted unchecked) and costs
	// nothing else: the handshake goes on in 1-RTT.
	key, ttl := strikeKey(f.binder), strikeTTL(cfg.earlyDataAgeWindow())
	var fresh bool
	var err error
	if cfg.AntiReplay == nil {
		fresh, err = cfg.memoryStrikes().Strike(hs.ctx, key, ttl)
	} else {
		fresh, err = guardedCall(hs.ctx, cfg, "AntiReplay.Strike", func(ctx context.Context) (bool, error) {
			return cfg.AntiReplay.Strike(ctx, key, ttl)
		})
	}
	switch {
	case err != nil:
		c.counters().countStoreError(err)
		return reject(RefusedStoreDown)
	case !fresh:
		return reject(RefusedEarlyReplay)
	}
	return earlyDecision{accept: true}
}

// settleEarlyData answers the first ClientHello's early_data (offered), once
// the PSK is settled and the ClientHello is in hs.t: it records the
// decision and, on acceptance, derives client_early_traffic_secret from the
// ClientHello (RFC 8446, Section 7.1), for installEarlyKeys.
func (hs *server13) settleEarlyData(offered bool) {
	c, cfg, h := hs.c, hs.c.config, hs.hello
	if !offered {
		return
	}
	f := earlyDataFacts{
		session:    hs.resumed,
		identity:   hs.pskIndex,
		suite:      hs.suite.id,
		alpn:       hs.alpn,
		serverName: h.ServerName,
		helloRetry: c.state.HelloRetryRequest,
	}
	if hs.resumed != nil {
		f.binder = h.PSKBinders[hs.pskIndex]
		f.obfuscatedAge = h.PSKIdentities[hs.pskIndex].ObfuscatedTicketAge
		_, taker := cfg.SessionStore.(SessionTaker)
		f.singleUseTaken = cfg.ticketMode13() == tickets13Stateful && (cfg.memoryStore() != nil || taker)
	}
	d := c.decideEarlyData(hs, f)
	if !d.accept {
		c.state.EarlyData, c.state.EarlyDataRefused = EarlyDataRejected, d.refused
		c.counters().early.reject(d.refused)
		if hs.resumed != nil && hs.resumed.maxEarly > 0 {
			if c.early == nil {
				c.early = new(earlyState)
			}
			c.early.skipLimit = hs.resumed.maxEarly
		}
		return
	}
	c.state.EarlyData = EarlyDataAccepted
	c.counters().early.accepted.Add(1)
	hs.earlyAccepted = true
	hs.earlyTraffic = hs.early.ClientEarlyTrafficSecret(hs.t.Sum())
}

// installEarlyKeys, after the handshake keys are in place, moves reading to
// the client's early traffic keys when the early data was accepted.
func (hs *server13) installEarlyKeys() error {
	c := hs.c
	if !hs.earlyAccepted {
		return nil
	}
	c.keyLog("CLIENT_EARLY_TRAFFIC_SECRET", hs.hello.Random, hs.earlyTraffic)
	rc, err := hs.suite.trafficCipher13(hs.earlyTraffic)
	if err != nil {
		return err
	}
	if c.early == nil {
		c.early = new(earlyState)
	}
	c.startEarlyRead(rc, hs.resumed.maxEarly)
	return nil
}

// expectEndOfEarlyData adds the client's EndOfEarlyData, which has no
// content, to the transcript ahead of its arrival: the client's Finished
// and the resumption secret cover it (RFC 8446, Section 4.4.1), and knowing
// them early lets the tickets go out with our flight.
func (hs *server13) expectEndOfEarlyData() error {
	if !hs.earlyAccepted {
		return nil
	}
	msg, err := new(wire.EndOfEarlyData).Marshal()
	if err != nil {
		return wrapError(alert.InternalError, "encoding EndOfEarlyData", err)
	}
	hs.t.add(msg)
	return nil
}
