package cmd

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/testpki"
)

// TestCheckCertificates runs the certificate check against local TLS
// listeners (BBB API stand-ins) with generated certificates, trusted
// through api.ca_file.
func TestCheckCertificates(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	day := 24 * time.Hour
	caFrom, caTo := now.Add(-365*day), now.Add(10*365*day)
	ca, other := testpki.NewCA(t, "bbbfleet test CA", caFrom, caTo), testpki.NewCA(t, "some other CA", caFrom, caTo)
	caFile, otherFile := ca.File(t), other.File(t)
	// The servers send the CA's certificate after their own.
	issue := func(dns []string, ips []net.IP, from, to time.Time) tls.Certificate {
		return ca.WithCA(ca.Issue(t, dns, ips, from, to))
	}
	lo := []net.IP{net.ParseIP("127.0.0.1")}
	servers := []struct {
		name   string
		cert   tls.Certificate
		caFile string
		status string
		msg    string
	}{
		{"valid", issue(nil, lo, now.Add(-day), now.Add(90*day+time.Hour)), caFile, "OK", "valid for 90 days, until "},
		{"soon", issue(nil, lo, now.Add(-80*day), now.Add(5*day+time.Hour)), caFile, "WARNING", "expires in 5 days, on "},
		{"last-day", issue(nil, lo, now.Add(-80*day), now.Add(20*time.Hour)), caFile, "CRITICAL", "expires in 20 hours, on "},
		{"expired", issue(nil, lo, now.Add(-90*day), now.Add(-2*day-time.Hour)), caFile, "CRITICAL", "expired 2 days ago, on "},
		{"wrong-name", issue([]string{"bbb.example.org"}, nil, now.Add(-day), now.Add(60*day)), caFile, "CRITICAL", "wrong name: valid for bbb.example.org, not 127.0.0.1"},
		{"unknown-ca", issue(nil, lo, now.Add(-day), now.Add(60*day)), otherFile, "CRITICAL", "signed by an unknown authority (for a private CA, set api.ca_file)"},
	}

	var cfg, secrets strings.Builder
	cfg.WriteString("defaults:\n  ssh: {user: root}\n  api: {timeout: 3s}\nservers:\n")
	for _, s := range servers {
		st := sim.DefaultState(s.name)
		st.Secret = "secret-of-" + s.name
		h := sim.NewHost(sim.NewMemStore(st), sim.Options{})
		url, stop, err := h.ServeAPI(context.Background(), "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{s.cert}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		fmt.Fprintf(&cfg, "  - name: %s\n    host: 127.0.0.1\n    api: {url: %q, ca_file: %q}\n", s.name, url, s.caFile)
		fmt.Fprintf(&secrets, "%s: %q\n", s.name, st.Secret)
	}
	cfgFile := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(cfgFile, []byte(cfg.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "secrets.yaml"), []byte(secrets.String()), 0o600)

	rep, code, errOut := checkRun(t, cfgFile, "--only", "certificate")
	if code != 2 {
		t.Errorf("exit %d: %s", code, errOut)
	}
	for _, s := range servers {
		c := rep.get(t, s.name, "certificate")
		if c.Status != s.status || !strings.HasPrefix(c.Message, s.msg) {
			t.Errorf("%s: %s %q, want %s %q", s.name, c.Status, c.Message, s.status, s.msg)
		}
		if c.Value == nil || c.Unit != "days" {
			t.Errorf("%s: value %v %q", s.name, c.Value, c.Unit)
		}
	}
	if v := rep.get(t, "expired", "certificate").Value; v == nil || *v > -2 {
		t.Errorf("expired: days %v", v)
	}

	// Over HTTPS with the private CA, the API checks pass on the valid
	// server and fail on the expired one with the TLS reason.
	rep, code, _ = checkRun(t, cfgFile, "--only", "api,secret,certificate", "valid", "expired")
	if code != 2 || !sameList(rep.notOK(), "expired api CRITICAL", "expired secret UNKNOWN", "expired certificate CRITICAL") {
		t.Errorf("exit %d: %v", code, rep.notOK())
	}
	if c := rep.get(t, "expired", "api"); !strings.Contains(c.Message, "expired") {
		t.Errorf("api over an expired certificate: %q", c.Message)
	}

	// Nagios perfdata carries the days with the thresholds as ranges.
	out, _, code := run(t, cfgFile, "check", "--only", "certificate", "-o", "nagios", "soon")
	if code != 1 || !strings.HasPrefix(out, "BBBFLEET WARNING - 1/1 servers warning: soon certificate: expires in 5 days, on ") ||
		!strings.HasSuffix(out, " soon_certificate_days=5;14:;3:\n") {
		t.Errorf("nagios: exit %d\n%s", code, out)
	}
}
