package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bbbfleet/bbbfleet/internal/flock"
)

// SecretEnv is the environment variable that overrides a server's secret:
// BBBFLEET_SECRET_ + the name upper-cased with '-' and '.' as '_'.
func SecretEnv(name string) string {
	r := strings.NewReplacer("-", "_", ".", "_")
	return "BBBFLEET_SECRET_" + strings.ToUpper(r.Replace(name))
}

// Secrets maps server names to API secrets. It is never printed or logged.
type Secrets struct {
	Path   string
	values map[string]string
}

// LoadSecrets reads the secrets file. A missing file is an empty set; a file
// that group or others may read is refused, and so is one owned by another
// user than the current one or root (an *UntrustedFileError).
func LoadSecrets(path string) (*Secrets, error) {
	s := &Secrets{Path: path, values: map[string]string{}}
	if err := checkLink("secrets file", path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if errors.Is(err, os.ErrPermission) {
		return nil, &ConfigError{File: path, Msg: fmt.Sprintf("cannot read the secrets file: %v (run bbbfleet as the user that owns it)", errors.Unwrap(err))}
	}
	if err != nil {
		return nil, &ConfigError{File: path, Msg: err.Error()}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &ConfigError{File: path, Msg: err.Error()}
	}
	if !fi.Mode().IsRegular() {
		return nil, &ConfigError{File: path, Msg: "the secrets file is not a regular file", Final: true}
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, &ConfigError{File: path, Msg: fmt.Sprintf("secrets file has mode %04o: group or others can read it; run `chmod 600 %s`", fi.Mode().Perm(), path), Final: true}
	}
	if err := checkTrusted("secrets file", path, fi); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, &ConfigError{File: path, Msg: fmt.Sprintf("cannot read the secrets file: %v (run bbbfleet as the user that owns it)", errors.Unwrap(err)), Final: true}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return s, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s.values); err != nil && !errors.Is(err, io.EOF) { // EOF: comments only
		return nil, yamlErrors(path, err)
	}
	if s.values == nil { // "null" or comments only
		s.values = map[string]string{}
	}
	return s, nil
}

// Get returns the secret of a server: its environment variable first, then
// the file.
func (s *Secrets) Get(name string) (string, bool) {
	if v, ok := os.LookupEnv(SecretEnv(name)); ok && v != "" {
		return v, true
	}
	v, ok := s.values[name]
	return v, ok && v != ""
}

// FromFile returns the secret stored in the file, ignoring the environment.
func (s *Secrets) FromFile(name string) string { return s.values[name] }

// Set changes a secret in memory; Save writes it.
func (s *Secrets) Set(name, secret string) { s.values[name] = secret }

// Update changes the secrets file under a lock: it re-reads the file (so
// entries another run wrote meanwhile are kept), applies fn to it, and
// saves it. s gets the same changes in memory.
func (s *Secrets) Update(fn func(*Secrets)) error {
	unlock, err := lockDir(filepath.Dir(s.target()))
	if err != nil {
		return err
	}
	defer unlock()
	fresh, err := LoadSecrets(s.Path)
	if err != nil {
		return err
	}
	fn(fresh)
	fn(s)
	return fresh.Save()
}

// target is the file Save replaces: the file a symlink points to, so that
// the link stays a link.
func (s *Secrets) target() string {
	if t, err := filepath.EvalSymlinks(s.Path); err == nil {
		return t
	}
	return s.Path
}

// Save writes the secrets file atomically with mode 0600.
func (s *Secrets) Save() error {
	names := make([]string, 0, len(s.values))
	for n := range s.values {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString("# bbbfleet API secrets, written by `bbbfleet secret fetch`. Keep this file mode 0600.\n")
	for _, n := range names {
		v, _ := yaml.Marshal(map[string]string{n: s.values[n]})
		b.Write(v)
	}
	path := s.target()
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".secrets-*.yaml")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// The rename itself is durable only once the directory is synced.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// lockDir takes an exclusive advisory lock on the directory of the secrets
// file itself: no lock file is left beside the secrets (the file is
// replaced by a rename, so the lock cannot be on the file).
func lockDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	if err := flock.LockTimeout(d, true, time.Minute); err != nil {
		d.Close()
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return func() { flock.Unlock(d); d.Close() }, nil
}
