package ui

import "fmt"

// ServersFailed is the one wording of a partial failure: "2 of 5 servers
// failed".
func ServersFailed(failed, total int) string {
	return fmt.Sprintf("%d of %d servers failed", failed, total)
}
