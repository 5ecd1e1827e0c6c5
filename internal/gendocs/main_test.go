package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if err := run(dir, false, ""); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "bbbfleet-servers.1"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(".TH \"BBBFLEET\" \"1\" \"Jan 2026\"")) {
		t.Errorf("man page header not reproducible:\n%s", data[:200])
	}
}

// With --gzip every page is NAME.1.gz (Debian policy, lintian), none is
// left uncompressed, and two runs give the same bytes.
func TestManPagesGzipped(t *testing.T) {
	dir, again := t.TempDir(), t.TempDir()
	if err := run(dir, true, ""); err != nil {
		t.Fatal(err)
	}
	if err := run(again, true, ""); err != nil {
		t.Fatal(err)
	}
	if plain, _ := filepath.Glob(filepath.Join(dir, "*.1")); len(plain) > 0 {
		t.Errorf("uncompressed pages left: %v", plain)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.1.gz"))
	if len(pages) < 5 {
		t.Fatalf("pages: %v", pages)
	}
	for _, p := range pages {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		text, err := io.ReadAll(zr)
		if err != nil || !bytes.HasPrefix(text, []byte(".nh\n.TH ")) {
			t.Errorf("%s: not a man page: %v %q", p, err, text[:min(len(text), 40)])
		}
		other, err := os.ReadFile(filepath.Join(again, filepath.Base(p)))
		if err != nil || !bytes.Equal(data, other) {
			t.Errorf("%s differs between runs", filepath.Base(p))
		}
	}
}

func TestCompletionFiles(t *testing.T) {
	dir := t.TempDir()
	if err := run("", false, dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bbbfleet.bash", "_bbbfleet", "bbbfleet.fish"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The release ships the gzipped pages: the before hook asks for --gzip and
// the archive and the deb/rpm take *.1.gz.
func TestReleaseShipsGzippedManPages(t *testing.T) {
	cfg, err := os.ReadFile(filepath.Join("..", "..", ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(cfg)
	if !strings.Contains(s, "go run ./internal/gendocs --man dist-extra/man --gzip") {
		t.Error("the before hook does not gzip the man pages")
	}
	if strings.Count(s, "src: dist-extra/man/*.1.gz") != 2 || strings.Contains(s, "dist-extra/man/*.1\n") {
		t.Error("archives and packages must take dist-extra/man/*.1.gz")
	}
}
