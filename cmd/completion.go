package cmd

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// bashQuoteFunc quotes completions as printf %q does, except for the
// comma: bash 5.2's %q escapes it ("host1\,host2"), which then never
// matches the word being completed ("host1,h"), so a comma list completed
// nothing. A comma needs no quoting on a command line.
const bashQuoteFunc = `
# Quote like printf %q, but leave commas alone: bash 5.2 escapes them, and
# an escaped "host1\,host2" never matches the typed "host1,h".
__bbbfleet_quote()
{
    local s
    if [[ -n ${__bbbfleet_openquote-} ]]; then
        # Inside a quote the user opened ('all,!bb): readline closes it;
        # the completion goes in as it is.
        printf "%s\n" "$@"
        return
    fi
    for s in "$@"; do
        printf -v s "%q" "$s"
        printf "%s\n" "${s//\\,/,}"
    done
}
`

// bashPatches rewrite cobra's bash completion script to quote with
// __bbbfleet_quote; each must apply (a test regenerates the script).
var bashPatches = []struct{ old, new string }{
	{`< <(printf "%q\n" "${completions[@]%%$tab*}")`, `< <(__bbbfleet_quote "${completions[@]%%$tab*}")`},
	{`< <(printf "%q\n" "${COMPREPLY[@]}")`, `< <(__bbbfleet_quote "${COMPREPLY[@]}")`},
	{`< <(printf "%q\n" "${completions[@]}")`, `< <(__bbbfleet_quote "${completions[@]}")`},
	{`COMPREPLY[0]=$(printf "%q" "${COMPREPLY[0]}")`, `COMPREPLY[0]=$(__bbbfleet_quote "${COMPREPLY[0]}")`},
	{`COMPREPLY[0]=$(printf "%q" "${COMPREPLY[0]%%$tab*}")`, `COMPREPLY[0]=$(__bbbfleet_quote "${COMPREPLY[0]%%$tab*}")`},
	{`printf -v comp "%q" "${compline%%$tab*}" &>/dev/null || comp=$(printf "%q" "${compline%%$tab*}")`,
		`printf -v comp "%q" "${compline%%$tab*}" &>/dev/null || comp=$(printf "%q" "${compline%%$tab*}"); comp=${comp//\\,/,}`},
	// What was typed may be unquoted ("all,!bb"): match it against the
	// completion as is too, not only against its quoted form.
	{`[[ $comp == "$cur"* ]] || continue`, `[[ $comp == "$cur"* || ${compline%%$tab*} == "$cur"* ]] || continue`},
	// A word typed with an opening quote the user has not closed yet
	// ('all,!bb, as the README writes exclusions): ask for completions
	// of the text inside the quote (an unbalanced quote would make the
	// eval of the request fail), match against it, insert it unquoted.
	{`    args=("${words[@]:1}")
`, `    args=("${words[@]:1}")
    __bbbfleet_openquote=
    if [[ ${cur} == [\'\"]* && ${cur:1} != *${cur:0:1}* ]]; then
        __bbbfleet_openquote=${cur:0:1}
        cur=${cur:1}
        args[${#args[@]}-1]=$(printf "%q" "$cur")
    fi
`},
}

// patchBashCompletion applies bashPatches to a script from cobra.
func patchBashCompletion(script []byte) ([]byte, error) {
	s := string(script)
	for _, p := range bashPatches {
		if !strings.Contains(s, p.old) {
			return nil, fmt.Errorf("bash completion: cobra's script changed; cannot find %q", p.old)
		}
		s = strings.ReplaceAll(s, p.old, p.new)
	}
	// Define the function before the first use.
	i := strings.Index(s, "\n__bbbfleet_debug()")
	if i < 0 {
		return nil, fmt.Errorf("bash completion: cobra's script changed; no __bbbfleet_debug")
	}
	s = s[:i] + bashQuoteFunc + s[i:]
	return []byte(s), nil
}

// genBashCompletion writes bbbfleet's bash completion script.
func genBashCompletion(root *cobra.Command, descriptions bool) ([]byte, error) {
	var b bytes.Buffer
	if err := root.GenBashCompletionV2(&b, descriptions); err != nil {
		return nil, err
	}
	return patchBashCompletion(b.Bytes())
}

// installCompletionCmd adds cobra's completion command now and makes its
// bash script the patched one.
func installCompletionCmd(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		for _, sh := range c.Commands() {
			if sh.Name() != "bash" {
				continue
			}
			sh.RunE = func(cmd *cobra.Command, args []string) error {
				noDesc, _ := cmd.Flags().GetBool("no-descriptions")
				script, err := genBashCompletion(root, !noDesc)
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(script)
				return err
			}
			sh.Run = nil
		}
	}
}

// completeCommaList completes the last word of a comma list ("api,se<TAB>")
// from words, keeping what comes before it and leaving out words already
// in the list: the shell replaces the whole word with the completion.
func completeCommaList(words []string, toComplete string) []string {
	prefix, last := "", toComplete
	used := map[string]bool{}
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		prefix, last = toComplete[:i+1], toComplete[i+1:]
		for _, w := range strings.Split(toComplete[:i], ",") {
			used[w] = true
		}
	}
	var out []string
	for _, w := range words {
		if !used[w] && strings.HasPrefix(w, last) {
			out = append(out, prefix+w)
		}
	}
	return out
}
