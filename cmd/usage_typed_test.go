package cmd

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// Wrong arguments are typed where cobra checks them (every Args
// validator), so exit codes and hints come from the type, not the text.
func TestArgsErrorsAreTyped(t *testing.T) {
	var out, errOut bytes.Buffer
	root := NewRootCmd(&App{IO: ui.Test(&out, &errOut)})
	for _, argv := range [][]string{{"push", "a"}, {"version", "x"}, {"config", "validate", "x"}} {
		c, args, err := root.Find(argv)
		if err != nil {
			t.Fatalf("%v: %v", argv, err)
		}
		err = c.Args(c, args)
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != ExitUsage || ee.Hint != "run `bbbfleet --help` for usage" {
			t.Errorf("%v: %#v", argv, err)
		}
	}
	// An untyped error from before the run is a usage error without a
	// hint: its words ("flag", "arg") no longer decide.
	if code, hint := classify(errors.New("some flag or arg"), false); code != ExitUsage || hint != "" {
		t.Errorf("classify = %d %q", code, hint)
	}
}

// An unknown command (the one error cobra makes while finding the command)
// is recognised by finding the command again.
func TestUnknownCommandIsUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	code := runWithEnv(context.Background(), []string{"bogus"}, ui.Test(&out, &errOut), nil)
	if code != ExitUsage || errOut.String() != "bbbfleet: error: unknown command \"bogus\" for \"bbbfleet\"\nbbbfleet: hint: run `bbbfleet --help` for usage\n" {
		t.Errorf("%d %q", code, errOut.String())
	}
}
