package fleet

import (
	"errors"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseMergesDefaults(t *testing.T) {
	cfg, err := Parse("f.yaml", []byte(`
defaults:
  ssh: {user: bbbadmin, port: 2222, identity_file: ~/.ssh/id_ed25519}
  api: {checksum: sha512, timeout: 3s}
servers:
  - {name: bbb1, host: bbb1.example.org, tags: [pool]}
  - name: bbb2
    host: "2001:db8::2"
    ssh: {port: 22, user: root}
    api: {url: "https://lb.example.org/bigbluebutton/api"}
`))
	if err != nil {
		t.Fatal(err)
	}
	b1, b2 := cfg.Servers[0], cfg.Servers[1]
	if b1.SSH.User != "bbbadmin" || b1.SSH.Port != 2222 || b1.API.Checksum != "sha512" || b1.API.Timeout.D() != 3*time.Second {
		t.Errorf("bbb1 defaults not merged: %+v", b1.Settings)
	}
	if strings.HasPrefix(b1.SSH.IdentityFile, "~") {
		t.Errorf("~ not expanded: %s", b1.SSH.IdentityFile)
	}
	if b1.API.URL != "https://bbb1.example.org/bigbluebutton/api/" {
		t.Errorf("bbb1 api url %s", b1.API.URL)
	}
	if b2.SSH.User != "root" || b2.SSH.Port != 22 || b2.API.URL != "https://lb.example.org/bigbluebutton/api/" {
		t.Errorf("bbb2 overrides lost: %+v", b2.Settings)
	}
	if b1.SSH.HostKeyPolicy != "strict" || b1.Capacity.Participants != DefaultParticipants {
		t.Errorf("built-in defaults missing: %+v", b1.Settings)
	}
	if cfg.SecretsFile != "secrets.yaml" {
		t.Errorf("secrets file %q", cfg.SecretsFile)
	}
	if cfg.Check.CertWarningDays != 14 || cfg.Check.ClockSkewWarning.D() != 2*time.Second {
		t.Errorf("check defaults: %+v", cfg.Check)
	}
}

func TestParseErrorsHaveLines(t *testing.T) {
	_, err := Parse("f.yaml", []byte("servers:\n  - {name: a, host: a.example.org}\n  - {name: a, host: 'x y'}\n"))
	var ces ConfigErrors
	if !errors.As(err, &ces) || len(ces) != 2 {
		t.Fatalf("err = %v", err)
	}
	for _, ce := range ces {
		if ce.Line != 3 || ce.File != "f.yaml" {
			t.Errorf("error %v not at f.yaml:3", ce)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("servers:\n  - {name: a, host: a.example.org}\n"))
	f.Add([]byte("schedules:\n  - {name: x, cron: 'CRON_TZ=', action: start, targets: [all]}\nservers: [{name: a, host: b}]\n"))
	f.Add([]byte("defaults: {ssh: {timeout: 5s}}\nservers:\n- name: a\n  host: 1.2.3.4\n  tags: [x]\nholidays: ['2026-01-01/2026-01-02']\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err == nil && len(cfg.Servers) == 0 {
			t.Fatal("a config without servers was accepted")
		}
	})
}

func TestRelativePathsFollowTheConfig(t *testing.T) {
	cfg, err := Parse("/etc/bbbfleet/fleet.yaml", []byte(`
defaults:
  ssh: {identity_file: keys/id_ed25519, known_hosts: known_hosts}
  api: {ca_file: ca.pem}
servers:
  - {name: a, host: a.example.org}
secrets_file: private/secrets.yaml
`))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Servers[0]
	for got, want := range map[string]string{
		s.SSH.IdentityFile: "/etc/bbbfleet/keys/id_ed25519",
		s.SSH.KnownHosts:   "/etc/bbbfleet/known_hosts",
		s.API.CAFile:       "/etc/bbbfleet/ca.pem",
		cfg.SecretsFile:    "/etc/bbbfleet/private/secrets.yaml",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func TestParseReportsEveryErrorAtOnce(t *testing.T) {
	_, err := Parse("f.yaml", []byte(`defaults:
  ssh:
    prot: 22
  api:
    timeout: 10 secs
    checksum: sha265
servers:
  - {name: a, host: a.example.org}
  - {name: a, host: b.example.org}
`))
	var ces ConfigErrors
	if !errors.As(err, &ces) {
		t.Fatalf("err = %v", err)
	}
	var lines []int
	for _, ce := range ces {
		lines = append(lines, ce.Line)
	}
	want := []int{3, 5, 6, 9}
	if len(lines) != len(want) {
		t.Fatalf("lines %v, want %v:\n%v", lines, want, err)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Fatalf("lines %v, want %v:\n%v", lines, want, err)
		}
	}
}

func TestTargetsListEachNameOnce(t *testing.T) {
	cfg := &Config{Servers: []Server{{Name: "a"}, {Name: "b"}, {Name: "b"}}}
	if got := strings.Join(cfg.Targets(), ","); got != "all,a,b" {
		t.Errorf("Targets() = %s", got)
	}
}

func TestSelectExclusions(t *testing.T) {
	cfg := &Config{Servers: []Server{
		{Name: "a", Tags: []string{"pool"}}, {Name: "b", Tags: []string{"pool", "broken"}}, {Name: "c"},
	}}
	names := func(words ...string) string {
		ss, err := cfg.Select(words)
		if err != nil {
			return "error: " + err.Error()
		}
		var n []string
		for _, s := range ss {
			n = append(n, s.Name)
		}
		return strings.Join(n, ",")
	}
	for words, want := range map[string]string{
		"all,!b":         "a,c",
		"@pool,!@broken": "a",
		"all|!a|!c":      "b",
		"c,!@pool":       "c",
		"!a":             "error: targets \"!a\": exclusions need targets to exclude from: e.g. all,!a (or --exclude a)",
		"@pool,!a,!b":    "error: targets \"@pool,!a,!b\": the exclusions leave no server",
		"all,!x":         "error: unknown target \"!x\"; valid targets: all, a, b, c, @pool, @broken",
		"all,!":          "error: targets \"!\": an exclusion needs a name or @tag after !",
	} {
		if got := names(strings.Split(words, "|")...); got != want {
			t.Errorf("%s: got %q, want %q", words, got, want)
		}
	}
}

// The hand-written name, label and user checks accept exactly what their
// regular expressions do.
func TestValidatorsMatchTheirRegexps(t *testing.T) {
	res := []struct {
		re *regexp.Regexp
		fn func(string) bool
	}{
		{regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`), validName},
		{regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`), validLabel},
		{regexp.MustCompile(`^[a-z_][a-z0-9_.-]*\$?$`), validUser},
	}
	alphabet := "aZ09._-$ é"
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"", "a", "-a", "a-", "A", "_x", "x$", "x$$", "$", strings.Repeat("a", 63), strings.Repeat("a", 64), "bbb-1.example", "é"}
	for range 20000 {
		n := rng.IntN(8)
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		words = append(words, b.String())
	}
	for _, w := range words {
		for i, r := range res {
			if got, want := r.fn(w), r.re.MatchString(w); got != want {
				t.Errorf("check %d on %q: %v, regexp says %v", i, w, got, want)
			}
		}
	}
}

// A wrongly typed field is reported once, by decoding, not again as
// missing.
func TestMistypedFieldIsOneError(t *testing.T) {
	_, err := Parse("f.yaml", []byte("servers:\n  - name: a\n    host: [a.example.org]\n"))
	var ces ConfigErrors
	if !errors.As(err, &ces) || len(ces) != 1 || ces[0].Line != 3 || !strings.Contains(ces[0].Msg, "expected a string, got a list") {
		t.Fatalf("err = %v", err)
	}
	_, err = Parse("f.yaml", []byte("servers:\n  - name: a\n    host: \"\"\n"))
	if err == nil || !strings.Contains(err.Error(), `server "a" has no host`) {
		t.Fatalf("empty host: %v", err)
	}
}
