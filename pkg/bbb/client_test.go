package bbb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/testpki"
)

const testSecret = "639259d4-9dd8-4b25-bf01-95f9567eaf4b"

// fakeBBB is a loopback BBB API that checks checksums the way bbb-web
// does: it strips the checksum parameter from the raw query by string
// replacement, picks the algorithm by the checksum's length and compares.
type fakeBBB struct {
	secret   string
	bodies   map[string]string // call -> body; "" is the root call
	lastAlgo atomic.Value
	lastRaw  atomic.Value
}

func (f *fakeBBB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/xml;charset=utf-8")
	p := strings.TrimSuffix(r.URL.Path, "/")
	if p == "/bigbluebutton/api" {
		_, _ = io.WriteString(w, f.bodies[""])
		return
	}
	call := path.Base(r.URL.Path)
	raw := r.URL.RawQuery
	f.lastRaw.Store(raw)
	sum := r.URL.Query().Get("checksum")
	query := strings.Replace(raw, "&checksum="+sum, "", 1)
	query = strings.Replace(query, "checksum="+sum, "", 1)
	algo := map[int]string{40: "sha1", 64: "sha256", 96: "sha384", 128: "sha512"}[len(sum)]
	f.lastAlgo.Store(algo)
	want, err := Checksum(algo, call, query, f.secret)
	if err != nil || want != sum {
		_, _ = io.WriteString(w, `<response><returncode>FAILED</returncode><messageKey>checksumError</messageKey><message>Checksums do not match</message></response>`)
		return
	}
	body, ok := f.bodies[call]
	if !ok {
		_, _ = io.WriteString(w, `<response><returncode>FAILED</returncode><messageKey>notFound</messageKey><message>We could not find a meeting with that meeting ID</message></response>`)
		return
	}
	_, _ = io.WriteString(w, body)
}

