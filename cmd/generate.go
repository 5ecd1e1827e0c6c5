package cmd

import (
	"bytes"

	"github.com/spf13/cobra"
)

// CompletionScripts returns the generated completion scripts by file name
// (internal/gendocs writes them; TestCompletionsCurrent compares them with
// completions/).
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
