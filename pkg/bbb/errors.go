package bbb

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// The error types below carry Server (Client.Server, may be empty) and Call
// (the API call name, empty for the root call). Their Error() strings start
// with "Server: " when Server is set and are meant to be shown to an
// administrator as they are; Detail is the same message without the
// server's name in front (for callers that name the server themselves).
// Reason gives a short form for tables.

func prefix(server string) string {
	if server == "" {
		return ""
	}
	return server + ": "
}

// NoSecretError is a signed call asked of a client without a secret.
// Remedy is Client.SecretRemedy.
type NoSecretError struct{ Server, Remedy string }

func (e *NoSecretError) Error() string { return prefix(e.Server) + e.Detail() }

// Detail is the message without the server's name in front.
func (e *NoSecretError) Detail() string {
	if e.Remedy == "" {
		return "no API secret configured"
	}
	return "no API secret configured: " + e.Remedy
}

// ErrorDetail is one <error> of the multi-error form
// <errors><error><key/><message/></error></errors>.
type ErrorDetail struct {
	Key     string `json:"key"`
	Message string `json:"message"`
}

// APIError is a response with returncode FAILED.
type APIError struct {
	Server     string
	Call       string
	MessageKey string
	Message    string
	// Errors holds every entry of the multi-error form; MessageKey and
	// Message are then copied from the first entry when the response had
	// no top-level messageKey.
	Errors []ErrorDetail
	// Remedy is Client.SecretRemedy: said after a rejected secret.
	Remedy string
}

func (e *APIError) Error() string { return prefix(e.Server) + e.Detail() }

// Detail is the message without the server's name in front.
func (e *APIError) Detail() string {
	if e.secretRejected() {
		key := e.MessageKey
		if key == "" {
			key = e.Message
		}
		if e.Remedy != "" {
			return fmt.Sprintf("API rejected the secret (%s): %s", key, e.Remedy)
		}
		return fmt.Sprintf("API rejected the secret (%s): check it against \"bbb-conf --secret\" on the server", key)
	}
	var b strings.Builder
	if e.Call != "" {
		b.WriteString(e.Call)
		b.WriteString(" ")
	}
	b.WriteString("failed")
	details := e.Errors
	if len(details) == 0 {
		details = []ErrorDetail{{Key: e.MessageKey, Message: e.Message}}
	}
	for i, d := range details {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		switch {
		case d.Key != "" && d.Message != "":
			fmt.Fprintf(&b, "%s (%s)", d.Message, d.Key)
		case d.Key != "":
			b.WriteString(d.Key)
		case d.Message != "":
			b.WriteString(d.Message)
		default:
			b.WriteString("returncode FAILED without a message")
		}
	}
	return b.String()
}

var secretMessages = []string{
	"did not pass the checksum security check", // older BBB, Scalelite
	"checksums do not match",                   // 2.4+
}

func (e *APIError) secretRejected() bool {
	if e == nil {
		return false
	}
	all := append([]ErrorDetail{{Key: e.MessageKey, Message: e.Message}}, e.Errors...)
	for _, d := range all {
		if strings.EqualFold(d.Key, "checksumError") {
			return true
		}
		msg := strings.ToLower(d.Message)
		for _, s := range secretMessages {
			if strings.Contains(msg, s) {
				return true
			}
		}
	}
	return false
}

// IsSecretRejected reports whether err says the server refused the
// checksum: messageKey checksumError (2.4+, also for an algorithm the server
// disabled) or the older text "You did not pass the checksum security check".
func IsSecretRejected(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.secretRejected()
}

// IsNotFound reports whether err is an API error with messageKey notFound
// (getMeetingInfo or end for an unknown meeting).
func IsNotFound(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	if ae.MessageKey == "notFound" {
		return true
	}
	for _, d := range ae.Errors {
		if d.Key == "notFound" {
			return true
		}
	}
	return false
}

