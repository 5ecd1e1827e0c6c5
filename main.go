// Command bbbfleet manages a small fleet of BigBlueButton servers.
package main

import (
	"os"

	"github.com/bbbfleet/bbbfleet/cmd"
)

func main() { os.Exit(cmd.Main()) }
