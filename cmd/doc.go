// Package cmd wires bbbfleet's commands with cobra: one file per command
// (flags, target parsing, rendering), errors mapped to exit codes in one
// place (exit.go), and viper for environment overrides of global flags.
//
// It must not hold BBB or SSH logic: that lives in pkg/fleet, pkg/ssh and
// pkg/bbb, which return result values that cmd renders.
package cmd
