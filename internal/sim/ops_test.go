package sim

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// A clock tests move by hand.
type manualClock struct{ t time.Time }

func (c *manualClock) now() time.Time { return c.t }

func TestPowerAndDelays(t *testing.T) {
	clk := &manualClock{t: time.Date(2026, 3, 2, 22, 0, 0, 0, time.UTC)}
	st := DefaultState("bbb1")
	st.Power.BootDelay = 30 * time.Second
	st.StartDelay = 20 * time.Second
	st.Meetings = GenerateMeetings(1, 2, 4, clk.t)
	st.Meetings[0].EndsAt = clk.t.Add(time.Minute)
	st.RecordingStatus = []string{"recorded/x.done", "processed/y.done"}
	st.RecordingsDoneAt = clk.t.Add(2 * time.Minute)
	st.SudoUsers = map[string]string{"admin": SudoNoPasswd}
	h := NewHost(NewMemStore(st), Options{Now: clk.now})
	s, _ := h.State()
	if len(s.Meetings) != 2 || len(s.RecordingStatus) != 2 {
		t.Fatalf("at start: %d meetings, %v", len(s.Meetings), s.RecordingStatus)
	}
	clk.t = clk.t.Add(time.Minute)
	s, _ = h.State()
	if len(s.Meetings) != 1 {
		t.Errorf("after EndsAt: %d meetings, want 1", len(s.Meetings))
	}
	clk.t = clk.t.Add(time.Minute)
	s, _ = h.State()
	if len(s.RecordingStatus) != 1 || s.RecordingStatus[0] != "processed/y.done" {
		t.Errorf("recordings after processing: %v", s.RecordingStatus)
	}
	// bbb-conf --start: activating, then active.
	if _, _, code := run(t, h, "root", "bbb-conf --stop && bbb-conf --start"); code != 0 {
		t.Fatal(code)
	}
	out, _, _ := run(t, h, "root", "systemctl is-active bbb-web")
	if out != "activating\n" {
		t.Errorf("right after --start: %q", out)
	}
	clk.t = clk.t.Add(20 * time.Second)
	if out, _, _ := run(t, h, "root", "systemctl is-active bbb-web"); out != "active\n" {
		t.Errorf("after the start delay: %q", out)
	}
	// poweroff: root only; everything goes.
	if _, errOut, code := run(t, h, "admin", "poweroff"); code != 1 || !strings.Contains(errOut, "Interactive authentication required") {
		t.Errorf("poweroff as admin: %d %q", code, errOut)
	}
	if _, errOut, code := run(t, h, "admin", "sudo -n poweroff"); code != 0 {
		t.Fatalf("sudo poweroff failed: %d %q", code, errOut)
	}
	if !h.Down() {
		t.Fatal("not down after poweroff")
	}
	s, _ = h.State()
	if len(s.Meetings) != 0 || !s.Stopped {
		t.Errorf("after poweroff: %d meetings, stopped=%v", len(s.Meetings), s.Stopped)
	}
	h.Update(func(s *State) error { s.PowerOn(clk.now()); return nil })
	if !h.Down() {
		t.Error("answers before BootDelay")
	}
	clk.t = clk.t.Add(30 * time.Second)
	if h.Down() {
		t.Error("still down after BootDelay")
	}
	if out, _, _ := run(t, h, "root", "systemctl is-active bbb-web"); out != "activating\n" {
		t.Errorf("right after boot: %q", out)
	}
	clk.t = clk.t.Add(20 * time.Second)
	if out, _, _ := run(t, h, "root", "systemctl is-active bbb-web nginx"); out != "active\nactive\n" {
		t.Errorf("after boot and start-up: %q", out)
	}
}

func TestPowerOffRefusesSSHAndAPI(t *testing.T) {
	h := newTestHost(t, nil)
	h.opts.Now = time.Now
	hostKey, clientKey := newSigner(t), newSigner(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addr, stop, err := h.ServeSSH(ctx, "127.0.0.1:0", hostKey, []ssh.PublicKey{clientKey.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	apiURL, stopAPI, err := h.ServeAPI(ctx, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stopAPI()
	cfg := &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(clientKey)},
		HostKeyCallback: ssh.FixedHostKey(hostKey.PublicKey()), Timeout: 5 * time.Second}
	c, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := c.NewSession()
	s.Run("poweroff")
	// The open connection drops, new ones and the API are refused.
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Error("the connection did not drop at poweroff")
	}
	if c2, err := ssh.Dial("tcp", addr, cfg); err == nil {
		c2.Close()
		t.Error("SSH answers while powered off")
	}
	if resp, err := http.Get(apiURL); err == nil {
		resp.Body.Close()
		t.Error("the API answers while powered off")
	}
}
