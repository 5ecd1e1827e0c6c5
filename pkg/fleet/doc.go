// Package fleet is the inventory of a BigBlueButton fleet: the config model,
// loading and strict validation with file:line errors, target selection, the
// parallel runner and the fleet operations that combine ssh and bbb per server.
//
// It must not import cobra, viper or lipgloss, and it never prints: every
// per-server operation returns a result value that cmd/ renders.
package fleet
