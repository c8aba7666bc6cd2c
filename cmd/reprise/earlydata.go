package main

import (
	"io"
	"strings"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/stores/redis"
)

// serveMaxEarlyData is what `serve --early-data on` takes per connection:
// 16 KiB, the max_early_data_size OpenSSL and nginx advertise.
const serveMaxEarlyData = 16 << 10

// applyEarlyData sets up 0-RTT from --early-data and --anti-replay.
func (o *serveOptions) applyEarlyData(cfg *reprise.Config) error {
	on, err := parseOnOff("early-data", o.earlyData)
	if err != nil {
		return err
	}
	switch strings.ToLower(o.antiReplay) {
	case "memory":
	case "store":
		st, ok := cfg.SessionStore.(*redis.Store)
		if !ok {
			return usageErrorf("--anti-replay store needs --store redis://... (a register the whole fleet shares)")
		}
		cfg.AntiReplay = st.StrikeRegister()
	default:
		return usageErrorf("--anti-replay %q: want memory or store", o.antiReplay)
	}
	if on {
		cfg.MaxEarlyData = serveMaxEarlyData
	}
	return nil
}

// readEarlyData returns a connection's 0-RTT data when --early-data is on:
// ReadEarlyData runs the handshake up to the server's flight, and returns
// the early data before the client's Finished arrives.
func (s *server) readEarlyData(conn *reprise.Conn) ([]byte, error) {
	if s.cfg.MaxEarlyData == 0 {
		return nil, nil
	}
	// The caller's handshake deadline bounds the wait.
	return io.ReadAll(io.LimitReader(earlyReader{conn}, serveMaxEarlyData+1))
}

type earlyReader struct{ c *reprise.Conn }

func (r earlyReader) Read(p []byte) (int, error) { return r.c.ReadEarlyData(p) }
