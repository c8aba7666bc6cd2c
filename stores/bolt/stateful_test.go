package bolt

import (
	"path/filepath"
	"testing"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/stores/internal/storetest"
)

// TestStatefulTicketsWithTicketsOff: with stateless tickets off, TLS 1.3
// resumes by stateful tickets kept in the file, each once.
func TestStatefulTicketsWithTicketsOff(t *testing.T) {
	store := open(t, filepath.Join(t.TempDir(), "sessions.db"), Options{})
	defer store.Close()
	cfg := storetest.ServerConfig(t)
	cfg.SessionStore = store
	cfg.SessionTicketsDisabled = true
	node := storetest.StartNode(t, cfg)

	ccfg := storetest.ClientConfig(t, reprise.VersionTLS13)
	storetest.MustConnect(t, node, ccfg)
	held := ccfg.ClientSessionCache.Get("localhost")
	if held == nil || !held.HasTicket() {
		t.Fatal("the client holds no ticket")
	}
	one := storetest.ClientConfig(t, reprise.VersionTLS13)
	one.Session, one.ClientSessionCache = held, nil
	// The ticket's session reaches the file off the critical path: try
	// until it has (a miss before that leaves the entry in place).
	var c, s reprise.ConnectionState
	for range 50 {
		if c, s = storetest.MustConnect(t, node, one); c.DidResume {
			break
		}
	}
	if !c.DidResume || s.Resumption != reprise.ResumedPSK {
		t.Fatalf("client %+v server %+v", c, s)
	}
	c, s = storetest.MustConnect(t, node, one)
	if c.DidResume || s.Refused != reprise.RefusedUnknownSession {
		t.Fatalf("second use: client resumed %v, server refused %q", c.DidResume, s.Refused)
	}
}
