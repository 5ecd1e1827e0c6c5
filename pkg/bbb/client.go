package bbb

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultMaxBody is the body size limit used when Client.MaxBody is 0.
const DefaultMaxBody int64 = 16 << 20

// DefaultTimeout is the timeout of the http.Client used when Client.HTTP is nil.
const DefaultTimeout = 30 * time.Second

var defaultHTTPClient = &http.Client{Timeout: DefaultTimeout}

// Client calls the API of one BBB server. The zero value is not usable:
// BaseURL and, for every call but Root, Secret must be set. A Client is safe
// for concurrent use if its fields are not changed.
type Client struct {
	// BaseURL is the API URL, e.g. https://host/bigbluebutton/api/ (a
	// missing final slash is added).
	BaseURL string
	// Secret is bbb-web's securitySalt ("bbb-conf --secret").
	Secret string
	// Algorithm is the checksum algorithm, sha1, sha256 (default), sha384
	// or sha512.
	Algorithm string
	// HTTP is the client used for requests; nil means a client with
	// DefaultTimeout and the system roots. See NewHTTPClient.
	HTTP *http.Client
	// MaxBody caps the size of a response body; 0 means DefaultMaxBody.
	MaxBody int64
	// Server is the server's name in the fleet; errors start with it.
	Server string
	// DeadlineName is how a TransportError names the caller's deadline
	// (ctx's) when it ends a call: the caller says it its own way
	// (bbbfleet's command line: its flag); "" is CallerDeadlineWords.
	DeadlineName string
	// SecretRemedy is what to do about a missing or rejected secret, in
	// the caller's words (bbbfleet's command line: the command that
	// fetches it); NoSecretError and APIError say it after the finding.
	// "" leaves it out (a rejected secret then points at bbb-conf).
	SecretRemedy string
}

// CallerDeadlineWords is how a TransportError names the caller's deadline
// when Client.DeadlineName does not.
const CallerDeadlineWords = "the caller's deadline"

// NewHTTPClient returns an http.Client for BBB API calls. caFile, if not
// empty, is a PEM file of CA certificates (private PKI) added to the system
// roots. Certificates are always verified; plain http URLs work as well.
// timeout bounds each request as a whole (0 = no limit besides the context).
func NewHTTPClient(caFile string, timeout time.Duration) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("reading CA file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: noRedirect}, nil
}

// noRedirect makes an http.Client return a redirect response as it is
// instead of following it. A redirect would carry the signed call (its
// checksum replays) to wherever Location points, possibly another host or
// plain http, with the signed URL as Referer, and report that host's
// answer as this server's: the API client never follows one (see
// RedirectError).
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// httpClient is the client for one request: Client.HTTP (or the default)
// with redirects turned off whatever it says.
func (c *Client) httpClient() *http.Client {
	hc := defaultHTTPClient
	if c.HTTP != nil {
		hc = c.HTTP
	}
	cp := *hc
	cp.CheckRedirect = noRedirect
	return &cp
}

// timeoutLimit names, on a timeout, the limit that hit: the caller's
// deadline (as DeadlineName names it) or the HTTP client's (api.timeout).
func (c *Client) timeoutLimit(ctx context.Context, te *TransportError) *TransportError {
	if te.Kind != Timeout {
		return te
	}
	if ctx.Err() != nil {
		te.Limit = c.DeadlineName
		if te.Limit == "" {
			te.Limit = CallerDeadlineWords
		}
		if d, ok := ctx.Deadline(); ok {
			te.Limit += fmt.Sprintf(", %s left when the call started", (d.Sub(time.Now()) + te.Elapsed).Round(10*time.Millisecond))
		}
	} else if t := c.httpClient().Timeout; t > 0 {
		te.Limit = fmt.Sprintf("api.timeout %s", t)
	}
	return te
}

func (c *Client) maxBody() int64 {
	if c.MaxBody > 0 {
		return c.MaxBody
	}
	return DefaultMaxBody
}

func (c *Client) base() (string, error) {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%sAPI URL %q is not an http(s) URL", prefix(c.Server), c.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%sAPI URL %q must not have a query or fragment", prefix(c.Server), c.BaseURL)
	}
	s := c.BaseURL
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s, nil
}

