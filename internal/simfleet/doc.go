// Package simfleet runs a fleet of simulated BBB servers (internal/sim) and
// writes the files bbbfleet needs to reach them: a fleet config, a secrets
// file and a known_hosts file. The demo and the tests share it.
//
// It listens on 127.0.0.1 only and must not be used to reach real servers.
package simfleet
