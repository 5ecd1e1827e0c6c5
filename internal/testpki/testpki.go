package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// LeafName is the subject common name of the certificates a CA issues.
// Host name checks use their DNS and IP names only.
const LeafName = "bbbfleet test server"

// CA is a self-signed certificate authority with an ECDSA P-256 key.
type CA struct {
	// Cert is the CA's certificate; PEM is the same, PEM-encoded.
	Cert *x509.Certificate
	PEM  []byte
	key  *ecdsa.PrivateKey
}

// NewCA makes a CA whose certificate has the common name name and is
// valid from notBefore to notAfter.
func NewCA(t testing.TB, name string, notBefore, notAfter time.Time) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: cert, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: key}
}

// Issue signs a server certificate (ECDSA P-256, server auth) for
// dnsNames and ips, valid from notBefore to notAfter. Its chain is the
// leaf alone; WithCA appends the CA's certificate.
func (ca *CA) Issue(t testing.TB, dnsNames []string, ips []net.IP, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: LeafName},
		DNSNames:     dnsNames,
		IPAddresses:  ips,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// WithCA returns cert with the CA's certificate appended to its chain, as
// a server that sends its whole chain presents it.
func (ca *CA) WithCA(cert tls.Certificate) tls.Certificate {
	cert.Certificate = append(cert.Certificate[:len(cert.Certificate):len(cert.Certificate)], ca.Cert.Raw)
	return cert
}

// ServerConfig is a TLS server config (TLS 1.2 or later) presenting a
// certificate Issue signs for dnsNames and ips, valid from notBefore to
// notAfter.
func (ca *CA) ServerConfig(t testing.TB, dnsNames []string, ips []net.IP, notBefore, notAfter time.Time) *tls.Config {
	t.Helper()
	return &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, dnsNames, ips, notBefore, notAfter)}, MinVersion: tls.VersionTLS12}
}

// File writes the CA's certificate to a PEM file in a new temporary
// directory of t and returns its path: the value of api.ca_file.
func (ca *CA) File(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
