package fleet

import (
	"strings"
	"testing"
)

func TestInstallConfigDefaultsAndMerge(t *testing.T) {
	cfg, err := Parse("f.yaml", []byte(`
defaults:
  install: {email: bbb-admin@schulen.example.org, flags: ["-w", "-p proxy.schulen.example.org:3142"]}
servers:
  - {name: a, host: a.schulen.example.org}
  - name: b
    host: 192.0.2.7
    install: {series: focal-270, hostname: b.schulen.example.org, flags: ["-g"], script_url: "https://mirror.example.org/bbb-install.sh"}
`))
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Servers[0].Install, cfg.Servers[1].Install
	if a.Series != "jammy-300" || a.Hostname != "a.schulen.example.org" || a.Email != "bbb-admin@schulen.example.org" ||
		a.ScriptURL != "https://raw.githubusercontent.com/bigbluebutton/bbb-install/v3.0.x-release/bbb-install.sh" ||
		strings.Join(a.Args, " ") != "-w -p proxy.schulen.example.org:3142" || a.Timeout.D() != DefaultInstallTimeout {
		t.Errorf("a: %+v", a)
	}
	if b.Series != "focal-270" || b.Hostname != "b.schulen.example.org" || b.Email != "bbb-admin@schulen.example.org" ||
		b.ScriptURL != "https://mirror.example.org/bbb-install.sh" || strings.Join(b.Args, " ") != "-g" {
		t.Errorf("b: %+v", b)
	}
}

func TestInstallConfigErrorsHaveLines(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"servers:\n  - name: a\n    host: a.example.org\n    install: {series: bionic-250}\n", "f.yaml:4: install series \"bionic-250\" is not known: use one of focal-270, jammy-300, noble-400"},
		{"defaults:\n  install:\n    email: info@example.com\nservers:\n  - {name: a, host: a.example.org}\n", "f.yaml:3: install email \"info@example.com\" is a placeholder"},
		{"defaults:\n  install:\n    email: it@example.com\nservers:\n  - {name: a, host: a.example.org}\n", "f.yaml:3: install email \"it@example.com\" is a placeholder"},
		{"servers:\n  - name: a\n    host: a.example.org\n    install:\n      hostname: bbb.example.com\n", "f.yaml:5: install hostname \"bbb.example.com\" is bbb-install.sh's placeholder"},
		{"servers:\n  - {name: a, host: bbb.example.com}\n", "f.yaml:2: server \"a\": host \"bbb.example.com\" is bbb-install.sh's placeholder"},
		{"defaults:\n  install:\n    flags: [-x]\nservers:\n  - {name: a, host: a.example.org}\n", "f.yaml:3: install flags: flag -x asks for a manual DNS challenge (interactive)"},
		{"defaults:\n  install:\n    flags: [-v jammy-300]\nservers:\n  - {name: a, host: a.example.org}\n", "flag -v is set by bbbfleet"},
		{"defaults:\n  install:\n    flags: [-q]\nservers:\n  - {name: a, host: a.example.org}\n", "flag \"-q\" is not one of bbb-install.sh's documented flags"},
		{"defaults:\n  install:\n    flags: [-k]\nservers:\n  - {name: a, host: a.example.org}\n", "flag -k (Keycloak) needs -g"},
		{"defaults:\n  install:\n    flags: [\"-p a;reboot\"]\nservers:\n  - {name: a, host: a.example.org}\n", "has characters bbbfleet does not pass on"},
		{"defaults:\n  install:\n    script_url: \"ftp://x/y\"\nservers:\n  - {name: a, host: a.example.org}\n", "f.yaml:3: install script_url \"ftp://x/y\" is not an http(s) URL"},
		{"defaults:\n  install:\n    script_url: \"https://x/$(id)\"\nservers:\n  - {name: a, host: a.example.org}\n", "has characters bbbfleet does not put into a command"},
		{"defaults:\n  install:\n    colour: blue\nservers:\n  - {name: a, host: a.example.org}\n", "f.yaml:3"},
	} {
		_, err := Parse("f.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %q", tc.yaml, err, tc.want)
		}
	}
}
