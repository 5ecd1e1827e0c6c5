// Package bbbtest generates BigBlueButton API bodies for tests and
// benchmarks. It has no dependency on package bbb.
//
// It is for tests and benchmarks only: the product must not import it.
package bbbtest
