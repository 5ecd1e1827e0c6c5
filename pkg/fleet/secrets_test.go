package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestSecretsFileEdgeCases(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "secrets.yaml")

	// A file with only comments (what Save writes, with every entry
	// deleted by hand) is an empty set, not an error.
	os.WriteFile(p, []byte("# bbbfleet API secrets\n"), 0o600)
	s, err := LoadSecrets(p)
	if err != nil {
		t.Fatalf("comments only: %v", err)
	}
	if _, ok := s.Get("x"); ok {
		t.Fatal("secret from nowhere")
	}

	// A symlinked secrets file stays a link; its target gets the secrets.
	real := filepath.Join(dir, "vault", "bbb.yaml")
	os.MkdirAll(filepath.Dir(real), 0o700)
	os.WriteFile(real, []byte("a: one\n"), 0o600)
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	s, err = LoadSecrets(link)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(s *Secrets) { s.Set("b", "two") }); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi.Mode(), err)
	}
	again, _ := LoadSecrets(real)
	if again.FromFile("a") != "one" || again.FromFile("b") != "two" {
		t.Fatalf("target: a=%q b=%q", again.FromFile("a"), again.FromFile("b"))
	}
	if fi, _ := os.Stat(real); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
}

// Concurrent updates (two `secret fetch` runs) lose no entry.
func TestSecretsUpdateConcurrent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "secrets.yaml")
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, err := LoadSecrets(p)
			if err != nil {
				t.Error(err)
				return
			}
			if err := s.Update(func(s *Secrets) { s.Set(fmt.Sprintf("bbb%d", i), "x") }); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	s, err := LoadSecrets(p)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if s.FromFile(fmt.Sprintf("bbb%d", i)) != "x" {
			t.Errorf("bbb%d lost", i)
		}
	}
	// Nothing is left beside the secrets file (no secrets.yaml.lock).
	ents, err := os.ReadDir(filepath.Dir(p))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "secrets.yaml" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("files beside the secrets: %v", names)
	}
}
