package cmd

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

// hostileText retitles the terminal window and clears the screen (OSC and
// CSI), returns the cursor, opens a C1 CSI and reverses the text after it.
const hostileText = "x\x1b]0;owned\x07\x1b[2J\ry\u009b2J\u202ez"

// rawControls are what must never reach a terminal from a server.
const rawControls = "\x1b\x07\r\u009b\u202e"

// assertNoRaw fails when text shown to a terminal holds a raw control.
func assertNoRaw(t *testing.T, what, text string) {
	t.Helper()
	if i := strings.IndexAny(text, rawControls); i >= 0 {
		t.Errorf("%s: raw control %q at %d in\n%q", what, text[i:i+1], i, text)
	}
}

// TestCheckRenderingCleansServerText: check messages and releases (unit
// names from bbb-conf, certificate names) are shown only escaped in the
// table, the problems list, --details, TSV and its stderr, the Nagios
// status line and long text, and the Prometheus labels; the JSON keeps
// them, JSON-escaped.
func TestCheckRenderingCleansServerText(t *testing.T) {
	results := []*fleet.ServerCheck{{
		Server: fleet.Server{Name: "bbb1", Host: "bbb1.example.org"}, Status: fleet.CheckCritical, Release: "3.0.4" + hostileText,
		Checks: []fleet.CheckResult{
			{Name: fleet.CheckServices, Status: fleet.CheckCritical, Message: "bbb-web" + hostileText + " failed"},
			{Name: fleet.CheckVersion, Status: fleet.CheckOK, Message: "3.0.4" + hostileText},
			{Name: fleet.CheckCertificate, Status: fleet.CheckCritical, Message: "wrong name: valid for " + hostileText + " (common name only), not 127.0.0.1"},
		},
	}}
	rep := buildCheckReport(results, []string{fleet.CheckServices, fleet.CheckVersion, fleet.CheckCertificate}, time.Now())
	escaped := `x\x1b]0;owned\x07\x1b[2J\x0dy\u009b2J\u202ez`
	for _, tc := range []struct {
		format  string
		details bool
	}{{"table", false}, {"table", true}, {"tsv", false}, {"tsv", true}} {
		var out, errOut bytes.Buffer
		app := &App{IO: ui.Test(&out, &errOut)}
		if err := app.renderCheck(tc.format, rep, tc.details); err != nil {
			t.Fatal(err)
		}
		what := fmt.Sprintf("%s details=%v", tc.format, tc.details)
		assertNoRaw(t, what+" stdout", out.String())
		assertNoRaw(t, what+" stderr", errOut.String())
		if !strings.Contains(out.String()+errOut.String(), escaped) {
			t.Errorf("%s: the escaped text is missing:\n%s\n%s", what, out.String(), errOut.String())
		}
	}
	for _, details := range []bool{false, true} {
		var out bytes.Buffer
		if err := writeNagios(&out, rep, fleet.DefaultCheckThresholds, details); err != nil {
			t.Fatal(err)
		}
		assertNoRaw(t, "nagios", out.String())
		first, _, _ := strings.Cut(out.String(), "\n")
		if !strings.Contains(first, "bbb1 services: bbb-web"+escaped+" failed") {
			t.Errorf("nagios status line: %q", first)
		}
	}
	var prom bytes.Buffer
	if err := ui.WritePrometheus(&prom, checkGauges(rep)); err != nil {
		t.Fatal(err)
	}
	assertNoRaw(t, "prometheus", prom.String())
	if !strings.Contains(prom.String(), `release="3.0.4x\\x1b]0;owned`) {
		t.Errorf("prometheus release label:\n%s", prom.String())
	}
	var js bytes.Buffer
	if err := (&App{IO: ui.Test(&js, io.Discard)}).IO.JSON(rep); err != nil {
		t.Fatal(err)
	}
	var back checkReport
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Servers[0].Checks[0].Message != "bbb-web"+hostileText+" failed" {
		t.Errorf("JSON must keep the text (JSON-escaped): %v %q", err, js.String())
	}
}