// HTTPStatusError is a response with a status other than 200.
type HTTPStatusError struct {
	Server     string
	Call       string
	StatusCode int
	// HTML is true when the body was an HTML page (typically nginx's own
	// error page).
	HTML bool
}

func (e *HTTPStatusError) Error() string { return prefix(e.Server) + e.Detail() }

// Detail is the message without the server's name in front.
func (e *HTTPStatusError) Detail() string {
	if e.StatusCode == http.StatusBadGateway && e.HTML {
		return "bbb-web is not answering (HTTP 502 from nginx)"
	}
	s := fmt.Sprintf("HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	switch {
	case e.StatusCode == http.StatusBadGateway, e.StatusCode == http.StatusServiceUnavailable, e.StatusCode == http.StatusGatewayTimeout:
		s += ": bbb-web is not answering behind the proxy"
	case e.StatusCode == http.StatusNotFound:
		s += ": no BBB API at this URL (is the API URL right?)"
	case e.StatusCode == http.StatusUnauthorized, e.StatusCode == http.StatusForbidden:
		s += ": the web server refused access to the API"
	}
	if e.HTML {
		s += " (HTML page)"
	}
	return s
}

// HTMLPageError is a 200 response whose body is an HTML page instead of BBB
// XML: a captive portal, a default vhost or a wrong API URL.
type HTMLPageError struct {
	Server string
	Call   string
}

func (e *HTMLPageError) Error() string { return prefix(e.Server) + e.Detail() }

// Detail is the message without the server's name in front.
func (e *HTMLPageError) Detail() string {
	return "expected BBB XML, got an HTML page: is the API URL right?"
}

// MalformedXMLError is a body that is not well-formed XML (often a truncated
// transfer) or not a BBB <response>.
type MalformedXMLError struct {
	Server string
	Call   string
	Err    error
}

func (e *MalformedXMLError) Error() string { return prefix(e.Server) + e.Detail() }

// Detail is the message without the server's name in front.
func (e *MalformedXMLError) Detail() string {
	return "truncated or malformed XML: " + e.Err.Error()
}

func (e *MalformedXMLError) Unwrap() error { return e.Err }

// RedirectError is a 3xx answer. The client never follows a redirect: the
// signed call would go (checksum and all, possibly over plain http) to
// whatever Location names, and that host's answer would be reported as this
// server's. The administrator fixes the API URL instead.
type RedirectError struct {
	Server     string
	Call       string
	StatusCode int
	// Location is where the server redirects to, resolved against the
	// request URL, without its query and fragment (which may repeat the
	// checksum); "" when the answer named none or an unparsable one.
	Location string
	// Suggested is the API URL the Location implies (Location without the
	// call name), "" when it cannot tell.
	Suggested string
}

func (e *RedirectError) Error() string { return prefix(e.Server) + e.Detail() }

// Detail is the message without the server's name in front.
func (e *RedirectError) Detail() string {
	if e.Location == "" {
		return fmt.Sprintf("HTTP %d %s without a usable Location: redirects are not followed; check the API URL", e.StatusCode, http.StatusText(e.StatusCode))
	}
	s := fmt.Sprintf("the API redirects (HTTP %d) to %s: redirects are not followed", e.StatusCode, e.Location)
	if e.Suggested != "" {
		return s + "; set api.url to " + e.Suggested + " if that is the server"
	}
	return s + "; check the API URL"
}

func isRedirect(code int) bool { return code >= 300 && code < 400 && code != http.StatusNotModified }

// redirectError describes a redirect answer without following it.
func redirectError(server, call string, resp *http.Response) *RedirectError {
	e := &RedirectError{Server: server, Call: call, StatusCode: resp.StatusCode}
	loc := resp.Header.Get("Location")
	if loc == "" || resp.Request == nil || resp.Request.URL == nil {
		return e
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return e
	}
	u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery, u.User = "", "", "", false, nil
	e.Location = u.String()
	if call == "" {
		if strings.HasSuffix(u.Path, "/") {
			e.Suggested = e.Location
		}
	} else if base, ok := strings.CutSuffix(u.Path, "/"+call); ok {
		u.Path, u.RawPath = base+"/", ""
		e.Suggested = u.String()
	}
	return e
}

