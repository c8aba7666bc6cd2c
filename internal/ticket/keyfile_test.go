package ticket

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fill returns n bytes of b.
func fill(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

// handKey is a key whose parts are recognisable in a file: name bytes 0xN0,
// AES bytes 0xAN, HMAC bytes 0xBN, for n = 1..9.
func handKey(n byte, size int) Key {
	var k Key
	copy(k.Name[:], fill(n<<4, 16))
	k.AESKey = fill(0xa0|n, size)
	k.HMACKey = fill(0xb0|n, size)
	return k
}

func sameKeys(a, b []Key) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(a[i].AESKey, b[i].AESKey) || !bytes.Equal(a[i].HMACKey, b[i].HMACKey) {
			return false
		}
	}
	return true
}

// TestNginxLayout checks both record layouts against bytes written out by
// hand from ngx_ssl_session_ticket_keys: 48 = name|AES|HMAC, 80 = name|HMAC|AES.
func TestNginxLayout(t *testing.T) {
	file48 := bytes.Join([][]byte{fill(0x10, 16), fill(0xa1, 16), fill(0xb1, 16)}, nil)
	file80 := bytes.Join([][]byte{fill(0x10, 16), fill(0xb1, 32), fill(0xa1, 32)}, nil)
	for _, c := range []struct {
		file []byte
		want Key
	}{{file48, handKey(1, 16)}, {file80, handKey(1, 32)}} {
		for _, f := range []Format{FormatAuto, FormatNginx} {
			got, err := ParseKeyFile(c.file, f)
			if err != nil || !sameKeys(got, []Key{c.want}) {
				t.Errorf("%d-byte file, %v: %v, keys match %v", len(c.file), f, err, sameKeys(got, []Key{c.want}))
			}
		}
		out, err := MarshalKeyFile([]Key{c.want}, FormatNginx)
		if err != nil || !bytes.Equal(out, c.file) {
			t.Errorf("MarshalKeyFile(%d-bit key, nginx) = %x, %v; want %x", c.want.Bits(), out, err, c.file)
		}
	}
}

func TestNginxMultiKeyRoundTrip(t *testing.T) {
	for _, size := range []int{16, 32} {
		for n := 1; n <= 7; n++ {
			var keys []Key
			for i := range n {
				keys = append(keys, handKey(byte(i+1), size))
			}
			data, err := MarshalKeyFile(keys, FormatNginx)
			if err != nil {
				t.Fatal(err)
			}
			f := FormatNginx128
			if size == 32 {
				f = FormatNginx256
			}
			got, err := ParseKeyFile(data, f)
			if err != nil || !sameKeys(got, keys) {
				t.Errorf("%d keys of %d bytes, explicit size: %v", n, size, err)
			}
			// Auto works unless the size is a multiple of 240.
			got, err = ParseKeyFile(data, FormatAuto)
			if len(data)%240 == 0 {
				if !errors.Is(err, ErrKeyFileAmbiguous) {
					t.Errorf("%d-byte file: %v, want ErrKeyFileAmbiguous", len(data), err)
				}
			} else if err != nil || !sameKeys(got, keys) {
				t.Errorf("%d keys of %d bytes, auto: %v", n, size, err)
			}
		}
	}
}

func TestNginxBadSizes(t *testing.T) {
	for _, c := range []struct {
		n    int
		f    Format
		kind error
	}{
		{0, FormatNginx, ErrKeyFileSize},
		{47, FormatNginx, ErrKeyFileSize},
		{49, FormatAuto, ErrKeyFileSize},
		{81, FormatNginx, ErrKeyFileSize},
		{240, FormatNginx, ErrKeyFileAmbiguous},
		{480, FormatAuto, ErrKeyFileAmbiguous},
		{80, FormatNginx128, ErrKeyFileSize},
		{96, FormatNginx256, ErrKeyFileSize},
		{0, FormatNginx128, ErrKeyFileSize},
	} {
		data := make([]byte, c.n)
		for i := range data {
			data[i] = byte(i) | 0x80 // binary, distinct names
		}
		_, err := ParseKeyFile(data, c.f)
		var kfe *KeyFileError
		if !errors.Is(err, c.kind) || !errors.As(err, &kfe) {
			t.Errorf("%d bytes as %v: %v, want %v", c.n, c.f, err, c.kind)
		}
	}
	// The message names the problem the way an operator sees it.
	_, err := ParseKeyFile(make([]byte, 47), FormatNginx)
	if err == nil || err.Error() != "ticket key file: 47 bytes, want a multiple of 48 or 80" {
		t.Errorf("47-byte file: %q", err)
	}
	if _, err := ParseNginx(make([]byte, 48), 64); !errors.Is(err, ErrKeyFileFormat) {
		t.Errorf("ParseNginx key size 64: %v", err)
	}
	// 240 bytes with an explicit size parses both ways.
	data := make([]byte, 240)
	for i := range data {
		data[i] = byte(i)
	}
	if ks, err := ParseKeyFile(data, FormatNginx128); err != nil || len(ks) != 5 {
		t.Errorf("240 bytes as 128: %d keys, %v", len(ks), err)
	}
	if ks, err := ParseKeyFile(data, FormatNginx256); err != nil || len(ks) != 3 {
		t.Errorf("240 bytes as 256: %d keys, %v", len(ks), err)
	}
}

