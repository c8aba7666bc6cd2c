package reprise

import (
	"os"
	"path/filepath"
	"testing"
)

// TestNewTicketKeyFileLoads checks that every file NewTicketKeyFile writes
// is read back by LoadTicketKeys with format detection, so `reprise
// ticketkey new` output works with `reprise serve --ticket-keys`.
func TestNewTicketKeyFileLoads(t *testing.T) {
	for _, tc := range []struct {
		bits   int
		format TicketKeyFormat
		size   int // expected file size for nginx; 0 to skip the check
	}{
		{128, TicketKeyFormatNginx, 48},
		{256, TicketKeyFormatNginx, 80},
		{256, TicketKeyFormatAuto, 80},
		{128, TicketKeyFormatHAProxy, 0},
		{256, TicketKeyFormatHAProxy, 0},
	} {
		data, err := NewTicketKeyFile(nil, tc.bits, tc.format)
		if err != nil {
			t.Fatalf("%d/%v: %v", tc.bits, tc.format, err)
		}
		if tc.size != 0 && len(data) != tc.size {
			t.Errorf("%d/%v: %d bytes, want %d", tc.bits, tc.format, len(data), tc.size)
		}
		path := filepath.Join(t.TempDir(), "keys")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		keys, err := LoadTicketKeys(path, TicketKeyFormatAuto)
		if err != nil {
			t.Fatalf("%d/%v: loading: %v", tc.bits, tc.format, err)
		}
		want := 1
		if tc.format == TicketKeyFormatHAProxy {
			want = 3
		}
		if got := len(keys.ring.Keys()); got != want {
			t.Errorf("%d/%v: %d keys, want %d", tc.bits, tc.format, got, want)
		}
	}
}

func TestNewTicketKeyFileRejects(t *testing.T) {
	if _, err := NewTicketKeyFile(nil, 192, TicketKeyFormatNginx); err == nil {
		t.Error("192-bit keys accepted")
	}
	if _, err := NewTicketKeyFile(nil, 128, TicketKeyFormat(99)); err == nil {
		t.Error("unknown format accepted")
	}
}