// TestCheckCertificateNameCleaned: a certificate whose common name carries
// terminal escapes, failing verification, is shown escaped by check in
// every text format.
func TestCheckCertificateNameCleaned(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: hostileText},
		DNSNames:  []string{"x\x1b]0;owned\x07\x1b[2J\r.example.org"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	st := sim.DefaultState("evil")
	h := sim.NewHost(sim.NewMemStore(st), sim.Options{})
	url, stop, err := h.ServeAPI(context.Background(), "127.0.0.1:0",
		&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	cfg := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("servers:\n  - name: evil\n    host: 127.0.0.1\n    api: {url: %q, ca_file: %q, timeout: 3s}\n", url, caFile)), 0o644)
	os.WriteFile(filepath.Join(dir, "secrets.yaml"), []byte("evil: "+st.Secret+"\n"), 0o600)

	rep, code, _ := checkRun(t, cfg, "--only", "certificate")
	if c := rep.get(t, "evil", "certificate"); code != 2 || !strings.Contains(c.Message, "valid for x\x1b]0;owned\x07\x1b[2J\r.example.org, not 127.0.0.1") {
		t.Fatalf("exit %d: %q", code, c.Message)
	}
	for _, args := range [][]string{
		{"-o", "table"}, {"-o", "table", "--details"}, {"-o", "tsv"}, {"-o", "tsv", "--details"},
		{"-o", "nagios"}, {"-o", "nagios", "--details"}, {"-o", "prometheus"},
	} {
		out, errOut, code := run(t, cfg, append([]string{"check", "--only", "certificate,api"}, args...)...)
		what := strings.Join(args, " ")
		if code != 2 {
			t.Errorf("%s: exit %d", what, code)
		}
		assertNoRaw(t, what+" stdout", out)
		assertNoRaw(t, what+" stderr", errOut)
		if args[1] != "prometheus" && !strings.Contains(out+errOut, `valid for x\x1b]0;owned\x07\x1b[2J\x0d.example.org, not 127.0.0.1`) {
			t.Errorf("%s: no escaped name in\n%s\n%s", what, out, errOut)
		}
	}
	// The API's TLS error names the certificate's names too: load and
	// meetings show them escaped.
	for _, args := range [][]string{{"load", "-o", "table"}, {"load", "-o", "tsv"}, {"meetings", "-o", "table"}} {
		out, errOut, code := run(t, cfg, args...)
		what := strings.Join(args, " ")
		assertNoRaw(t, what, out+errOut)
		if code != 1 || !strings.Contains(errOut, `it is valid for x\x1b]0;owned\x07\x1b[2J\x0d.example.org`) {
			t.Errorf("%s: exit %d\n%s\n%s", what, code, out, errOut)
		}
	}
}

// TestMeetingsAndLoadCleanServerText: meeting names and IDs with C1,
// bidi and CR characters (and an ESC, which XML cannot carry: it arrives
// as U+FFFD; XML turns a raw CR into a newline) are shown escaped by
// meetings and load in table and TSV; the
// meeting still counts; the JSON keeps the names.
func TestMeetingsAndLoadCleanServerText(t *testing.T) {
	now := time.Now()
	cfg, _ := startStandins(t, standinOptions{N: 1, State: func(_ int, s *sim.State) {
		s.Meetings = sim.GenerateMeetings(3, 2, 6, now)
		s.Meetings[0].Name = "Klasse 5b" + hostileText
		s.Meetings[0].ID = "id" + hostileText
	}})
	for _, format := range []string{"table", "tsv"} {
		out, errOut, code := run(t, cfg, "meetings", "-o", format)
		if code != 0 {
			t.Fatalf("meetings -o %s: exit %d\n%s", format, code, errOut)
		}
		assertNoRaw(t, "meetings "+format, out+errOut)
		for _, want := range []string{`Klasse 5bx` + "\uFFFD" + `]0;owned` + "\uFFFD\uFFFD" + `[2J\x0ay\u009b2J\u202ez`, `idx` + "\uFFFD"} {
			if !strings.Contains(out, want) {
				t.Errorf("meetings -o %s: %q missing in\n%s", format, want, out)
			}
		}
		out, errOut, code = run(t, cfg, "load", "-o", format)
		if code != 0 || !strings.Contains(out, "bbb1") {
			t.Fatalf("load -o %s: exit %d\n%s\n%s", format, code, out, errOut)
		}
	}
	out, _, _ := run(t, cfg, "meetings", "-o", "json")
	var list []meetingJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range list {
		found = found || m.Name == "Klasse 5bx\uFFFD]0;owned\uFFFD\uFFFD[2J\ny\u009b2J\u202ez"
	}
	if len(list) != 2 || !found {
		t.Errorf("json: %s", out)
	}
	out, _, _ = run(t, cfg, "load", "-o", "json")
	var rep loadReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Total.Meetings+rep.Total.BreakoutRooms != 2 {
		t.Errorf("the meeting with the hostile name must count: %v\n%s", err, out)
	}
}

