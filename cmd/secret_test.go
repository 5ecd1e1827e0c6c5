package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/testfleet"
)

// secretOutputs collects everything bbbfleet printed, to prove no secret
// ever appears in it.
type secretOutputs []string

func (o *secretOutputs) run(t *testing.T, cfg string, args ...string) (string, string, int) {
	t.Helper()
	out, errOut, code := run(t, cfg, args...)
	*o = append(*o, out, errOut)
	return out, errOut, code
}

func (o secretOutputs) check(t *testing.T, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for _, out := range o {
			if strings.Contains(out, s) {
				t.Fatalf("a secret (%d chars) was printed:\n%s", len(s), out)
			}
		}
	}
}

func readSecretsFile(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %04o, want 0600", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fetchJSON(t *testing.T, out string) secretFetchJSON {
	t.Helper()
	var rep secretFetchJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return rep
}

// TestSecretFetchRealSSHD runs secret fetch against real sshd hosts whose
// bbb-conf --secret is the stand-in's: new, changed and unchanged secrets,
// --dry-run, a rotated secret, mode 0600, and no secret ever printed.
func TestSecretFetchRealSSHD(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 3})
	var outs secretOutputs
	var secrets []string
	for i := range f.Hosts {
		secrets = append(secrets, f.State(t, i).Secret)
	}
	const stale = "stale-secret-from-last-year-0123"
	secrets = append(secrets, stale)
	// The file knows bbb1 rightly, bbb2 not at all, bbb3 with an old secret.
	initial := "bbb1: " + secrets[0] + "\nbbb3: " + stale + "\n"
	if err := os.WriteFile(f.Secrets, []byte(initial), 0o600); err != nil {
		t.Fatal(err)
	}

	// It changes the local secrets file: explicit targets only.
	_, errOut, code := outs.run(t, f.Config, "secret", "fetch")
	if code != ExitUsage || !strings.Contains(errOut, "needs explicit targets") {
		t.Fatalf("no targets: exit %d: %s", code, errOut)
	}

	// --dry-run: reads and verifies, says what would change, writes nothing.
	out, errOut, code := outs.run(t, f.Config, "secret", "fetch", "all", "--dry-run", "-o", "tsv")
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"bbb1\tunchanged\tyes\t", "bbb2\twould-change (new)\tyes\t", "bbb3\twould-change (changed)\tyes\t"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run: no %q in\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "dry run: 2 of 3 secrets would be written") {
		t.Errorf("dry run stderr: %s", errOut)
	}
	if got := readSecretsFile(t, f.Secrets); got != initial {
		t.Errorf("dry run changed the file:\n%s", got)
	}
	out, _, code = outs.run(t, f.Config, "secret", "fetch", "all", "--dry-run", "-o", "json")
	rep := fetchJSON(t, out)
	if code != 0 || !rep.DryRun || rep.Written != 0 || rep.Servers[1].Status != "new" || rep.Servers[1].Saved {
		t.Errorf("dry run json: exit %d %+v", code, rep)
	}

	// The fetch: bbb2 and bbb3 written, bbb1 left; load works for all.
	out, errOut, code = outs.run(t, f.Config, "secret", "fetch", "all", "-o", "json")
	if code != 0 {
		t.Fatalf("fetch: exit %d\n%s\n%s", code, out, errOut)
	}
	rep = fetchJSON(t, out)
	if rep.DryRun || rep.Written != 2 || rep.SecretsFile != f.Secrets || len(rep.Servers) != 3 {
		t.Errorf("fetch json %+v", rep)
	}
	for i, want := range []struct {
		status string
		saved  bool
	}{{"unchanged", false}, {"new", true}, {"changed", true}} {
		s := rep.Servers[i]
		if s.Status != want.status || s.Change != want.status || s.Saved != want.saved || !s.Verified || s.Error != "" {
			t.Errorf("%s: %+v, want %s saved=%v", s.Server, s, want.status, want.saved)
		}
		// The stand-in's bbb-conf reports https://HOST/bigbluebutton/ while
		// the test config calls http://HOST:PORT/…: noted, not changed.
		if s.URL != "https://"+f.SSH.Hosts[i].Addr+"/bigbluebutton/" || s.APIURL != f.Hosts[i].APIURL || !s.URLDiffers {
			t.Errorf("%s urls: %+v", s.Server, s)
		}
	}
	content := readSecretsFile(t, f.Secrets)
	for i := range 3 {
		if !strings.Contains(content, secrets[i]) {
			t.Errorf("file lacks bbb%d's secret:\n%s", i+1, content)
		}
	}
	if strings.Contains(content, stale) {
		t.Errorf("the stale secret is still in the file")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(f.Secrets), ".secrets-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	out, errOut, code = outs.run(t, f.Config, "load", "-o", "tsv")
	if code != 0 {
		t.Fatalf("load after fetch: exit %d\n%s\n%s", code, out, errOut)
	}

	// The table: the URL note, and nothing to write the second time.
	out, errOut, code = outs.run(t, f.Config, "secret", "fetch", "all", "-o", "tsv")
	if code != 0 || strings.Count(out, "\tunchanged\tyes\tbbb-conf says https://") != 3 || !strings.Contains(errOut, "no secret to write") {
		t.Errorf("second fetch: exit %d\n%s\n%s", code, out, errOut)
	}

	// Rotation: bbb2's secret changes on the server; load says what to do,
	// fetch reports it changed, and load works again.
	const rotated = "rotated-secret-bbb2-fedcba9876543210"
	secrets = append(secrets, rotated)
	f.Update(t, 1, func(s *sim.State) { s.Secret = rotated })
	out, errOut, code = outs.run(t, f.Config, "load", "-o", "tsv")
	if code != ExitFailed || !strings.Contains(errOut, `bbb2: API rejected the secret (checksumError): run "bbbfleet secret fetch bbb2"`) {
		t.Fatalf("load after rotation: exit %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = outs.run(t, f.Config, "secret", "fetch", "bbb2", "-o", "tsv")
	if code != 0 || !strings.Contains(out, "bbb2\tchanged\tyes\t") || !strings.Contains(errOut, "wrote 1 secret to") {
		t.Fatalf("fetch after rotation: exit %d\n%s\n%s", code, out, errOut)
	}
	if content := readSecretsFile(t, f.Secrets); !strings.Contains(content, rotated) || !strings.Contains(content, secrets[0]) {
		t.Errorf("file after rotation:\n%s", content)
	}
	out, errOut, code = outs.run(t, f.Config, "load", "-o", "tsv")
	if code != 0 {
		t.Fatalf("load after re-fetch: exit %d\n%s\n%s", code, out, errOut)
	}

	// An environment override is noted: it wins over the file.
	const envSecret = "env-secret-for-bbb1-0123456789"
	secrets = append(secrets, envSecret)
	t.Setenv("BBBFLEET_SECRET_BBB1", envSecret)
	out, _, code = outs.run(t, f.Config, "secret", "fetch", "bbb1", "-o", "json")
	if rep := fetchJSON(t, out); code != 0 || rep.Servers[0].EnvOverride != "BBBFLEET_SECRET_BBB1" || rep.Servers[0].Status != "unchanged" {
		t.Errorf("env override: exit %d %+v", code, rep)
	}
	out, _, _ = outs.run(t, f.Config, "secret", "fetch", "bbb1", "-o", "tsv")
	// The variable holds another secret than the server's: the note says
	// to unset it (it used to say only that it is set).
	if !strings.Contains(out, "BBBFLEET_SECRET_BBB1 is set to another secret than the server's and overrides the secrets file for every command: unset it") {
		t.Errorf("env override note missing:\n%s", out)
	}

	outs.check(t, secrets...)
}

// TestSecretFetchUnverified: a secret the API rejects (api.url points at
// another server) or cannot check (bbb-web down) is reported and not
// saved; --no-verify saves it anyway.
func TestSecretFetchUnverified(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 3})
	var outs secretOutputs
	var secrets []string
	for i := range f.Hosts {
		secrets = append(secrets, f.State(t, i).Secret)
	}
	// bbb2's api.url is bbb1's API; bbb3's bbb-web is stopped.
	cfgText, err := os.ReadFile(f.Config)
	if err != nil {
		t.Fatal(err)
	}
	wrongCfg := filepath.Join(filepath.Dir(f.Config), "wrong.yaml")
	if err := os.WriteFile(wrongCfg, []byte(strings.Replace(string(cfgText), f.Hosts[1].APIURL, f.Hosts[0].APIURL, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	f.Update(t, 2, func(s *sim.State) { s.Stopped = true })
	if err := os.WriteFile(f.Secrets, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := outs.run(t, wrongCfg, "secret", "fetch", "all", "-o", "json")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	rep := fetchJSON(t, out)
	if rep.Written != 1 {
		t.Errorf("written %d, want 1 (bbb1)", rep.Written)
	}
	s1, s2, s3 := rep.Servers[0], rep.Servers[1], rep.Servers[2]
	if s1.Status != "new" || !s1.Saved {
		t.Errorf("bbb1 %+v", s1)
	}
	if s2.Status != "failed" || s2.Change != "new" || s2.Saved || s2.Verified ||
		!strings.Contains(s2.Error, "bbb2: the API at "+f.Hosts[0].APIURL+" rejects the secret bbb-conf printed, so it was not saved") {
		t.Errorf("bbb2 %+v", s2)
	}
	if s3.Status != "failed" || s3.Saved ||
		!strings.Contains(s3.Error, "bbb3: cannot verify the secret, so it was not saved (use --no-verify to save it anyway): bbb-web is not answering (HTTP 502 from nginx)") {
		t.Errorf("bbb3 %+v", s3)
	}
	content := readSecretsFile(t, f.Secrets)
	if !strings.Contains(content, secrets[0]) || strings.Contains(content, secrets[1]) || strings.Contains(content, secrets[2]) {
		t.Errorf("file:\n%s", content)
	}

	// The table says the same, with the failures counted on stderr.
	out, errOut, code = outs.run(t, wrongCfg, "secret", "fetch", "bbb3", "-o", "tsv")
	if code != ExitFailed || !strings.Contains(out, "bbb3\tfailed\tno\tcannot verify the secret") || !strings.Contains(errOut, "1 of 1 servers failed") {
		t.Errorf("table: exit %d\n%s\n%s", code, out, errOut)
	}

	// --no-verify saves bbb3's secret unverified.
	out, errOut, code = outs.run(t, f.Config, "secret", "fetch", "bbb3", "--no-verify", "-o", "tsv")
	if code != 0 || !strings.Contains(out, "bbb3\tnew\tskipped\t") {
		t.Errorf("--no-verify: exit %d\n%s\n%s", code, out, errOut)
	}
	if content := readSecretsFile(t, f.Secrets); !strings.Contains(content, secrets[2]) {
		t.Errorf("--no-verify did not save:\n%s", content)
	}
	outs.check(t, secrets...)
}

// TestSecretFetchSSHFailure: a server that cannot be reached over SSH
// fails alone; the others are saved.
func TestSecretFetchSSHFailure(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 2, SSHTimeout: "2s"})
	var outs secretOutputs
	if err := os.WriteFile(f.Secrets, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f.SSH.Hosts[1].Stop()
	out, errOut, code := outs.run(t, f.Config, "secret", "fetch", "all", "-o", "tsv")
	if code != ExitFailed || !strings.Contains(out, "bbb1\tnew\tyes\t") || !strings.Contains(out, "bbb2\tfailed\t-\t") ||
		!strings.Contains(errOut, "wrote 1 secret to") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
	outs.check(t, f.State(t, 0).Secret, f.State(t, 1).Secret)
}

// TestSecretAdviceNamesTheRealFix: when the server rejects signed calls,
// check and secret fetch find out why and name the fix instead of sending
// the admin from one to the other: a server that accepts only sha1
// checksums (api.checksum: sha1 at the config's line), and a stale
// BBBFLEET_SECRET_ variable overriding a good secrets file (unset it).
func TestSecretAdviceNamesTheRealFix(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 2, State: func(i int, s *sim.State) {
		if i == 0 {
			s.ChecksumAlgorithms = []string{"sha1"}
		}
	}})
	t.Setenv("BBBFLEET_SECRET_BBB2", "stale-secret-from-last-year-0123")
	cfgText, err := os.ReadFile(f.Config)
	if err != nil {
		t.Fatal(err)
	}
	bbb1Line := 0
	for i, l := range strings.Split(string(cfgText), "\n") {
		if strings.Contains(l, "name: bbb1") {
			bbb1Line = i + 1
		}
	}
	out, errOut, code := run(t, f.Config, "check", "--only", "api,secret", "-o", "json")
	if code != 2 {
		t.Fatalf("check: exit %d\n%s\n%s", code, out, errOut)
	}
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	msgs := map[string]string{}
	for _, s := range rep.Servers {
		for _, c := range s.Checks {
			if c.Name == "secret" {
				msgs[s.Server] = c.Message
			}
		}
	}
	want1 := fmt.Sprintf("the server accepts this secret with sha1 checksums, not sha256: set `api.checksum: sha1` for bbb1 in %s:%d", f.Config, bbb1Line)
	if !strings.Contains(msgs["bbb1"], want1) || strings.Contains(msgs["bbb1"], "secret fetch") {
		t.Errorf("bbb1 secret check: %q\nwant %q", msgs["bbb1"], want1)
	}
	if want := "BBBFLEET_SECRET_BBB2 is set and overrides the secrets file with a secret the server rejects; the file's secret is accepted: unset BBBFLEET_SECRET_BBB2"; !strings.Contains(msgs["bbb2"], want) {
		t.Errorf("bbb2 secret check: %q", msgs["bbb2"])
	}

	out, errOut, code = run(t, f.Config, "secret", "fetch", "bbb1", "bbb2", "-o", "json")
	fr := fetchJSON(t, out)
	if code != ExitFailed || len(fr.Servers) != 2 {
		t.Fatalf("fetch: exit %d\n%s\n%s", code, out, errOut)
	}
	if e := fr.Servers[0].Error; fr.Servers[0].Status != "failed" || !strings.Contains(e, "set `api.checksum: sha1` for bbb1 in "+fmt.Sprintf("%s:%d", f.Config, bbb1Line)) {
		t.Errorf("fetch bbb1: %+v", fr.Servers[0])
	}
	if s := fr.Servers[1]; s.Status != "unchanged" || !s.EnvDiffers || !strings.Contains(s.Advice, "unset it") {
		t.Errorf("fetch bbb2: %+v", s)
	}

	// With both fixes applied, the secret check is OK.
	fixed := strings.Replace(string(cfgText), "    api: {url:", "    api: {checksum: sha1, url:", 1)
	if err := os.WriteFile(f.Config, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Unsetenv("BBBFLEET_SECRET_BBB2")
	if out, errOut, code := run(t, f.Config, "check", "--only", "api,secret", "-o", "tsv"); code != 0 {
		t.Errorf("after the fixes: exit %d\n%s\n%s", code, out, errOut)
	}
}
