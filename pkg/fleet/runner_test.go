package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func servers(n int) []Server {
	var out []Server
	for i := 0; i < n; i++ {
		out = append(out, Server{Name: fmt.Sprintf("s%02d", i)})
	}
	return out
}

func TestRunOrderAndLimit(t *testing.T) {
	var running, peak int32
	res := Run(context.Background(), servers(20), RunOptions{Parallel: 4}, func(ctx context.Context, s Server) (string, error) {
		n := atomic.AddInt32(&running, 1)
		for {
			p := atomic.LoadInt32(&peak)
			if n <= p || atomic.CompareAndSwapInt32(&peak, p, n) {
				break
			}
		}
		// later servers finish first
		time.Sleep(time.Duration(20-len(s.Name)) * time.Millisecond)
		atomic.AddInt32(&running, -1)
		return "ok " + s.Name, nil
	})
	if peak > 4 {
		t.Errorf("peak concurrency %d > 4", peak)
	}
	for i, r := range res {
		if want := fmt.Sprintf("s%02d", i); r.Server.Name != want || r.Value != "ok "+want {
			t.Errorf("result %d = %s %q", i, r.Server.Name, r.Value)
		}
	}
}

func TestRunHangingServerIsBounded(t *testing.T) {
	res := Run(context.Background(), servers(5), RunOptions{Parallel: 5, Timeout: 200 * time.Millisecond}, func(ctx context.Context, s Server) (int, error) {
		if s.Name == "s02" {
			select {} // ignores its context entirely
		}
		if s.Name == "s03" {
			return 0, errors.New("boom")
		}
		return 1, nil
	})
	var te *ErrTimeout
	if !errors.As(res[2].Err, &te) {
		t.Fatalf("s02: %v, want timeout", res[2].Err)
	}
	if res[3].Err == nil || res[3].Err.Error() != "boom" {
		t.Errorf("s03: %v", res[3].Err)
	}
	for _, i := range []int{0, 1, 4} {
		if res[i].Err != nil || res[i].Value != 1 {
			t.Errorf("%s: %v %v", res[i].Server.Name, res[i].Value, res[i].Err)
		}
	}
}

func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var started int32
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	res := Run(ctx, servers(10), RunOptions{Parallel: 2}, func(ctx context.Context, s Server) (int, error) {
		atomic.AddInt32(&started, 1)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	if started != 2 {
		t.Errorf("started %d operations after cancel, want 2", started)
	}
	for _, r := range res {
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("%s: %v", r.Server.Name, r.Err)
		}
	}
}

func TestRunPanicIsAnError(t *testing.T) {
	res := Run(context.Background(), servers(2), RunOptions{}, func(ctx context.Context, s Server) (int, error) {
		if s.Name == "s01" {
			var m map[string]int
			m["x"] = 1
		}
		return 1, nil
	})
	if res[0].Err != nil || res[1].Err == nil {
		t.Fatalf("%v %v", res[0].Err, res[1].Err)
	}
}
