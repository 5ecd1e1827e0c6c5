package fleet

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// Batches run one after the other: no server of batch k+1 starts before
// every server of batch k has finished, and each is called once per server.
func TestRunRollingBatches(t *testing.T) {
	var mu sync.Mutex
	var order []string
	finished := map[string]bool{}
	ss := servers(7)
	var calls [7]int
	res := RunRolling(context.Background(), ss, RunOptions{Parallel: 16}, Rollout{Batch: 3}, func(ctx context.Context, s Server) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		// every server of an earlier batch has finished
		i := int(s.Name[2] - '0')
		for j := 0; j < i/3*3; j++ {
			if !finished[ss[j].Name] {
				t.Errorf("%s started before %s (an earlier batch) finished", s.Name, ss[j].Name)
			}
		}
		order = append(order, s.Name)
		finished[s.Name] = true
		return s.Name, nil
	}, func(i int, r Result[string]) {
		mu.Lock()
		calls[i]++
		mu.Unlock()
	})
	for i, r := range res {
		if r.Err != nil || r.Value != ss[i].Name {
			t.Errorf("result %d: %v %q", i, r.Err, r.Value)
		}
		if calls[i] != 1 {
			t.Errorf("each called %d times for %s", calls[i], ss[i].Name)
		}
	}
	if len(order) != 7 {
		t.Errorf("ran %v", order)
	}
}

// With StopOnError the rollout stops after the first batch with a failure:
// that batch finishes, the later servers are not run and say why.
func TestRunRollingStopOnError(t *testing.T) {
	ss := servers(6)
	var mu sync.Mutex
	ran := map[string]bool{}
	res := RunRolling(context.Background(), ss, RunOptions{}, Rollout{Batch: 2, StopOnError: true}, func(ctx context.Context, s Server) (int, error) {
		mu.Lock()
		ran[s.Name] = true
		mu.Unlock()
		if s.Name == "s02" {
			return 0, errors.New("boom")
		}
		return 1, nil
	}, nil)
	for i, s := range ss {
		want := i < 4
		if ran[s.Name] != want {
			t.Errorf("%s ran=%v, want %v", s.Name, ran[s.Name], want)
		}
	}
	if res[3].Err != nil {
		t.Errorf("s03 (same batch as the failure) = %v, want it to finish", res[3].Err)
	}
	for _, r := range res[4:] {
		var nr *NotRunError
		if !errors.As(r.Err, &nr) || nr.Batch != 2 || len(nr.Failed) != 1 || nr.Failed[0] != "s02" || nr.Server != r.Server.Name {
			t.Errorf("%s: %v, want not run because batch 2 failed (s02)", r.Server.Name, r.Err)
		}
	}
	if got := res[5].Err.Error(); got != "s05: not run: batch 2 failed (s02)" {
		t.Errorf("message %q", got)
	}

	// Without StopOnError every batch runs.
	ran = map[string]bool{}
	RunRolling(context.Background(), ss, RunOptions{}, Rollout{Batch: 2}, func(ctx context.Context, s Server) (int, error) {
		mu.Lock()
		ran[s.Name] = true
		mu.Unlock()
		return 0, errors.New("boom")
	}, nil)
	if len(ran) != 6 {
		t.Errorf("ran %v, want all 6", ran)
	}
}
