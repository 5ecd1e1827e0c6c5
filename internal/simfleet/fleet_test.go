package simfleet

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/sshtest"
)

// dialHost logs in to host i the way bbbfleet would: the written key, the
// written known_hosts.
func dialHost(t *testing.T, f *Fleet, i int) *ssh.Client {
	t.Helper()
	keyPEM, err := os.ReadFile(f.Key)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	hk, err := knownhosts.New(f.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", f.Hosts[i].SSHAddr, &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: hk, Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// run runs cmd on c and returns its stdout followed by its stderr, and
// its exit status.
func run(t *testing.T, c *ssh.Client, cmd string) (string, int) {
	t.Helper()
	stdout, stderr, status := sshtest.Exec(t, c, cmd)
	return stdout + stderr, status
}

// api calls the host's BBB API with a valid checksum.
func api(t *testing.T, f *Fleet, i int, call string, q url.Values) string {
	t.Helper()
	st, err := f.Hosts[i].Sim.State()
	if err != nil {
		t.Fatal(err)
	}
	raw := q.Encode()
	sum, err := sim.Checksum("sha256", call, raw, st.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if raw != "" {
		raw += "&"
	}
	resp, err := http.Get(f.Hosts[i].APIURL + call + "?" + raw + "checksum=" + sum)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestStartFilesAndProblem(t *testing.T) {
	f, err := Start(context.Background(), Options{N: 5, Seed: 3, Tick: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range []string{f.Config, f.Secrets, f.KnownHosts, f.Key, f.Key + ".pub"} {
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{f.Secrets, f.Key} {
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", p, fi.Mode())
		}
	}
	cfg, _ := os.ReadFile(f.Config)
	if !strings.Contains(string(cfg), "tags: [core]") || strings.Count(string(cfg), "tags: [pool]") != 3 {
		t.Errorf("tags:\n%s", cfg)
	}
	if f.Problem != 3 {
		t.Fatalf("problem server %d", f.Problem)
	}
	for i := range f.Hosts {
		c := dialHost(t, f, i)
		out, code := run(t, c, "systemctl is-active "+ProblemUnit+"; cat /etc/bigbluebutton/bigbluebutton-release; ls /var/bigbluebutton/recording/status/processed")
		if i == f.Problem {
			if code != 0 || !strings.HasPrefix(out, "failed\nBIGBLUEBUTTON_RELEASE=3.0.2\n") || !strings.Contains(out, "-presentation.fail") {
				t.Errorf("problem server: %d %q", code, out)
			}
		} else if !strings.HasPrefix(out, "active\nBIGBLUEBUTTON_RELEASE=3.0.4\n") {
			t.Errorf("%s: %q", f.Hosts[i].Name, out)
		}
		if out, code := run(t, c, "nosuch --flag"); code != 127 || out != "sh: 1: nosuch: not found\n" {
			t.Errorf("unknown command: %d %q", code, out)
		}
	}
	// the API answers with the model's meetings
	body := api(t, f, 0, "getMeetings", url.Values{})
	if !strings.Contains(body, "<returncode>SUCCESS</returncode>") || !strings.Contains(body, "<meetingName>") {
		t.Errorf("getMeetings: %.300s", body)
	}
	dir := f.Dir
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s not removed: %v", dir, err)
	}
	if _, err := netDial(f.Hosts[0].SSHAddr); err == nil {
		t.Error("SSH still answers after Close")
	}
}

func netDial(addr string) (io.Closer, error) {
	return net.DialTimeout("tcp", addr, time.Second)
}

func TestTickKeepsChanges(t *testing.T) {
	real := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	now := real
	clock := func() time.Time { return now }
	f, err := Start(context.Background(), Options{N: 2, Seed: 1, Speed: 60, Tick: time.Hour, Now: clock, NoProblem: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	state := func(i int) sim.State {
		s, err := f.Hosts[i].Sim.State()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s0 := state(0)
	if len(s0.Meetings) == 0 {
		t.Fatal("no meetings at 09:25")
	}
	// ages follow the simulated day, expressed against the real clock
	for _, m := range s0.Meetings {
		age := now.Sub(time.UnixMilli(m.CreateTime))
		if age <= 0 || age > 2*time.Hour {
			t.Errorf("%s: age %s", m.Name, age)
		}
	}
	// end one lesson through the API, create a meeting of our own
	var ended sim.Meeting
	for _, m := range s0.Meetings {
		if !m.IsBreakout {
			ended = m
			break
		}
	}
	if b := api(t, f, 0, "end", url.Values{"meetingID": {ended.ID}}); !strings.Contains(b, "SUCCESS") {
		t.Fatal(b)
	}
	if b := api(t, f, 0, "create", url.Values{"meetingID": {"mine"}, "name": {"Mine"}}); !strings.Contains(b, "SUCCESS") {
		t.Fatal(b)
	}
	now = now.Add(time.Second) // one simulated minute
	f.tick()
	s0 = state(0)
	var mine bool
	for _, m := range s0.Meetings {
		if m.ID == ended.ID || m.ParentMeetingID == ended.InternalID {
			t.Errorf("ended meeting %s is back", m.Name)
		}
		mine = mine || m.ID == "mine"
	}
	if !mine {
		t.Error("meeting created through the API was dropped")
	}
	// a stopped server has no meetings from the model; started, it has again
	c := dialHost(t, f, 1)
	if out, code := run(t, c, "bbb-conf --stop"); code != 0 {
		t.Fatal(out)
	}
	f.tick()
	if n := len(state(1).Meetings); n != 0 {
		t.Errorf("stopped server has %d meetings", n)
	}
	if out, code := run(t, c, "bbb-conf --start"); code != 0 {
		t.Fatal(out)
	}
	f.tick()
	if n := len(state(1).Meetings); n == 0 {
		t.Error("restarted server has no meetings")
	}
	// at night the fleet is empty (apart from our own meeting)
	now = now.Add(14 * time.Minute) // 14 simulated hours
	f.tick()
	if m, _ := f.Load(); m != 1 {
		t.Errorf("%d meetings at %s", m, f.SimNow().Format("15:04"))
	}
	if got := f.SimNow().Format("15:04"); got != "23:26" {
		t.Errorf("simulated time %s", got)
	}
}

func TestStartStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f, err := Start(ctx, Options{N: 1, Tick: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	addr := f.Hosts[0].SSHAddr
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := netDial(addr)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("SSH still listening after cancel")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
