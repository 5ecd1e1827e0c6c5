package bbb

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
)

func simClient(t *testing.T, st sim.State) (*Client, *sim.Host) {
	t.Helper()
	h := sim.NewHost(sim.NewMemStore(st), sim.Options{})
	srv := httptest.NewServer(h.APIHandler())
	t.Cleanup(srv.Close)
	return &Client{BaseURL: srv.URL + "/bigbluebutton/api/", Secret: st.Secret, Server: "bbb1"}, h
}

func TestEndIsAsynchronous(t *testing.T) {
	st := sim.DefaultState("bbb1")
	st.Meetings = sim.GenerateMeetings(1, 4, 12, time.Now())
	st.EndDelay = 200 * time.Millisecond
	c, _ := simClient(t, st)
	ctx := context.Background()
	id := st.Meetings[0].ID
	if err := c.End(ctx, id, ""); err != nil {
		t.Fatal(err)
	}
	ms, _ := c.GetMeetings(ctx)
	if len(ms) != 4 {
		t.Fatalf("meetings right after end: %d, want 4 (end is asynchronous)", len(ms))
	}
	time.Sleep(250 * time.Millisecond)
	ms, _ = c.GetMeetings(ctx)
	for _, m := range ms {
		if m.MeetingID == id {
			t.Fatalf("meeting %s still there after the end delay", id)
		}
	}
	err := c.End(ctx, "no-such-meeting", "")
	if !IsNotFound(err) {
		t.Errorf("unknown meeting: %v, want notFound", err)
	}
}

func TestEnd27WantsModeratorPassword(t *testing.T) {
	st := sim.DefaultState("bbb1")
	st.Release = "2.7.12"
	st.Meetings = sim.GenerateMeetings(2, 1, 3, time.Now())
	c, _ := simClient(t, st)
	ctx := context.Background()
	m := st.Meetings[0]
	err := c.End(ctx, m.ID, "")
	var ae *APIError
	if !errors.As(err, &ae) || ae.MessageKey != "invalidPassword" {
		t.Fatalf("end without password on 2.7: %v", err)
	}
	if err := c.End(ctx, m.ID, m.ModeratorPW); err != nil {
		t.Fatal(err)
	}
}

func TestSendChatMessage(t *testing.T) {
	st := sim.DefaultState("bbb1")
	st.Meetings = sim.GenerateMeetings(3, 2, 4, time.Now())
	c, h := simClient(t, st)
	ctx := context.Background()
	if err := c.SendChatMessage(ctx, st.Meetings[0].ID, "Shutting down in 10 minutes & <soon>", ""); err != nil {
		t.Fatal(err)
	}
	s, _ := h.State()
	if got := s.Meetings[0].Chat; len(got) != 1 || got[0].Message != "Shutting down in 10 minutes & <soon>" || got[0].UserName != "System" {
		t.Errorf("chat: %+v", got)
	}
	if err := c.SendChatMessage(ctx, st.Meetings[0].ID, strings.Repeat("x", 501), ""); !errors.Is(err, ErrChatMessageLength) {
		t.Errorf("long message: %v", err)
	}
	if err := c.SendChatMessage(ctx, "nope", "hi", ""); !IsNotFound(err) {
		t.Errorf("unknown meeting: %v", err)
	}
	st.Release = "2.7.12"
	c27, _ := simClient(t, st)
	if err := c27.SendChatMessage(ctx, st.Meetings[0].ID, "hi", ""); !IsUnknownCall(err) {
		t.Errorf("2.7: %v, want an unknown call", err)
	}
}

const rakeServersSample = "id: 2d2d0a1e-1c8b-4c46-a8a4-0e0a4b3d9a71\n" +
	"\turl: https://bbb1.schulen.example.org/bigbluebutton/api\n" +
	"\tsecret: 0123456789abcdef\n" +
	"\tcordoned\n" +
	"\tload: 21.0\n" +
	"\tload multiplier: 1.0\n" +
	"\tonline\n" +
	"id: 8f3c\n" +
	"\turl: https://bbb2.schulen.example.org/bigbluebutton/api\n" +
	"\tsecret: fedcba\n" +
	"\tenabled\n" +
	"\tload: unavailable\n" +
	"\tload multiplier: 2.0\n" +
	"\ttag: pool\n" +
	"\toffline\n"

