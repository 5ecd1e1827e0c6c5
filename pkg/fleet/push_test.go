package fleet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseFileState(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	st, err := parseFileState("file " + sum + " 644 0 33 root www-data\n")
	if err != nil || st == nil || st.SHA256 != sum || st.Mode != 0o644 || st.UID != 0 || st.GID != 33 || st.User != "root" || st.Group != "www-data" {
		t.Fatalf("%+v %v", st, err)
	}
	if st, err := parseFileState("missing\n"); st != nil || err != nil {
		t.Errorf("missing: %+v %v", st, err)
	}
	for _, bad := range []string{"", "file", "file xyz 644 0 0 root root", "file " + sum + " 999 0 0 a b",
		"file " + sum + " 644 x 0 a b", "file " + sum + " 644 0 0 a", "file " + sum + " 77777 0 0 a b", "\x1b[2J"} {
		if _, err := parseFileState(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseFileState(f *testing.F) {
	f.Add("file " + strings.Repeat("0", 64) + " 644 0 0 root root")
	f.Add("missing")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := parseFileState(s)
		if err == nil && st != nil && (len(st.SHA256) != 64 || st.Mode < 0 || st.Mode > 0o7777) {
			t.Errorf("%q gave %+v", s, st)
		}
	})
}

func TestPushChanges(t *testing.T) {
	before := &FileState{SHA256: "a", Mode: 0o644, UID: 0, GID: 0, User: "root", Group: "root"}
	for _, tc := range []struct {
		spec PushSpec
		want string
	}{
		{PushSpec{SHA256: "a", Mode: -1}, ""},
		{PushSpec{SHA256: "b", Mode: -1}, "content"},
		{PushSpec{SHA256: "a", Mode: 0o600}, "mode"},
		{PushSpec{SHA256: "a", Mode: 0o644, Owner: "root"}, ""},
		{PushSpec{SHA256: "a", Mode: -1, Owner: "0:0"}, ""},
		{PushSpec{SHA256: "a", Mode: -1, Owner: "root:www-data"}, "owner"},
		{PushSpec{SHA256: "b", Mode: 0o640, Owner: "bbb"}, "content,mode,owner"},
	} {
		if got := strings.Join(pushChanges(before, tc.spec), ","); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.spec, got, tc.want)
		}
	}
	if got := pushChanges(nil, PushSpec{Mode: -1}); len(got) != 1 || got[0] != "created" {
		t.Errorf("missing file: %v", got)
	}
}

func TestPushArguments(t *testing.T) {
	for _, ok := range []string{"/etc/x.conf", "/a b/c"} {
		if err := CheckRemotePath(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"x", "./x", "/etc/", "/", "/etc/../x", "/etc/x\n", ""} {
		if err := CheckRemotePath(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, ok := range []string{"root", "root:root", "bbb-admin:www-data", "1000:1000", "svc$"} {
		if err := CheckOwner(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ":", "root:", "Root", "a b", "root;id", "$(id)", "-x"} {
		if err := CheckOwner(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for s, want := range map[string]int{"0644": 0o644, "755": 0o755, "4755": 0o4755} {
		if m, err := ParseMode(s); err != nil || m != want {
			t.Errorf("%q: %o %v", s, m, err)
		}
	}
	for _, bad := range []string{"", "9", "0o644", "17777", "-1", "rw"} {
		if _, err := ParseMode(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	os.WriteFile(f, []byte("hello\n"), 0o644)
	if n, sum, err := PrepareLocal(f); err != nil || n != 6 || sum != "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03" {
		t.Errorf("PrepareLocal: %d %s %v", n, sum, err)
	}
	if _, _, err := PrepareLocal(dir); err == nil || !strings.Contains(err.Error(), "a directory") {
		t.Errorf("directory: %v", err)
	}
}
