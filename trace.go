package reprise

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/wire"
)

// TraceEvent is one message of a handshake, for `reprise connect --trace`
// and for debugging why a connection did or did not resume.
type TraceEvent struct {
	// ConnID tells apart the events of concurrent handshakes: it is the
	// same for every event of one connection and differs between the
	// connections of one process (it is the Conn's ID method's value).
	ConnID  uint64
	Sent    bool   // we sent it (else received)
	Message string // "ClientHello", "ChangeCipherSpec", "Alert", ...
	Detail  string // what matters for resumption, e.g. "session_id=32 ext=[session_ticket extended_master_secret]"
}

func (e TraceEvent) String() string {
	dir := "<-"
	if e.Sent {
		dir = "->"
	}
	if e.Detail == "" {
		return dir + " " + e.Message
	}
	return dir + " " + e.Message + " " + e.Detail
}

// Tracer receives a connection's message flow. Set Config.Tracer.
type Tracer func(TraceEvent)

func (c *Conn) trace(ev TraceEvent) {
	if f := c.config.Tracer; f != nil {
		ev.ConnID = c.ID()
		f(ev)
	}
}

// lastConnID numbers connections for ID, in the order they are first asked.
var lastConnID atomic.Uint64

// ID returns a number that identifies c among the connections of this
// process, for telling apart the trace events, handshake results and log
// lines of concurrent connections. It is assigned on first use and never 0.
func (c *Conn) ID() uint64 {
	if id := c.id.Load(); id != 0 {
		return id
	}
	c.id.CompareAndSwap(0, lastConnID.Add(1))
	return c.id.Load()
}

// HandshakeResult is how one handshake ended, for metrics and logs: see
// Config.OnHandshake.
type HandshakeResult struct {
	ConnID   uint64          // the Conn's ID, as in its TraceEvents
	Client   bool            // the client's handshake (else the server's)
	State    ConnectionState // the state after the handshake; on failure, what was learned
	Duration time.Duration   // from the start of the handshake to its end
	Err      error           // nil when the handshake succeeded
}

// onHandshake reports a finished handshake to Config.OnHandshake. It runs
// after the handshake, so the hook's cost is not in the handshake's
// latency; the hook must still be quick, as the connection waits for it.
func (c *Conn) onHandshake(start time.Time, err error) {
	f := c.config.OnHandshake
	if f == nil {
		return
	}
	f(HandshakeResult{ConnID: c.ID(), Client: c.isClient, State: c.stateLocked(err == nil), Duration: time.Since(start), Err: err})
}

// LogHandshakes returns an OnHandshake hook that logs each handshake's
// outcome to l: at Info with the version, suite and how it resumed or why
// not; at Warn with the error for a failed one.
func LogHandshakes(l *slog.Logger) func(HandshakeResult) {
	return func(r HandshakeResult) {
		role := "server"
		if r.Client {
			role = "client"
		}
		if r.Err != nil {
			l.LogAttrs(context.Background(), slog.LevelWarn, "tls handshake failed",
				slog.Uint64("conn", r.ConnID), slog.String("role", role),
				slog.Duration("duration", r.Duration), slog.String("error", r.Err.Error()))
			return
		}
		s := r.State
		l.LogAttrs(context.Background(), slog.LevelInfo, "tls handshake",
			slog.Uint64("conn", r.ConnID), slog.String("role", role),
			slog.String("version", VersionName(s.Version)), slog.String("suite", CipherSuiteName(s.CipherSuite)),
			slog.String("resumption", string(s.Resumption)), slog.String("refused", string(s.Refused)),
			slog.String("alpn", s.NegotiatedProtocol), slog.String("sni", s.ServerName),
			slog.Duration("duration", r.Duration))
	}
}

func (c *Conn) traceCCS(sent bool) {
	if c.config.Tracer != nil {
		c.trace(TraceEvent{Sent: sent, Message: "ChangeCipherSpec"})
	}
}

func (c *Conn) traceAlert(sent bool, a alert.Alert) {
	if c.config.Tracer != nil {
		c.trace(TraceEvent{Sent: sent, Message: "Alert", Detail: a.String()})
	}
}

func (c *Conn) traceMessage(sent bool, msg []byte) {
	if c.config.Tracer == nil || len(msg) < 4 {
		return
	}
	c.trace(TraceEvent{Sent: sent, Message: msgName(msg[0]), Detail: messageDetail(msg)})
}

// resumptionExts are the extensions a trace names: those that decide
// whether and how a handshake resumes.
var resumptionExts = map[uint16]bool{
	wire.ExtSessionTicket: true, wire.ExtExtendedMasterSecret: true, wire.ExtPreSharedKey: true,
	wire.ExtPSKKeyExchangeModes: true, wire.ExtKeyShare: true, wire.ExtSupportedVersions: true,
	wire.ExtEarlyData: true, wire.ExtServerName: true, wire.ExtALPN: true, wire.ExtEncryptThenMAC: true,
}

func extList(exts []uint16) string {
	var names []string
	for _, e := range exts {
		if resumptionExts[e] {
			names = append(names, wire.ExtensionName(e))
		}
	}
	return "[" + strings.Join(names, " ") + "]"
}

// messageDetail summarises the fields of a message that matter for
// resumption.
func messageDetail(msg []byte) string {
	switch msg[0] {
	case wire.TypeClientHello:
		var h wire.ClientHello
		if h.Unmarshal(msg) != nil {
			return ""
		}
		d := fmt.Sprintf("session_id=%d ticket=%d ext=%s", len(h.SessionID), len(h.SessionTicket), extList(h.Extensions))
		if len(h.KeyShares) > 0 {
			var groups []string
			for _, ks := range h.KeyShares {
				groups = append(groups, CurveName(CurveID(ks.Group)))
			}
			d += " key_share=" + strings.Join(groups, ",")
		}
		if len(h.PSKIdentities) > 0 {
			d += fmt.Sprintf(" psk_identities=%d", len(h.PSKIdentities))
		}
		return d
	case wire.TypeServerHello:
		var h wire.ServerHello
		if h.Unmarshal(msg) != nil {
			return ""
		}
		name := ""
		if h.IsHelloRetryRequest() {
			name = "HelloRetryRequest "
		}
		d := fmt.Sprintf("%ssession_id=%d suite=%s ext=%s", name, len(h.SessionID), CipherSuiteName(h.CipherSuite), extList(h.Extensions))
		if h.KeyShare.Group != 0 {
			d += " key_share=" + CurveName(CurveID(h.KeyShare.Group))
		}
		if h.SelectedGroup != 0 {
			d += " selected_group=" + CurveName(CurveID(h.SelectedGroup))
		}
		if h.HasSelectedPSK {
			d += fmt.Sprintf(" selected_psk=%d", h.SelectedPSK)
		}
		return d
	case wire.TypeNewSessionTicket:
		return fmt.Sprintf("len=%d", len(msg)-4)
	case wire.TypeEncryptedExtensions:
		// early_data here means the server accepted 0-RTT (RFC 8446,
		// Section 4.2.10).
		var ee wire.EncryptedExtensions
		if ee.Unmarshal(msg) != nil {
			return ""
		}
		return "ext=" + extList(ee.Extensions)
	}
	return ""
}
