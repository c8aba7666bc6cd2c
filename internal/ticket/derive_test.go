package ticket

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
	"time"
)

var testSecret = func() []byte {
	s := make([]byte, 32)
	for i := range s {
		s[i] = byte(i)
	}
	return s
}()

func TestParseSecret(t *testing.T) {
	good := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
	s, err := ParseSecret([]byte(good))
	if err != nil || !bytes.Equal(s, testSecret) {
		t.Fatalf("ParseSecret(good) = %x, %v", s, err)
	}
	for name, bad := range map[string]string{
		"short":      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n", // 31 bytes
		"two lines":  good + good,
		"not base64": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8*\n",
		"url base64": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8_\n",
		"empty":      "",
	} {
		if _, err := ParseSecret([]byte(bad)); !errors.Is(err, ErrSecret) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// TestDerivedKeyVector checks the derivation against values computed
// independently (Python's hmac and hashlib, RFC 5869 written out).
func TestDerivedKeyVector(t *testing.T) {
	s, err := NewSchedule(testSecret, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 12, 4, 0, 0, 0, 0, time.UTC)
	if n := s.PeriodAt(at); n != 40852 {
		t.Fatalf("period %d", n)
	}
	k := s.Key(40852)
	okm, _ := hex.DecodeString("4780259c18060319d552cbf99a34d7bb093bd059af97df1c582d35520cc7f262631bee4d0e44611f3a37ab6b7fc6cf9d75b292f26142b2d7ccd9505b358967672d449c67279824fd8e7c8e135031d02f")
	if !bytes.Equal(k.Name[:], okm[:16]) || !bytes.Equal(k.AESKey, okm[16:48]) || !bytes.Equal(k.HMACKey, okm[48:]) {
		t.Fatalf("key %x %x %x", k.Name, k.AESKey, k.HMACKey)
	}
	if got := hex.EncodeToString(StoreKey(testSecret)); got != "e2ee22ad0064c6d891804fe576f19f8994e30a6bcb2bbd36d1a9070abc0013de" {
		t.Fatalf("store key %s", got)
	}
}

// TestDerivedRingsInStep: nodes that share the secret open each other's
// tickets with clocks up to a period apart, and across one rotation; a
// ticket older than the overlap no longer opens; another secret or period
// length opens nothing.
func TestDerivedRingsInStep(t *testing.T) {
	period := time.Hour
	now := time.Date(2026, 1, 1, 10, 30, 0, 0, time.UTC)
	ring := func(secret []byte, period time.Duration, at time.Time) *DerivedRing {
		s, err := NewSchedule(secret, period, period)
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewDerivedRing(s, at)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	sealer := ring(testSecret, period, now)
	ticket, err := sealer.Seal(nil, []byte("session"))
	if err != nil {
		t.Fatal(err)
	}
	other := bytes.Repeat([]byte{9}, 32)
	for _, tc := range []struct {
		name string
		r    *DerivedRing
		want Status
	}{
		{"same period", ring(testSecret, period, now.Add(20*time.Minute)), Opened},
		{"a node a period behind (next key)", ring(testSecret, period, now.Add(-period)), OpenedStale},
		{"a node a period ahead (previous key)", ring(testSecret, period, now.Add(period)), OpenedStale},
		{"two periods later", ring(testSecret, period, now.Add(2*period)), UnknownKey},
		{"another secret", ring(other, period, now), UnknownKey},
		{"another period length", ring(testSecret, 2*period, now), UnknownKey},
	} {
		if _, st := tc.r.Open(ticket); st != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, st, tc.want)
		}
	}
	// Update follows the clock.
	sealer.Update(now.Add(2 * period))
	if _, st := sealer.Open(ticket); st != UnknownKey {
		t.Fatalf("after two periods: %v", st)
	}
	sealer.Update(now)
	if _, st := sealer.Open(ticket); st != Opened {
		t.Fatalf("back at now: %v", st)
	}
}

func TestScheduleKeysAt(t *testing.T) {
	s, err := NewSchedule(testSecret, time.Hour, 150*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(100*3600+5, 0)
	keys := s.KeysAt(now)
	want := []int64{100, 101, 99, 98, 97} // current, next, three previous (2.5 h rounded up)
	if len(keys) != len(want) {
		t.Fatalf("%d keys", len(keys))
	}
	for i, n := range want {
		if keys[i].Name != s.Key(n).Name {
			t.Errorf("key %d is not period %d's", i, n)
		}
	}
	for _, bad := range []time.Duration{time.Second, 90*time.Second + 500*time.Millisecond} {
		if _, err := NewSchedule(testSecret, bad, 0); err == nil {
			t.Errorf("period %v accepted", bad)
		}
	}
	if _, err := NewSchedule(testSecret[:31], 0, 0); !errors.Is(err, ErrSecret) {
		t.Errorf("short secret: %v", err)
	}
}

// FuzzParseSecret: whatever a secret file holds, ParseSecret returns at
// least 32 bytes or an error, and never panics.
func FuzzParseSecret(f *testing.F) {
	f.Add([]byte("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"))
	f.Add([]byte(""))
	f.Add([]byte("====\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSecret(data)
		if err == nil && len(s) < MinSecretLen {
			t.Fatalf("accepted a %d-byte secret", len(s))
		}
	})
}
