package cmd

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// manDate is fixed so that generated man pages are reproducible.
var manDate = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func init() {
	extraCommands = append(extraCommands, newGenerateCmd)
}

// newGenerateCmd writes man pages and completion scripts; the release
// builds and `make completions` use it.
func newGenerateCmd(app *App) *cobra.Command {
	var manDir, complDir string
	cmd := &cobra.Command{
		Use:    "generate",
		Short:  "Write man pages and shell completion scripts (for packagers)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			if manDir != "" {
				if err := os.MkdirAll(manDir, 0o755); err != nil {
					return err
				}
				hdr := &doc.GenManHeader{Title: "BBBFLEET", Section: "1", Source: "bbbfleet " + version, Manual: "bbbfleet manual", Date: &manDate}
				if err := doc.GenManTree(root, hdr, manDir); err != nil {
					return err
				}
				fmt.Fprintf(app.IO.Out, "wrote man pages to %s\n", manDir)
			}
			if complDir != "" {
				files, err := CompletionScripts(root)
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
				fmt.Fprintf(app.IO.Out, "wrote completions to %s\n", complDir)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&manDir, "man", "", "write man pages to this directory")
	cmd.Flags().StringVar(&complDir, "completions", "", "write bash, zsh and fish completion scripts to this directory")
	return cmd
}

// CompletionScripts returns the generated completion scripts by file name.
func CompletionScripts(root *cobra.Command) (map[string][]byte, error) {
	var zsh, fish bytes.Buffer
	bash, err := genBashCompletion(root, true)
	if err != nil {
		return nil, err
	}
	if err := root.GenZshCompletion(&zsh); err != nil {
		return nil, err
	}
	if err := root.GenFishCompletion(&fish, true); err != nil {
		return nil, err
	}
	return map[string][]byte{"bbbfleet.bash": bash, "_bbbfleet": zsh.Bytes(), "bbbfleet.fish": fish.Bytes()}, nil
}