func b64(parts ...[]byte) string { return base64.StdEncoding.EncodeToString(bytes.Join(parts, nil)) }

// haproxyLine is a line as HAProxy's struct tls_sess_key_128/256 lays it out:
// name | AES | HMAC in both sizes.
func haproxyLine(n byte, size int) string {
	return b64(fill(n<<4, 16), fill(0xa0|n, size), fill(0xb0|n, size))
}

// TestHAProxyLayout: lines L1..Ln; HAProxy keeps the last three, seals with
// the penultimate, then tries the last, then the one before the penultimate.
func TestHAProxyLayout(t *testing.T) {
	for _, size := range []int{16, 32} {
		file := strings.Join([]string{
			haproxyLine(1, size), haproxyLine(2, size), haproxyLine(3, size),
		}, "\n") + "\n"
		want := []Key{handKey(2, size), handKey(3, size), handKey(1, size)}
		for _, f := range []Format{FormatAuto, FormatHAProxy} {
			got, err := ParseKeyFile([]byte(file), f)
			if err != nil || !sameKeys(got, want) {
				t.Errorf("%d-byte keys, %v: %v; want keys [L2, L3, L1]", size, f, err)
			}
		}
		out, err := MarshalKeyFile(want, FormatHAProxy)
		if err != nil || string(out) != file {
			t.Errorf("MarshalKeyFile(haproxy, %d) =\n%s, %v\nwant\n%s", size, out, err, file)
		}

		// Five lines: only L3..L5 survive; L4 seals.
		five := strings.Join([]string{
			haproxyLine(1, size), haproxyLine(2, size), haproxyLine(3, size),
			haproxyLine(4, size), haproxyLine(5, size),
		}, "\r\n") // CRLF, no final newline
		got, err := ParseKeyFile([]byte(five), FormatAuto)
		if want := []Key{handKey(4, size), handKey(5, size), handKey(3, size)}; err != nil || !sameKeys(got, want) {
			t.Errorf("five lines: %v; want [L4, L5, L3]", err)
		}
	}
}

func TestHAProxyRoundTrip(t *testing.T) {
	for _, bits := range []int{128, 256} {
		keys := []Key{mustKey(t, 1, bits), mustKey(t, 2, bits), mustKey(t, 3, bits)}
		data, err := MarshalKeyFile(keys, FormatHAProxy)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseKeyFile(data, FormatAuto)
		if err != nil || !sameKeys(got, keys) {
			t.Errorf("%d bits: round trip %v", bits, err)
		}
	}
}

