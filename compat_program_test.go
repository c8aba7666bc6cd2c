package reprise

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// TestImportSwap builds testdata/importswap, a crypto/tls program (Listen,
// Dial, Dialer, LoadX509KeyPair, GetConfigForClient, GetClientCertificate,
// VerifyConnection, ConnectionState, ExportKeyingMaterial, errors.As on the
// library's errors), once as written and once with its import path changed
// to reprise, and checks that both build and print the same lines.
//
// The swapped copy lives in a temporary module that replaces reprise with
// this checkout; it builds offline from the module cache that building
// reprise itself filled (GOPROXY=off).
func TestImportSwap(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two programs")
	}
	goTool := peertest.Need(t, "go")
	repo, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join("testdata", "importswap", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	goSum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}

	build := func(name string, program []byte, goMod string) string {
		dir := filepath.Join(t.TempDir(), name)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "main.go"), program, 0o644)
		os.WriteFile(filepath.Join(dir, "go.mod"), []byte(goMod), 0o644)
		os.WriteFile(filepath.Join(dir, "go.sum"), goSum, 0o644)
		cmd := exec.Command(goTool, "build", "-o", "prog", ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOSUMDB=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building the %s program: %v\n%s", name, err, out)
		}
		return filepath.Join(dir, "prog")
	}
	run := func(bin string) string {
		out, err := exec.Command(bin).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", bin, err, out)
		}
		return string(out)
	}

	const header = "module importswap\n\ngo 1.26.0\n"
	original := build("crypto-tls", src, header)
	swappedSrc := bytes.Replace(src, []byte(`"crypto/tls"`), []byte(`tls "github.com/reprise-tls/reprise"`), 1)
	swapped := build("reprise", swappedSrc, header+
		"\nrequire github.com/reprise-tls/reprise v0.0.0\n\nreplace github.com/reprise-tls/reprise => "+repo+"\n")

	want, got := run(original), run(swapped)
	if got != want {
		t.Fatalf("after the import swap the program printed\n%s\nwith crypto/tls\n%s", got, want)
	}
	t.Logf("both printed:\n%s", got)
	if !strings.Contains(got, "resumed=true") {
		t.Fatalf("the program never resumed:\n%s", got)
	}
}