// TestAPIMessageCleaned: an API error message with controls is shown
// escaped by load (table, TSV reason, stderr) and meetings (stderr).
func TestAPIMessageCleaned(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml;charset=utf-8")
		// ESC can only come as a reference (raw, XML forbids it): both
		// end up as U+FFFD; CR, CSI and RLO are XML characters.
		io.WriteString(w, "<response><returncode>FAILED</returncode><messageKey>evil&#x1b;[2J\u009b</messageKey><message>"+
			"\x1b]0;owned\x07 &#13;\u009b2J\u202eevil</message></response>")
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("servers:\n  - name: bbb1\n    host: 127.0.0.1\n    api: {url: %q}\n", srv.URL+"/bigbluebutton/api/")), 0o644)
	os.WriteFile(filepath.Join(dir, "secrets.yaml"), []byte("bbb1: s3cret\n"), 0o600)
	for _, args := range [][]string{{"load", "-o", "table"}, {"load", "-o", "tsv"}, {"meetings", "-o", "table"}, {"meetings"}, {"check", "--only", "secret", "-o", "table", "--details"}} {
		out, errOut, code := run(t, cfg, args...)
		what := strings.Join(args, " ")
		if code == 0 {
			t.Errorf("%s: exit 0", what)
		}
		assertNoRaw(t, what, out+errOut)
		if !strings.Contains(out+errOut, `\x0d\u009b2J\u202eevil`) {
			t.Errorf("%s: no escaped message in\n%s\n%s", what, out, errOut)
		}
	}
	out, _, _ := run(t, cfg, "load", "-o", "json")
	var rep loadReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !strings.Contains(rep.Servers[0].Error, "\r\u009b2J\u202eevil") {
		t.Errorf("json keeps the message: %v %q", err, out)
	}
}

// TestSecretFetchNoteCleaned: the note of secret fetch (the URL bbb-conf
// printed, the error) is shown escaped.
func TestSecretFetchNoteCleaned(t *testing.T) {
	fs := []*fleet.SecretFetch{
		{Server: "bbb1", Status: fleet.SecretFailed, Change: fleet.SecretChanged, ReportedURL: "https://" + hostileText + "/bigbluebutton/",
			ConfiguredURL: "https://bbb1/bigbluebutton/api/", URLDiffers: true, Err: errors.New("bbb1: getMeetings failed: " + hostileText)},
	}
	for _, format := range []string{"table", "tsv"} {
		var out, errOut bytes.Buffer
		app := &App{IO: ui.Test(&out, &errOut)}
		_ = app.reportSecretFetch(format, "secrets.yaml", fs, 0, nil)
		assertNoRaw(t, "secret fetch "+format, out.String()+errOut.String())
		if !strings.Contains(out.String(), `bbb-conf says https://x\x1b]0;owned\x07\x1b[2J\x0dy\u009b2J\u202ez/bigbluebutton/, api.url differs`) ||
			!strings.Contains(out.String(), `getMeetings failed: x\x1b]0;owned`) {
			t.Errorf("%s:\n%s", format, out.String())
		}
	}
}
