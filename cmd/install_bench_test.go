package cmd

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/testfleet"
	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// BenchmarkInstallPreflight20 runs `bbbfleet install all --preflight-only`
// against 20 real sshd hosts without BBB and against one, and reports:
//
//	ms/preflight-1host, ms/preflight-20hosts  wall time of one run
//	ratio-20/1                                how much longer 20 hosts take than 1
//	logins/host/run                           "Accepted publickey" lines per host per run (want 1)
//	sessions/host/run                         remote commands per host per run (want 1)
//
//	go test -run '^$' -bench BenchmarkInstallPreflight20 -benchtime 5x ./cmd/
func BenchmarkInstallPreflight20(b *testing.B) {
	b.Setenv("BBBFLEET_SSH_CONFIG", "none")
	b.Setenv("SSH_AUTH_SOCK", "")
	state := func(i int, s *sim.State) { s.NewMachine() }
	defaults := "  install: {email: bbb-admin@schulen.example.org}\n"
	one := testfleet.Start(b, testfleet.Options{N: 1, State: state, Defaults: defaults})
	many := testfleet.Start(b, testfleet.Options{N: 20, State: state, Defaults: defaults})
	runOnce := func(cfg string) time.Duration {
		var out, errOut bytes.Buffer
		start := time.Now()
		code := Run(context.Background(), []string{"-c", cfg, "-j", "20", "install", "all", "--preflight-only", "-o", "json"}, ui.Test(&out, &errOut))
		d := time.Since(start)
		if code != 0 {
			b.Fatalf("preflight exit %d\n%s\n%s", code, out.String(), errOut.String())
		}
		return d
	}
	count := func(f *testfleet.Fleet, what string) int {
		n := 0
		for _, h := range f.Hosts {
			n += strings.Count(h.SSH.Log(), what)
		}
		return n
	}
	runOnce(one.Config)
	runOnce(many.Config)
	settle(many)
	acc0, ses0 := count(many, "Accepted publickey"), count(many, "Starting session:")
	var t1, t20 time.Duration
	runs := 0
	b.ResetTimer()
	for b.Loop() {
		t20 += runOnce(many.Config)
		b.StopTimer()
		settle(many)
		t1 += runOnce(one.Config)
		b.StartTimer()
		runs++
	}
	b.StopTimer()
	settle(many)
	hosts := float64(len(many.Hosts) * runs)
	b.ReportMetric(float64(t1.Microseconds())/1000/float64(runs), "ms/preflight-1host")
	b.ReportMetric(float64(t20.Microseconds())/1000/float64(runs), "ms/preflight-20hosts")
	b.ReportMetric(float64(t20)/float64(t1), "ratio-20/1")
	b.ReportMetric(float64(count(many, "Accepted publickey")-acc0)/hosts, "logins/host/run")
	b.ReportMetric(float64(count(many, "Starting session:")-ses0)/hosts, "sessions/host/run")
}

// arrivals timestamps every probe line as it reaches the admin's output.
type arrivals struct {
	mu      sync.Mutex
	partial []byte
	lat     []time.Duration
	all     bytes.Buffer
}

const probeMark = "bbbfleet-latency-probe "

func (a *arrivals) Write(b []byte) (int, error) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.all.Write(b)
	a.partial = append(a.partial, b...)
	for {
		i := bytes.IndexByte(a.partial, '\n')
		if i < 0 {
			break
		}
		l := string(a.partial[:i])
		a.partial = a.partial[i+1:]
		if j := strings.Index(l, probeMark); j >= 0 {
			if ns, err := strconv.ParseInt(strings.Fields(l[j+len(probeMark):])[0], 10, 64); err == nil {
				a.lat = append(a.lat, now.Sub(time.Unix(0, ns)))
			}
		}
	}
	return len(b), nil
}

// BenchmarkInstallProgressLatency measures how long a line the installer
// writes on the server takes to reach the admin's screen (the pipe
// output), over real sshd: while an install runs, probe lines carrying
// their write time are appended to its log on the server; their arrival
// is timestamped as bbbfleet writes them. Reports the median and the
// worst (goal < 1 s).
//
//	go test -run '^$' -bench BenchmarkInstallProgressLatency -benchtime 1x ./cmd/
func BenchmarkInstallProgressLatency(b *testing.B) {
	b.Setenv("BBBFLEET_SSH_CONFIG", "none")
	b.Setenv("SSH_AUTH_SOCK", "")
	const probes = 20
	b.StopTimer()
	for range b.N {
		f := testfleet.Start(b, testfleet.Options{N: 1, User: "bbbfleet-test", State: func(i int, s *sim.State) {
			s.NewMachine()
			s.Machine.InstallDelay = 2 * time.Second
		}, Defaults: "  install: {email: bbb-admin@schulen.example.org}\n", Extra: fmt.Sprintf("state_dir: %q\n", b.TempDir())})
		a := &arrivals{}
		done := make(chan int)
		go func() {
			var errOut bytes.Buffer
			done <- Run(context.Background(), []string{"-c", f.Config, "install", "bbb1"}, ui.Test(a, &errOut))
		}()
		// Wait for the log, then append a probe line every 250 ms.
		var log string
		for log == "" {
			time.Sleep(50 * time.Millisecond)
			st, _ := f.Hosts[0].Sim.State()
			for p := range st.Machine.Files {
				if strings.HasSuffix(p, ".log") {
					log = p
				}
			}
		}
		for i := 0; i < probes; i++ {
			time.Sleep(250 * time.Millisecond)
			f.Update(b, 0, func(s *sim.State) {
				s.Machine.Files[log] += fmt.Sprintf("%s%d\n", probeMark, time.Now().UnixNano())
			})
		}
		if code := <-done; code != 0 {
			b.Fatalf("install exit %d\n%s", code, a.all.String())
		}
		a.mu.Lock()
		lat := slices.Clone(a.lat)
		a.mu.Unlock()
		if len(lat) != probes {
			b.Fatalf("%d of %d probe lines arrived\n%s", len(lat), probes, a.all.String())
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-median")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "ms-max")
	}
}
