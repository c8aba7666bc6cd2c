package reprise

import "testing"

// TestPickSuite13 pins whose order decides among TLS 1.3 suites: the
// client's, unless the Config names TLS 1.3 suites of its own.
func TestPickSuite13(t *testing.T) {
	openSSLOrder := []uint16{TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256}
	for _, tc := range []struct {
		name    string
		config  []uint16
		offered []uint16
		want    uint16
	}{
		{"client order by default", nil, openSSLOrder, TLS_AES_256_GCM_SHA384},
		{"client order with only TLS 1.2 suites configured", []uint16{TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, openSSLOrder, TLS_AES_256_GCM_SHA384},
		{"server order when it names TLS 1.3 suites", []uint16{TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384}, openSSLOrder, TLS_AES_128_GCM_SHA256},
		{"unknown offers skipped", nil, []uint16{0x1305, 0xfafa, TLS_CHACHA20_POLY1305_SHA256}, TLS_CHACHA20_POLY1305_SHA256},
		{"nothing in common", []uint16{TLS_AES_128_GCM_SHA256}, []uint16{TLS_AES_256_GCM_SHA384}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{CipherSuites: tc.config}
			got := cfg.pickSuite13(tc.offered)
			switch {
			case tc.want == 0 && got != nil:
				t.Fatalf("picked %#04x, want none", got.id)
			case tc.want != 0 && (got == nil || got.id != tc.want):
				t.Fatalf("picked %v, want %#04x", got, tc.want)
			}
		})
	}
}
