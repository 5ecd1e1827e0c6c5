package cmd

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// Timeouts name the limit that hit and its value: a hung SSH login under
// exec --timeout is the login's fault, not the command's; an API that does
// not answer within api.timeout says api.timeout; --timeout equal to the
// SSH timeout is not a bare "context deadline exceeded".
func TestTimeoutsNameTheirLimit(t *testing.T) {
	port, _ := hangingListener(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fleet.yaml")
	write := func(sshTimeout, apiTimeout string) {
		t.Helper()
		err := os.WriteFile(cfg, []byte(fmt.Sprintf(`defaults:
  ssh: {user: root, timeout: %s, known_hosts: %s/known_hosts, identity_file: %s/id}
  api: {timeout: %s}
servers:
  - name: bbb1
    host: 127.0.0.1
    ssh: {port: %d}
    api: {url: "http://127.0.0.1:%d/bigbluebutton/api/"}
`, sshTimeout, dir, dir, apiTimeout, port, port)), 0o644)
		if err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "id"), []byte(testKeyPEM(t)), 0o600)

	write("10s", "5s")
	out, errOut, code := run(t, cfg, "exec", "bbb1", "--timeout", "1s", "-o", "json", "--", "true")
	var res []execJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 1 || len(res) != 1 {
		t.Fatalf("exit %d: %v\n%s\n%s", code, err, out, errOut)
	}
	if e := res[0].Error; !strings.Contains(e, "SSH login to 127.0.0.1:") || !strings.Contains(e, "not done within 1s (--timeout") || !strings.Contains(e, "the command did not start") {
		t.Errorf("exec on a hung login: %q", e)
	}

	// --timeout equal to ssh.timeout: the check names the limit.
	write("1s", "5s")
	out, errOut, code = run(t, cfg, "check", "bbb1", "--only", "ssh", "--timeout", "1s", "-o", "json")
	if strings.Contains(out, "context deadline exceeded") || !strings.Contains(out, "timed out after") ||
		!strings.Contains(out, "(--timeout, ") && !strings.Contains(out, "(ssh.timeout 1s)") {
		t.Errorf("check with --timeout = ssh.timeout: exit %d\n%s\n%s", code, out, errOut)
	}

	// load with a long --timeout: the API's own limit is named.
	write("1s", "300ms")
	t.Setenv("BBBFLEET_SECRET_BBB1", "secret-0123456789")
	out, errOut, _ = run(t, cfg, "load", "bbb1", "--timeout", "20s", "-o", "json")
	if !strings.Contains(out+errOut, "(api.timeout 300ms)") {
		t.Errorf("load does not name api.timeout:\n%s\n%s", out, errOut)
	}
}

// testKeyPEM is a fresh ed25519 private key in OpenSSH form.
func testKeyPEM(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(blk))
}
