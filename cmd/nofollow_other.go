//go:build !unix

package cmd

const oNoFollow = 0
