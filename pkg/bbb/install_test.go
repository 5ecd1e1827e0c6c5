package bbb

import (
	"os/exec"
	"strings"
	"testing"
)

func TestInstallStartScriptQuotesAndDetaches(t *testing.T) {
	s := InstallStartScript("bbbfleet-install-bbb1", Series["jammy-300"].ScriptURL, InstallArgs("jammy-300", "bbb1.example.org", "a@b.org", []string{"-w"}), "/var/log/bbbfleet/install-X.log")
	for _, w := range []string{
		"systemd-run --unit=bbbfleet-install-bbb1 -p User=root -E HOME=/root /bin/bash -c 'set -o pipefail; wget -qO- https://raw.githubusercontent.com/bigbluebutton/bbb-install/v3.0.x-release/bbb-install.sh | bash -s -- -v jammy-300 -s bbb1.example.org -e a@b.org -w >> /var/log/bbbfleet/install-X.log 2>&1; echo \"bbbfleet-install-exit: $?\" >> /var/log/bbbfleet/install-X.log'",
		"setsid nohup /bin/bash -c",
		"echo $$ > /var/lib/bbbfleet/install.pid",
	} {
		if !strings.Contains(s, w) {
			t.Errorf("start script lacks %q:\n%s", w, s)
		}
	}
	if strings.Contains(s, "--collect") {
		t.Error("--collect would drop the unit's result after a disconnect")
	}
}

func TestParseInstallStatus(t *testing.T) {
	out := isCurMark + "\nunit bbbfleet-install-bbb1 /var/log/bbbfleet/install-20260101T000000Z.log\n" + isRunMark +
		"\nActiveState=failed\nResult=exit-code\nExecMainStatus=1\nMainPID=0\n" + isEndMark + "\nbbbfleet-install-exit: 1\n"
	st := ParseInstallStatus(out)
	if !st.Known || st.Running || !st.Ended || st.ExitStatus != 1 || st.Unit != "bbbfleet-install-bbb1" || st.UnitResult != "exit-code" {
		t.Errorf("%+v", st)
	}
	// A log path outside /var/log/bbbfleet, or not of bbbfleet's making, is not believed.
	for _, cur := range []string{"unit bbbfleet-install-bbb1 /etc/shadow", "unit bbbfleet-install-bbb1 /var/log/bbbfleet/../../etc/shadow",
		"unit x /var/log/bbbfleet/install-20260101T000000Z.log", "unit bbbfleet-install-bbb1 /var/log/bbbfleet/install-20260101T000000Z.log;x"} {
		if st := ParseInstallStatus(isCurMark + "\n" + cur + "\n" + isRunMark + "\n" + isEndMark + "\n"); st.Known {
			t.Errorf("%q believed: %+v", cur, st)
		}
	}
	if st := ParseInstallStatus(isCurMark + "\n" + isRunMark + "\n" + isEndMark + "\nsome output\n"); st.Known || st.Ended {
		t.Errorf("%+v", st)
	}
}

func TestInstallPhaseAndErrorLine(t *testing.T) {
	for l, want := range map[string]string{
		"Get:2 https://ubuntu.bigbluebutton.org/jammy-300 bigbluebutton-jammy InRelease": PhasePackages,
		"Setting up bbb-web (1:3.0.19-1) ...":                                            PhasePackages,
		"Saving debug log to /var/log/letsencrypt/letsencrypt.log":                       PhaseCertificates,
		"Restarting BigBlueButton ..":                                                    PhaseRestart,
		"Assigning bbb1.example.org for web hostname":                                    PhaseRestart,
		"BigBlueButton Server 3.0.19 (1100)":                                             PhaseCheck,
		"# Potential problems described below":                                           PhaseCheck,
		"something else":                                                                 "",
	} {
		if got := InstallPhase(l); got != want {
			t.Errorf("%q: %q, want %q", l, got, want)
		}
	}
	if e := InstallerError([]string{"bbb-install: first", "x", "bbb-install: Let's Encrypt failed", "y"}); e != "bbb-install: Let's Encrypt failed" {
		t.Errorf("%q", e)
	}
	if p, ok := CheckProblems("x\n# Potential problems described below\n\n"); !ok || len(p) != 0 {
		t.Errorf("%v %v", p, ok)
	}
	if p, _ := CheckProblems("# Potential problems described below\n# Not running:  freeswitch\n"); len(p) != 1 {
		t.Errorf("%v", p)
	}
}

func TestParsePreflightOddInput(t *testing.T) {
	f := ParsePreflight("garbage\n" + pfMark + "mem\nMemTotal: lots kB\n" + pfMark + "ports\nLISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:((\"apache2\",pid=1,fd=3))\nLISTEN 0 511 [::]:8080 [::]:*\n" + pfMark + "url\nno status\n")
	if f.Complete || f.MemKB != 0 || len(f.Ports) != 1 || f.Ports[0].Process != "apache2" || f.URLStatus != -1 {
		t.Errorf("%+v", f)
	}
}

func FuzzParsePreflight(f *testing.F) {
	f.Add(pfMark + "os\nID=ubuntu\nVERSION_ID=\"22.04\"\n" + pfMark + "end\n")
	f.Fuzz(func(t *testing.T, s string) {
		ParsePreflight(s)
		ParseInstallStatus(s)
		InstallerError(strings.Split(s, "\n"))
		CheckProblems(s)
	})
}

// The scripts parse in the shells of a real server (dash as sh, bash for
// the wrapper), not only in the simulator's interpreter.
func TestInstallScriptsParseInRealShells(t *testing.T) {
	w := InstallWrapper(Series["jammy-300"].ScriptURL, InstallArgs("jammy-300", "h.example.org", "a@b.org", []string{"-w"}), "/var/log/bbbfleet/install-20260101T000000Z.log")
	for _, tc := range []struct{ shell, script string }{
		{"sh", InstallStartScript("bbbfleet-install-bbb1", Series["jammy-300"].ScriptURL, InstallArgs("jammy-300", "h.example.org", "a@b.org", []string{"-p", "proxy:3142"}), "/var/log/bbbfleet/install-20260101T000000Z.log")},
		{"sh", InstallStatusScript},
		{"sh", PreflightScript},
		{"sh", InstallFollowScript("/var/log/bbbfleet/install-20260101T000000Z.log", 10, 42)},
		{"bash", w},
	} {
		p, err := exec.LookPath(tc.shell)
		if err != nil {
			t.Skipf("%s: %v", tc.shell, err)
		}
		if out, err := exec.Command(p, "-n", "-c", tc.script).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s\n%s", tc.shell, err, out, tc.script)
		}
	}
}

// The preflight script on this (real) machine gives facts the parser reads.
func TestPreflightScriptOnThisMachine(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(sh, "-c", PreflightScript)
	cmd.Stdin = strings.NewReader("localhost\nhttp://127.0.0.1:9/bbb-install.sh\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	f := ParsePreflight(string(out))
	if !f.Complete || f.Arch == "" || f.MemKB == 0 || f.Cores == 0 || !f.DiskKnown || f.OSID == "" || f.URLStatus <= 0 || f.Sudo == "" {
		t.Errorf("%+v\n%s", f, out)
	}
}
