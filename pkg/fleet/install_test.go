package fleet

import (
	"strings"
	"testing"
)

func TestLineSinkKeepsPartialLinesAcrossReconnects(t *testing.T) {
	var got []string
	w := &lineSink{line: func(l string) { got = append(got, l) }}
	w.Write([]byte("Setting up a\r\nSetting u"))
	// The connection drops here; the next follow starts at byte w.n.
	if w.n != int64(len("Setting up a\r\nSetting u")) {
		t.Fatalf("offset %d", w.n)
	}
	w.Write([]byte("p b\n"))
	w.Write([]byte(strings.Repeat("x", maxLine+10) + "\n"))
	if len(got) != 4 || got[0] != "Setting up a" || got[1] != "Setting up b" || len(got[2]) != maxLine || len(got[3]) != 10 {
		t.Errorf("%d lines: %q %q", len(got), got[0], got[1])
	}
}

func TestInstallFailedErrorNamesTheInstallersLine(t *testing.T) {
	e := &InstallFailedError{Status: 1, ErrorLine: "bbb-install: You must run this command as root.", Last: []string{"x"}, Log: "/var/log/bbbfleet/install-1.log"}
	if !strings.Contains(e.Error(), "status 1: bbb-install: You must run this command as root. (log: /var/log/bbbfleet/install-1.log on the server)") {
		t.Error(e.Error())
	}
	e = &InstallFailedError{Status: 100, Last: []string{"E: You don't have enough free space in /var/cache/apt/archives/."}, Log: "L"}
	if !strings.Contains(e.Error(), "status 100: E: You don't have enough free space") {
		t.Error(e.Error())
	}
	e = &InstallFailedError{Interrupted: true, Log: "L"}
	if !strings.HasPrefix(e.Error(), "interrupted: ") {
		t.Error(e.Error())
	}
}
