package main

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bbbfleet/bbbfleet/cmd"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"bbbfleet": func() { os.Exit(cmd.Main()) },
	})
}

// TestScripts runs the end-to-end stories in testdata/script against the
// real binary.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("XDG_CONFIG_HOME", env.WorkDir+"/xdg")
			env.Setenv("NO_COLOR", "")
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "bashcompletion": // bash and the bash-completion package
				_, err := os.Stat("/usr/share/bash-completion/bash_completion")
				if err == nil {
					_, err = exec.LookPath("bash")
				}
				if err != nil && os.Getenv("CI") != "" {
					return false, fmt.Errorf("CI must install bash and bash-completion: %v", err)
				}
				return err == nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}
