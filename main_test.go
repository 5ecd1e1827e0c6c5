package main

import (
	"os"
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
	})
}
