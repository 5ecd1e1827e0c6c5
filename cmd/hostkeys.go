package cmd

import (
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// hostKeyJSON is one entry of "host_keys_recorded" in the JSON of the
// commands that connect over SSH and print one JSON document (check,
// secret fetch): a host key that host_key_policy: accept-new added to
// known_hosts during the run.
type hostKeyJSON struct {
	Server      string `json:"server"`
	Host        string `json:"host"`     // host:port dialled
	KnownAs     string `json:"known_as"` // the name known_hosts lists it under
	KeyType     string `json:"key_type"`
	Fingerprint string `json:"fingerprint"` // SHA256:...
	KnownHosts  string `json:"known_hosts"` // the file written
}

const hostKeysJSONDoc = `"host_keys_recorded" (present only when host_key_policy: accept-new
  recorded a key in this run): [{"server", "host" (host:port dialled),
  "known_as" (how known_hosts lists it), "key_type", "fingerprint"
  (SHA256:...), "known_hosts" (the file written)}]`

// reportHostKeys makes env print each host key accept-new records as one
// line on stderr, as ssh(1) says "Permanently added ...":
//
//	bbbfleet: recorded new host key for bbb1 (bbb1.example.org:22): SHA256:... (ssh-ed25519, in ~/.ssh/known_hosts)
//
// Each line is written whole, under a lock, so parallel dials never
// interleave within a line.
func (app *App) reportHostKeys(env *fleet.Env) {
	var mu sync.Mutex
	w := app.IO.ErrOut
	env.OnHostKeyRecorded = func(r ssh.RecordedHostKey) {
		line := fmt.Sprintf("bbbfleet: recorded new host key for %s (%s): %s (%s, in %s)\n",
			r.Name, ui.Clean(r.Addr), r.Fingerprint, r.Type, ui.Clean(r.File))
		mu.Lock()
		defer mu.Unlock()
		io.WriteString(w, line)
	}
}

// hostKeysJSON lists the keys env recorded, by server and host.
func hostKeysJSON(env *fleet.Env) []hostKeyJSON {
	var out []hostKeyJSON
	for _, r := range env.HostKeysRecorded() {
		out = append(out, hostKeyJSON{Server: r.Name, Host: r.Addr, KnownAs: r.KnownAs, KeyType: r.Type,
			Fingerprint: r.Fingerprint, KnownHosts: r.File})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Server != out[j].Server {
			return out[i].Server < out[j].Server
		}
		return out[i].Host < out[j].Host
	})
	return out
}
