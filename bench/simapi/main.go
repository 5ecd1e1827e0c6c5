// Command simapi serves N BBB API stand-ins (internal/sim) on 127.0.0.1 and
// writes a fleet config and secrets file for them, for measuring
// `bbbfleet load` as a separate process (see bench/load-rss.sh). No SSH:
// load only calls the API.
//
//	go run ./bench/simapi -n 50 -slow 100ms -dir /tmp/simapi
//	bbbfleet -c /tmp/simapi/fleet.yaml load
//
// It writes DIR/ready once every stand-in listens, and stops on SIGINT or
// SIGTERM, or after -for (default 10m) so that a forgotten one goes away.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/simfleet"
)

func main() {
	n := flag.Int("n", 50, "number of stand-ins")
	slow := flag.Duration("slow", 100*time.Millisecond, "delay before every API answer")
	meetings := flag.Int("meetings", 0, "generated meetings per stand-in (every fourth a breakout room)")
	users := flag.Int("users", 0, "generated users per stand-in")
	dir := flag.String("dir", "", "directory for fleet.yaml, secrets.yaml and ready (required)")
	life := flag.Duration("for", 10*time.Minute, "exit after this long")
	flag.Parse()
	if *dir == "" || *n < 1 || *n > 1000 {
		fmt.Fprintln(os.Stderr, "simapi: -dir is required and -n must be 1..1000")
		os.Exit(2)
	}
	if err := run(*n, *slow, *meetings, *users, *dir, *life); err != nil {
		fmt.Fprintln(os.Stderr, "simapi:", err)
		os.Exit(1)
	}
}

func run(n int, slow time.Duration, meetings, users int, dir string, life time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, life)
	defer cancel()
	now := time.Now()
	var specs []simfleet.HostSpec
	for i := range n {
		name := fmt.Sprintf("bbb%d", i+1)
		st := sim.DefaultState(name)
		st.Secret = fmt.Sprintf("secret-%s-0123456789abcdef", name)
		st.Slow = slow
		st.Meetings = sim.GenerateMeetings(int64(i), meetings, users, now)
		h := sim.NewHost(sim.NewMemStore(st), sim.Options{})
		url, stopAPI, err := h.ServeAPI(ctx, "127.0.0.1:0", nil)
		if err != nil {
			return err
		}
		defer stopAPI()
		specs = append(specs, simfleet.HostSpec{Name: name, Host: "127.0.0.1", SSHPort: 22, APIURL: url, Secret: st.Secret})
	}
	key := filepath.Join(dir, "id_unused")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(key, nil, 0o600); err != nil {
		return err
	}
	files, err := simfleet.WriteFiles(dir, specs, simfleet.FileOptions{Key: key})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "ready"), []byte(files.Config+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Println(files.Config)
	<-ctx.Done()
	return nil
}