func newFake(t *testing.T) (*fakeBBB, *Client) {
	t.Helper()
	f := &fakeBBB{secret: testSecret, bodies: map[string]string{
		"":                 `<response><returncode>SUCCESS</returncode><version>2.0</version><apiVersion>2.0</apiVersion><bbbVersion/><graphqlWebsocketUrl>wss://h/graphql</graphqlWebsocketUrl><graphqlApiUrl>https://h/api/rest</graphqlApiUrl></response>`,
		"getMeetings":      handmadeGetMeetings,
		"isMeetingRunning": `<response><returncode>SUCCESS</returncode><running>true</running></response>`,
		"getMeetingInfo":   `<response><returncode>SUCCESS</returncode><meetingID>a&amp;b ä</meetingID><participantCount>4</participantCount></response>`,
		"end":              `<response><returncode>SUCCESS</returncode><messageKey>sentEndMeetingRequest</messageKey><message>A request to end the meeting was sent.</message></response>`,
	}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, &Client{BaseURL: srv.URL + "/bigbluebutton/api", Secret: testSecret, Server: "bbb2", HTTP: srv.Client()}
}

func TestClientAgainstFake(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, c := newFake(t)

	root, err := c.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if root.Version != "2.0" || root.APIVersion != "2.0" || root.BBBVersion != "" || root.GraphQLWebsocketURL != "wss://h/graphql" ||
		root.GraphQLAPIURL != "https://h/api/rest" || root.Latency <= 0 {
		t.Errorf("root %+v", root)
	}

	ms, err := c.GetMeetings(ctx)
	if err != nil || len(ms) != 3 {
		t.Fatalf("GetMeetings: %d, %v", len(ms), err)
	}
	if got := f.lastAlgo.Load(); got != "sha256" {
		t.Errorf("default algorithm %v", got)
	}
	if got := f.lastRaw.Load().(string); !strings.HasPrefix(got, "checksum=") {
		t.Errorf("getMeetings query %q", got)
	}

	for _, algo := range Algorithms {
		c2 := *c
		c2.Algorithm = algo
		running, err := c2.IsMeetingRunning(ctx, "any & thing/ä?")
		if err != nil || !running {
			t.Errorf("%s: IsMeetingRunning = %v, %v", algo, running, err)
		}
		if got := f.lastAlgo.Load(); got != algo {
			t.Errorf("server saw %v, want %s", got, algo)
		}
	}

	m, err := c.GetMeetingInfo(ctx, "a&b ä")
	if err != nil || m.MeetingID != "a&b ä" || m.ParticipantCount != 4 {
		t.Errorf("GetMeetingInfo %+v %v", m, err)
	}
	if got := f.lastRaw.Load().(string); !strings.HasPrefix(got, "meetingID=a%26b+%C3%A4&checksum=") {
		t.Errorf("query sent %q", got)
	}

	body, err := c.Call(ctx, "end", url.Values{"meetingID": {"x"}, "password": {"mp"}})
	if err != nil || !strings.Contains(string(body), "sentEndMeetingRequest") {
		t.Errorf("Call end: %q %v", body, err)
	}

	_, err = c.Call(ctx, "unknownCall", nil)
	if !IsNotFound(err) || !strings.HasPrefix(err.Error(), "bbb2: unknownCall failed: ") {
		t.Errorf("Call unknown: %v", err)
	}
}

func TestClientSecretRejected(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, c := newFake(t)
	c.Secret = "wrong"
	_, err := c.GetMeetings(ctx)
	want := `bbb2: API rejected the secret (checksumError): check it against "bbb-conf --secret" on the server`
	if err == nil || err.Error() != want {
		t.Errorf("err %v, want %s", err, want)
	}
	// The caller's remedy, when it gives one, is said instead.
	c.SecretRemedy = "do R"
	_, err = c.GetMeetings(ctx)
	var rej *APIError
	if !errors.As(err, &rej) || rej.Remedy != "do R" || err.Error() != "bbb2: API rejected the secret (checksumError): do R" {
		t.Errorf("with a remedy: %v", err)
	}
	c.SecretRemedy = ""
	if !IsSecretRejected(err) || Reason(err) != "secret rejected" {
		t.Errorf("IsSecretRejected %v Reason %q", IsSecretRejected(err), Reason(err))
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Call != "getMeetings" || ae.Server != "bbb2" {
		t.Errorf("%+v", ae)
	}
	if _, err := c.IsMeetingRunning(ctx, "x"); !IsSecretRejected(err) {
		t.Errorf("IsMeetingRunning: %v", err)
	}

	c.Server = ""
	_, err = c.GetMeetings(ctx)
	if err == nil || !strings.HasPrefix(err.Error(), "API rejected the secret (checksumError)") {
		t.Errorf("without server name: %v", err)
	}
}

func TestClientConfigErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		c    Client
		want string
	}{
		{"no secret", Client{BaseURL: "http://127.0.0.1:1/bigbluebutton/api/", Server: "bbb2"}, `bbb2: no API secret configured`},
		{"no secret, remedy", Client{BaseURL: "http://127.0.0.1:1/bigbluebutton/api/", Server: "bbb2", SecretRemedy: "do R"}, `bbb2: no API secret configured: do R`},
		{"bad algorithm", Client{BaseURL: "http://127.0.0.1:1/bigbluebutton/api/", Secret: "s", Algorithm: "md5", Server: "bbb2"}, `bbb2: unknown checksum algorithm "md5"`},
		{"bad URL", Client{BaseURL: "ftp://x/", Secret: "s", Server: "bbb2"}, `bbb2: API URL "ftp://x/" is not an http(s) URL`},
		{"URL with query", Client{BaseURL: "http://x/api/?a=b", Secret: "s"}, `must not have a query`},
	}
	for _, tt := range tests {
		_, err := tt.c.GetMeetings(ctx)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestSignedURL(t *testing.T) {
	c := &Client{BaseURL: "https://bbb.example.org/bigbluebutton/api", Secret: testSecret, Algorithm: "sha1"}
	u, err := c.SignedURL("getMeetings", nil)
	if err != nil || u != "https://bbb.example.org/bigbluebutton/api/getMeetings?checksum=2027baa7771026e9e93392f55031535d1444c41f" {
		t.Errorf("%s %v", u, err)
	}
	c.Algorithm = ""
	u, _ = c.SignedURL("getMeetings", url.Values{})
	if !strings.HasSuffix(u, "?checksum=a5370c5f3d97d56d53b435684cdbc429c2898a3bf9f435518b4279e1e0dbfc8c") {
		t.Errorf("%s", u)
	}
	c.Algorithm = "sha1"
	u, _ = c.SignedURL("create", url.Values{"name": {"Test Meeting"}, "meetingID": {"abc123"}, "attendeePW": {"111222"}, "moderatorPW": {"333444"}})
	// url.Values.Encode sorts keys; the checksum covers exactly the query sent.
	q := "attendeePW=111222&meetingID=abc123&moderatorPW=333444&name=Test+Meeting"
	sum, _ := Checksum("sha1", "create", q, testSecret)
	if u != "https://bbb.example.org/bigbluebutton/api/create?"+q+"&checksum="+sum {
		t.Errorf("%s", u)
	}
	for _, bad := range []string{"", "a/b", "a?b", "a&b"} {
		if _, err := c.SignedURL(bad, nil); err == nil {
			t.Errorf("call %q accepted", bad)
		}
	}
}

const nginx502 = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

// TestClientHTTPErrors covers what a web server in front of bbb-web can
// answer instead of API XML.
func TestClientHTTPErrors(t *testing.T) {
	const limit = 1024
	big := strings.Repeat("<x/>", limit) // > limit
	tests := []struct {
		name    string
		handler http.HandlerFunc
		target  any
		msg     string
		reason  string
	}{
		{"502 HTML from nginx", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, nginx502)
		}, new(*HTTPStatusError), "bbb2: bbb-web is not answering (HTTP 502 from nginx)", "bbb-web down (HTTP 502)"},
		{"404", func(w http.ResponseWriter, r *http.Request) {
			http.NotFound(w, r)
		}, new(*HTTPStatusError), "bbb2: HTTP 404 Not Found: no BBB API at this URL (is the API URL right?)", "HTTP 404 Not Found"},
		{"503 empty", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}, new(*HTTPStatusError), "bbb2: HTTP 503 Service Unavailable: bbb-web is not answering behind the proxy", "HTTP 503 Service Unavailable"},
		{"200 HTML", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, "\n<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head><body></body></html>")
		}, new(*HTMLPageError), "bbb2: expected BBB XML, got an HTML page: is the API URL right?", "HTML page, not BBB XML"},
		{"200 XHTML with XML declaration", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/xhtml+xml")
			_, _ = io.WriteString(w, `<?xml version="1.0"?><!-- portal --><!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml"/>`)
		}, new(*HTMLPageError), "bbb2: expected BBB XML, got an HTML page: is the API URL right?", "HTML page, not BBB XML"},
		{"truncated XML", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "<response>\n<returncode>SUCCESS</returncode>\n<meetings>\n<meeting>\n<meetingName>Dem")
		}, new(*MalformedXMLError), "bbb2: truncated or malformed XML: document ends early", "malformed XML"},
		{"connection closed mid-body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "500")
			_, _ = io.WriteString(w, "<response><returncode>SUCCESS</returncode>")
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			panic(http.ErrAbortHandler) // drops the connection
		}, new(*MalformedXMLError), "bbb2: truncated or malformed XML: connection closed after 42 of 500 bytes (truncated body)", "malformed XML"},
		{"too large with Content-Length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			_, _ = io.WriteString(w, big)
		}, new(*BodyTooLargeError), "bbb2: response body larger than the 1024-byte limit", "response too large"},
		{"too large chunked", func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < 8; i++ {
				_, _ = io.WriteString(w, big[:limit/2])
				w.(http.Flusher).Flush()
			}
		}, new(*BodyTooLargeError), "bbb2: response body larger than the 1024-byte limit", "response too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(tt.handler)
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.Start()
			defer srv.Close()
			c := &Client{BaseURL: srv.URL + "/bigbluebutton/api/", Secret: "s", Server: "bbb2", MaxBody: limit, HTTP: srv.Client()}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := c.GetMeetings(ctx)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.As(err, tt.target) {
				t.Errorf("err %T %v, want %T", err, err, tt.target)
			}
			if !strings.HasPrefix(err.Error(), tt.msg) {
				t.Errorf("message %q, want prefix %q", err, tt.msg)
			}
			if got := Reason(err); got != tt.reason {
				t.Errorf("Reason = %q, want %q", got, tt.reason)
			}
			// Root goes through the same path.
			if _, err := c.Root(ctx); !errors.As(err, tt.target) {
				t.Errorf("Root: err %T %v", err, err)
			}
		})
	}
}

func TestClientConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c := &Client{BaseURL: "http://" + addr + "/bigbluebutton/api/", Secret: "s", Server: "bbb2"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.GetMeetings(ctx)
	var te *TransportError
	if !errors.As(err, &te) || te.Kind != ConnRefused {
		t.Fatalf("err %T %v, want ConnRefused", err, err)
	}
	want := "bbb2: connection refused by " + addr + ": nothing listens there"
	if !strings.HasPrefix(err.Error(), want) || Reason(err) != "connection refused" {
		t.Errorf("%q / %q", err, Reason(err))
	}
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Error("does not unwrap to *net.OpError")
	}
}

func TestClientTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()

	t.Run("context deadline", func(t *testing.T) {
		c := &Client{BaseURL: srv.URL + "/bigbluebutton/api/", Secret: "s", Server: "bbb2", HTTP: srv.Client()}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.GetMeetings(ctx)
		if time.Since(start) > 3*time.Second {
			t.Errorf("took %s", time.Since(start))
		}
		var te *TransportError
		if !errors.As(err, &te) || te.Kind != Timeout || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %T %v, want Timeout", err, err)
		}
		// The message names the limit that hit: the caller's deadline,
		// as the caller names it.
		if !strings.HasPrefix(err.Error(), "bbb2: no answer from 127.0.0.1:") || !strings.HasPrefix(te.Limit, CallerDeadlineWords+", ") ||
			!strings.Contains(err.Error(), " (the caller's deadline, ") || Reason(err) != "timeout" {
			t.Errorf("%q %q", err, Reason(err))
		}
		c.DeadlineName = "the run's limit"
		ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel2()
		_, err = c.GetMeetings(ctx2)
		if !errors.As(err, &te) || !strings.HasPrefix(te.Limit, "the run's limit, ") || !strings.Contains(err.Error(), " (the run's limit, ") {
			t.Errorf("named deadline: %q", err)
		}
	})
	t.Run("client timeout", func(t *testing.T) {
		hc, err := NewHTTPClient("", 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		c := &Client{BaseURL: srv.URL + "/bigbluebutton/api/", Secret: "s", Server: "bbb2", HTTP: hc}
		_, err = c.IsMeetingRunning(context.Background(), "x")
		var te *TransportError
		if !errors.As(err, &te) || te.Kind != Timeout {
			t.Fatalf("err %T %v, want Timeout", err, err)
		}
		// The HTTP client's limit is api.timeout, named with its value.
		if !strings.HasSuffix(err.Error(), "(api.timeout 100ms)") {
			t.Errorf("%q does not name api.timeout", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		c := &Client{BaseURL: srv.URL + "/bigbluebutton/api/", Secret: "s", HTTP: srv.Client()}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.GetMeetings(ctx)
		if Reason(err) != "canceled" {
			t.Errorf("%v %q", err, Reason(err))
		}
	})
}

// --- TLS ---

func tlsServer(t *testing.T, cert tls.Certificate) *httptest.Server {
	t.Helper()
	f, _ := newFake(t)
	srv := httptest.NewUnstartedServer(f)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are the point
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestClientTLS(t *testing.T) {
	now := time.Now()
	ca := testpki.NewCA(t, "bbbfleet test CA", now.Add(-time.Hour), now.Add(24*time.Hour))
	caFile := ca.File(t)
	loop := []net.IP{net.IPv4(127, 0, 0, 1)}

	tests := []struct {
		name   string
		cert   tls.Certificate
		caFile string
		kind   TransportKind
		msg    string
		reason string
		as     func(error) bool
	}{
		{name: "valid with private CA", cert: ca.Issue(t, []string{"localhost"}, loop, now.Add(-time.Hour), now.Add(time.Hour)), caFile: caFile},
		{name: "name mismatch", cert: ca.Issue(t, []string{"bbb1.example.org"}, nil, now.Add(-time.Hour), now.Add(time.Hour)), caFile: caFile,
			kind: TLSNameMismatch, msg: `bbb2: TLS certificate does not match "127.0.0.1": it is valid for bbb1.example.org`, reason: "TLS: name mismatch",
			as: func(err error) bool { var e x509.HostnameError; return errors.As(err, &e) }},
		{name: "expired", cert: ca.Issue(t, nil, loop, now.Add(-48*time.Hour), now.Add(-24*time.Hour)), caFile: caFile,
			kind: TLSExpired, msg: "bbb2: TLS certificate of 127.0.0.1:", reason: "TLS: certificate expired",
			as: func(err error) bool {
				var e x509.CertificateInvalidError
				return errors.As(err, &e) && e.Reason == x509.Expired
			}},
		{name: "not yet valid", cert: ca.Issue(t, nil, loop, now.Add(24*time.Hour), now.Add(48*time.Hour)), caFile: caFile,
			kind: TLSExpired, msg: "bbb2: TLS certificate of 127.0.0.1:", reason: "TLS: certificate expired"},
		{name: "unknown authority", cert: ca.Issue(t, nil, loop, now.Add(-time.Hour), now.Add(time.Hour)), caFile: "",
			kind: TLSUnknownAuthority, msg: "bbb2: TLS certificate of 127.0.0.1:", reason: "TLS: unknown CA",
			as: func(err error) bool { var e x509.UnknownAuthorityError; return errors.As(err, &e) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tlsServer(t, tt.cert)
			hc, err := NewHTTPClient(tt.caFile, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c := &Client{BaseURL: srv.URL + "/bigbluebutton/api/", Secret: testSecret, Server: "bbb2", HTTP: hc}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ms, err := c.GetMeetings(ctx)
			if tt.reason == "" {
				if err != nil || len(ms) != 3 {
					t.Fatalf("%d meetings, %v", len(ms), err)
				}
				return
			}
			var te *TransportError
			if !errors.As(err, &te) || te.Kind != tt.kind {
				t.Fatalf("err %T %v, want kind %d", err, err, tt.kind)
			}
			if !strings.HasPrefix(err.Error(), tt.msg) {
				t.Errorf("message %q, want prefix %q", err, tt.msg)
			}
			if got := Reason(err); got != tt.reason {
				t.Errorf("Reason %q, want %q", got, tt.reason)
			}
			if tt.as != nil && !tt.as(err) {
				t.Error("underlying x509 error not reachable with errors.As")
			}
			t.Log(err)
		})
	}
}

func TestNewHTTPClientErrors(t *testing.T) {
	if _, err := NewHTTPClient(filepath.Join(t.TempDir(), "missing.pem"), 0); err == nil {
		t.Error("missing CA file accepted")
	}
	p := filepath.Join(t.TempDir(), "junk.pem")
	if err := os.WriteFile(p, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewHTTPClient(p, 0); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("junk CA file: %v", err)
	}
}

func TestReasonMisc(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{&APIError{MessageKey: "notFound"}, "API error: notFound"},
		{&APIError{Errors: []ErrorDetail{{Key: "validationError"}}}, "API error: validationError"},
		{&APIError{}, "API error"},
		{&APIError{Message: "You did not pass the checksum security check"}, "secret rejected"},
		{&TransportError{Kind: DNSFailure, Err: &net.DNSError{Name: "x", Err: "no such host"}}, "DNS lookup failed"},
		{errors.New("line one\nline two"), "line one"},
		{errors.New(strings.Repeat("a", 100)), strings.Repeat("a", 59) + "…"},
	}
	for _, tt := range tests {
		if got := Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestAPIErrorMessages(t *testing.T) {
	tests := []struct {
		err  *APIError
		want string
	}{
		{&APIError{Server: "bbb1", Call: "getMeetingInfo", MessageKey: "notFound", Message: "We could not find a meeting with that meeting ID"},
			"bbb1: getMeetingInfo failed: We could not find a meeting with that meeting ID (notFound)"},
		{&APIError{Call: "create", Errors: []ErrorDetail{{"a", "A"}, {"b", ""}}}, "create failed: A (a); b"},
		{&APIError{Server: "bbb1", MessageKey: "x", Message: "You did not pass the checksum security check"},
			`bbb1: API rejected the secret (x): check it against "bbb-conf --secret" on the server`},
		{&APIError{Server: "bbb1", MessageKey: "x", Message: "You did not pass the checksum security check", Remedy: "do R"},
			`bbb1: API rejected the secret (x): do R`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
