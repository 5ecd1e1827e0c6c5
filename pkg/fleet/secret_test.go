package fleet

import (
	"strings"
	"testing"

	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

func TestSameAPIURL(t *testing.T) {
	for _, c := range []struct {
		reported, api string
		same          bool
	}{
		{"https://bbb1.example.org/bigbluebutton/", "https://bbb1.example.org/bigbluebutton/api/", true},
		{"https://BBB1.example.org/bigbluebutton/", "https://bbb1.example.org:443/bigbluebutton/api", true},
		{"https://bbb1.example.org/bigbluebutton/api/", "https://bbb1.example.org/bigbluebutton/api/", true},
		{"http://bbb1.example.org/bigbluebutton/", "http://bbb1.example.org:80/bigbluebutton/api/", true},
		{"https://bbb1.example.org/bigbluebutton/", "http://bbb1.example.org/bigbluebutton/api/", false},
		{"https://bbb1.example.org/bigbluebutton/", "https://bbb2.example.org/bigbluebutton/api/", false},
		{"https://bbb1.example.org/bigbluebutton/", "https://bbb1.example.org:8443/bigbluebutton/api/", false},
		{"https://bbb1.example.org/bbb/", "https://bbb1.example.org/bigbluebutton/api/", false},
		{"::bad", "https://bbb1.example.org/bigbluebutton/api/", false},
	} {
		if got := sameAPIURL(c.reported, c.api); got != c.same {
			t.Errorf("sameAPIURL(%q, %q) = %v", c.reported, c.api, got)
		}
	}
	if got := ExpectedAPIURL("https://h/bigbluebutton/"); got != "https://h/bigbluebutton/api/" {
		t.Errorf("ExpectedAPIURL = %q", got)
	}
}

func TestValidSecret(t *testing.T) {
	for s, ok := range map[string]bool{
		"639259d4-9dd8-4b25-bf01-95f9567eaf4b": true,
		"short":                                false,
		"with space inside ok?":                false,
		"ümlaut-secret-0123":                   false,
		strings.Repeat("a", 513):               false,
	} {
		if validSecret(s) != ok {
			t.Errorf("validSecret(%q) = %v", s, !ok)
		}
	}
}

// A failed bbb-conf --secret is described without its stdout, which may
// hold the secret.
func TestSecretCommandErrorHidesOutput(t *testing.T) {
	const secret = "639259d4-9dd8-4b25-bf01-95f9567eaf4b"
	res := &ssh.Result{Stdout: []byte("    URL: https://h/bigbluebutton/\n    Secret: " + secret + "\n"),
		Stderr: []byte("Secret: " + secret + "\n"), ExitStatus: 3}
	err := secretCommandError("bbb1", res, &ssh.ExitError{Name: "bbb1", Status: 3, Stderr: string(res.Stderr)})
	if strings.Contains(err.Error(), secret) || err.Error() != "bbb1: bbb-conf --secret exited with status 3" {
		t.Errorf("%q", err)
	}
	res = &ssh.Result{Stdout: []byte("Need to be root to run this option\n"), ExitStatus: 1}
	err = secretCommandError("bbb1", res, &ssh.ExitError{Name: "bbb1", Status: 1})
	if !strings.Contains(err.Error(), "needs root") {
		t.Errorf("%q", err)
	}
	res = &ssh.Result{Stderr: []byte("sh: 1: bbb-conf: not found\n"), ExitStatus: 127}
	err = secretCommandError("bbb1", res, &ssh.ExitError{Name: "bbb1", Status: 127})
	if !strings.Contains(err.Error(), "bbb-conf is not installed") {
		t.Errorf("%q", err)
	}
}
