// Command gendocs writes bbbfleet's man pages and shell completion scripts
// from its command tree, for packagers and `make man` / `make
// completions`. It is a program of its own so that the bbbfleet binary
// does not carry (and initialise at every start, every TAB) the man page
// renderer.
//
//	go run ./internal/gendocs --man DIR [--gzip] --completions DIR
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/bbbfleet/bbbfleet/cmd"
	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// manDate is fixed so that generated man pages are reproducible.
var manDate = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	manDir := flag.String("man", "", "write man pages to this directory")
	gz := flag.Bool("gzip", false, "compress the man pages (NAME.1.gz, as Debian policy wants)")
	complDir := flag.String("completions", "", "write bash, zsh and fish completion scripts to this directory")
	flag.Parse()
	if err := run(*manDir, *gz, *complDir); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func run(manDir string, gz bool, complDir string) error {
	var out, errOut bytes.Buffer
	root := cmd.NewRootCmd(&cmd.App{IO: ui.Test(&out, &errOut)})
	if manDir != "" {
		if err := writeMan(root, manDir, gz); err != nil {
			return err
		}
		fmt.Printf("wrote man pages to %s\n", manDir)
	}
	if complDir != "" {
		files, err := cmd.CompletionScripts(root)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(complDir, 0o755); err != nil {
			return err
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(complDir, name), data, 0o644); err != nil {
				return err
			}
		}
		fmt.Printf("wrote completions to %s\n", complDir)
	}
	return nil
}

// writeMan writes one page per command into dir, gzipped (without a name
// or time stamp in the gzip header, so builds are reproducible) when gz.
func writeMan(root *cobra.Command, dir string, gz bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	hdr := &doc.GenManHeader{Title: "BBBFLEET", Section: "1", Source: "bbbfleet", Manual: "bbbfleet manual", Date: &manDate}
	if err := doc.GenManTree(root, hdr, dir); err != nil {
		return err
	}
	if !gz {
		return nil
	}
	pages, err := filepath.Glob(filepath.Join(dir, "*.1"))
	if err != nil {
		return err
	}
	for _, p := range pages {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		w, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		if err := os.WriteFile(strings.TrimSuffix(p, ".1")+".1.gz", b.Bytes(), 0o644); err != nil {
			return err
		}
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}
