package cmd

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/bbbfleet/bbbfleet/internal/testfleet"
)

// TestAcceptNewReportsRecordedKeys: with host_key_policy: accept-new and
// an empty known_hosts, a parallel check prints one whole line per
// recorded key on stderr and lists the keys in its JSON; the next run
// records (and says) nothing.
func TestAcceptNewReportsRecordedKeys(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 3})
	cfg, err := os.ReadFile(f.Config)
	if err != nil {
		t.Fatal(err)
	}
	acceptNew := strings.Replace(string(cfg), "known_hosts: ", "host_key_policy: accept-new, known_hosts: ", 1)
	if acceptNew == string(cfg) {
		t.Fatal("no known_hosts in the config")
	}
	os.WriteFile(f.Config, []byte(acceptNew), 0o644)
	os.WriteFile(f.KnownHosts, nil, 0o600)

	out, errOut, code := run(t, f.Config, "check", "-o", "json", "--only", "ssh")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	line := regexp.MustCompile(`^bbbfleet: recorded new host key for (bbb\d) \((127\.0\.0\.\d+:\d+)\): (SHA256:[A-Za-z0-9+/]{43}) \(ssh-ed25519, in ` +
		regexp.QuoteMeta(f.KnownHosts) + `\)$`)
	seen := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(errOut, "\n"), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("stderr line %q", l)
		}
		if seen[m[1]] != "" {
			t.Errorf("%s reported twice", m[1])
		}
		seen[m[1]] = m[3]
	}
	if len(seen) != 3 {
		t.Errorf("reported %v, want 3 servers\n%s", seen, errOut)
	}
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.HostKeysRecorded) != 3 {
		t.Fatalf("host_keys_recorded: %+v", rep.HostKeysRecorded)
	}
	for i, k := range rep.HostKeysRecorded {
		h := f.SSH.Hosts[i]
		if k.Server != f.Hosts[i].Name || k.Fingerprint != seen[k.Server] || k.KeyType != "ssh-ed25519" || k.KnownHosts != f.KnownHosts ||
			!strings.HasPrefix(k.Host, h.Addr+":") || !strings.Contains(f.SSH.KnownHostsLine(i), k.KnownAs+" ") {
			t.Errorf("entry %d: %+v", i, k)
		}
	}
	if !strings.Contains(out, `"host_keys_recorded": [`) {
		t.Errorf("json: %s", out)
	}

	// Known now: nothing recorded, nothing said, no field.
	out, errOut, code = run(t, f.Config, "check", "-o", "json", "--only", "ssh")
	if code != 0 || errOut != "" || strings.Contains(out, "host_keys_recorded") {
		t.Errorf("second run: exit %d\n%s\n%s", code, out, errOut)
	}

	// secret fetch has a JSON document too.
	os.WriteFile(f.KnownHosts, nil, 0o600)
	out, errOut, code = run(t, f.Config, "secret", "fetch", "all", "--dry-run", "-o", "json")
	var sf secretFetchJSON
	if err := json.Unmarshal([]byte(out), &sf); err != nil || code != 0 || len(sf.HostKeysRecorded) != 3 ||
		strings.Count(errOut, "bbbfleet: recorded new host key for ") != 3 {
		t.Errorf("secret fetch: exit %d %v\n%s\n%s", code, err, out, errOut)
	}
}
