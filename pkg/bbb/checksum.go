package bbb

import (
	"crypto/sha1" //nolint:gosec // BBB still accepts (and older servers require) SHA-1 checksums.
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// DefaultAlgorithm is the checksum algorithm used when Client.Algorithm is
// empty. Every BBB since 2.2 accepts it.
const DefaultAlgorithm = "sha256"

// Algorithms lists the checksum algorithms BBB understands, in the order of
// their hex lengths (40, 64, 96, 128). The server picks the algorithm by the
// length of the checksum it receives.
var Algorithms = []string{"sha1", "sha256", "sha384", "sha512"}

func newHash(algo string) (hash.Hash, bool) {
	switch strings.ToLower(algo) {
	case "sha1":
		return sha1.New(), true //nolint:gosec
	case "sha256":
		return sha256.New(), true
	case "sha384":
		return sha512.New384(), true
	case "sha512":
		return sha512.New(), true
	}
	return nil, false
}

// ValidAlgorithm reports whether s names a checksum algorithm BBB accepts:
// sha1, sha256, sha384 or sha512 (case-insensitive).
func ValidAlgorithm(s string) bool {
	_, ok := newHash(s)
	return ok
}

// Checksum returns the lowercase hex digest H(call + query + secret), the
// checksum BBB expects for an API call. query is the exact query string sent
// (without the checksum parameter and without a leading '?'); for a call
// without parameters it is empty. algo is one of sha1, sha256, sha384,
// sha512.
func Checksum(algo, call, query, secret string) (string, error) {
	h, ok := newHash(algo)
	if !ok {
		return "", fmt.Errorf("unknown checksum algorithm %q (want one of %s)", algo, strings.Join(Algorithms, ", "))
	}
	h.Write([]byte(call))
	h.Write([]byte(query))
	h.Write([]byte(secret))
	return hex.EncodeToString(h.Sum(nil)), nil
}
