package fleet

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// CheckOptions tune Env.Check.
type CheckOptions struct {
	// Checks are the checks to run (see SelectChecks); nil means all.
	Checks []string
	// Thresholds default to the config's.
	Thresholds *CheckThresholds
	// Now is the clock (default time.Now).
	Now func() time.Time
	// IgnoreSchedule reports the servers as they are, without the
	// schedule's say on which of them should be down (see ApplySchedule).
	IgnoreSchedule bool
	// Fleet is every server of the fleet. When the version check runs on
	// only some of them, the releases of the others are read too (one
	// short SSH command each, under the same deadline) so that drift is
	// judged against the whole fleet, not only the targets.
	Fleet []Server
}

// secretProbeMeeting is the meetingID of the signed call that proves the
// secret; it need not exist.
const secretProbeMeeting = "bbbfleet-check"

// checkGrace is how long a server's checks may take past the deadline to
// report their own errors before they are given up.
const checkGrace = 300 * time.Millisecond

// Check runs the selected checks on every server in parallel and returns
// one ServerCheck per server, in the servers' order. Per server, the SSH
// checks share one connection and one remote command; the API checks and
// the certificate check run beside them. Each server's checks are bounded
// by Opts.Timeout: whatever has not answered by then is reported as such,
// and the rest of that server's results are kept. Version drift is judged
// across the servers at the end.
func (e *Env) Check(ctx context.Context, servers []Server, o CheckOptions) []*ServerCheck {
	if o.Checks == nil {
		o.Checks = CheckNames
	}
	th := e.Config.Check
	if o.Thresholds != nil {
		th = *o.Thresholds
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	cc := &checkCtx{env: e, checks: o.Checks, th: th, now: o.Now, pools: map[string]*poolEntry{}}
	// The runner's own deadline is a safety net only: checkServer keeps to
	// Opts.Timeout itself, so that a late check costs only its own result.
	opts := e.Opts
	if opts.Timeout > 0 {
		opts.Timeout += 2 * time.Second
	}
	// The scalelite check: one rake call for the fleet, beside the
	// servers' own checks; dropped when Scalelite is not configured.
	var sl *scaleliteCheck
	if slices.Contains(o.Checks, CheckScalelite) {
		if _, ok := e.Config.ScaleliteHost(); ok {
			sl = e.startScaleliteCheck(ctx, servers)
		} else {
			o.Checks = slices.DeleteFunc(slices.Clone(o.Checks), func(n string) bool { return n == CheckScalelite })
			cc.checks = o.Checks
		}
	}
	res := Run(ctx, servers, opts, func(ctx context.Context, s Server) (*ServerCheck, error) {
		return cc.server(ctx, s), nil
	})
	out := make([]*ServerCheck, len(res))
	for i, r := range res {
		sc := r.Value
		if sc == nil {
			why := "no result"
			if r.Err != nil {
				why = rowMessage(r.Err, r.Server.Name)
			}
			sc = &ServerCheck{Server: r.Server}
			for _, n := range o.Checks {
				if n != CheckScalelite {
					sc.Checks = append(sc.Checks, NotChecked(n, why))
				}
			}
		}
		sc.Duration = r.Duration
		if sl != nil {
			sc.Checks = append(sc.Checks, sl.result(r.Server))
		}
		sc.summarize()
		out[i] = sc
	}
	if slices.Contains(o.Checks, CheckVersion) {
		applyVersionDrift(out, e.otherReleases(ctx, servers, o.Fleet))
	}
	if !o.IgnoreSchedule {
		ApplySchedule(out, e.Config.Schedule, o.Now())
	}
	return out
}

// otherReleases reads the release of every server of fleet that is not
// in checked; servers that cannot be read are left out.
func (e *Env) otherReleases(ctx context.Context, checked, fleet []Server) []string {
	in := map[string]bool{}
	for _, s := range checked {
		in[s.Name] = true
	}
	var others []Server
	for _, s := range fleet {
		if !in[s.Name] {
			others = append(others, s)
		}
	}
	if len(others) == 0 {
		return nil
	}
	res := Run(ctx, others, e.Opts, func(ctx context.Context, s Server) (string, error) {
		r, err := e.Remote(ctx, s, ssh.Command{Argv: []string{"cat", "/etc/bigbluebutton/bigbluebutton-release"}})
		if err != nil {
			return "", err
		}
		return bbb.ParseRelease(string(r.Stdout))
	})
	var out []string
	for _, r := range res {
		if r.Err == nil && r.Value != "" {
			out = append(out, r.Value)
		}
	}
	return out
}

type checkCtx struct {
	env    *Env
	checks []string
	th     CheckThresholds
	now    func() time.Time

	mu    sync.Mutex
	pools map[string]*poolEntry
}

type poolEntry struct {
	once sync.Once
	pool *x509.CertPool
	err  error
}

// rowMessage is err's message in a row that names the server (and, for
// the ssh row, says "ssh"): an error that carries its server as a field
// (pkg/ssh, pkg/bbb, this package) is asked for its Reason; only an error
// that does not (a plain error from elsewhere) has its text trimmed.
func rowMessage(err error, name string) string {
	if _, ok := err.(interface{ Detail() string }); ok {
		return oneLine(Reason(err))
	}
	return trimServer(err.Error(), name)
}

// trimServer removes the "NAME: " and "ssh: " prefixes of an error message
// that does not carry its server as a field (see rowMessage).
func trimServer(msg, name string) string {
	msg = strings.TrimPrefix(msg, name+": ")
	msg = strings.TrimPrefix(msg, "ssh: ")
	return oneLine(msg)
}

// serverProbe collects one server's results as they arrive; the SSH part
// keeps the raw output so that a script cut off by the deadline still
// yields the sections it finished.
type serverProbe struct {
	mu      sync.Mutex
	results map[string]CheckResult

	sshStarted bool
	sshDone    bool // the dial finished (either way)
	sshErr     error
	sshResult  CheckResult
	scriptRun  bool // a remote command was started
	sent       time.Time
	firstByte  time.Time
	out        bytes.Buffer
	scriptDone bool
	scriptErr  error
}

const maxScriptOutput = 4 << 20

// Write receives the script's output as it arrives.
func (p *serverProbe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.firstByte.IsZero() && len(b) > 0 {
		p.firstByte = time.Now()
	}
	if room := maxScriptOutput - p.out.Len(); room > 0 {
		p.out.Write(b[:min(len(b), room)])
	}
	return len(b), nil
}

func (p *serverProbe) set(r CheckResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.results[r.Name] = r
}

func (cc *checkCtx) server(parent context.Context, s Server) *ServerCheck {
	ctx, cancel := parent, context.CancelFunc(func() {})
	timeout := cc.env.Opts.Timeout
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(parent, timeout)
	}
	defer cancel()
	p := &serverProbe{results: map[string]CheckResult{}}
	sel := map[string]bool{}
	anySSH := false
	for _, n := range cc.checks {
		sel[n] = true
		anySSH = anySSH || NeedsSSH(n)
	}
	var wg sync.WaitGroup
	if anySSH {
		wg.Go(func() { cc.runSSH(ctx, s, p) })
	}
	if sel[CheckAPI] || sel[CheckSecret] {
		wg.Go(func() { cc.runAPI(ctx, s, p, sel) })
	}
	if sel[CheckCertificate] {
		wg.Go(func() { p.set(cc.certificate(ctx, s)) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		t := time.NewTimer(checkGrace)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}

	late := "no answer"
	switch {
	case parent.Err() != nil:
		late = "interrupted"
	case timeout > 0:
		late = fmt.Sprintf("no answer within %s", timeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	sc := &ServerCheck{Server: s}
	var sshResults map[string]CheckResult
	if anySSH {
		sshResults = map[string]CheckResult{}
		rs, rel := cc.sshResults(s.Name, p, late)
		for _, r := range rs {
			sshResults[r.Name] = r
		}
		sc.Release = rel
		if p.sshStarted {
			sc.Connections = 1
		}
		if p.scriptRun {
			sc.RoundTrips = 1
		}
	}
	for _, n := range cc.checks {
		if n == CheckScalelite {
			continue // added for the fleet at the end (scaleliteCheck)
		}
		if r, ok := sshResults[n]; ok {
			sc.Checks = append(sc.Checks, r)
			continue
		}
		r, ok := p.results[n]
		if !ok {
			status := CheckCritical
			if parent.Err() != nil {
				status = CheckUnknown
			}
			r = CheckResult{Name: n, Status: status, Message: late}
			if n == CheckSecret {
				r = NotChecked(n, late)
			}
		}
		sc.Checks = append(sc.Checks, r)
	}
	return sc
}

// runSSH dials (once per run, through the Env) and runs the one script.
func (cc *checkCtx) runSSH(ctx context.Context, s Server, p *serverProbe) {
	p.mu.Lock()
	p.sshStarted = true
	p.mu.Unlock()
	start := time.Now()
	c, err := cc.env.SSH(ctx, s)
	ms := float64(time.Since(start).Microseconds()) / 1000
	p.mu.Lock()
	p.sshDone, p.sshErr = true, err
	if err == nil {
		p.sshResult = CheckResult{Name: CheckSSH, Message: fmt.Sprintf("logged in as %s at %s, host key verified", c.User(), c.Addr()),
			Value: val(round(ms, 1)), Unit: "ms"}
	}
	p.mu.Unlock()
	if err != nil {
		return
	}
	script := CheckScript(cc.checks)
	if script == "" {
		return
	}
	p.mu.Lock()
	p.scriptRun = true
	p.sent = time.Now()
	p.mu.Unlock()
	_, err = cc.env.Remote(ctx, s, ssh.Command{Script: script, Stdout: p})
	p.mu.Lock()
	p.scriptDone, p.scriptErr = true, err
	p.mu.Unlock()
}

// sshResults builds the ssh check and the SSH-based checks from what the
// probe holds (p.mu held).
func (cc *checkCtx) sshResults(name string, p *serverProbe, late string) ([]CheckResult, string) {
	var out []CheckResult
	sshRes := p.sshResult
	failed := false
	switch {
	case !p.sshDone:
		sshRes = CheckResult{Name: CheckSSH, Status: CheckCritical, Message: "no SSH login: " + late}
		failed = true
	case p.sshErr != nil:
		sshRes = CheckResult{Name: CheckSSH, Status: CheckCritical, Message: rowMessage(p.sshErr, name)}
		failed = true
	}
	if slices.Contains(cc.checks, CheckSSH) {
		out = append(out, sshRes)
	}
	if failed {
		why := "ssh failed"
		if !slices.Contains(cc.checks, CheckSSH) {
			why += ": " + sshRes.Message // the ssh check is not shown: say why here
		}
		for _, n := range cc.checks {
			if sshChecks[n] {
				out = append(out, NotChecked(n, why))
			}
		}
		return out, ""
	}
	incomplete := "the remote script did not finish: " + late
	switch {
	case p.scriptDone && (errors.Is(p.scriptErr, context.DeadlineExceeded) || errors.Is(p.scriptErr, context.Canceled)):
		// cut off by the deadline: keep "did not finish"
	case p.scriptDone && p.scriptErr != nil:
		msg := rowMessage(p.scriptErr, name)
		incomplete = "remote script failed: " + msg
		var xe *ssh.ExitError
		if p.out.Len() == 0 && !errors.As(p.scriptErr, &xe) && len(out) > 0 && out[0].Name == CheckSSH {
			// The login worked, but no command could run.
			out[0].Status = CheckCritical
			out[0].Message = "logged in, but cannot run commands: " + msg
		}
	case p.scriptDone:
		incomplete = "section missing from the remote script's output"
	}
	secs := ParseSections(p.out.String())
	rs, rel := EvalSections(cc.checks, secs, ClockReading{Sent: p.sent, Received: p.firstByte}, cc.th, incomplete)
	return append(out, rs...), rel
}

// runAPI runs the api check (unsigned root call, latency) and the secret
// check (a signed isMeetingRunning).
func (cc *checkCtx) runAPI(ctx context.Context, s Server, p *serverProbe, sel map[string]bool) {
	apiOK := true
	if sel[CheckAPI] {
		c, err := cc.env.APIUnsigned(s)
		if err != nil {
			p.set(CheckResult{Name: CheckAPI, Status: CheckUnknown, Message: rowMessage(err, s.Name)})
			apiOK = false
		} else {
			start := time.Now()
			info, err := c.Root(ctx)
			ms := float64(time.Since(start).Microseconds()) / 1000
			if err != nil {
				p.set(CheckResult{Name: CheckAPI, Status: CheckCritical, Message: apiMessage(err, s.Name)})
				apiOK = false
			} else {
				ms = float64(info.Latency.Microseconds()) / 1000
				msg := fmt.Sprintf("%s in %.0f ms", info.ReturnCode, ms)
				if info.APIVersion != "" {
					msg += ", API " + info.APIVersion
				}
				if info.BBBVersion != "" {
					msg += ", BBB " + info.BBBVersion
				}
				p.set(CheckResult{Name: CheckAPI, Message: msg, Value: val(round(ms, 1)), Unit: "ms"})
			}
		}
	}
	if !sel[CheckSecret] {
		return
	}
	if !apiOK {
		p.set(NotChecked(CheckSecret, "the API did not answer"))
		return
	}
	c, err := cc.env.API(s)
	if err != nil {
		var me *MissingSecretError
		if errors.As(err, &me) {
			c := NotChecked(CheckSecret, "no API secret")
			c.Fix = me.Fix()
			p.set(c)
		} else {
			p.set(CheckResult{Name: CheckSecret, Status: CheckUnknown, Message: rowMessage(err, s.Name)})
		}
		return
	}
	if _, err := c.IsMeetingRunning(ctx, secretProbeMeeting); err != nil {
		msg, fix := apiMessage(err, s.Name), Fix{}
		if bbb.IsSecretRejected(err) {
			why := bbb.Reason(err)
			var ae *bbb.APIError
			if errors.As(err, &ae) && ae.MessageKey != "" {
				why = ae.MessageKey
			}
			msg, fix = fmt.Sprintf("rejected by the server (%s)", why), Fix{Kind: FixFetchSecret, Server: s.Name}
			// Find out why: another checksum algorithm, or an
			// environment variable overriding a good secret.
			if d, derr := cc.env.DiagnoseRejectedSecret(ctx, s, c.Secret); derr == nil {
				msg, fix = fmt.Sprintf("rejected by the server (%s): %s", why, d.Advice), d.Fix
			}
		}
		p.set(CheckResult{Name: CheckSecret, Status: CheckCritical, Message: msg, Fix: fix})
		return
	}
	algo := s.API.Checksum
	if algo == "" {
		algo = DefaultChecksum
	}
	p.set(CheckResult{Name: CheckSecret, Message: "signed call accepted (" + algo + ")"})
}

func apiMessage(err error, name string) string {
	return rowMessage(err, name)
}

// certificate reads the certificate of the API host from a TLS handshake
// (no HTTP request, no SSH) and judges it. An http:// API URL has no
// certificate: the check is OK with the message "http, no certificate".
func (cc *checkCtx) certificate(ctx context.Context, s Server) CheckResult {
	u, err := url.Parse(s.API.URL)
	if err != nil || u.Host == "" {
		return CheckResult{Name: CheckCertificate, Status: CheckUnknown, Message: fmt.Sprintf("API URL %q is not a URL", s.API.URL)}
	}
	if u.Scheme == "http" {
		return CheckResult{Name: CheckCertificate, Message: "http, no certificate"}
	}
	pool, err := cc.pool(s.API.CAFile)
	if err != nil {
		return CheckResult{Name: CheckCertificate, Status: CheckUnknown, Message: err.Error()}
	}
	ci, err := FetchCertificate(ctx, u, pool, s.API.Timeout.D(), cc.now())
	if err != nil {
		return CheckResult{Name: CheckCertificate, Status: CheckCritical, Message: err.Error()}
	}
	return EvalCertificate(*ci, cc.now(), cc.th)
}

func (cc *checkCtx) pool(caFile string) (*x509.CertPool, error) {
	cc.mu.Lock()
	pe, ok := cc.pools[caFile]
	if !ok {
		pe = &poolEntry{}
		cc.pools[caFile] = pe
	}
	cc.mu.Unlock()
	pe.once.Do(func() { pe.pool, pe.err = CertPool(caFile) })
	return pe.pool, pe.err
}

// CertPool is the system roots plus the PEM certificates of caFile.
func CertPool(caFile string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile == "" {
		return pool, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading api.ca_file: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("api.ca_file %s holds no PEM certificate", caFile)
	}
	return pool, nil
}

// FetchCertificate performs a TLS handshake with the host of u (port 443
// unless given) and returns the presented certificate with the result of
// verifying it for the host at now. Verification happens after the
// handshake, so an expired or misnamed certificate is still read.
func FetchCertificate(ctx context.Context, u *url.URL, roots *x509.CertPool, timeout time.Duration, now time.Time) (*CertInfo, error) {
	host := u.Hostname()
	port := u.Port()
	if port == "" {
		port = "443"
	}
	if timeout <= 0 {
		timeout = DefaultAPITimeout
	}
	addr := net.JoinHostPort(host, port)
	d := tls.Dialer{
		NetDialer: &net.Dialer{Timeout: timeout},
		Config: &tls.Config{
			ServerName: host,
			// Verified below against roots, after reading the certificate.
			InsecureSkipVerify: true, //nolint:gosec
			MinVersion:         tls.VersionTLS12,
		},
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := d.DialContext(hctx, "tcp", addr)
	if err != nil {
		switch {
		case hctx.Err() != nil:
			return nil, fmt.Errorf("TLS handshake with %s: no answer within %s", addr, timeout)
		default:
			var ne *net.OpError
			msg := err.Error()
			if errors.As(err, &ne) && ne.Err != nil {
				msg = ne.Err.Error()
			}
			return nil, fmt.Errorf("TLS handshake with %s failed: %s", addr, msg)
		}
	}
	defer conn.Close()
	state := conn.(*tls.Conn).ConnectionState()
	if len(state.PeerCertificates) == 0 {
		return &CertInfo{Host: host}, nil
	}
	leaf := state.PeerCertificates[0]
	inter := x509.NewCertPool()
	notAfter := leaf.NotAfter
	for _, c := range state.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	chains, verr := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: host, CurrentTime: now})
	if verr == nil && len(chains) > 0 {
		// The earliest expiry of the chain below the root.
		ch := chains[0]
		for _, c := range ch[:max(len(ch)-1, 1)] {
			if c.NotAfter.Before(notAfter) {
				notAfter = c.NotAfter
			}
		}
	}
	return &CertInfo{Host: host, Leaf: leaf, NotAfter: notAfter, VerifyErr: verr}, nil
}
