// Package fleet is the inventory of a BigBlueButton fleet: the config model,
// loading and strict validation with file:line errors, target selection, the
// parallel runner and the fleet operations that combine ssh and bbb per server.
//
// It must not import cobra, viper or lipgloss, and it never prints: every
// per-server operation returns a result value that cmd/ renders.
//
// The files, by room:
//
// The config (the inventory as a value; it knows nothing of SSH or BBB):
//
//	config.go           the model: Config, Server, Settings and their parts,
//	                    built-in defaults, Config.Server and Config.Tags
//	config_errors.go    ConfigError(s) with file:line, ConfigNotice(s)
//	                    (warnings and notes of a config that loads)
//	config_load.go      finding the file (SearchPaths, Find), Load and
//	                    Parse, YAML decoding errors in plain words
//	config_validate.go  the validator: names, hosts, settings merged with
//	                    defaults, check thresholds, notices
//	config_schedule.go  schedules and holidays (rules from pkg/schedule)
//	targets.go          TARGETS words (names, @tag, all, !x) to servers
//	statedir.go         where the state (lock, audit log) lives
//	trust.go            refusing config and secrets files others can change
//	secrets.go          the secrets file and BBBFLEET_SECRET_<NAME>
//
// Running servers:
//
//	env.go              Env: one run's config, secrets, SSH and API clients
//	runner.go           Run and RunRolling: bounded, parallel, per-server
//	                    deadlines; Result, ErrTimeout, NotRunError
//	errors.go           ServerError{Server, Step, Err}; Detail and Reason:
//	                    a failure's message without its server, asked of
//	                    the error (never cut off its text)
//	fix.go              Fix: a remedy as a value (fetch a server's secret);
//	                    messages say the finding in the product's words, a
//	                    front end words the fix and names the run's deadline
//	                    (Env.FixWords, APIFixWords, RunOptions.TimeoutName)
//
// The read-only operations:
//
//	check.go            check statuses and results
//	check_run.go        Env.Check: one SSH round trip and the API calls
//	check_parse.go      the check script and its sections
//	check_eval.go       turning what was read into check results
//	check_scalelite.go  the Scalelite check, checks that apply to a fleet
//	check_schedule.go   check results that know the schedule
//	summary.go          fleet summaries: worst check status, load totals
//	load.go             Env.Load: meetings and participants per server
//	secret.go           secret fetch; secret_diag.go: why a secret is refused
//	push.go             Env.Push: one file to servers, atomically
//
// The operations that change servers (plan, then apply; events, not prints):
//
//	op.go               the seam: plans, steps, events, Apply, OpError
//	op_probe.go         what a server reports before a plan is made
//	op_stop.go          stop (cordon, warn, drain, stop, power off, verify)
//	op_start.go         start (power on, wait for SSH, start, ready, enable)
//	op_power.go         power hooks on the admin machine
//	lock.go, audit.go   the fleet lock (Guard) and the audit log
package fleet
