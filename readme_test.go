package reprise

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// readmeExamples are the Example files whose programs the README shows,
// in order. go test runs each (checking its Output), and
// TestREADMEShowsExamples checks the README shows exactly these programs,
// so the README's Go cannot drift from code that compiles and runs.
var readmeExamples = []string{
	"example_handover_test.go",
	"example_cache_test.go",
	"example_keyfile_test.go",
	"reprisehttp/example_server_test.go",
	"reprisehttp/example_client_test.go",
}

var (
	exampleFunc = regexp.MustCompile(`(?m)^func Example\w*\(\) \{$`)
	goBlock     = regexp.MustCompile("(?s)```go\n(.*?)```")
)

// exampleProgram turns a whole-file example into the program the README
// shows: package main, the Example function as main, without its Output
// comment.
func exampleProgram(src string) string {
	src = regexp.MustCompile(`(?m)^package \w+_test$`).ReplaceAllString(src, "package main")
	src = exampleFunc.ReplaceAllString(src, "func main() {")
	var out []string
	inOutput := false
	for _, line := range strings.Split(src, "\n") {
		switch {
		case strings.HasPrefix(line, "\t// Output:"):
			inOutput = true
			continue
		case inOutput && strings.HasPrefix(line, "\t//"):
			continue
		}
		inOutput = false
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func TestREADMEShowsExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlock.FindAllStringSubmatch(string(readme), -1)
	if len(blocks) != len(readmeExamples) {
		t.Fatalf("README has %d Go blocks; want one per example (%d): every Go snippet must be a tested example", len(blocks), len(readmeExamples))
	}
	for i, name := range readmeExamples {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if want := exampleProgram(string(src)); blocks[i][1] != want {
			t.Errorf("README Go block %d is not %s as a program; it should read:\n%s", i+1, name, want)
		}
	}
}

// TestREADMEProgramsBuild builds every README Go block as its own program
// in a module that uses this checkout, as a reader who pastes one would.
func TestREADMEProgramsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	goTool := peertest.Need(t, "go")
	repo, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	goSum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	goMod := "module readme\n\ngo 1.26.0\n\nrequire github.com/reprise-tls/reprise v0.0.0\n\nreplace github.com/reprise-tls/reprise => " + repo + "\n"
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte(goMod), 0o644)
	os.WriteFile(filepath.Join(dir, "go.sum"), goSum, 0o644)
	for i, b := range goBlock.FindAllStringSubmatch(string(readme), -1) {
		sub := filepath.Join(dir, "snippet"+string(rune('a'+i)))
		os.MkdirAll(sub, 0o755)
		os.WriteFile(filepath.Join(sub, "main.go"), []byte(b[1]), 0o644)
	}
	cmd := exec.Command(goTool, "vet", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOSUMDB=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README programs do not build: %v\n%s", err, out)
	}
}