func TestHAProxyErrors(t *testing.T) {
	l1, l2, l3 := haproxyLine(1, 16), haproxyLine(2, 16), haproxyLine(3, 16)
	big := haproxyLine(4, 32)
	for _, c := range []struct {
		name string
		file string
		kind error
		line int
	}{
		{"two lines", l1 + "\n" + l2 + "\n", ErrKeyFileKeyCount, 0},
		{"empty", "", ErrKeyFileKeyCount, 0},
		{"blank line", l1 + "\n\n" + l2 + "\n" + l3 + "\n", ErrKeyFileEncoding, 2},
		{"mixed sizes", l1 + "\n" + l2 + "\n" + big + "\n", ErrKeyFileMixedSizes, 3},
		{"bad base64", l1 + "\n" + l2[:10] + "\n" + l3, ErrKeyFileEncoding, 2},
		{"wrong size", l1 + "\n" + b64(fill(1, 47)) + "\n" + l3, ErrKeyFileSize, 2},
		{"inner CR", l1 + "\n" + l2[:8] + "\r" + l2[8:] + "\n" + l3, ErrKeyFileEncoding, 2},
		{"duplicate", l1 + "\n" + l1 + "\n" + l3, ErrKeyFileDuplicateName, 0},
	} {
		_, err := ParseKeyFile([]byte(c.file), FormatHAProxy)
		var kfe *KeyFileError
		if !errors.Is(err, c.kind) || !errors.As(err, &kfe) || kfe.Line != c.line {
			t.Errorf("%s: %v, want %v on line %d", c.name, err, c.kind, c.line)
		}
	}
	// Text that is not base64 is refused by Auto rather than read as binary,
	// even when its size would make a valid nginx file.
	text := "# ticket keys\n" + strings.Repeat("x", 48-14)
	if _, err := ParseKeyFile([]byte(text), FormatAuto); !errors.Is(err, ErrKeyFileEncoding) {
		t.Errorf("48 bytes of comment text: %v, want ErrKeyFileEncoding", err)
	}
}

func TestMarshalErrors(t *testing.T) {
	k128, k256 := handKey(1, 16), handKey(2, 32)
	for _, c := range []struct {
		name string
		keys []Key
		f    Format
		kind error
	}{
		{"no keys", nil, FormatNginx, ErrKeyFileKeyCount},
		{"mixed nginx", []Key{k128, k256}, FormatNginx, ErrKeyFileMixedSizes},
		{"256 as nginx-128", []Key{k256}, FormatNginx128, ErrKeyFileMixedSizes},
		{"one key haproxy", []Key{k128}, FormatHAProxy, ErrKeyFileKeyCount},
		{"four keys haproxy", []Key{k128, handKey(3, 16), handKey(4, 16), handKey(5, 16)}, FormatHAProxy, ErrKeyFileKeyCount},
		{"auto", []Key{k128}, FormatAuto, ErrKeyFileFormat},
		{"bad key", []Key{{AESKey: make([]byte, 3)}}, FormatNginx, ErrKeyFileSize},
		{"duplicate", []Key{k128, k128}, FormatNginx, ErrKeyFileDuplicateName},
	} {
		if _, err := MarshalKeyFile(c.keys, c.f); !errors.Is(err, c.kind) {
			t.Errorf("%s: %v, want %v", c.name, err, c.kind)
		}
	}
}

func TestLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	keys := []Key{mustKey(t, 1, 256), mustKey(t, 2, 256)}
	data, _ := MarshalKeyFile(keys, FormatNginx)
	good := filepath.Join(dir, "ticket.key")
	os.WriteFile(good, data, 0o600)
	got, err := LoadKeyFile(good, FormatAuto)
	if err != nil || !sameKeys(got, keys) {
		t.Fatalf("LoadKeyFile: %v", err)
	}
	r := mustRing(t, got...)
	if tk := mustSeal(t, r, []byte("s")); !bytes.Equal(tk[:16], keys[0].Name[:]) {
		t.Error("ring from a key file does not seal with the file's first key")
	}

	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, fill(0x80, 47), 0o600)
	_, err = LoadKeyFile(bad, FormatAuto)
	var kfe *KeyFileError
	if !errors.As(err, &kfe) || kfe.Path != bad || !errors.Is(err, ErrKeyFileSize) ||
		err.Error() != "ticket key file "+bad+": 47 bytes, want a multiple of 48 or 80" {
		t.Errorf("bad file: %v", err)
	}
	if _, err := LoadKeyFile(filepath.Join(dir, "missing"), FormatAuto); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	huge := filepath.Join(dir, "huge")
	os.WriteFile(huge, make([]byte, maxKeyFileSize+48), 0o600)
	if _, err := LoadKeyFile(huge, FormatNginx); !errors.Is(err, ErrKeyFileSize) {
		t.Errorf("huge file: %v", err)
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := ParseKeyFile(make([]byte, 48), Format(42)); !errors.Is(err, ErrKeyFileFormat) {
		t.Errorf("Format(42): %v", err)
	}
	for f, s := range map[Format]string{FormatAuto: "auto", FormatNginx: "nginx", FormatHAProxy: "haproxy",
		FormatNginx128: "nginx-128", FormatNginx256: "nginx-256"} {
		if f.String() != s {
			t.Errorf("%d.String() = %q", int(f), f.String())
		}
	}
}
