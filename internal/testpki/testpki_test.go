package testpki_test

import (
	"crypto/x509"
	"net"
	"os"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/testpki"
)

func TestIssueVerifiesAgainstFile(t *testing.T) {
	now := time.Now()
	ca := testpki.NewCA(t, "test CA", now.Add(-time.Hour), now.Add(time.Hour))
	pemBytes, err := os.ReadFile(ca.File(t))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemBytes) {
		t.Fatal("CA file holds no certificate")
	}
	cert := ca.Issue(t, []string{"bbb.example.org"}, []net.IP{net.IPv4(127, 0, 0, 1)}, now.Add(-time.Minute), now.Add(time.Minute))
	if len(cert.Certificate) != 1 {
		t.Fatalf("chain of %d, want the leaf alone", len(cert.Certificate))
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bbb.example.org", "127.0.0.1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "other.example.org"}); err == nil {
		t.Error("verified for a name it does not carry")
	}
	other := testpki.NewCA(t, "other CA", now.Add(-time.Hour), now.Add(time.Hour))
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: x509.NewCertPool(), DNSName: "bbb.example.org"}); err == nil {
		t.Error("verified without roots")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: poolOf(other.Cert), DNSName: "bbb.example.org"}); err == nil {
		t.Error("verified against another CA")
	}
	if full := ca.WithCA(cert); len(full.Certificate) != 2 || len(cert.Certificate) != 1 || string(full.Certificate[1]) != string(ca.Cert.Raw) {
		t.Errorf("WithCA: chain %d (original %d)", len(full.Certificate), len(cert.Certificate))
	}
	if cfg := ca.ServerConfig(t, nil, []net.IP{net.IPv4(127, 0, 0, 1)}, now, now.Add(time.Minute)); len(cfg.Certificates) != 1 {
		t.Errorf("ServerConfig: %d certificates", len(cfg.Certificates))
	}
}

func poolOf(c *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}
