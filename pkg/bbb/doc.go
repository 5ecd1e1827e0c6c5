// Package bbb is BigBlueButton knowledge about one server: the API client
// (checksums, getMeetings, the root call), response types, parsers for
// bbb-conf output and the load summary.
//
// It must not import cobra, viper or lipgloss, must not print, and must not
// know about SSH transport or the fleet config.
package bbb
