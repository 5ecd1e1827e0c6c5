package fleet

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
)

// HookProblem looks up, on this machine, the program of a power hook:
// "" when it would run, else why not (not found, not executable).
func HookProblem(argv []string, s Server) string {
	if len(argv) == 0 {
		return ""
	}
	prog := expandHook(argv, s)[0]
	_, err := exec.LookPath(prog)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("%s is not executable", prog)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, exec.ErrNotFound):
		return fmt.Sprintf("%s: no such program (on PATH or at that path)", prog)
	}
	return err.Error()
}

// checkHooks fails, before anything is changed, every plan with a power
// step whose hook cannot run on this machine: a config problem, reported
// as a *ConfigError at the server's entry in the config file.
func (o *Operation) checkHooks(plans []*Plan) {
	for _, pl := range plans {
		if pl.Err != nil || pl.Refused != nil {
			continue
		}
		for _, st := range pl.Steps {
			which, argv := "", []string(nil)
			switch st.Name {
			case StepPowerOff:
				which, argv = "power.off", pl.Server.Power.Off
			case StepPowerOn:
				which, argv = "power.on", pl.Server.Power.On
			}
			if st.Skip != "" || which == "" {
				continue
			}
			if why := HookProblem(argv, pl.Server); why != "" {
				ce := &ConfigError{Line: pl.Server.Line, Final: true,
					Msg: fmt.Sprintf("%s hook of %s cannot run on this machine: %s; nothing was changed (fix power.%s in the config, or install the program)", which, pl.Name, why, which[len("power."):])}
				if o.Env != nil && o.Env.Config != nil {
					ce.File = o.Env.Config.Path
				}
				pl.Err = &OpError{Server: pl.Name, Step: st.Name, Kind: KindFailed, Err: ce}
				break
			}
		}
	}
}

// HookNotices warns, for `config validate`, of every power hook whose
// program is not found (or not executable) on this machine: a warning,
// since the config may be validated on another machine than the one that
// runs stop and start.
func HookNotices(cfg *Config) ConfigNotices {
	var ns ConfigNotices
	for _, s := range cfg.Servers {
		for _, h := range []struct {
			which string
			argv  []string
		}{{"power.on", s.Power.On}, {"power.off", s.Power.Off}} {
			if why := HookProblem(h.argv, s); why != "" {
				ns = append(ns, &ConfigNotice{Severity: SeverityWarning, ConfigError: ConfigError{File: cfg.Path, Line: s.Line,
					Msg: fmt.Sprintf("%s hook of %s: %s on this machine (stop --power-off and start run it here)", h.which, s.Name, why)}})
			}
		}
	}
	return ns
}
