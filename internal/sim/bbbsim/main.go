// Command bbbsim is the ForceCommand of the OpenSSH test servers: it runs
// the client's command ($SSH_ORIGINAL_COMMAND) through the simulated BBB
// server whose state is in DIR/state.json, as the login user ($USER), and
// exits with the command's status. Commands the simulation does not know
// run for real, so a test can prove that an injected command would run.
//
//	bbbsim --state DIR
//	bbbsim init --state DIR --name NAME [--hostname H] [--release R] [--secret S] [--no-bbb]
//	       [--sudo USER=nopasswd|password]...
//	bbbsim power --state DIR on|off|status   (the test fleet's power hooks)
//	bbbsim unit-run --state DIR --unit NAME -- ARGV...   (a systemd-run unit, detached)
//
// systemd-run starts its unit's command as `bbbsim unit-run` in a process
// of its own (a new session, stdio on /dev/null), so it outlives the SSH
// session that started it, as a real transient unit does.
//
// While the simulated machine is off or booting, bbbsim answers nothing and
// exits 255 (the test harness stops that host's sshd meanwhile).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"strings"
	"syscall"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	if len(args) > 0 && args[0] == "init" {
		return initState(args[1:])
	}
	if len(args) > 0 && args[0] == "power" {
		return power(args[1:])
	}
	if len(args) > 0 && args[0] == "unit-run" {
		return unitRun(args[1:])
	}
	fs := flag.NewFlagSet("bbbsim", flag.ContinueOnError)
	dir := fs.String("state", "", "state directory (holds state.json)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "bbbsim: --state DIR is required")
		return 2
	}
	cmdline := os.Getenv("SSH_ORIGINAL_COMMAND")
	if strings.TrimSpace(cmdline) == "" {
		fmt.Fprintln(os.Stderr, "interactive shell not supported")
		return 1
	}
	login := os.Getenv("USER")
	if login == "" {
		if u, err := user.Current(); err == nil {
			login = u.Username
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	h := sim.NewHost(sim.NewFileStore(*dir), sim.Options{FallbackToRealExec: true, Detach: detacher(*dir)})
	if h.Down() {
		// Powered off (the harness stops sshd soon): the connection
		// closes as a dying machine's would, without output.
		return 255
	}
	return h.Exec(ctx, cmdline, login, os.Stdin, os.Stdout, os.Stderr)
}

type kvFlags []string

func (k *kvFlags) String() string     { return strings.Join(*k, ",") }
func (k *kvFlags) Set(v string) error { *k = append(*k, v); return nil }

func initState(args []string) int {
	fs := flag.NewFlagSet("bbbsim init", flag.ContinueOnError)
	dir := fs.String("state", "", "state directory to create")
	name := fs.String("name", "", "server name")
	hostname := fs.String("hostname", "", "host name (default: the name)")
	release := fs.String("release", "", "BBB release, e.g. 3.0.4")
	secret := fs.String("secret", "", "API secret")
	noBBB := fs.Bool("no-bbb", false, "a machine without BBB, for `bbbfleet install`")
	var sudo kvFlags
	fs.Var(&sudo, "sudo", "USER=nopasswd|password (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" || *name == "" {
		fmt.Fprintln(os.Stderr, "bbbsim init: --state and --name are required")
		return 2
	}
	s := sim.DefaultState(*name)
	if *hostname != "" {
		s.Hostname = *hostname
	}
	if *release != "" {
		s.Release = *release
	}
	if *secret != "" {
		s.Secret = *secret
	}
	if *noBBB {
		s.NewMachine()
	}
	for _, kv := range sudo {
		u, mode, ok := strings.Cut(kv, "=")
		if !ok || (mode != sim.SudoNoPasswd && mode != sim.SudoPassword) {
			fmt.Fprintf(os.Stderr, "bbbsim init: --sudo %q: want USER=nopasswd or USER=password\n", kv)
			return 2
		}
		s.SudoUsers[u] = mode
	}
	if err := sim.WriteState(*dir, s); err != nil {
		fmt.Fprintln(os.Stderr, "bbbsim init:", err)
		return 1
	}
	return 0
}

// power switches the simulated machine: the power hooks of the tests.
//
//	bbbsim power --state DIR on|off|status
func power(args []string) int {
	fs := flag.NewFlagSet("bbbsim power", flag.ContinueOnError)
	dir := fs.String("state", "", "state directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" || fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: bbbsim power --state DIR on|off|status")
		return 2
	}
	h := sim.NewHost(sim.NewFileStore(*dir), sim.Options{})
	var err error
	switch fs.Arg(0) {
	case "on":
		err = h.Update(func(s *sim.State) error { s.PowerOn(time.Now()); return nil })
	case "off":
		err = h.Update(func(s *sim.State) error { s.PowerOff(); return nil })
	case "status":
		s, lerr := h.State()
		if lerr != nil {
			err = lerr
			break
		}
		if s.Power.Off {
			fmt.Println("off")
		} else {
			fmt.Println("on")
		}
	default:
		fmt.Fprintf(os.Stderr, "bbbsim power: unknown action %q (on, off, status)\n", fs.Arg(0))
		return 2
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bbbsim power:", err)
		return 1
	}
	return 0
}

// detacher starts `bbbsim unit-run` for a systemd-run unit, in a new
// session, not waited for.
func detacher(dir string) func(unit string, argv []string) error {
	return func(unit string, argv []string) error {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer devnull.Close()
		args := append([]string{self, "unit-run", "--state", dir, "--unit", unit, "--"}, argv...)
		p, err := os.StartProcess(self, args, &os.ProcAttr{
			Files: []*os.File{devnull, devnull, devnull},
			Sys:   &syscall.SysProcAttr{Setsid: true},
		})
		if err != nil {
			return err
		}
		return p.Release()
	}
}

// unitRun is the detached process of a systemd-run unit.
func unitRun(args []string) int {
	fs := flag.NewFlagSet("bbbsim unit-run", flag.ContinueOnError)
	dir := fs.String("state", "", "state directory")
	unit := fs.String("unit", "", "unit name")
	if err := fs.Parse(args); err != nil || *dir == "" || *unit == "" || fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: bbbsim unit-run --state DIR --unit NAME -- ARGV...")
		return 2
	}
	signal.Ignore(syscall.SIGHUP)
	h := sim.NewHost(sim.NewFileStore(*dir), sim.Options{FallbackToRealExec: true, Detach: detacher(*dir)})
	return h.RunUnit(context.Background(), *unit, fs.Args())
}