// BodyTooLargeError is a body longer than Client.MaxBody.
type BodyTooLargeError struct {
	Server string
	Call   string
	Limit  int64
}

func (e *BodyTooLargeError) Error() string { return prefix(e.Server) + e.Detail() }

// Detail is the message without the server's name in front.
func (e *BodyTooLargeError) Detail() string {
	return fmt.Sprintf("response body larger than the %d-byte limit (raise MaxBody if the server really has that many meetings)", e.Limit)
}

// TransportKind classifies a TransportError.
type TransportKind int

// Transport error kinds.
const (
	TransportOther      TransportKind = iota // anything not classified below
	ConnRefused                              // nothing listens on the port (ECONNREFUSED)
	DNSFailure                               // the host name does not resolve
	TLSNameMismatch                          // x509.HostnameError
	TLSExpired                               // x509.CertificateInvalidError, Expired (or not yet valid)
	TLSUnknownAuthority                      // x509.UnknownAuthorityError
	TLSOther                                 // any other certificate or handshake failure
	Timeout                                  // context deadline or client timeout
	Canceled                                 // context canceled
)

// TransportError is a failure below HTTP: connecting, TLS, timeouts.
// It unwraps to the underlying error, so errors.As with x509.HostnameError,
// *net.OpError etc. still works.
type TransportError struct {
	Server string
	Call   string
	Kind   TransportKind
	// Host is the host:port that was dialled.
	Host string
	// Elapsed is the time from sending the request to the failure.
	Elapsed time.Duration
	Err     error
	// Limit names the limit a Timeout hit and its value ("api.timeout
	// 5s", or the caller's deadline as Client.DeadlineName names it and
	// the time that was left of it), when known.
	Limit string
}

func (e *TransportError) Unwrap() error { return e.Err }

func (e *TransportError) Error() string { return prefix(e.Server) + e.Detail() }

// Detail is the message without the server's name in front.
func (e *TransportError) Detail() string {
	switch e.Kind {
	case ConnRefused:
		return fmt.Sprintf("connection refused by %s: nothing listens there (nginx down, wrong port or firewall?)", e.Host)
	case DNSFailure:
		var de *net.DNSError
		if errors.As(e.Err, &de) {
			return fmt.Sprintf("cannot resolve %s: %s", de.Name, de.Err)
		}
		return fmt.Sprintf("cannot resolve %s", e.Host)
	case TLSNameMismatch:
		var he x509.HostnameError
		if errors.As(e.Err, &he) && he.Certificate != nil {
			names := he.Certificate.DNSNames
			for _, ip := range he.Certificate.IPAddresses {
				names = append(names, ip.String())
			}
			valid := "no names"
			if len(names) > 0 {
				valid = strings.Join(names, ", ")
			}
			return fmt.Sprintf("TLS certificate does not match %q: it is valid for %s", he.Host, valid)
		}
		return fmt.Sprintf("TLS certificate does not match the host name %s", e.Host)
	case TLSExpired:
		var ce x509.CertificateInvalidError
		if errors.As(e.Err, &ce) && ce.Cert != nil {
			if now := time.Now(); now.Before(ce.Cert.NotBefore) {
				return fmt.Sprintf("TLS certificate of %s is not valid before %s: check the clock", e.Host, ce.Cert.NotBefore.UTC().Format(time.RFC3339))
			}
			return fmt.Sprintf("TLS certificate of %s expired on %s: renew it", e.Host, ce.Cert.NotAfter.UTC().Format(time.RFC3339))
		}
		return fmt.Sprintf("TLS certificate of %s has expired: renew it", e.Host)
	case TLSUnknownAuthority:
		return fmt.Sprintf("TLS certificate of %s is signed by an unknown authority: for a private CA, configure its CA file", e.Host)
	case TLSOther:
		return fmt.Sprintf("TLS failure with %s: %s", e.Host, rootMessage(e.Err))
	case Timeout:
		limit := "timeout"
		if e.Limit != "" {
			limit = e.Limit
		}
		return fmt.Sprintf("no answer from %s within %s (%s)", e.Host, e.Elapsed.Round(time.Millisecond), limit)
	case Canceled:
		return fmt.Sprintf("request to %s canceled", e.Host)
	}
	return fmt.Sprintf("request to %s failed: %s", e.Host, rootMessage(e.Err))
}