// SignedURL returns the URL of an API call with its checksum. params are
// encoded with url.Values.Encode (sorted by key) and the checksum is computed
// over exactly that query string.
func (c *Client) SignedURL(call string, params url.Values) (string, error) {
	base, err := c.base()
	if err != nil {
		return "", err
	}
	if call == "" || strings.ContainsAny(call, "/?&#") {
		return "", fmt.Errorf("invalid API call name %q", call)
	}
	if c.Secret == "" {
		return "", &NoSecretError{Server: c.Server, Remedy: c.SecretRemedy}
	}
	algo := c.Algorithm
	if algo == "" {
		algo = DefaultAlgorithm
	}
	query := params.Encode()
	sum, err := Checksum(algo, call, query, c.Secret)
	if err != nil {
		return "", fmt.Errorf("%s%w", prefix(c.Server), err)
	}
	var b strings.Builder
	b.Grow(len(base) + len(call) + len(query) + len(sum) + 12)
	b.WriteString(base)
	b.WriteString(call)
	b.WriteByte('?')
	if query != "" {
		b.WriteString(query)
		b.WriteByte('&')
	}
	b.WriteString("checksum=")
	b.WriteString(sum)
	return b.String(), nil
}

// Call performs a signed GET of an API call and returns the body once it is
// known to be a well-formed BBB <response> with returncode SUCCESS. FAILED
// gives an *APIError; see the other error types of this package for what
// else can go wrong.
func (c *Client) Call(ctx context.Context, call string, params url.Values) ([]byte, error) {
	body, _, err := c.signedGet(ctx, call, params)
	if err != nil {
		return nil, err
	}
	r, err := decodeResponse(body)
	if err == nil {
		err = r.check()
	}
	if err != nil {
		return nil, c.annotate(err, call)
	}
	return body, nil
}

// GetMeetings returns all meetings on the server, breakout rooms included
// (each breakout room is a meeting of its own). No meetings is an empty
// slice and no error.
func (c *Client) GetMeetings(ctx context.Context) ([]Meeting, error) {
	body, _, err := c.signedGet(ctx, "getMeetings", nil)
	if err != nil {
		return nil, err
	}
	ms, err := DecodeMeetings(body)
	return ms, c.annotate(err, "getMeetings")
}

// GetMeetingInfo returns one meeting; an unknown meetingID gives an
// *APIError for which IsNotFound is true.
func (c *Client) GetMeetingInfo(ctx context.Context, meetingID string) (*Meeting, error) {
	body, _, err := c.signedGet(ctx, "getMeetingInfo", url.Values{"meetingID": {meetingID}})
	if err != nil {
		return nil, err
	}
	m, err := DecodeMeetingInfo(body)
	return m, c.annotate(err, "getMeetingInfo")
}

// IsMeetingRunning asks whether a meeting runs. With any meetingID it is the
// cheapest call that proves the secret right: a wrong secret gives an error
// for which IsSecretRejected is true.
func (c *Client) IsMeetingRunning(ctx context.Context, meetingID string) (bool, error) {
	const call = "isMeetingRunning"
	body, _, err := c.signedGet(ctx, call, url.Values{"meetingID": {meetingID}})
	if err != nil {
		return false, err
	}
	r, err := decodeResponse(body)
	if err == nil {
		err = r.check()
	}
	if err == nil && !r.SawRunning {
		err = &MalformedXMLError{Err: errors.New("SUCCESS without <running>")}
	}
	if err != nil {
		return false, c.annotate(err, call)
	}
	return r.Top.Running, nil
}

// Root performs the unsigned root call GET BaseURL. It proves that bbb-web
// answers (not that the secret is right) and measures the latency.
func (c *Client) Root(ctx context.Context) (*RootInfo, error) {
	base, err := c.base()
	if err != nil {
		return nil, err
	}
	body, elapsed, err := c.get(ctx, "", base)
	if err != nil {
		return nil, err
	}
	r, err := decodeResponse(body)
	if err == nil {
		err = r.check()
	}
	if err != nil {
		return nil, c.annotate(err, "")
	}
	return &RootInfo{
		ReturnCode:          r.ReturnCode,
		Version:             r.Version,
		APIVersion:          r.APIVersion,
		BBBVersion:          r.BBBVersion,
		GraphQLWebsocketURL: r.GraphQLWebsocketURL,
		GraphQLAPIURL:       r.GraphQLAPIURL,
		Latency:             elapsed,
	}, nil
}

