package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

func TestVersionNamesModuleAndGo(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"version"}, &stdout, &stderr); code != 0 {
		t.Fatalf("reprise version: exit %d, stderr %q", code, stderr.String())
	}
	out := stdout.String()
	if !strings.HasPrefix(out, "reprise ") || !strings.Contains(out, runtime.Version()) {
		t.Fatalf("reprise version printed %q; want the module version and %s", out, runtime.Version())
	}
	if code := run([]string{"version", "extra"}, &stdout, &stderr); code != 2 {
		t.Fatalf("reprise version extra: exit %d, want 2", code)
	}
}