// rootMessage strips the "Get \"URL\": " wrapper of *url.Error, so messages
// do not repeat the URL (and its checksum).
func rootMessage(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err.Error()
	}
	return err.Error()
}

// classifyTransport turns an error of http.Client.Do (or of reading the body)
// into a *TransportError.
func classifyTransport(err error, server, call, host string, elapsed time.Duration) *TransportError {
	te := &TransportError{Server: server, Call: call, Host: host, Elapsed: elapsed, Err: err, Kind: TransportOther}
	var (
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		unknownErr x509.UnknownAuthorityError
		dnsErr     *net.DNSError
		netErr     net.Error
	)
	switch {
	case errors.As(err, &hostErr):
		te.Kind = TLSNameMismatch
	case errors.As(err, &invalidErr) && invalidErr.Reason == x509.Expired:
		te.Kind = TLSExpired
	case errors.As(err, &unknownErr):
		te.Kind = TLSUnknownAuthority
	case errors.As(err, &invalidErr):
		te.Kind = TLSOther
	case errors.Is(err, syscall.ECONNREFUSED):
		te.Kind = ConnRefused
	case errors.As(err, &dnsErr) && !dnsErr.IsTimeout:
		te.Kind = DNSFailure
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		te.Kind = Timeout
	case errors.Is(err, context.Canceled):
		te.Kind = Canceled
	case isTLSError(err):
		te.Kind = TLSOther
	}
	return te
}

func isTLSError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "tls: ") || strings.Contains(s, "x509: ")
}

// Reason returns a short one-line reason for err, for status tables:
// "secret rejected", "bbb-web down (HTTP 502)", "TLS: certificate expired",
// ... It returns "" for a nil error.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var (
		ae *APIError
		he *HTTPStatusError
		hp *HTMLPageError
		re *RedirectError
		me *MalformedXMLError
		le *BodyTooLargeError
		te *TransportError
	)
	switch {
	case errors.As(err, &ae):
		if ae.secretRejected() {
			return "secret rejected"
		}
		key := ae.MessageKey
		if key == "" && len(ae.Errors) > 0 {
			key = ae.Errors[0].Key
		}
		if key == "" {
			return "API error"
		}
		return "API error: " + key
	case errors.As(err, &he):
		if he.StatusCode == http.StatusBadGateway && he.HTML {
			return "bbb-web down (HTTP 502)"
		}
		return fmt.Sprintf("HTTP %d %s", he.StatusCode, http.StatusText(he.StatusCode))
	case errors.As(err, &hp):
		return "HTML page, not BBB XML"
	case errors.As(err, &re):
		return fmt.Sprintf("redirect (HTTP %d), not followed", re.StatusCode)
	case errors.As(err, &me):
		return "malformed XML"
	case errors.As(err, &le):
		return "response too large"
	case errors.As(err, &te):
		switch te.Kind {
		case ConnRefused:
			return "connection refused"
		case DNSFailure:
			return "DNS lookup failed"
		case TLSNameMismatch:
			return "TLS: name mismatch"
		case TLSExpired:
			return "TLS: certificate expired"
		case TLSUnknownAuthority:
			return "TLS: unknown CA"
		case TLSOther:
			return "TLS error"
		case Timeout:
			return "timeout"
		case Canceled:
			return "canceled"
		}
		return shorten(rootMessage(te.Err), 60)
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return shorten(err.Error(), 60)
}

func shorten(s string, n int) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
