package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIHintsPinned pins whole outputs whose CLI words (a flag name, a
// command line to run) are added in cmd/ to facts that pkg/ returns as
// values: an exec that runs out of --timeout during the login, a missing
// secret in check and in load, a secret the server rejects (from the
// secrets file, and from the environment). The bytes stay what they were
// when pkg/ wrote the CLI words itself.
func TestCLIHintsPinned(t *testing.T) {
	t.Run("exec timeout", func(t *testing.T) {
		port, _ := hangingListener(t)
		dir := t.TempDir()
		cfg := filepath.Join(dir, "fleet.yaml")
		os.WriteFile(filepath.Join(dir, "id"), []byte(testKeyPEM(t)), 0o600)
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`defaults:
  ssh: {user: root, timeout: 10s, known_hosts: %s/known_hosts, identity_file: %s/id}
servers:
  - name: bbb1
    host: 127.0.0.1
    ssh: {port: %d}
`, dir, dir, port)), 0o644); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("SSH login to 127.0.0.1:%d not done within 1s (--timeout; SSH handshake timed out, the command did not start)", port)
		out, errOut, code := run(t, cfg, "exec", "bbb1", "--timeout", "1s", "-o", "json", "--", "true")
		var res []execJSON
		if err := json.Unmarshal([]byte(out), &res); err != nil || code != 1 || len(res) != 1 {
			t.Fatalf("exit %d: %v\n%s\n%s", code, err, out, errOut)
		}
		if res[0].Error != "bbb1: "+want {
			t.Errorf("exec -o json error:\n got %q\nwant %q", res[0].Error, "bbb1: "+want)
		}
		out, errOut, code = run(t, cfg, "exec", "bbb1", "--timeout", "1s", "--", "true")
		if code != 1 || !strings.Contains(out+errOut, "\nerror: bbb1: "+want+"\n") {
			t.Errorf("exec text: exit %d\n%s\n%s", code, out, errOut)
		}
	})

	t.Run("missing secret", func(t *testing.T) {
		cfg, _ := startStandins(t, standinOptions{N: 2})
		secrets := filepath.Join(filepath.Dir(cfg), "secrets.yaml")
		if err := os.WriteFile(secrets, []byte("bbb1: secret-bbb1-0123456789abcdef\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		pin(t, "check", cfg, []string{"check", "bbb2", "--only", "api,secret"}, 3,
			"SERVER\tSTATUS\tAPI\tSECRET\nbbb2\tUNKNOWN\tOK\tUNKNOWN\n",
			"bbbfleet: UNKNOWN bbb2 secret: not checked: no API secret (run `bbbfleet secret fetch bbb2` or set BBBFLEET_SECRET_BBB2)\n")
		rep, _, _ := checkRun(t, cfg, "bbb2", "--only", "api,secret")
		if m := rep.get(t, "bbb2", "secret").Message; m != "not checked: no API secret (run `bbbfleet secret fetch bbb2` or set BBBFLEET_SECRET_BBB2)" {
			t.Errorf("check -o json: message %q", m)
		}
		pin(t, "load", cfg, []string{"load"}, 1,
			"SERVER\tSTATE\tMEETINGS\tBREAKOUTS\tUSERS\tMODS\tLISTEN\tVOICE\tVIDEO\tUTIL\tSCALELITE\tREASON\n"+
				"bbb1\tup\t0\t0\t0\t0\t0\t0\t0\t0%\t0\t\n"+
				"bbb2\terror\t-\t-\t-\t-\t-\t-\t-\t-\t-\tno API secret\n"+
				"TOTAL\tpartial: 1/2 up\t0\t0\t0\t0\t0\t0\t0\t0%\t0\t\n",
			"bbbfleet: bbb2: no API secret: run `bbbfleet secret fetch bbb2` or set BBBFLEET_SECRET_BBB2\n"+
				"bbbfleet: 1 of 2 servers failed; the totals are partial\n")
		out, _, _ := run(t, cfg, "load", "-o", "json")
		if !strings.Contains(out, `
      "reason": "no API secret",
      "error": "bbb2: no API secret: run `+"`bbbfleet secret fetch bbb2`"+` or set BBBFLEET_SECRET_BBB2",
`) {
			t.Errorf("load -o json:\n%s", out)
		}
	})

	t.Run("rejected secret", func(t *testing.T) {
		cfg, _ := startStandins(t, standinOptions{N: 1, FileSecret: func(int) string { return "wrong-0123456789abcdef" }})
		pin(t, "check", cfg, []string{"check", "--only", "api,secret"}, 2,
			"SERVER\tSTATUS\tAPI\tSECRET\nbbb1\tCRITICAL\tOK\tCRITICAL\n",
			"bbbfleet: CRITICAL bbb1 secret: rejected by the server (checksumError): the server rejects this secret with every checksum algorithm: run `bbbfleet secret fetch bbb1`\n")
		pin(t, "load", cfg, []string{"load"}, 1,
			"SERVER\tSTATE\tMEETINGS\tBREAKOUTS\tUSERS\tMODS\tLISTEN\tVOICE\tVIDEO\tUTIL\tSCALELITE\tREASON\n"+
				"bbb1\terror\t-\t-\t-\t-\t-\t-\t-\t-\t-\tsecret rejected\n"+
				"TOTAL\tpartial: 0/1 up\t0\t0\t0\t0\t0\t0\t0\t-\t0\t\n",
			"bbbfleet: bbb1: API rejected the secret (checksumError): run \"bbbfleet secret fetch bbb1\"\n"+
				"bbbfleet: 1 of 1 servers failed; the totals are partial\n")
		t.Setenv("BBBFLEET_SECRET_BBB1", "wrong-too-0123456789abcdef")
		rep, _, _ := checkRun(t, cfg, "--only", "api,secret")
		if m := rep.get(t, "bbb1", "secret").Message; m != "rejected by the server (checksumError): the secret comes from BBBFLEET_SECRET_BBB1, which overrides the secrets file, "+
			"and the server rejects it with every checksum algorithm: unset BBBFLEET_SECRET_BBB1 and run `bbbfleet secret fetch bbb1`" {
			t.Errorf("check -o json, secret from the environment: message %q", m)
		}
	})
}

// pin runs bbbfleet and wants exactly stdout, stderr and the exit code.
func pin(t *testing.T, what, cfg string, args []string, code int, stdout, stderr string) {
	t.Helper()
	out, errOut, c := run(t, cfg, args...)
	if c != code || out != stdout || errOut != stderr {
		t.Errorf("%s: exit %d (want %d)\nstdout %q\n  want %q\nstderr %q\n  want %q", what, c, code, out, stdout, errOut, stderr)
	}
}