func (c *Client) signedGet(ctx context.Context, call string, params url.Values) ([]byte, time.Duration, error) {
	u, err := c.SignedURL(call, params)
	if err != nil {
		return nil, 0, err
	}
	return c.get(ctx, call, u)
}

// get fetches rawURL and returns the body of a 200 response that is not an
// HTML page, and the time taken until the body was read.
func (c *Client) get(ctx context.Context, call, rawURL string) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("%s%w", prefix(c.Server), err)
	}
	req.Header.Set("Accept", "text/xml, application/xml;q=0.9, */*;q=0.1")
	host := hostPort(req.URL)
	start := time.Now()
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, time.Since(start), c.timeoutLimit(ctx, classifyTransport(err, c.Server, call, host, time.Since(start)))
	}
	defer func() { _ = resp.Body.Close() }()

	if isRedirect(resp.StatusCode) {
		return nil, time.Since(start), redirectError(c.Server, call, resp)
	}
	limit := c.maxBody()
	if resp.StatusCode == http.StatusOK && resp.ContentLength > limit {
		return nil, time.Since(start), &BodyTooLargeError{Server: c.Server, Call: call, Limit: limit}
	}
	readLimit := limit
	if resp.StatusCode != http.StatusOK {
		readLimit = 64 << 10 // enough to tell an HTML error page
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, readLimit+1))
	elapsed := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return nil, elapsed, &HTTPStatusError{Server: c.Server, Call: call, StatusCode: resp.StatusCode,
			HTML: looksHTML(body, resp.Header.Get("Content-Type"))}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		of := ""
		if resp.ContentLength >= 0 {
			of = fmt.Sprintf(" of %d", resp.ContentLength)
		}
		return nil, elapsed, &MalformedXMLError{Server: c.Server, Call: call,
			Err: fmt.Errorf("connection closed after %d%s bytes (truncated body)", len(body), of)}
	}
	if err != nil {
		return nil, elapsed, c.timeoutLimit(ctx, classifyTransport(err, c.Server, call, host, elapsed))
	}
	if int64(len(body)) > limit {
		return nil, elapsed, &BodyTooLargeError{Server: c.Server, Call: call, Limit: limit}
	}
	if looksHTML(body, resp.Header.Get("Content-Type")) {
		return nil, elapsed, &HTMLPageError{Server: c.Server, Call: call}
	}
	return body, elapsed, nil
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// looksHTML tells an HTML page from XML by the first markup of the body,
// falling back to the Content-Type when the body does not say.
func looksHTML(body []byte, contentType string) bool {
	b := bytes.TrimPrefix(body, utf8BOM)
	for range 16 { // skip the XML declaration and comments, boundedly
		b = bytes.TrimLeft(b, " \t\r\n")
		switch {
		case hasPrefixFold(b, "<?xml"):
			i := bytes.Index(b, []byte("?>"))
			if i < 0 {
				return false
			}
			b = b[i+2:]
			continue
		case bytes.HasPrefix(b, []byte("<!--")):
			i := bytes.Index(b, []byte("-->"))
			if i < 0 {
				return false
			}
			b = b[i+3:]
			continue
		}
		break
	}
	switch {
	case hasPrefixFold(b, "<!doctype html"), hasPrefixFold(b, "<html"), hasPrefixFold(b, "<head"), hasPrefixFold(b, "<body"):
		return true
	case hasPrefixFold(b, "<response"):
		return false
	}
	return strings.Contains(strings.ToLower(contentType), "html")
}

func hasPrefixFold(b []byte, p string) bool {
	return len(b) >= len(p) && bytes.EqualFold(b[:len(p)], []byte(p))
}

// annotate fills in Server and Call of the package's error types.
func (c *Client) annotate(err error, call string) error {
	if err == nil {
		return nil
	}
	var (
		ae *APIError
		me *MalformedXMLError
	)
	switch {
	case errors.As(err, &ae):
		ae.Server, ae.Call, ae.Remedy = c.Server, call, c.SecretRemedy
	case errors.As(err, &me):
		me.Server, me.Call = c.Server, call
	}
	return err
}
