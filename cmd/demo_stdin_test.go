package cmd

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// The tour's exec steps read no input: a stdin that stays open (a
// terminal, a pipe nobody closes) neither stalls the tour nor is sent to
// the simulated servers.
func TestDemoReadsNoStdin(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	var out, errOut bytes.Buffer
	o := ui.Test(&out, &errOut)
	o.In = r
	done := make(chan int, 1)
	go func() { done <- Run(context.Background(), []string{"demo"}, o) }()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d\n%s%s", code, out.String(), errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the demo did not finish with an open stdin")
	}
}
