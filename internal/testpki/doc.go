// Package testpki is a private certificate authority for tests: it signs
// server certificates for loopback TLS listeners (BBB API stand-ins) and
// writes its certificate as a PEM file for api.ca_file.
//
// It is for tests only: the product must not import it. Its keys are
// generated per test and never leave the test's temporary directories.
package testpki