func TestParseScaleliteServers(t *testing.T) {
	got, err := ParseScaleliteServers(rakeServersSample)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d servers: %+v", len(got), got)
	}
	if g := got[0]; g.ID != "2d2d0a1e-1c8b-4c46-a8a4-0e0a4b3d9a71" || g.State != ScaleliteCordoned || g.Load != "21.0" || !g.Online || !g.OnlineKnown {
		t.Errorf("first: %+v", g)
	}
	if g := got[1]; g.State != ScaleliteEnabled || g.Online || g.Load != "unavailable" || g.LoadMultiplier != "2.0" {
		t.Errorf("second: %+v", g)
	}
	for _, s := range got {
		if strings.Contains(s.URL+s.ID+s.State+s.Load, "secret") || strings.Contains(s.URL, "0123456789abcdef") {
			t.Errorf("the secret was kept: %+v", s)
		}
	}
	if l, err := ParseScaleliteServers("No servers are configured\n"); err != nil || len(l) != 0 {
		t.Errorf("no servers: %v %v", l, err)
	}
	for _, bad := range []string{"garbage\n", "id: x\n\tonline\n"} {
		if _, err := ParseScaleliteServers(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// The sim's rake tasks print what servers.rake prints; the parser reads it.
func TestScaleliteRakeAgainstSim(t *testing.T) {
	st := sim.DefaultState("lb")
	st.Scalelite = &sim.ScaleliteState{Container: "scalelite-api", Servers: []sim.ScaleliteServer{
		{ID: "a1", URL: "https://bbb1.example.org/bigbluebutton/api", Secret: "s1", State: "enabled", Load: "3.0", Online: true},
		{ID: "b2", URL: "https://bbb2.example.org/bigbluebutton/api", Secret: "s2", State: "enabled", Online: false},
	}}
	st.SudoUsers = map[string]string{"admin": sim.SudoNoPasswd}
	h := sim.NewHost(sim.NewMemStore(st), sim.Options{})
	run := func(user string, argv []string, sudo bool) (string, string, int) {
		var out, errOut bytes.Buffer
		line := quoteWords(argv)
		if sudo {
			line = "sudo -n -- " + line
		}
		code := h.Exec(context.Background(), line, user, nil, &out, &errOut)
		return out.String(), errOut.String(), code
	}
	out, _, code := run("root", ScaleliteServersArgv("scalelite-api"), false)
	if code != 0 {
		t.Fatal(code)
	}
	want := "id: a1\n\turl: https://bbb1.example.org/bigbluebutton/api\n\tsecret: s1\n\tenabled\n\tload: 3.0\n\tload multiplier: 1.0\n\tonline\n" +
		"id: b2\n\turl: https://bbb2.example.org/bigbluebutton/api\n\tsecret: s2\n\tenabled\n\tload: unavailable\n\tload multiplier: 1.0\n\toffline\n"
	if out != want {
		t.Errorf("rake servers:\n%q\nwant\n%q", out, want)
	}
	argv, _ := ScaleliteStateArgv("scalelite-api", "cordon", "a1")
	if out, _, code := run("admin", argv, true); code != 0 || out != "OK\n" {
		t.Errorf("cordon: %d %q", code, out)
	}
	out, _, _ = run("root", ScaleliteServersArgv("scalelite-api"), false)
	list, err := ParseScaleliteServers(out)
	if err != nil || list[0].State != ScaleliteCordoned {
		t.Errorf("after cordon: %+v %v", list, err)
	}
	// Errors are on stdout with exit 1.
	argv, _ = ScaleliteStateArgv("scalelite-api", "enable", "zz")
	if out, _, code := run("root", argv, false); code != 1 || out != "ERROR: No server found with id: zz\n" {
		t.Errorf("unknown id: %d %q", code, out)
	}
	// docker without root or sudo.
	if _, errOut, code := run("admin", ScaleliteServersArgv("scalelite-api"), false); code != 1 || !strings.Contains(errOut, "permission denied while trying to connect to the Docker daemon socket") {
		t.Errorf("no sudo: %d %q", code, errOut)
	}
	if _, errOut, code := run("root", ScaleliteServersArgv("other"), false); code != 1 || errOut != "Error response from daemon: No such container: other\n" {
		t.Errorf("wrong container: %d %q", code, errOut)
	}
	if _, err := ScaleliteStateArgv("scalelite-api", "disable", "a1"); err == nil {
		t.Error("disable allowed")
	}
	if _, err := ScaleliteStateArgv("scalelite-api", "cordon", "a1],servers:panic[b2"); err == nil {
		t.Error("an id that changes the task's arguments was accepted")
	}
}

func quoteWords(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	return b.String()
}

func TestSameServerURL(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"https://bbb1.example.org/bigbluebutton/api", "https://bbb1.example.org/bigbluebutton/api/", true},
		{"https://BBB1.example.org:443/bigbluebutton/api", "https://bbb1.example.org/bigbluebutton/api/", true},
		{"http://127.0.0.2:8080/bigbluebutton/api", "http://127.0.0.2:8080/bigbluebutton/api/", true},
		{"https://bbb1.example.org/bigbluebutton/api", "https://bbb2.example.org/bigbluebutton/api/", false},
		{"https://bbb1.example.org/bigbluebutton/api", "http://bbb1.example.org/bigbluebutton/api/", false},
		{"not a url", "https://bbb1/", false},
	} {
		if got := SameServerURL(c.a, c.b); got != c.want {
			t.Errorf("SameServerURL(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func FuzzParseScaleliteServers(f *testing.F) {
	f.Add(rakeServersSample)
	f.Add("No servers are configured\n")
	f.Add("id: \n\t\n")
	f.Fuzz(func(t *testing.T, s string) {
		list, err := ParseScaleliteServers(s)
		if err != nil {
			return
		}
		for _, e := range list {
			if e.ID == "" || e.URL == "" || e.State == "" {
				t.Fatalf("incomplete entry accepted: %+v", e)
			}
		}
	})
}
