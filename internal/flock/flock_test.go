package flock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTryLockAndWait(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	a, err := Open(p, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(p, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := TryLock(a, true); err != nil {
		t.Fatal(err)
	}
	if err := TryLock(b, true); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("second TryLock = %v, want ErrWouldBlock", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := Lock(ctx, b, true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock while held = %v, want deadline", err)
	}
	released := make(chan struct{})
	go func() { time.Sleep(30 * time.Millisecond); Unlock(a); close(released) }()
	if err := LockTimeout(b, true, 5*time.Second); err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	<-released // before the deferred a.Close
}

func TestOpenDoesNotFollowSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "victim")
	link := filepath.Join(dir, "x.lock")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if f, err := Open(link, 0o600); err == nil {
		f.Close()
		t.Fatal("Open followed a symlink")
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the link's target was created: %v", err)
	}
}
