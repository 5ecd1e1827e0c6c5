package fleet

import (
	"strings"
	"testing"
	"time"
)

// FuzzCheckSections feeds arbitrary remote output to the section parser
// and every evaluator: nothing may panic, every selected SSH check gets
// exactly one result with a valid status and a one-line message.
func FuzzCheckSections(f *testing.F) {
	f.Add("@@bbbfleet:begin clock\n1767600000.1\n@@bbbfleet:end clock 0\n" +
		"@@bbbfleet:begin df\nFilesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 100 50 50 50% /\n\n@@bbbfleet:end df 0\n" +
		"@@bbbfleet:begin status\nnginx ——► [✔ - active]\nbbb-web  [✘ - failed]\n@@bbbfleet:end status 0\n")
	f.Add("@@bbbfleet:begin meminfo\nMemTotal: 99999999999999999999 kB\nMemAvailable: -1 kB\n@@bbbfleet:end meminfo 0")
	f.Add("@@bbbfleet:begin loadavg\nNaN Inf -1\n@@bbbfleet:end loadavg 0\n@@bbbfleet:begin nproc\n0\n@@bbbfleet:end nproc 999")
	f.Add("@@bbbfleet:begin release\nBIGBLUEBUTTON_RELEASE=\n@@bbbfleet:end release\n@@bbbfleet:begin\n@@bbbfleet:end ")
	f.Add("@@bbbfleet:begin recordings\n/var/bigbluebutton/recording/status/x.fail\r\nfind: boom\n@@bbbfleet:end recordings 1\n")
	f.Add("\x00\xff@@bbbfleet:begin clock\n1.N\n@@bbbfleet:begin clock\n")
	f.Fuzz(func(t *testing.T, out string) {
		secs := ParseSections(out)
		for name, s := range secs {
			if s.Done && (s.Exit < -1 || s.Exit > 255) {
				t.Fatalf("section %q exit %d", name, s.Exit)
			}
		}
		now := time.Unix(1767600000, 0)
		rs, _ := EvalSections(CheckNames, secs, ClockReading{Sent: now, Received: now.Add(time.Millisecond)}, DefaultCheckThresholds, "cut off")
		if len(rs) != len(sshChecks) {
			t.Fatalf("%d results for %d checks", len(rs), len(sshChecks))
		}
		for _, r := range rs {
			if r.Status < CheckOK || r.Status > CheckUnknown {
				t.Fatalf("%s: status %d", r.Name, r.Status)
			}
			if strings.Contains(r.Message, "\n") {
				t.Fatalf("%s: multi-line message %q", r.Name, r.Message)
			}
		}
		ParseDf(out)
		ParseMeminfo(out)
		ParseLoadavg(out)
		ParseFails(out)
		ParseEpoch(out)
	})
}
