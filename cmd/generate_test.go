package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// TestCompletionsCurrent fails when completions/ is stale: run `make completions`.
func TestCompletionsCurrent(t *testing.T) {
	var out, errOut bytes.Buffer
	root := NewRootCmd(&App{IO: ui.Test(&out, &errOut)})
	files, err := CompletionScripts(root)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", "completions", name))
		if err != nil {
			t.Fatalf("%v: run `make completions`", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("completions/%s is stale: run `make completions`", name)
		}
	}
}
