package redis_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/internal/peertest"
	"github.com/reprise-tls/reprise/stores/internal/storetest"
	"github.com/reprise-tls/reprise/stores/redis"
)

var testKey = bytes.Repeat([]byte{0x5a}, 32)

func init() {
	// go-redis logs each failed dial; the outage test makes many.
	redis.SetLogger(func(string, ...any) {}, time.Hour)
}

// startRedis starts a redis-server and returns a store on it and a raw
// client to look at what the store wrote.
func startRedis(t *testing.T) (addr string, p *peertest.Process, store *redis.Store, raw *goredis.Client) {
	t.Helper()
	addr, p = peertest.RedisServer(t)
	store, err := redis.Open("redis://"+addr+"/0", testKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	raw = goredis.NewClient(&goredis.Options{Addr: addr, DisableIdentity: true})
	t.Cleanup(func() { raw.Close() })
	return addr, p, store, raw
}

// dump returns every key's value in Redis.
func dump(t *testing.T, raw *goredis.Client) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	keys, err := raw.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, k := range keys {
		v, err := raw.Get(ctx, k).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

func TestStoreContract(t *testing.T) {
	_, _, store, _ := startRedis(t)
	storetest.CheckStore(t, store)
}

// TestEntriesSealedAndBound: what Redis holds is sealed (no secret in
// it), expires with the session, and refuses to open once altered in any
// byte or moved under another ID.
func TestEntriesSealedAndBound(t *testing.T) {
	_, _, store, raw := startRedis(t)
	ctx := context.Background()
	s := storetest.RealSession(t)
	if err := store.Put(ctx, s.ID(), s); err != nil {
		t.Fatal(err)
	}
	d := dump(t, raw)
	if len(d) != 1 {
		t.Fatalf("%d keys", len(d))
	}
	var key string
	var entry []byte
	for key, entry = range d {
	}
	if bytes.Contains(entry, storetest.Secret(t, s)) {
		t.Fatal("the master secret is in Redis in clear")
	}
	ttl, err := raw.PTTL(ctx, key).Result()
	if err != nil || ttl <= 0 || ttl > s.Lifetime() {
		t.Fatalf("TTL %v (session lifetime %v), %v", ttl, s.Lifetime(), err)
	}

	// Every single flipped byte is refused.
	for i := range entry {
		bad := bytes.Clone(entry)
		bad[i] ^= 0x01
		raw.Set(ctx, key, bad, time.Minute)
		if got, err := store.Get(ctx, s.ID()); got != nil || !errors.Is(err, reprise.ErrStoreEntryInvalid) {
			t.Fatalf("byte %d flipped: %v, %v", i, got, err)
		}
	}
	// An intact entry moved under another ID is refused.
	other := bytes.Clone(s.ID())
	other[31] ^= 0xff
	raw.Set(ctx, key[:len(key)-64]+hexOf(other), entry, time.Minute)
	if got, err := store.Get(ctx, other); got != nil || !errors.Is(err, reprise.ErrStoreEntryInvalid) {
		t.Fatalf("moved entry: %v, %v", got, err)
	}
	// Another fleet's key opens nothing.
	foreign, _ := redis.Open("redis://"+raw.Options().Addr, bytes.Repeat([]byte{1}, 32))
	defer foreign.Close()
	raw.Set(ctx, key, entry, time.Minute)
	if got, err := foreign.Get(ctx, s.ID()); got != nil || !errors.Is(err, reprise.ErrStoreEntryInvalid) {
		t.Fatalf("other key: %v, %v", got, err)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestOpenRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		url string
		key []byte
	}{
		{"http://localhost:6379", testKey},
		{"redis://localhost:6379/x", testKey},
		{"redis://localhost:6379/0", testKey[:16]},
	} {
		if s, err := redis.Open(tc.url, tc.key); err == nil {
			s.Close()
			t.Errorf("Open(%q, %d-byte key) succeeded", tc.url, len(tc.key))
		}
	}
	// A password in the URL reaches Redis.
	addr, _ := peertest.RedisServer(t, "--requirepass", "s3cret")
	for pass, ok := range map[string]bool{"s3cret": true, "wrong": false} {
		s, err := redis.Open("redis://:"+pass+"@"+addr+"/2", testKey)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Get(context.Background(), []byte{1})
		if (err == nil) != ok {
			t.Errorf("password %q: %v", pass, err)
		}
		s.Close()
	}
}

// waitForKeys waits until Redis holds at least n keys: new sessions reach
// the store just after their handshake, off its critical path.
func waitForKeys(t *testing.T, raw *goredis.Client, n int64) {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); raw.DBSize(ctx).Val() < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Redis holds %d keys, want %d", raw.DBSize(ctx).Val(), n)
		}
	}
}
